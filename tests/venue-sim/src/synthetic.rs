//! Synthetic market data: a random walk of every symbol's book, paced by a tokio interval and
//! rendered once per tick into a shared batch of pre-serialised frames.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::Venue;
use crate::crossing::{self, PriceModel};
use crate::faults::Faults;
use crate::market::{Book, Market};
use crate::topics::{Batch, Frame, TopicTable};
use crate::trading::Exchange;

/// Fewest levels kept per side.
const MIN_LEVELS: usize = 10;
/// Most levels kept per side.
const MAX_LEVELS: usize = 200;

/// A trade printed by the random walk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TradeEvent {
    pub(crate) id: u64,
    pub(crate) price: i64,
    pub(crate) qty: i64,
    pub(crate) taker_buy: bool,
}

/// One level change: `(is_bid, price ticks, new quantity lots)`; quantity 0 removes the level.
pub(crate) type Change = (bool, i64, i64);

/// One book update (one or more level changes with a contiguous id range) of one symbol.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(crate) sym: usize,
    pub(crate) first: u64,
    pub(crate) last: u64,
    /// The level changes, in the order they apply.
    pub(crate) changes: Vec<Change>,
    pub(crate) trade: Option<TradeEvent>,
    pub(crate) ts_ms: i64,
}

/// Broadcast capacity in batches for `rate` events/s: about 2^18 frames of buffering in all,
/// so a slow reader lags (and is counted) instead of the queue growing without bound.
pub(crate) fn batch_capacity(rate: u32) -> usize {
    let per_tick = (rate as usize / 1000).max(1);
    (262_144 / per_tick).clamp(16, 4096)
}

/// Renders events into venue frames for the topics that have subscribers.
pub(crate) trait Render: Send + 'static {
    fn render(&mut self, ev: &Event, book: &Book, topics: &TopicTable, out: &mut Vec<Frame>);
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Apply one random step to `book`, returning the event (ids already assigned).
pub(crate) fn step(book: &mut Book, sym: usize, rng: &mut SmallRng, gap: u64, ts_ms: i64) -> Event {
    let mut changes = Vec::with_capacity(3);
    let bid_side = rng.random_bool(0.5);
    let (bb, _) = book.best_bid().unwrap_or((100, 1));
    let (ba, _) = book.best_ask().unwrap_or((bb + 2, 1));
    let r: u32 = rng.random_range(0..100);
    let qty = rng.random_range(1..50_000);
    let side_len = if bid_side {
        book.bids.len()
    } else {
        book.asks.len()
    };
    if r < 12 && ba - bb > 1 {
        // Improve the best price by one tick.
        let p = if bid_side { bb + 1 } else { ba - 1 };
        changes.push((bid_side, p, qty));
    } else if r < 30 && side_len > MIN_LEVELS {
        // Remove one of the top levels.
        let off = rng.random_range(0..4);
        let levels = if bid_side { &book.bids } else { &book.asks };
        let p = if bid_side {
            levels.keys().rev().nth(off)
        } else {
            levels.keys().nth(off)
        };
        if let Some(p) = p.copied() {
            changes.push((bid_side, p, 0));
        }
    } else if side_len < MAX_LEVELS || r % 2 == 0 {
        let off = rng.random_range(0..side_len.max(1) as i64 + 5);
        let p = if bid_side { bb - off } else { ba + off };
        changes.push((bid_side, p, qty));
    }
    if changes.is_empty() {
        let p = if bid_side { bb } else { ba };
        changes.push((bid_side, p, qty));
    }
    let mut trade = None;
    if rng.random_range(0..8) == 0 {
        // A taker hits the opposite best level.
        let taker_buy = rng.random_bool(0.5);
        let best = if taker_buy {
            book.best_ask()
        } else {
            book.best_bid()
        };
        if let Some((p, q)) = best {
            let tq = rng.random_range(1..=q.max(1));
            book.trade_id += 1;
            trade = Some(TradeEvent {
                id: book.trade_id,
                price: p,
                qty: tq,
                taker_buy,
            });
            let left = q - tq;
            let side_len = if taker_buy {
                book.asks.len()
            } else {
                book.bids.len()
            };
            if left > 0 || side_len > MIN_LEVELS {
                changes.push((!taker_buy, p, left.max(0)));
            }
        }
    }
    for &(is_bid, p, q) in &changes {
        let side = if is_bid {
            &mut book.bids
        } else {
            &mut book.asks
        };
        if q == 0 {
            side.remove(&p);
        } else {
            side.insert(p, q);
        }
    }
    finish(book, sym, changes, trade, gap, ts_ms)
}

