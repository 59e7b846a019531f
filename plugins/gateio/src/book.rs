//! The local order book and its synchronization state machine (REST snapshot + `U`/`u`
//! sequenced `spot.order_book_update` increments), per instrument.

use std::collections::{BTreeMap, VecDeque};

use abi_stable::std_types::RVec;
use plugin_api::{
    ConnId, Decimal, DepthUpdate, Event, Gap, Instrument, Level, Num, Output, Stamp, StreamKind,
};

/// Updates kept while waiting for a snapshot; older ones are dropped (and counted) beyond it.
pub const MAX_BUFFERED: usize = 4096;

/// A price-ordered book of absolute quantities.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderBook {
    bids: BTreeMap<Decimal, Num>,
    asks: BTreeMap<Decimal, Num>,
    last_id: u64,
}

impl OrderBook {
    /// A book holding exactly `bids` and `asks` (zero quantities skipped), at update id `last_id`.
    pub fn from_levels(bids: &[Level], asks: &[Level], last_id: u64) -> OrderBook {
        let mut book = OrderBook {
            last_id,
            ..OrderBook::default()
        };
        book.apply(bids, asks);
        book
    }

    /// Sets each level's absolute quantity; zero removes the level.
    pub fn apply(&mut self, bids: &[Level], asks: &[Level]) {
        fn side(map: &mut BTreeMap<Decimal, Num>, levels: &[Level]) {
            for l in levels {
                if l.qty.is_zero() {
                    map.remove(&l.price.to_decimal());
                } else {
                    map.insert(l.price.to_decimal(), l.qty);
                }
            }
        }
        side(&mut self.bids, bids);
        side(&mut self.asks, asks);
    }

    /// Bids, best (highest) first.
    pub fn bids(&self) -> Vec<(Num, Num)> {
        self.bids
            .iter()
            .rev()
            .map(|(p, q)| (Num::from(*p), *q))
            .collect()
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> Vec<(Num, Num)> {
        self.asks.iter().map(|(p, q)| (Num::from(*p), *q)).collect()
    }

    /// The venue update id the book reflects.
    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    fn levels(map: &BTreeMap<Decimal, Num>, rev: bool) -> RVec<Level> {
        let f = |(p, q): (&Decimal, &Num)| Level {
            price: Num::from(*p),
            qty: *q,
        };
        if rev {
            map.iter().rev().map(f).collect()
        } else {
            map.iter().map(f).collect()
        }
    }
}

/// A REST order-book snapshot (`GET /spot/order_book?with_id=true`).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `id`: the update id the snapshot reflects.
    pub id: u64,
    /// `current`: the venue's time of the answer, ms.
    pub ts_ms: u64,
    /// Bids.
    pub bids: RVec<Level>,
    /// Asks.
    pub asks: RVec<Level>,
}

#[derive(Debug)]
enum State {
    /// Not synchronized: updates are buffered until the snapshot with tag `pending` arrives.
    Buffering {
        buffer: VecDeque<DepthUpdate>,
        pending: Option<u64>,
    },
    /// Synchronized: increments apply while `U <= last_id + 1`.
    Synced(OrderBook),
}

/// Reject reason for an update the snapshot already contains (expected right after a sync).
pub const SUPERSEDED: &str = "superseded_by_snapshot";

/// One instrument's book and its synchronization state.
#[derive(Debug)]
pub struct BookSync {
    instrument: Instrument,
    /// The connection whose stream feeds this book.
    pub conn: ConnId,
    state: State,
    /// Update id of the snapshot (or full message) the book was last built from.
    base_id: u64,
}

impl BookSync {
    /// A new, unsynchronized book fed by `conn`.
    pub fn new(instrument: Instrument, conn: ConnId) -> BookSync {
        BookSync {
            instrument,
            conn,
            state: State::Buffering {
                buffer: VecDeque::new(),
                pending: None,
            },
            base_id: 0,
        }
    }

    /// The book, once synchronized.
    pub fn book(&self) -> Option<&OrderBook> {
        match &self.state {
            State::Synced(b) => Some(b),
            State::Buffering { .. } => None,
        }
    }

    /// The tag of the snapshot request in flight, if any.
    pub fn pending(&self) -> Option<u64> {
        match &self.state {
            State::Buffering { pending, .. } => *pending,
            State::Synced(_) => None,
        }
    }

    /// Records the tag of the snapshot request just issued.
    pub fn set_pending(&mut self, tag: u64) {
        if let State::Buffering { pending, .. } = &mut self.state {
            *pending = Some(tag);
        }
    }

    /// Forgets everything (connection lost): buffer again and resync on the next update.
    pub fn reset(&mut self) {
        self.state = State::Buffering {
            buffer: VecDeque::new(),
            pending: None,
        };
    }

