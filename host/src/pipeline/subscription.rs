//! A consumer's side of a stream: what it receives ([`StreamItem`]) and its handle
//! ([`Subscription`]), whose drop unsubscribes.

use std::sync::Weak;

use plugin_api::{Event, StreamKind};

use crate::pipeline::bus::{Bus, BusInner, TopicKey};
use crate::pipeline::queue::{QueueRx, QueueStats};

/// What a consumer receives.
#[allow(clippy::large_enum_variant)] // events dominate; boxing each would cost an allocation
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// A normalized event (host-owned: safe to keep after the plugin is unloaded).
    Event(Event),
    /// The venue stopped: no more items will come on this subscription.
    End,
}

/// A consumer's handle on one stream. Dropping it (or [`Subscription::dispose`]) unsubscribes.
#[must_use = "dropping a subscription unsubscribes at once"]
pub struct Subscription {
    pub(crate) id: u64,
    pub(crate) venue: String,
    pub(crate) key: TopicKey,
    pub(crate) rx: QueueRx<StreamItem>,
    pub(crate) bus: Weak<BusInner>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("venue", &self.venue)
            .field("symbol", &self.key.0)
            .field("kind", &self.key.1)
            .finish()
    }
}

impl Subscription {
    /// The next item; `None` after [`StreamItem::End`] has been taken or the bus is gone.
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<StreamItem> {
        self.rx.recv().await
    }

    /// Waits for at least one item, then moves everything queued, up to `limit`, into `buf`
    /// at once; returns how many (0 after [`StreamItem::End`] has been taken). Cheaper per
    /// item than [`Subscription::recv`] for a consumer that handles a backlog in one go.
    /// Cancel-safe.
    pub async fn recv_many(&mut self, buf: &mut Vec<StreamItem>, limit: usize) -> usize {
        self.rx.recv_many(buf, limit).await
    }

    /// Unsubscribes now (same as dropping).
    pub fn dispose(self) {}

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        self.rx.stats()
    }

    /// Venue, normalized symbol and kind.
    pub fn topic(&self) -> (&str, &str, StreamKind) {
        (&self.venue, self.key.0.as_str(), self.key.1)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Count what is left as undelivered first, so the final counters are complete.
        self.rx.close_and_count();
        if let Some(bus) = self.bus.upgrade() {
            Bus { inner: bus }.remove(&self.venue, self.key, self.id, self.rx.stats());
        }
    }
}