/// The event of `changes` (already applied to `book`): the next ids after `gap` skipped ones.
pub(crate) fn finish(
    book: &mut Book,
    sym: usize,
    changes: Vec<Change>,
    trade: Option<TradeEvent>,
    gap: u64,
    ts_ms: i64,
) -> Event {
    let first = book.seq + 1 + gap;
    let last = first + changes.len() as u64 - 1;
    book.seq = last;
    Event {
        sym,
        first,
        last,
        changes,
        trade,
        ts_ms,
    }
}

/// How the generator moves prices.
pub(crate) enum Prices {
    /// Each book's own random walk ([`step`]).
    RandomWalk,
    /// The shared cross-venue model ([`crate::crossing`]) as `venue` quotes it, each book kept
    /// `levels` deep.
    Crossing {
        model: PriceModel,
        venue: Venue,
        levels: usize,
    },
}

/// The generator: owns the random state and the venue renderer, and after each book change
/// fills the resting orders the book reached ([`Exchange::fill_reached`]).
pub(crate) struct Generator {
    pub(crate) market: Arc<Market>,
    exchange: Arc<Exchange>,
    pub(crate) topics: Arc<TopicTable>,
    pub(crate) render: Box<dyn Render>,
    pub(crate) rng: SmallRng,
    pub(crate) next_sym: usize,
    pub(crate) faults: Faults,
    prices: Prices,
    /// Ids still to skip before each symbol's next update ([`Faults::skip_sequence`]).
    pending_gap: Vec<u64>,
}

