//! The stream set of a venue instance as a resource: stopping it ends every consumer's
//! subscription (after what is queued) or, during a reload, marks a gap and keeps them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use plugin_api::GapReason;

use crate::pipeline::bus::Bus;
use crate::stop::resource::{Resource, ResourceCounts};
use crate::venue::driver::now_ns;

/// A venue instance's streams.
#[derive(Debug, Clone)]
pub struct StreamSet {
    venue: String,
    bus: Bus,
    reloading: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

impl StreamSet {
    /// The streams of `venue` on `bus`.
    pub fn new(venue: &str, bus: Bus) -> StreamSet {
        StreamSet {
            venue: venue.to_owned(),
            bus,
            reloading: Arc::new(AtomicBool::new(false)),
            done: Arc::new(AtomicBool::new(false)),
        }
    }

    /// On stop, send a reload gap and keep consumers subscribed instead of ending streams.
    pub fn keep_for_reload(&self) {
        self.reloading.store(true, Ordering::Relaxed);
    }
}

impl Resource for StreamSet {
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let this = self.clone();
        Box::pin(async move {
            if this.done.swap(true, Ordering::Relaxed) {
                return Ok(());
            }
            if this.reloading.load(Ordering::Relaxed) {
                this.bus.gap_all(&this.venue, GapReason::Reload, now_ns());
            } else {
                this.bus.end_venue(&this.venue).await;
            }
            Ok(())
        })
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }

    fn counts(&self) -> ResourceCounts {
        if self.done.load(Ordering::Relaxed) && !self.reloading.load(Ordering::Relaxed) {
            return ResourceCounts::default();
        }
        ResourceCounts {
            subscriptions: self.bus.venue_subscriptions(&self.venue),
            ..ResourceCounts::default()
        }
    }
}
