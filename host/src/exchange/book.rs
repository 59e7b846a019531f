//! The synced order book: a venue's depth stream of one symbol (snapshots and the increments
//! the plugin sequenced after them) applied to a local L2 book, which says when it cannot be
//! trusted (before the first snapshot, and from a gap until the next snapshot).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use plugin_api::{Decimal, DepthUpdate, Event, Gap, Instrument, Level, Num, Stamp};

use super::stream::Update;
use crate::pipeline::queue::QueueStats;
use crate::pipeline::{StreamItem, Subscription};

/// A local L2 book of one symbol on one venue. Levels are absolute quantities by price,
/// best first. Unsynced (before the first snapshot, and after a gap until the next one) it
/// holds no level, so a stale price is never read as a live one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderBook {
    instrument: Instrument,
    bids: BTreeMap<Decimal, Num>,
    asks: BTreeMap<Decimal, Num>,
    last_id: u64,
    stamp: Stamp,
    synced: bool,
    gap: Option<Gap>,
}

impl OrderBook {
    /// The instrument (empty until the first snapshot).
    pub fn instrument(&self) -> Instrument {
        self.instrument
    }

    /// True from a snapshot until a gap or the end of the stream.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The gap that made the book unsynced, until the next snapshot.
    pub fn gap(&self) -> Option<&Gap> {
        self.gap.as_ref()
    }

    /// The highest bid.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.iter().next_back().map(level)
    }

    /// The lowest ask.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.iter().next().map(level)
    }

    /// Bids, best (highest) first.
    pub fn bids(&self) -> impl Iterator<Item = Level> + '_ {
        self.bids.iter().rev().map(level)
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = Level> + '_ {
        self.asks.iter().map(level)
    }

    /// How many bid and ask levels the book holds.
    pub fn depth(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    /// The venue's update id the book reflects (`u`, `toVersion`, `lastUpdateId`).
    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// Times of the last depth event applied (its receive time: `stamp().received_ns`).
    pub fn stamp(&self) -> Stamp {
        self.stamp
    }

    /// Applies a depth event: a snapshot replaces the book and syncs it; an increment
    /// patches a synced book. An increment while unsynced is not applied (`false`).
    fn apply(&mut self, update: &DepthUpdate) -> bool {
        if update.snapshot {
            self.bids.clear();
            self.asks.clear();
            self.synced = true;
            self.gap = None;
            self.instrument = update.instrument;
        } else if !self.synced {
            return false;
        }
        patch(&mut self.bids, &update.bids);
        patch(&mut self.asks, &update.asks);
        self.last_id = update.last_id;
        self.stamp = update.stamp;
        true
    }

    /// Forgets every level: nothing is known until the next snapshot.
    fn unsync(&mut self, gap: Option<Gap>) {
        self.bids.clear();
        self.asks.clear();
        self.synced = false;
        self.gap = gap;
    }
}

fn level((price, qty): (&Decimal, &Num)) -> Level {
    Level {
        price: Num::from(*price),
        qty: *qty,
    }
}

fn patch(side: &mut BTreeMap<Decimal, Num>, levels: &[Level]) {
    for l in levels {
        if l.qty.is_zero() {
            side.remove(&l.price.to_decimal());
        } else {
            side.insert(l.price.to_decimal(), l.qty);
        }
    }
}

/// What one depth event did to an [`OrderBook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookChange {
    /// True when a snapshot replaced the book (it is synced from here on).
    pub snapshot: bool,
    /// The venue's update ids the event covered.
    pub first_id: u64,
    /// See `first_id`.
    pub last_id: u64,
    /// The event's times (venue time, receive time).
    pub stamp: Stamp,
}

/// The (venue, symbol) pairs that have an open [`OrderBookStream`].
pub(super) type BookClaims = Arc<Mutex<BTreeSet<(String, String)>>>;

/// Holds a pair in [`BookClaims`] while its book is open.
struct Claim {
    claims: BookClaims,
    key: (String, String),
}

impl Claim {
    fn take(claims: &BookClaims, venue: &str, symbol: &str) -> Option<Claim> {
        let key = (venue.to_owned(), symbol.to_owned());
        let mut set = claims.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(key.clone()).then(|| Claim {
            claims: claims.clone(),
            key,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut set = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.key);
    }
}

/// A venue's depth stream of one symbol, applied to an [`OrderBook`] as it arrives. Call
/// [`OrderBookStream::recv`] to take the next change, [`OrderBookStream::book`] to read the
/// book. One per venue and symbol; dropping it unsubscribes.
pub struct OrderBookStream {
    // Dropped before the claim, so a new book of the pair subscribes after this one left.
    sub: Subscription,
    book: OrderBook,
    skipped: u64,
    _claim: Claim,
}

impl std::fmt::Debug for OrderBookStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (venue, symbol, _) = self.sub.topic();
        f.debug_struct("OrderBookStream")
            .field("venue", &venue)
            .field("symbol", &symbol)
            .field("synced", &self.book.synced)
            .field("depth", &self.book.depth())
            .finish()
    }
}