impl Generator {
    /// A generator over `market`'s books, filling `exchange`'s resting orders. In the
    /// crossing mode the books are moved to the model's prices of now before anything is
    /// served (no update is sent for that).
    pub(crate) fn new(
        market: Arc<Market>,
        exchange: Arc<Exchange>,
        topics: Arc<TopicTable>,
        render: Box<dyn Render>,
        seed: u64,
        faults: Faults,
        mut prices: Prices,
    ) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        if let Prices::Crossing {
            model,
            venue,
            levels,
        } = &mut prices
        {
            let now = now_ms();
            for (sym, book) in market.lock().iter_mut().enumerate() {
                let (bid, ask) = model.quote_ticks(*venue, sym, now);
                crossing::recenter(book, bid, ask, *levels, &mut rng, &mut Vec::new());
            }
        }
        Self {
            market,
            exchange,
            topics,
            render,
            rng,
            next_sym: 0,
            faults,
            prices,
            pending_gap: Vec::new(),
        }
    }

    /// Produce `n` events (round-robin over symbols) stamped now and render them.
    pub(crate) fn produce(&mut self, n: u64) -> Vec<Frame> {
        self.produce_at(n, now_ms())
    }

    /// Produce `n` events (round-robin over symbols) stamped `ts` and render them.
    pub(crate) fn produce_at(&mut self, n: u64, ts: i64) -> Vec<Frame> {
        let mut out = Vec::with_capacity(n as usize);
        let mut books = self.market.lock();
        if books.is_empty() {
            return out;
        }
        let gap = self.faults.take_gap();
        if self.pending_gap.len() != books.len() {
            self.pending_gap = vec![0; books.len()];
        }
        if gap > 0 {
            self.pending_gap.iter_mut().for_each(|g| *g += gap);
        }
        for _ in 0..n {
            let sym = self.next_sym % books.len();
            self.next_sym = self.next_sym.wrapping_add(1);
            let gap = std::mem::take(&mut self.pending_gap[sym]);
            let book = &mut books[sym];
            let ev = match &mut self.prices {
                Prices::RandomWalk => step(book, sym, &mut self.rng, gap, ts),
                Prices::Crossing {
                    model,
                    venue,
                    levels,
                } => {
                    let (bid, ask) = model.quote_ticks(*venue, sym, ts);
                    crossing::step(book, sym, bid, ask, *levels, &mut self.rng, gap, ts)
                }
            };
            self.exchange.fill_reached(sym, book, ts);
            self.render.render(&ev, book, &self.topics, &mut out);
        }
        out
    }

    /// Emit `rate` events per second in batches, one batch per 1 ms tick, until cancelled.
    /// A generator that falls behind drops any backlog beyond 10 ticks rather than
    /// producing giant catch-up batches.
    pub(crate) async fn run(
        mut self,
        rate: u32,
        tx: broadcast::Sender<Batch>,
        cancel: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let start = Instant::now();
        let rate = f64::from(rate);
        let mut emitted: u64 = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            let due = (start.elapsed().as_secs_f64() * rate) as u64;
            let max_batch = (rate as u64 / 1000).max(1) * 10;
            emitted = emitted.max(due.saturating_sub(max_batch));
            let n = due - emitted.min(due);
            if n == 0 {
                continue;
            }
            emitted += n;
            let frames = self.produce(n);
            if !frames.is_empty() {
                let _ = tx.send(Arc::new(frames));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rust_decimal::Decimal;

    use super::*;
    use crate::config::Fees;
    use crate::crossing::Crossing;
    use crate::market::Symbol;
    use crate::trading::{NewOrder, OrderKind, OrderStatus, PrivateChange, Side};

    /// Renders nothing: the test looks at the books and the private events only.
    struct Silent;

    impl Render for Silent {
        fn render(&mut self, _: &Event, _: &Book, _: &TopicTable, _: &mut Vec<Frame>) {}
    }

    /// The centre of a crossing in which Gate.io is rich.
    const CENTRE: i64 = 1_790_000_030_000;

    #[test]
    fn a_resting_order_fills_when_the_generated_book_moves_through_it() {
        let symbols = vec![Symbol::parse("BTC/USDT").unwrap()];
        let crossing = Crossing {
            every: Duration::from_secs(60),
            width: Duration::from_secs(20),
            peak_bps: 40,
            origin_ms: CENTRE - 30_000,
        };
        let market = Market::new(symbols.clone(), 10, 1_000_000);
        let fees = Fees::of(Venue::Gateio);
        let exchange = Arc::new(Exchange::new(
            market.clone(),
            &[("k".into(), "s".into())],
            &[("BTC".into(), Decimal::ONE)],
            fees,
        ));
        let mut events = exchange.events();
        let mut gen = Generator::new(
            market.clone(),
            exchange.clone(),
            Arc::new(TopicTable::default()),
            Box::new(Silent),
            3,
            Faults::new(),
            Prices::Crossing {
                model: PriceModel::new(3, crossing, &symbols),
                venue: Venue::Gateio,
                levels: 10,
            },
        );
        // Gate.io's bid before the crossing, early in it, and at its centre.
        let mut model = PriceModel::new(3, crossing, &symbols);
        let (before, early) = (CENTRE - 10_000, CENTRE - 9_000);
        let bid = |model: &mut PriceModel, t| model.quote(Venue::Gateio, 0, t).bid;
        let (low, mid, high) = (
            bid(&mut model, before),
            bid(&mut model, early),
            bid(&mut model, CENTRE),
        );
        // A sell halfway up: above the bid until the crossing is well under way.
        let price = ((low + high) / Decimal::TWO).round_dp(2);
        assert!(
            low < price && mid < price && price <= high,
            "{low} {mid} {price} {high}"
        );

        gen.produce_at(1, before);
        let order = exchange
            .place(
                "k",
                NewOrder {
                    symbol: 0,
                    side: Side::Sell,
                    kind: OrderKind::Limit,
                    price: Some(price),
                    qty: Some(Decimal::new(1, 1)),
                    quote_qty: None,
                    client_id: "rest".into(),
                },
            )
            .unwrap();
        assert_eq!(order.status, OrderStatus::Open);
        gen.produce_at(1, early);
        assert_eq!(
            exchange.order("k", order.id).unwrap().status,
            OrderStatus::Open
        );

        gen.produce_at(1, CENTRE);
        let filled = exchange.order("k", order.id).unwrap();
        assert_eq!(filled.status, OrderStatus::Filled);
        let fill = std::iter::from_fn(|| events.try_recv().ok())
            .find_map(|e| match e.change {
                PrivateChange::Fill(f) => Some(f),
                _ => None,
            })
            .expect("a fill is pushed");
        // At the order's price, as maker: 10 bps of 0.1 × price, in USDT.
        let fee = Decimal::new(1, 1) * price * fees.maker_rate();
        assert_eq!(
            (fill.price, fill.maker, fill.fee, fill.fee_asset.as_str()),
            (price, true, fee.normalize(), "USDT")
        );
        assert!(market.lock()[0].resting.is_empty());
    }
}
