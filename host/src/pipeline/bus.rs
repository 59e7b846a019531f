//! Streams and subscriptions: consumers subscribe by venue, symbol and kind and get a
//! [`Subscription`] handle with its own bounded queue. Dropping the handle unsubscribes; the
//! venue's driver learns when the first consumer of a topic arrives and the last one leaves.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use arc_swap::ArcSwap;
use plugin_api::{Event, Gap, GapReason, Instrument, Stamp, StreamKind, Symbol};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::pipeline::queue::{
    queue, Overflow, QueueRx, QueueStats, QueueTx, TryPushError, WakeBatch,
};

/// What a consumer receives.
#[allow(clippy::large_enum_variant)] // events dominate; boxing each would cost an allocation
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// A normalized event (host-owned: safe to keep after the plugin is unloaded).
    Event(Event),
    /// The venue stopped: no more items will come on this subscription.
    End,
}

/// Queue sizes and overflow policies per stream kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueuePolicies {
    /// Items per subscription queue.
    pub capacity: usize,
    /// Policy for book tickers (default: latest value wins).
    pub book_ticker: Overflow,
    /// Policy for public trades (default: backpressure).
    pub trades: Overflow,
    /// Policy for depth (default: backpressure; a dropped update would corrupt books).
    pub depth: Overflow,
    /// Policy for orders, fills and balances (default: backpressure, never dropped).
    pub private: Overflow,
}

impl Default for QueuePolicies {
    fn default() -> Self {
        QueuePolicies {
            capacity: 4096,
            book_ticker: Overflow::LatestValueWins,
            trades: Overflow::Backpressure,
            depth: Overflow::Backpressure,
            private: Overflow::Backpressure,
        }
    }
}

impl QueuePolicies {
    /// The policy for `kind`.
    pub fn for_kind(&self, kind: StreamKind) -> Overflow {
        match kind {
            StreamKind::BookTicker => self.book_ticker,
            StreamKind::Trades => self.trades,
            StreamKind::Depth => self.depth,
            StreamKind::Orders | StreamKind::Fills | StreamKind::Balances => self.private,
        }
    }
}

type TopicKey = (Symbol, StreamKind);

/// Consumers by topic; replaced whole when subscriptions change, so publishers read it
/// without a lock.
type Routes = FxHashMap<TopicKey, Arc<Vec<Entry>>>;

#[derive(Clone)]
struct Entry {
    id: u64,
    tx: QueueTx<StreamItem>,
}

struct VenueSubs {
    /// The live subscriptions, shared with the venue's [`Publisher`]s.
    routes: Arc<ArcSwap<Routes>>,
    /// Bumped whenever the set of topics with consumers changes.
    interest: watch::Sender<u64>,
    /// Subscriptions whose stream ended but whose handle is still held (not live).
    ended: HashMap<u64, QueueTx<StreamItem>>,
    /// Counters of queues already gone, so venue totals never go backwards.
    retired: QueueStats,
}

impl VenueSubs {
    /// Changes the subscriptions: a changed copy replaces the map. Writers hold the bus's
    /// lock, so they never race each other; publishers see the old map or the new one.
    fn edit<R>(&self, change: impl FnOnce(&mut Routes) -> R) -> R {
        let mut next = Routes::clone(&self.routes.load());
        let result = change(&mut next);
        self.routes.store(Arc::new(next));
        result
    }
}

impl Default for VenueSubs {
    fn default() -> Self {
        VenueSubs {
            routes: Arc::default(),
            interest: watch::Sender::new(0),
            ended: HashMap::new(),
            retired: QueueStats::default(),
        }
    }
}

struct BusInner {
    venues: Mutex<HashMap<String, VenueSubs>>,
    next_id: AtomicU64,
    policies: QueuePolicies,
}

/// The registry of subscriptions. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("subscriptions", &self.live_subscriptions())
            .finish()
    }
}

