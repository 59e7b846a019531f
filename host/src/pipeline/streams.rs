//! A declared stream resource: the normalized streams of some kinds of one venue instance
//! and the consumers' subscriptions to them. Stopping it ends those subscriptions (each
//! consumer gets what is queued, then the end); carrying it over a reload or a restart
//! sends each consumer a gap instead and keeps it subscribed.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use plugin_api::{GapReason, StreamKind};

use crate::pipeline::bus::Bus;
use crate::stop::resource::{Resource, ResourceCounts};
use crate::venue::driver::now_ns;

/// The streams of `kinds` of one venue instance.
#[derive(Debug, Clone)]
pub struct StreamSet {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    venue: String,
    kinds: Vec<StreamKind>,
    bus: Bus,
}

impl StreamSet {
    /// The streams of `kinds` of the instance `venue` on `bus`.
    pub fn new(venue: &str, kinds: Vec<StreamKind>, bus: Bus) -> StreamSet {
        StreamSet {
            inner: Arc::new(Inner {
                venue: venue.to_owned(),
                kinds,
                bus,
            }),
        }
    }

    /// The stream kinds this resource carries.
    pub fn kinds(&self) -> &[StreamKind] {
        &self.inner.kinds
    }
}

impl Resource for StreamSet {
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            inner.bus.end_kinds(&inner.venue, &inner.kinds);
            Ok(())
        })
    }

    fn carry_over(&self) -> Option<BoxFuture<'static, Result<(), String>>> {
        let inner = self.inner.clone();
        Some(Box::pin(async move {
            let at = now_ns();
            inner
                .bus
                .gap_kinds(&inner.venue, &inner.kinds, GapReason::Reload, at);
            Ok(())
        }))
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }

    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            subscriptions: self
                .inner
                .bus
                .kind_subscriptions(&self.inner.venue, &self.inner.kinds),
            ..ResourceCounts::default()
        }
    }
}
