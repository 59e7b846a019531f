//! What a queue does when full, why it drops an item, and the counters that account for
//! every item it was offered.

use serde::{Deserialize, Serialize};

/// What a full queue does with a new item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// The producer waits until there is room (never drops; for orders, fills, depth).
    Backpressure,
    /// An item with the same key replaces the queued one (for tickers); with no such item
    /// the oldest is dropped.
    LatestValueWins,
    /// The oldest item is dropped to make room.
    DropOldest,
}

/// Why an item was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Replaced by a newer value with the same key.
    Conflated,
    /// Pushed out by a full queue.
    Overflow,
    /// Offered after the queue closed.
    Closed,
    /// Still queued when the consumer went away.
    Undelivered,
}

/// A queue's counters. Kept under the queue's lock, so a snapshot always balances:
/// `offered = delivered + dropped + depth`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Items offered to the queue.
    pub offered: u64,
    /// Items handed to the consumer.
    pub delivered: u64,
    /// Dropped: replaced by a newer value.
    pub dropped_conflated: u64,
    /// Dropped: queue full.
    pub dropped_overflow: u64,
    /// Dropped: offered after close.
    pub dropped_closed: u64,
    /// Dropped: left in the queue when the consumer went away.
    pub dropped_undelivered: u64,
    /// Items in the queue now.
    pub depth: u64,
}

impl QueueStats {
    /// All drops together.
    pub fn dropped(&self) -> u64 {
        self.dropped_conflated
            + self.dropped_overflow
            + self.dropped_closed
            + self.dropped_undelivered
    }
}

impl std::ops::AddAssign for QueueStats {
    fn add_assign(&mut self, o: QueueStats) {
        self.offered += o.offered;
        self.delivered += o.delivered;
        self.dropped_conflated += o.dropped_conflated;
        self.dropped_overflow += o.dropped_overflow;
        self.dropped_closed += o.dropped_closed;
        self.dropped_undelivered += o.dropped_undelivered;
        self.depth += o.depth;
    }
}

impl QueueStats {
    pub(super) fn count(&mut self, reason: DropReason, n: u64) {
        let c = match reason {
            DropReason::Conflated => &mut self.dropped_conflated,
            DropReason::Overflow => &mut self.dropped_overflow,
            DropReason::Closed => &mut self.dropped_closed,
            DropReason::Undelivered => &mut self.dropped_undelivered,
        };
        *c += n;
    }
}
