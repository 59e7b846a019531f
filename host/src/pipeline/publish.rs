//! Publishing: a venue's [`Publisher`] delivers each event to the queue of every consumer
//! of its topic, reading a snapshot of the routes (no lock on the per-frame path); a
//! [`Burst`] wakes each consumer once for the frames of one socket read. Balances are
//! state, not news: the latest per asset is kept, and a new subscriber starts from it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use plugin_api::{Event, Gap, GapReason, Instrument, Stamp, StreamKind, Symbol};

use crate::pipeline::bus::{Entry, Routes, TopicKey};
use crate::pipeline::queue::{QueueTx, TryPushError, WakeBatch};
use crate::pipeline::subscription::StreamItem;

/// One venue's live subscriptions, as its publishers and the bus share them.
#[derive(Default)]
pub(crate) struct Shared {
    /// Consumers by topic, replaced whole by the bus when subscriptions change.
    pub(crate) routes: ArcSwap<Routes>,
    /// The latest balance event per asset (upper case). Publishing a balance and seeding a
    /// new balances subscriber both hold this lock, so a subscriber gets every balance
    /// either from here or from its queue.
    pub(crate) balances: Mutex<BTreeMap<String, Event>>,
}

impl Shared {
    pub(crate) fn balances(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Event>> {
        self.balances.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Delivers one venue's events to its consumers, reading a snapshot of the subscriptions
/// that the bus renews whenever they change: publishing takes no lock of the bus. Cheap to
/// clone.
#[derive(Clone)]
pub struct Publisher {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topics", &self.shared.routes.load().len())
            .finish()
    }
}

impl Publisher {
    /// Delivers `event` to every consumer of its topic (a clone each; the last one takes
    /// it) and wakes them. Waits only when a consumer's queue applies backpressure.
    pub async fn publish(&self, event: Event) {
        self.burst().publish(event).await;
    }

    /// Starts a burst of events: see [`Burst`].
    pub fn burst(&self) -> Burst {
        Burst {
            routes: self.shared.routes.load_full(),
            shared: self.shared.clone(),
            wakes: WakeBatch::new(),
            last: None,
        }
    }
}

/// A burst of events from one venue (the frames of one socket read): delivered against the
/// subscriptions as they were when the burst began, each consumer woken once when the burst
/// is dropped (see [`WakeBatch`]).
pub struct Burst {
    routes: Arc<Routes>,
    shared: Arc<Shared>,
    wakes: WakeBatch,
    /// The consumers of the topic the previous event went to: a burst is mostly one
    /// topic's events, and hashing the key of each was 7% of the host's CPU per frame.
    last: Option<(TopicKey, Option<Arc<Vec<Entry>>>)>,
}

impl std::fmt::Debug for Burst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Burst")
            .field("topics", &self.routes.len())
            .field("wakes", &self.wakes)
            .finish()
    }
}

impl Burst {
    /// Delivers `event` to every consumer of its topic (a clone each; the last one takes
    /// it). Waits only when a consumer's queue applies backpressure.
    pub async fn publish(&mut self, event: Event) {
        if let Err(stalled) = self.try_publish(event) {
            self.finish(stalled).await;
        }
    }

    /// Like [`Burst::publish`], but never waits: when a consumer's queue is full under
    /// backpressure it returns what is left of the delivery, for [`Burst::finish`]. The
    /// path every event of a burst takes; the wait is the exception.
    pub fn try_publish(&mut self, event: Event) -> Result<(), Box<Stalled>> {
        let kind = event.kind();
        let whole_kind = matches!(&event, Event::Gap(g) if g.instrument.symbol.is_empty());
        if whole_kind {
            // A gap of a whole stream kind: every topic of that kind.
            let targets: Vec<&[Entry]> = self
                .routes
                .iter()
                .filter(|((_, k), _)| *k == kind)
                .map(|(_, v)| v.as_slice())
                .collect();
            return deliver(&targets, event, &mut self.wakes);
        }
        let symbol = match &event {
            Event::Balance(b) => {
                let asset = b.asset.as_str().to_ascii_uppercase();
                return self.publish_balance(asset, event);
            }
            other => other
                .instrument()
                .map(|i| i.symbol)
                .unwrap_or(Symbol::EMPTY),
        };
        if !kind.is_private() || symbol.is_empty() {
            let key = (symbol, kind);
            if !matches!(&self.last, Some((k, _)) if *k == key) {
                self.last = Some((key, self.routes.get(&key).cloned()));
            }
            return match &self.last {
                Some((_, Some(t))) => deliver(&[t.as_slice()], event, &mut self.wakes),
                _ => Ok(()),
            };
        }
        // Private streams: account-wide subscribers (empty symbol) see every instrument.
        let account_wide = self.routes.get(&(Symbol::EMPTY, kind));
        match (self.routes.get(&(symbol, kind)), account_wide) {
            (Some(t), None) | (None, Some(t)) => deliver(&[t], event, &mut self.wakes),
            (Some(t), Some(a)) => deliver(&[t, a], event, &mut self.wakes),
            (None, None) => Ok(()),
        }
    }