impl OrderBookStream {
    /// A book over `sub` (a depth subscription), if no other book of the pair is open.
    pub(super) fn new(sub: Subscription, claims: &BookClaims) -> Option<OrderBookStream> {
        let (venue, symbol, _) = sub.topic();
        let claim = Claim::take(claims, venue, symbol)?;
        Some(OrderBookStream {
            sub,
            book: OrderBook::default(),
            skipped: 0,
            _claim: claim,
        })
    }

    /// Waits for the next depth event, applies it and says what it did: a change, or a gap
    /// (the book is unsynced and empty until the next snapshot, which the venue sends by
    /// itself). Increments that arrive while unsynced are skipped and counted. `None` once
    /// the venue stopped (the book is unsynced then). Cancel-safe.
    pub async fn recv(&mut self) -> Option<Update<BookChange>> {
        loop {
            let event = match self.sub.recv().await {
                Some(StreamItem::Event(event)) => event,
                Some(StreamItem::End) | None => {
                    self.book.unsync(None);
                    return None;
                }
            };
            match event {
                Event::Depth(update) => {
                    if self.book.apply(&update) {
                        return Some(Update::Item(BookChange {
                            snapshot: update.snapshot,
                            first_id: update.first_id,
                            last_id: update.last_id,
                            stamp: update.stamp,
                        }));
                    }
                    self.skipped += 1;
                }
                Event::Gap(gap) => {
                    self.book.unsync(Some(gap.clone()));
                    return Some(Update::Gap(gap));
                }
                _ => {}
            }
        }
    }

    /// Waits until the book is synced (at once if it is): changes and gaps on the way are
    /// applied. `false` if the stream ended first. Cancel-safe.
    pub async fn synced(&mut self) -> bool {
        while !self.book.synced {
            if self.recv().await.is_none() {
                return false;
            }
        }
        true
    }

    /// The book as the events taken so far made it.
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// True from a snapshot until a gap or the end.
    pub fn is_synced(&self) -> bool {
        self.book.synced
    }

    /// The venue's instance name.
    pub fn venue(&self) -> &str {
        self.sub.topic().0
    }

    /// The normalized symbol.
    pub fn symbol(&self) -> &str {
        self.sub.topic().1
    }

    /// Increments skipped because they arrived while the book was unsynced.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The counters of the stream's queue.
    pub fn stats(&self) -> QueueStats {
        self.sub.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::{GapReason, StreamKind};

    fn lv(price: &str, qty: &str) -> Level {
        Level {
            price: Num::parse(price).unwrap(),
            qty: Num::parse(qty).unwrap(),
        }
    }

    fn depth(snapshot: bool, last_id: u64, bids: &[Level], asks: &[Level]) -> DepthUpdate {
        DepthUpdate {
            instrument: Instrument::new("BTC/USDT", "BTC_USDT").unwrap(),
            snapshot,
            first_id: last_id,
            last_id,
            bids: bids.iter().copied().collect(),
            asks: asks.iter().copied().collect(),
            stamp: Stamp::default(),
        }
    }

    #[test]
    fn snapshot_syncs_increments_patch_and_a_gap_empties_until_the_next_snapshot() {
        let mut book = OrderBook::default();
        assert!(!book.apply(&depth(false, 1, &[lv("1", "1")], &[])));
        assert!(!book.is_synced() && book.best_bid().is_none());

        let snap = depth(true, 10, &[lv("99", "1"), lv("98", "2")], &[lv("101", "3")]);
        assert!(book.apply(&snap));
        assert!(book.is_synced());
        assert_eq!(book.best_bid(), Some(lv("99", "1")));
        assert_eq!(book.best_ask(), Some(lv("101", "3")));

        let inc = depth(
            false,
            11,
            &[lv("99", "0"), lv("97", "5")],
            &[lv("100", "1")],
        );
        assert!(book.apply(&inc));
        assert_eq!(
            book.bids().collect::<Vec<_>>(),
            [lv("98", "2"), lv("97", "5")]
        );
        assert_eq!(book.best_ask(), Some(lv("100", "1")));
        assert_eq!((book.depth(), book.last_id()), ((2, 2), 11));

        let gap = Gap {
            instrument: snap.instrument,
            kind: StreamKind::Depth,
            reason: GapReason::Reconnect,
            last_id: 11,
            stamp: Stamp::default(),
        };
        book.unsync(Some(gap.clone()));
        assert!(!book.is_synced() && book.best_bid().is_none() && book.best_ask().is_none());
        assert_eq!(book.gap(), Some(&gap));
        assert!(!book.apply(&depth(false, 12, &[lv("1", "1")], &[])));

        assert!(book.apply(&depth(true, 20, &[lv("50", "1")], &[lv("51", "1")])));
        assert!(book.is_synced() && book.gap().is_none());
        assert_eq!(book.best_bid(), Some(lv("50", "1")));
    }
}
