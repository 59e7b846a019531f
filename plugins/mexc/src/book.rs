//! Order-book synchronization of `spot@public.aggre.depth` pushes with REST snapshots.
//!
//! MEXC's newer rule (lastUpdateId based), per instrument:
//! 1. buffer pushes and note the first push's `fromVersion`; ask for a snapshot
//!    (`GET /api/v3/depth?limit=5000`);
//! 2. if the snapshot's `lastUpdateId` is older than that first `fromVersion`, ask again;
//! 3. drop pushes with `toVersion <= lastUpdateId`; if the first one left starts after
//!    `lastUpdateId + 1`, start over;
//! 4. emit the snapshot, then every push, requiring `fromVersion <= version + 1` (the doc
//!    asks for `== version + 1`; a push that overlaps already-applied versions is accepted
//!    because its quantities are absolute, exactly as the rule accepts for the first push).
//!
//! A skipped version emits [`GapReason::SequenceGap`] and starts over; a lost connection
//! emits [`GapReason::Reconnect`]. The synchronizer keeps versions, not levels: consumers
//! build the book from the `snapshot: true` event and the increments that follow.

use std::collections::HashMap;

use abi_stable::std_types::RVec;
use plugin_api::{
    ConnId, DepthUpdate, Event, Gap, GapReason, Instrument, Level, Stamp, StreamKind,
};

use crate::parse::DepthPush;

/// Pushes buffered per instrument while waiting for a snapshot; older ones are dropped.
pub const MAX_BUFFERED_PUSHES: usize = 1024;

/// A REST depth snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// `lastUpdateId`.
    pub last_update_id: u64,
    /// Bid levels.
    pub bids: RVec<Level>,
    /// Ask levels.
    pub asks: RVec<Level>,
}

/// What one sync step produced.
#[derive(Debug, Default, PartialEq)]
pub struct SyncOutput {
    /// Events to deliver, in order.
    pub events: Vec<Event>,
    /// Ask for a (new) REST snapshot of this instrument.
    pub request_snapshot: Option<Instrument>,
    /// Pushes dropped: `(reason, detail)`.
    pub drops: Vec<(&'static str, String)>,
}

#[derive(Debug)]
enum State {
    /// Waiting for a snapshot; `requested` when one is in flight.
    Buffering {
        buffer: Vec<DepthPush>,
        requested: bool,
    },
    /// In sync at `version`.
    Synced { version: u64 },
}

#[derive(Debug)]
struct Book {
    instrument: Instrument,
    conn: ConnId,
    state: State,
}

impl Book {
    fn buffering(instrument: Instrument, conn: ConnId) -> Book {
        Book {
            instrument,
            conn,
            state: State::Buffering {
                buffer: Vec::new(),
                requested: false,
            },
        }
    }
}

/// The synchronizers of every instrument with an incremental depth subscription.
#[derive(Debug, Default)]
pub struct BookSync {
    books: HashMap<String, Book>,
}

impl BookSync {
    /// No books.
    pub fn new() -> BookSync {
        BookSync::default()
    }

    /// Starts (or restarts) syncing `instrument`, whose pushes arrive on `conn`.
    pub fn track(&mut self, instrument: Instrument, conn: ConnId) {
        self.books.insert(
            instrument.venue_symbol.as_str().to_owned(),
            Book::buffering(instrument, conn),
        );
    }

    /// Stops syncing `venue_symbol`.
    pub fn untrack(&mut self, venue_symbol: &str) {
        self.books.remove(venue_symbol);
    }

    /// The synced version of `venue_symbol`, if it is in sync.
    pub fn version(&self, venue_symbol: &str) -> Option<u64> {
        match self.books.get(venue_symbol)?.state {
            State::Synced { version } => Some(version),
            State::Buffering { .. } => None,
        }
    }

    /// One push received on `conn`.
    pub fn on_push(&mut self, conn: ConnId, push: DepthPush) -> SyncOutput {
        let key = push.instrument.venue_symbol.as_str().to_owned();
        let book = self
            .books
            .entry(key)
            .or_insert_with(|| Book::buffering(push.instrument, conn));
        book.conn = conn;
        let mut out = SyncOutput::default();
        match &mut book.state {
            State::Buffering { buffer, requested } => {
                if !*requested {
                    *requested = true;
                    out.request_snapshot = Some(book.instrument);
                }
                if buffer.len() >= MAX_BUFFERED_PUSHES {
                    let old = buffer.remove(0);
                    out.drops.push(("buffer_overflow", versions(&old)));
                }
                buffer.push(push);
            }
            State::Synced { version } => {
                let v = *version;
                if push.to <= v {
                    out.drops
                        .push(("stale", format!("{} at version {v}", versions(&push))));
                } else if push.from > v + 1 {
                    out.events
                        .push(gap(book.instrument, GapReason::SequenceGap, v, push.stamp));
                    out.request_snapshot = Some(book.instrument);
                    book.state = State::Buffering {
                        buffer: vec![push],
                        requested: true,
                    };
                } else {
                    *version = push.to;
                    out.events.push(Event::Depth(push.into_update()));
                }
            }
        }
        out
    }

