//! The registry of subscriptions: consumers subscribe by venue, symbol and kind and get a
//! [`Subscription`] with its own bounded queue; dropping it unsubscribes. A venue's
//! connections learn from [`Bus::interest`] when the first consumer of a topic arrives and
//! the last one leaves; its driver publishes through a [`Publisher`].

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use plugin_api::{Event, GapReason, Instrument, StreamKind, Symbol};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::pipeline::publish::{deliver, gap_event, Shared};
pub use crate::pipeline::publish::{Burst, Publisher, Stalled};
use crate::pipeline::queue::{queue, Overflow, QueueStats, QueueTx, WakeBatch};
pub use crate::pipeline::subscription::{StreamItem, Subscription};

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

pub(crate) type TopicKey = (Symbol, StreamKind);

/// Consumers by topic; replaced whole when subscriptions change, so publishers read it
/// without a lock.
pub(crate) type Routes = FxHashMap<TopicKey, Arc<Vec<Entry>>>;

/// One subscription's queue, as publishers see it.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) tx: QueueTx<StreamItem>,
}

struct VenueSubs {
    /// The live subscriptions and latest balances, shared with the venue's [`Publisher`]s.
    shared: Arc<Shared>,
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
        let mut next = Routes::clone(&self.shared.routes.load());
        let result = change(&mut next);
        self.shared.routes.store(Arc::new(next));
        result
    }
}

impl Default for VenueSubs {
    fn default() -> Self {
        VenueSubs {
            shared: Arc::default(),
            interest: watch::Sender::new(0),
            ended: HashMap::new(),
            retired: QueueStats::default(),
        }
    }
}

pub(crate) struct BusInner {
    venues: Mutex<HashMap<String, VenueSubs>>,
    next_id: AtomicU64,
    policies: QueuePolicies,
}