/// A consumer's handle on one stream. Dropping it (or [`Subscription::dispose`]) unsubscribes.
pub struct Subscription {
    id: u64,
    venue: String,
    key: TopicKey,
    rx: QueueRx<StreamItem>,
    bus: Weak<BusInner>,
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

/// Delivers one venue's events to its consumers, reading a snapshot of the subscriptions
/// that the bus renews whenever they change: publishing takes no lock of the bus. Cheap to
/// clone.
#[derive(Clone)]
pub struct Publisher {
    routes: Arc<ArcSwap<Routes>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topics", &self.routes.load().len())
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
            routes: self.routes.load_full(),
            wakes: WakeBatch::new(),
        }
    }
}

/// A burst of events from one venue (the frames of one socket read): delivered against the
/// subscriptions as they were when the burst began, each consumer woken once when the burst
/// is dropped (see [`WakeBatch`]).
pub struct Burst {
    routes: Arc<Routes>,
    wakes: WakeBatch,
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
            Event::Balance(_) => Symbol::EMPTY,
            other => other
                .instrument()
                .map(|i| i.symbol)
                .unwrap_or(Symbol::EMPTY),
        };
        // Private streams: account-wide subscribers (empty symbol) see every instrument.
        let account_wide = (kind.is_private() && !symbol.is_empty())
            .then(|| self.routes.get(&(Symbol::EMPTY, kind)))
            .flatten();
        match (self.routes.get(&(symbol, kind)), account_wide) {
            (Some(t), None) | (None, Some(t)) => deliver(&[t], event, &mut self.wakes),
            (Some(t), Some(a)) => deliver(&[t, a], event, &mut self.wakes),
            (None, None) => Ok(()),
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

impl Bus {
    /// A bus with the given queue policies.
    pub fn new(policies: QueuePolicies) -> Bus {
        Bus {
            inner: Arc::new(BusInner {
                venues: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                policies,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VenueSubs>> {
        self.inner.venues.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes to `kind` of `symbol` (normalized, e.g. `BTC/USDT`; empty for account-wide
    /// private streams) on `venue`. `None` if the symbol is longer than a [`Symbol`] holds.
    pub fn subscribe(&self, venue: &str, symbol: &str, kind: StreamKind) -> Option<Subscription> {
        let key = (Symbol::new(symbol)?, kind);
        let policy = self.inner.policies.for_kind(kind);
        let (tx, rx) = queue(self.inner.policies.capacity, policy);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut venues = self.lock();
            let subs = venues.entry(venue.to_owned()).or_default();
            let first = subs.edit(|topics| {
                let list = topics.entry(key).or_default();
                Arc::make_mut(list).push(Entry { id, tx });
                list.len() == 1
            });
            if first {
                subs.interest.send_modify(|v| *v += 1);
            }
        };
        Some(Subscription {
            id,
            venue: venue.to_owned(),
            key,
            rx,
            bus: Arc::downgrade(&self.inner),
        })
    }

    fn remove(&self, venue: &str, key: TopicKey, id: u64, final_stats: QueueStats) {
        {
            let mut venues = self.lock();
            let Some(subs) = venues.get_mut(venue) else {
                return;
            };
            subs.retired += final_stats;
            if subs.ended.remove(&id).is_some() {
                return;
            }
            let last = subs.edit(|topics| {
                let Some(list) = topics.get_mut(&key) else {
                    return false;
                };
                Arc::make_mut(list).retain(|e| e.id != id);
                let last = list.is_empty();
                if last {
                    topics.remove(&key);
                }
                last
            });
            if last {
                subs.interest.send_modify(|v| *v += 1);
            }
        }
    }

    /// Changes whenever the set of topics with consumers changes for `venue`.
    pub fn interest(&self, venue: &str) -> watch::Receiver<u64> {
        self.lock()
            .entry(venue.to_owned())
            .or_default()
            .interest
            .subscribe()
    }

    /// Topics of `venue` that have at least one consumer.
    pub fn topics(&self, venue: &str) -> BTreeSet<(StreamKind, String)> {
        self.lock()
            .get(venue)
            .map(|s| {
                s.routes
                    .load()
                    .keys()
                    .map(|(sym, kind)| (*kind, sym.as_str().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Delivers an event to every consumer of its topic. Waits only when a consumer's queue
    /// applies backpressure. A venue's driver uses its [`Publisher`] instead.
    pub async fn publish(&self, venue: &str, event: Event) {
        self.publisher(venue).publish(event).await;
    }

    /// The publishing side of `venue`'s streams.
    pub fn publisher(&self, venue: &str) -> Publisher {
        let routes = self
            .lock()
            .entry(venue.to_owned())
            .or_default()
            .routes
            .clone();
        Publisher { routes }
    }

    /// Sends a gap marker to every consumer of `venue` (after a reconnect of everything or a
    /// reload); consumers stay subscribed. Markers never wait for room.
    pub fn gap_all(&self, venue: &str, reason: GapReason, received_ns: u64) {
        let targets: Vec<(TopicKey, Arc<Vec<Entry>>)> = {
            let venues = self.lock();
            venues
                .get(venue)
                .map(|s| {
                    s.routes
                        .load()
                        .iter()
                        .map(|(k, v)| (*k, v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        for ((symbol, kind), entries) in targets {
            let gap = Event::Gap(Gap {
                instrument: Instrument {
                    symbol,
                    venue_symbol: Symbol::EMPTY,
                },
                kind,
                reason,
                last_id: 0,
                stamp: Stamp {
                    venue_ts_ms: 0,
                    received_ns,
                },
            });
            // Gaps are markers: their delivery never stalls.
            let _ = deliver(&[entries.as_slice()], gap, &mut WakeBatch::new());
        }
    }

    /// Ends every subscription of `venue`: consumers drain what is queued, then get
    /// [`StreamItem::End`].
    ///
    /// The subscriptions stop counting as live at once; their queues' counters still count in
    /// [`Bus::venue_stats`].
    pub async fn end_venue(&self, venue: &str) {
        let all = {
            let mut venues = self.lock();
            let Some(subs) = venues.get_mut(venue) else {
                return;
            };
            let all = subs.routes.swap(Arc::default());
            for e in all.values().flat_map(|l| l.iter()) {
                subs.ended.insert(e.id, e.tx.clone());
            }
            subs.interest.send_modify(|v| *v += 1);
            all
        };
        for e in all.values().flat_map(|l| l.iter()) {
            let _ = e.tx.push_marker(StreamItem::End);
            e.tx.close();
        }
    }

    /// Subscriptions alive on every venue.
    pub fn live_subscriptions(&self) -> usize {
        self.lock()
            .values()
            .map(|s| s.routes.load().values().map(|l| l.len()).sum::<usize>())
            .sum()
    }

    /// Subscriptions alive on `venue`.
    pub fn venue_subscriptions(&self, venue: &str) -> usize {
        self.lock()
            .get(venue)
            .map(|s| s.routes.load().values().map(|l| l.len()).sum())
            .unwrap_or(0)
    }

    /// Queue counters summed over `venue`'s subscriptions, live and gone.
    pub fn venue_stats(&self, venue: &str) -> QueueStats {
        let venues = self.lock();
        let Some(subs) = venues.get(venue) else {
            return QueueStats::default();
        };
        let mut total = subs.retired;
        for tx in subs.ended.values() {
            total += tx.stats();
        }
        for list in subs.routes.load().values() {
            for e in list.iter() {
                total += e.tx.stats();
            }
        }
        total
    }
}

/// Hands `event` to every entry of `targets`: a clone each, the last one takes it.
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
fn deliver(targets: &[&[Entry]], event: Event, wakes: &mut WakeBatch) -> Result<(), Box<Stalled>> {
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

#[cfg(test)]
mod tests {
    use plugin_api::{BookTicker, Num};

    use super::*;

    fn ticker(sym: &str, bid: &str) -> Event {
        Event::BookTicker(BookTicker {
            instrument: Instrument::new(sym, sym).unwrap(),
            bid_price: Num::parse(bid).unwrap(),
            bid_qty: Num::ZERO,
            ask_price: Num::ZERO,
            ask_qty: Num::ZERO,
            update_id: 0,
            stamp: Stamp::default(),
        })
    }

    #[tokio::test]
    async fn routes_by_topic_and_tracks_interest() {
        let bus = Bus::new(QueuePolicies::default());
        let mut interest = bus.interest("v");
        let mut a = bus
            .subscribe("v", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();
        interest.changed().await.unwrap();
        let _b = bus
            .subscribe("v", "ETH/USDT", StreamKind::BookTicker)
            .unwrap();
        assert_eq!(bus.live_subscriptions(), 2);
        assert_eq!(bus.topics("v").len(), 2);
        bus.publish("v", ticker("ETH/USDT", "1")).await;
        bus.publish("v", ticker("BTC/USDT", "2")).await;
        assert_eq!(
            a.recv().await,
            Some(StreamItem::Event(ticker("BTC/USDT", "2")))
        );
        drop(_b);
        interest.changed().await.unwrap();
        assert_eq!(bus.topics("v").len(), 1);
        a.dispose();
        assert_eq!(bus.live_subscriptions(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_holds_up_only_the_consumers_after_it() {
        let bus = Bus::new(QueuePolicies {
            capacity: 1,
            book_ticker: Overflow::Backpressure,
            ..QueuePolicies::default()
        });
        let mut subs: Vec<Subscription> = (0..3)
            .map(|_| {
                bus.subscribe("v", "BTC/USDT", StreamKind::BookTicker)
                    .unwrap()
            })
            .collect();
        bus.publish("v", ticker("BTC/USDT", "1")).await;
        for n in [0, 2] {
            assert_eq!(
                subs[n].recv().await,
                Some(StreamItem::Event(ticker("BTC/USDT", "1")))
            );
        }
        // The middle consumer's queue is full: the first consumer has the event at once,
        // the last one only after the middle one made room.
        let mut burst = bus.publisher("v").burst();
        let stalled = burst.try_publish(ticker("BTC/USDT", "2")).unwrap_err();
        let depths =
            |subs: &[Subscription]| subs.iter().map(|s| s.stats().depth).collect::<Vec<_>>();
        assert_eq!(depths(&subs), [1, 1, 0]);
        let (_, first) = tokio::join!(burst.finish(stalled), subs[1].recv());
        assert_eq!(first, Some(StreamItem::Event(ticker("BTC/USDT", "1"))));
        assert_eq!(depths(&subs), [1, 1, 1]);
        drop(burst);
        for sub in &mut subs {
            assert_eq!(
                sub.recv().await,
                Some(StreamItem::Event(ticker("BTC/USDT", "2")))
            );
            assert_eq!(sub.stats().dropped(), 0);
        }
    }

    #[tokio::test]
    async fn end_of_stream_after_queued_items() {
        let bus = Bus::new(QueuePolicies::default());
        let mut a = bus.subscribe("v", "BTC/USDT", StreamKind::Trades).unwrap();
        bus.publish("v", ticker("BTC/USDT", "1")).await; // other kind: not delivered
        bus.gap_all("v", GapReason::Reload, 1);
        bus.end_venue("v").await;
        assert!(
            matches!(a.recv().await, Some(StreamItem::Event(Event::Gap(g))) if g.reason == GapReason::Reload)
        );
        assert_eq!(a.recv().await, Some(StreamItem::End));
        assert_eq!(a.recv().await, None);
    }
}