    /// Keeps a balance as its asset's latest and delivers it to the balances subscribers of
    /// this moment (not of the burst's start: one that subscribed since was seeded with the
    /// previous value and must get this one too).
    fn publish_balance(&mut self, asset: String, event: Event) -> Result<(), Box<Stalled>> {
        let targets = {
            let mut latest = self.shared.balances();
            latest.insert(asset, event.clone());
            self.shared
                .routes
                .load()
                .get(&(Symbol::EMPTY, StreamKind::Balances))
                .cloned()
        };
        match targets {
            Some(t) => deliver(&[t.as_slice()], event, &mut self.wakes),
            None => Ok(()),
        }
    }

    /// Finishes a delivery that [`Burst::try_publish`] could not complete: waits for room
    /// in the full queue, then delivers to the consumers after it.
    pub async fn finish(&mut self, stalled: Box<Stalled>) {
        let Stalled {
            full,
            item,
            rest,
            mut event,
        } = *stalled;
        // A closed queue counts the drop itself.
        let _ = full.push_deferred(0, item, &mut self.wakes).await;
        let last = rest.len();
        for (n, tx) in rest.iter().enumerate() {
            let Some(item) = copy_for(&mut event, n + 1 == last) else {
                return;
            };
            let _ = tx
                .push_deferred(0, StreamItem::Event(item), &mut self.wakes)
                .await;
        }
    }
}

/// A delivery that met a consumer's queue full under backpressure: the item for that queue,
/// and the consumers still to get the event after it. Finish it with [`Burst::finish`].
pub struct Stalled {
    full: QueueTx<StreamItem>,
    item: StreamItem,
    rest: Vec<QueueTx<StreamItem>>,
    /// The event for `rest` (a clone each; the last one takes it).
    event: Option<Event>,
}

impl std::fmt::Debug for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stalled")
            .field("item", &self.item)
            .field("rest", &self.rest.len())
            .finish()
    }
}

/// A gap marker: consumers of `kind` for `instrument` (an empty symbol: every instrument)
/// must not assume continuity across it.
pub(crate) fn gap_event(
    instrument: Instrument,
    kind: StreamKind,
    reason: GapReason,
    received_ns: u64,
) -> Event {
    Event::Gap(Gap {
        instrument,
        kind,
        reason,
        last_id: 0,
        stamp: Stamp {
            venue_ts_ms: 0,
            received_ns,
        },
    })
}

/// The event for the next of several consumers: a clone, or the event itself for the last.
fn copy_for(event: &mut Option<Event>, last: bool) -> Option<Event> {
    if last {
        event.take()
    } else {
        event.clone()
    }
}

/// Offers `event` to every queue in `targets` without waiting (a clone each; the last one
/// takes it); stops at the first queue that is full under backpressure.
pub(crate) fn deliver(
    targets: &[&[Entry]],
    event: Event,
    wakes: &mut WakeBatch,
) -> Result<(), Box<Stalled>> {
    let total: usize = targets.iter().map(|list| list.len()).sum();
    let mut event = Some(event);
    let mut queues = targets.iter().flat_map(|list| list.iter());
    let mut n = 0;
    while let Some(e) = queues.next() {
        n += 1;
        let Some(item) = copy_for(&mut event, n == total) else {
            break;
        };
        // A closed queue counts the drop itself. Gaps are markers: they never wait
        // behind a slow consumer and are never conflated away.
        if matches!(item, Event::Gap(_)) {
            let _ = e.tx.push_marker(StreamItem::Event(item));
            continue;
        }
        // One subscription is one topic, so every data item shares one key.
        if let Err(TryPushError::Full(item)) =
            e.tx.try_push_deferred(0, StreamItem::Event(item), wakes)
        {
            return Err(Box::new(Stalled {
                full: e.tx.clone(),
                item,
                rest: queues.map(|e| e.tx.clone()).collect(),
                event,
            }));
        }
    }
    Ok(())
}