/// The registry of subscriptions. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    pub(crate) inner: Arc<BusInner>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("subscriptions", &self.live_subscriptions())
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
    ///
    /// A balances subscription starts with the latest balance of each asset the venue
    /// reported (with its original stamp), then gets every later one.
    pub fn subscribe(&self, venue: &str, symbol: &str, kind: StreamKind) -> Option<Subscription> {
        let key = (Symbol::new(symbol)?, kind);
        let policy = self.inner.policies.for_kind(kind);
        let (tx, rx) = queue(self.inner.policies.capacity, policy);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut venues = self.lock();
            let subs = venues.entry(venue.to_owned()).or_default();
            let shared = subs.shared.clone();
            // Held until the route is in place: see `Shared::balances`.
            let mut latest = (kind == StreamKind::Balances).then(|| shared.balances());
            if let Some(latest) = &latest {
                let mut wakes = WakeBatch::new();
                for event in latest.values() {
                    // A new queue has room for every asset of an account.
                    let _ = tx.try_push_deferred(0, StreamItem::Event(event.clone()), &mut wakes);
                }
            }
            let first = subs.edit(|topics| {
                let list = topics.entry(key).or_default();
                Arc::make_mut(list).push(Entry { id, tx });
                list.len() == 1
            });
            latest.take();
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

    pub(crate) fn remove(&self, venue: &str, key: TopicKey, id: u64, final_stats: QueueStats) {
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
                s.shared
                    .routes
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
        let shared = self
            .lock()
            .entry(venue.to_owned())
            .or_default()
            .shared
            .clone();
        Publisher { shared }
    }

    /// Sends a gap marker to every consumer of `venue` on a stream of one of `kinds` (after
    /// a reload or a restart); consumers stay subscribed. Markers never wait for room.
    pub fn gap_kinds(
        &self,
        venue: &str,
        kinds: &[StreamKind],
        reason: GapReason,
        received_ns: u64,
    ) {
        for ((symbol, kind), entries) in self.routes_of(venue, kinds) {
            let instrument = Instrument {
                symbol,
                venue_symbol: Symbol::EMPTY,
            };
            let gap = gap_event(instrument, kind, reason, received_ns);
            // Gaps are markers: their delivery never stalls.
            let _ = deliver(&[entries.as_slice()], gap, &mut WakeBatch::new());
        }
    }

    /// Ends every subscription of `venue` to a stream of one of `kinds`: consumers drain
    /// what is queued, then get [`StreamItem::End`].
    ///
    /// The subscriptions stop counting as live at once; their queues' counters still count in
    /// [`Bus::venue_stats`].
    pub fn end_kinds(&self, venue: &str, kinds: &[StreamKind]) {
        let ended: Vec<Entry> = {
            let mut venues = self.lock();
            let Some(subs) = venues.get_mut(venue) else {
                return;
            };
            let ended = subs.edit(|topics| {
                let keys: Vec<TopicKey> = topics
                    .keys()
                    .filter(|(_, kind)| kinds.contains(kind))
                    .copied()
                    .collect();
                keys.iter()
                    .filter_map(|k| topics.remove(k))
                    .flat_map(|list| list.iter().cloned().collect::<Vec<_>>())
                    .collect::<Vec<Entry>>()
            });
            for e in &ended {
                subs.ended.insert(e.id, e.tx.clone());
            }
            if !ended.is_empty() {
                subs.interest.send_modify(|v| *v += 1);
            }
            ended
        };
        for e in &ended {
            let _ = e.tx.push_marker(StreamItem::End);
            e.tx.close();
        }
    }

    /// Subscriptions alive on every venue.
    pub fn live_subscriptions(&self) -> usize {
        self.lock()
            .values()
            .map(|s| {
                s.shared
                    .routes
                    .load()
                    .values()
                    .map(|l| l.len())
                    .sum::<usize>()
            })
            .sum()
    }

    /// Subscriptions alive on `venue`.
    pub fn venue_subscriptions(&self, venue: &str) -> usize {
        self.lock()
            .get(venue)
            .map(|s| s.shared.routes.load().values().map(|l| l.len()).sum())
            .unwrap_or(0)
    }

    /// Subscriptions alive on `venue` to streams of one of `kinds`.
    pub fn kind_subscriptions(&self, venue: &str, kinds: &[StreamKind]) -> usize {
        self.routes_of(venue, kinds)
            .iter()
            .map(|(_, entries)| entries.len())
            .sum()
    }

    /// The topics of `venue` of one of `kinds` that have consumers, with those consumers.
    fn routes_of(&self, venue: &str, kinds: &[StreamKind]) -> Vec<(TopicKey, Arc<Vec<Entry>>)> {
        let venues = self.lock();
        let Some(subs) = venues.get(venue) else {
            return Vec::new();
        };
        subs.shared
            .routes
            .load()
            .iter()
            .filter(|((_, kind), _)| kinds.contains(kind))
            .map(|(k, v)| (*k, v.clone()))
            .collect()
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
        for list in subs.shared.routes.load().values() {
            for e in list.iter() {
                total += e.tx.stats();
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use plugin_api::{BookTicker, Num, Stamp};

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

    fn balance(asset: &str, available: &str) -> Event {
        Event::Balance(plugin_api::Balance {
            asset: asset.into(),
            available: Num::parse(available).unwrap(),
            locked: Num::ZERO,
            stamp: Stamp::default(),
        })
    }

    #[tokio::test]
    async fn a_late_balances_subscriber_starts_from_the_latest_balance_per_asset() {
        let bus = Bus::new(QueuePolicies::default());
        // Reported before anyone listened (the venue's snapshot on connect).
        bus.publish("v", balance("USDT", "100")).await;
        bus.publish("v", balance("btc", "1")).await;
        bus.publish("v", balance("usdt", "90")).await;
        let mut late = bus.subscribe("v", "", StreamKind::Balances).unwrap();
        assert_eq!(
            late.recv().await,
            Some(StreamItem::Event(balance("btc", "1")))
        );
        assert_eq!(
            late.recv().await,
            Some(StreamItem::Event(balance("usdt", "90")))
        );
        bus.publish("v", balance("BTC", "2")).await;
        assert_eq!(
            late.recv().await,
            Some(StreamItem::Event(balance("BTC", "2")))
        );
        assert_eq!(late.stats().depth, 0, "each balance once");
        // Other venues and other kinds start empty.
        let other = bus.subscribe("w", "", StreamKind::Balances).unwrap();
        let orders = bus.subscribe("v", "", StreamKind::Orders).unwrap();
        assert_eq!((other.stats().depth, orders.stats().depth), (0, 0));
    }

    #[tokio::test]
    async fn end_of_stream_after_queued_items() {
        let bus = Bus::new(QueuePolicies::default());
        let mut a = bus.subscribe("v", "BTC/USDT", StreamKind::Trades).unwrap();
        bus.publish("v", ticker("BTC/USDT", "1")).await; // other kind: not delivered
        bus.gap_kinds("v", &[StreamKind::Trades], GapReason::Reload, 1);
        bus.end_kinds("v", &[StreamKind::Trades]);
        assert!(
            matches!(a.recv().await, Some(StreamItem::Event(Event::Gap(g))) if g.reason == GapReason::Reload)
        );
        assert_eq!(a.recv().await, Some(StreamItem::End));
        assert_eq!(a.recv().await, None);
    }
}