    /// The snapshot asked for `venue_symbol` arrived (received at `received_ns`).
    pub fn on_snapshot(
        &mut self,
        venue_symbol: &str,
        snapshot: Snapshot,
        received_ns: u64,
    ) -> SyncOutput {
        let mut out = SyncOutput::default();
        let Some(book) = self.books.get_mut(venue_symbol) else {
            out.drops
                .push(("untracked_snapshot", venue_symbol.to_owned()));
            return out;
        };
        let State::Buffering { buffer, requested } = &mut book.state else {
            out.drops
                .push(("stale_snapshot", format!("{venue_symbol} is in sync")));
            return out;
        };
        let last = snapshot.last_update_id;
        // Step 2: the snapshot predates the first buffered push: ask again.
        if buffer.first().is_some_and(|first| last < first.from) {
            out.request_snapshot = Some(book.instrument);
            out.drops.push((
                "stale_snapshot",
                format!("lastUpdateId {last} before buffered pushes"),
            ));
            return out;
        }
        // Step 3: drop what the snapshot already contains.
        let (old, pending): (Vec<DepthPush>, Vec<DepthPush>) = std::mem::take(buffer)
            .into_iter()
            .partition(|p| p.to <= last);
        for p in &old {
            out.drops.push(("stale", versions(p)));
        }
        let mut rest = pending.into_iter().peekable();
        if rest.peek().is_some_and(|p| p.from > last + 1) {
            *buffer = rest.collect();
            *requested = true;
            out.request_snapshot = Some(book.instrument);
            out.drops.push((
                "stale_snapshot",
                format!("lastUpdateId {last} leaves a hole"),
            ));
            return out;
        }
        // Step 4: the book, then the increments.
        let stamp = Stamp {
            venue_ts_ms: 0,
            received_ns,
        };
        out.events.push(Event::Depth(DepthUpdate {
            instrument: book.instrument,
            snapshot: true,
            first_id: last,
            last_id: last,
            bids: snapshot.bids,
            asks: snapshot.asks,
            stamp,
        }));
        let mut version = last;
        let mut rest: Vec<DepthPush> = rest.collect();
        let mut i = 0;
        while i < rest.len() {
            let push = &rest[i];
            if push.to <= version {
                out.drops.push(("stale", versions(push)));
            } else if push.from > version + 1 {
                out.events.push(gap(
                    book.instrument,
                    GapReason::SequenceGap,
                    version,
                    push.stamp,
                ));
                out.request_snapshot = Some(book.instrument);
                book.state = State::Buffering {
                    buffer: rest.split_off(i),
                    requested: true,
                };
                return out;
            } else {
                version = push.to;
                out.events.push(Event::Depth(push.clone().into_update()));
            }
            i += 1;
        }
        book.state = State::Synced { version };
        out
    }

    /// The snapshot request for `venue_symbol` failed: the next push asks again.
    pub fn on_snapshot_failed(&mut self, venue_symbol: &str) {
        if let Some(Book {
            state: State::Buffering { requested, .. },
            ..
        }) = self.books.get_mut(venue_symbol)
        {
            *requested = false;
        }
    }

    /// `conn` was lost: every book it carried restarts, each with a Reconnect gap.
    pub fn on_disconnected(&mut self, conn: ConnId, stamp: Stamp) -> Vec<Event> {
        let mut events = Vec::new();
        for book in self.books.values_mut().filter(|b| b.conn == conn) {
            let last = match book.state {
                State::Synced { version } => version,
                State::Buffering { .. } => 0,
            };
            events.push(gap(book.instrument, GapReason::Reconnect, last, stamp));
            *book = Book::buffering(book.instrument, conn);
        }
        events
    }
}

fn gap(instrument: Instrument, reason: GapReason, last_id: u64, stamp: Stamp) -> Event {
    Event::Gap(Gap {
        instrument,
        kind: StreamKind::Depth,
        reason,
        last_id,
        stamp,
    })
}

fn versions(push: &DepthPush) -> String {
    format!(
        "{} push {}..={}",
        push.instrument.venue_symbol, push.from, push.to
    )
}