    /// One increment or `full` message. Returns true when a new snapshot must be requested.
    pub fn on_update(&mut self, msg: DepthUpdate, out: &mut Output) -> bool {
        if msg.snapshot {
            return self.replace_with_full(msg, out);
        }
        match &mut self.state {
            State::Synced(book) => {
                if msg.last_id <= self.base_id {
                    out.reject(
                        SUPERSEDED,
                        format!(
                            "{} update ..={} is in the snapshot {}",
                            self.instrument.venue_symbol, msg.last_id, self.base_id
                        ),
                    );
                    false
                } else if msg.last_id <= book.last_id {
                    out.reject(
                        "out_of_order",
                        format!(
                            "{} update {}..={} at or before local id {}",
                            self.instrument.venue_symbol, msg.first_id, msg.last_id, book.last_id
                        ),
                    );
                    false
                } else if msg.first_id > book.last_id.saturating_add(1) {
                    out.event(
                        Gap::sequence(self.instrument, StreamKind::Depth, book.last_id, msg.stamp)
                            .into(),
                    );
                    let mut buffer = VecDeque::new();
                    buffer.push_back(msg);
                    self.state = State::Buffering {
                        buffer,
                        pending: None,
                    };
                    true
                } else {
                    book.apply(&msg.bids, &msg.asks);
                    book.last_id = msg.last_id;
                    out.events.push(Event::Depth(msg));
                    false
                }
            }
            State::Buffering { buffer, pending } => {
                if buffer.len() >= MAX_BUFFERED {
                    buffer.pop_front();
                    out.reject(
                        "buffer_overflow",
                        format!("{} waiting for a snapshot", self.instrument.venue_symbol),
                    );
                }
                buffer.push_back(msg);
                pending.is_none()
            }
        }
    }

    /// A `full: true` message: it replaces the book whatever the state.
    fn replace_with_full(&mut self, msg: DepthUpdate, out: &mut Output) -> bool {
        let book = OrderBook::from_levels(&msg.bids, &msg.asks, msg.last_id);
        self.base_id = msg.last_id;
        let buffered = match std::mem::replace(&mut self.state, State::Synced(book)) {
            State::Buffering { buffer, .. } => buffer,
            State::Synced(_) => VecDeque::new(),
        };
        out.events.push(Event::Depth(msg));
        self.drain(buffered, out)
    }

    /// Applies buffered updates after a (re)synchronization; older ones are skipped.
    fn drain(&mut self, buffered: VecDeque<DepthUpdate>, out: &mut Output) -> bool {
        let mut need = false;
        let last = self.book().map_or(0, OrderBook::last_id);
        for msg in buffered {
            if msg.last_id <= last {
                continue;
            }
            need |= self.on_update(msg, out);
        }
        need
    }

    /// The snapshot answered for request `tag`. Returns true when another must be requested.
    pub fn on_snapshot(
        &mut self,
        tag: u64,
        snap: Snapshot,
        received_ns: u64,
        out: &mut Output,
    ) -> bool {
        let buffer = match &mut self.state {
            State::Buffering { buffer, pending } if *pending == Some(tag) => {
                // Drop updates the snapshot already contains (u < id + 1).
                while buffer.front().is_some_and(|m| m.last_id <= snap.id) {
                    buffer.pop_front();
                }
                if buffer
                    .front()
                    .is_some_and(|m| m.first_id > snap.id.saturating_add(1))
                {
                    // The snapshot is older than the stream: fetch it again.
                    *pending = None;
                    return true;
                }
                std::mem::take(buffer)
            }
            _ => {
                out.reject(
                    "stale_snapshot",
                    format!("{} snapshot tag {tag}", self.instrument.venue_symbol),
                );
                return false;
            }
        };
        let book = OrderBook::from_levels(&snap.bids, &snap.asks, snap.id);
        out.events.push(Event::Depth(DepthUpdate {
            instrument: self.instrument,
            snapshot: true,
            first_id: snap.id,
            last_id: snap.id,
            bids: OrderBook::levels(&book.bids, true),
            asks: OrderBook::levels(&book.asks, false),
            stamp: Stamp {
                venue_ts_ms: snap.ts_ms,
                received_ns,
            },
        }));
        self.state = State::Synced(book);
        self.base_id = snap.id;
        self.drain(buffer, out)
    }

    /// The snapshot request `tag` failed: the next update asks again.
    pub fn on_snapshot_failed(&mut self, tag: u64) {
        if let State::Buffering { pending, .. } = &mut self.state {
            if *pending == Some(tag) {
                *pending = None;
            }
        }
    }
}
