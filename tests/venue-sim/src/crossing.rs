//! The cross-venue price model: a fair value shared by every simulator started with the same
//! seed, and opposite venue offsets that make a Gate.io and a MEXC simulator cross each other
//! for a few seconds at regular times, so that an arbitrage between them has something to find.
//!
//! Everything is a pure function of (seed, symbol, Unix time in ms): two simulators in two
//! processes agree without talking to each other, and tests drive the model with explicit
//! times.
//!
//! * **Fair value** `F = start × (1 + x)`, where `x` is the sum of the last 3,000 steps
//!   (5 minutes of 100 ms steps) of a random walk whose steps (uniform within ±1 bp) are hashed
//!   from (seed, symbol name, step number). Over seconds it moves like a random walk (about
//!   10 bp per 30 s); it never wanders off (the standard deviation of `x` is about 32 bp).
//!   Sums are integers (parts per million), so a value computed step by step equals one
//!   computed from scratch.
//! * **Crossings**: centred at `origin + (n + ½)·every` for every whole number `n`, the venues'
//!   mids move apart in a raised-cosine pulse `width` long. Gate.io is the rich venue for even
//!   `n` and MEXC for odd `n`, so crossings alternate direction. At the pulse's centre the rich
//!   venue's best bid is `peak_bps` above the cheap venue's best ask; it is above it for
//!   (nearly) the whole `width`, and by more than half the peak for half of it. Between pulses
//!   both venues quote the fair value.
//! * **Books**: best bid and ask one tick either side of the venue's mid; [`step`] moves a
//!   book there with ordinary level updates (crossed levels removed, the top set, depth
//!   refilled behind it), so depth streams and REST snapshots stay consistent.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::Rng;
use rust_decimal::Decimal;

use crate::config::Venue;
use crate::market::{price_dec, start_price_ticks, Book, Symbol};
use crate::synthetic::{finish, Change, Event, TradeEvent};

/// Length of one fair-value step, in ms.
pub const STEP_MS: i64 = 100;
/// Steps summed into the fair value's deviation (5 minutes).
pub const WINDOW_STEPS: i64 = 3_000;
/// Largest single step, in parts per million of the start price (1 bp).
const STEP_PPM: i64 = 100;
/// Distance of the best bid and ask from the venue's mid, in ticks.
pub const HALF_SPREAD_TICKS: i64 = 1;

/// When and how far the two venues' books cross. Both simulators of a pair must use the same
/// values (and the same seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crossing {
    /// Time from the centre of one crossing to the centre of the next (they alternate
    /// direction). Default 30 s.
    pub every: Duration,
    /// How long each crossing lasts: the time the rich venue's best bid stays above the cheap
    /// venue's best ask. At most `every`. Default 8 s.
    pub width: Duration,
    /// How far the rich venue's best bid is above the cheap venue's best ask at the centre of
    /// a crossing, in basis points of the fair value. Default 40 (0.4 %, twice typical taker
    /// fees of 0.1 % a side).
    pub peak_bps: u32,
    /// Unix time (ms) the crossing schedule counts from; 0 puts every pair of simulators on
    /// the same schedule without coordination. Tests move it to put "now" inside a crossing.
    pub origin_ms: i64,
}

impl Default for Crossing {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(30),
            width: Duration::from_secs(8),
            peak_bps: 40,
            origin_ms: 0,
        }
    }
}

impl Crossing {
    /// Why these values cannot make a schedule, if they cannot.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.every.as_millis() == 0 || self.width.as_millis() == 0 {
            return Err("crossing `every` and `width` must be at least 1 ms");
        }
        if self.width > self.every {
            return Err("crossing `width` must not exceed `every`");
        }
        if self.peak_bps == 0 || self.peak_bps > 5_000 {
            return Err("crossing `peak_bps` must be 1..=5000");
        }
        Ok(())
    }

    /// The crossing in effect at `t_ms`: `(sign, weight)`, where `sign` is +1 when Gate.io is
    /// the rich venue and -1 when MEXC is, and `weight` (0..=1) is the pulse's height.
    fn pulse(&self, t_ms: i64) -> (i64, f64) {
        let every = self.every.as_millis().max(1) as i64;
        let width = self.width.as_millis().max(1) as f64;
        let since = t_ms - self.origin_ms;
        let n = since.div_euclid(every);
        let tau = (since.rem_euclid(every) - every / 2) as f64;
        if tau.abs() >= width / 2.0 {
            return (0, 0.0);
        }
        let sign = if n.rem_euclid(2) == 0 { 1 } else { -1 };
        (sign, (std::f64::consts::PI * tau / width).cos().powi(2))
    }
}

/// One venue's best bid and ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Best bid.
    pub bid: Decimal,
    /// Best ask.
    pub ask: Decimal,
}

/// SplitMix64: a well-mixed 64-bit hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// FNV-1a of a symbol name: stable across processes and Rust versions.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One symbol's fair value: the windowed random walk, with the last sum kept so that
/// consecutive times cost a step each.
#[derive(Clone, Debug)]
struct Walk {
    key: u64,
    start_ticks: i64,
    /// `(step number, sum of the window ending there)`.
    last: Option<(i64, i64)>,
}

impl Walk {
    fn new(seed: u64, symbol: &Symbol) -> Self {
        Self {
            key: mix(seed ^ mix(name_hash(&symbol.gate()))),
            start_ticks: start_price_ticks(&symbol.base),
            last: None,
        }
    }

    /// Step `k`'s move, in ppm.
    fn step_ppm(&self, k: i64) -> i64 {
        (mix(self.key ^ k as u64) % (2 * STEP_PPM as u64 + 1)) as i64 - STEP_PPM
    }

    /// The deviation (ppm) at step `k`: the sum of steps `k - WINDOW_STEPS + 1 ..= k`.
    fn deviation(&mut self, k: i64) -> i64 {
        let x = match self.last {
            Some((k0, x0)) if k >= k0 && k - k0 <= WINDOW_STEPS => ((k0 + 1)..=k)
                .fold(x0, |x, j| {
                    x + self.step_ppm(j) - self.step_ppm(j - WINDOW_STEPS)
                }),
            _ => ((k - WINDOW_STEPS + 1)..=k).map(|j| self.step_ppm(j)).sum(),
        };
        self.last = Some((k, x));
        x
    }

    /// The fair value at `t_ms`, in ticks.
    fn fair_ticks(&mut self, t_ms: i64) -> i64 {
        let x = self.deviation(t_ms.div_euclid(STEP_MS));
        (i128::from(self.start_ticks) * i128::from(1_000_000 + x) / 1_000_000) as i64
    }
}

/// The price model of a set of symbols; see the module docs.
#[derive(Clone, Debug)]
pub struct PriceModel {
    crossing: Crossing,
    walks: Vec<Walk>,
}

impl PriceModel {
    /// The model for `symbols` (their order does not matter: each symbol's walk depends on its
    /// name and `seed` only).
    pub fn new(seed: u64, crossing: Crossing, symbols: &[Symbol]) -> Self {
        Self {
            crossing,
            walks: symbols.iter().map(|s| Walk::new(seed, s)).collect(),
        }
    }

    /// The fair value of symbol `sym` (its index in the list given to [`PriceModel::new`]) at
    /// `t_ms`.
    pub fn fair(&mut self, sym: usize, t_ms: i64) -> Decimal {
        price_dec(self.walks[sym].fair_ticks(t_ms))
    }

    /// `venue`'s best bid and ask of symbol `sym` at `t_ms`.
    pub fn quote(&mut self, venue: Venue, sym: usize, t_ms: i64) -> Quote {
        let (bid, ask) = self.quote_ticks(venue, sym, t_ms);
        Quote {
            bid: price_dec(bid),
            ask: price_dec(ask),
        }
    }

    /// [`PriceModel::quote`] in ticks.
    pub(crate) fn quote_ticks(&mut self, venue: Venue, sym: usize, t_ms: i64) -> (i64, i64) {
        let fair = self.walks[sym].fair_ticks(t_ms);
        let (sign, weight) = self.crossing.pulse(t_ms);
        // At the peak the rich bid minus the cheap ask, (fair + h - 1) - (fair - h + 1), is
        // `peak_bps` of the fair value.
        let peak_ticks = fair as f64 * f64::from(self.crossing.peak_bps) / 10_000.0;
        let half = ((peak_ticks + 2.0 * HALF_SPREAD_TICKS as f64) * weight / 2.0).round() as i64;
        let venue_sign = match venue {
            Venue::Gateio => 1,
            Venue::Mexc => -1,
            // A third venue quotes the fair value: it never crosses the other two.
            Venue::Binance => 0,
        };
        let mid = fair + sign * venue_sign * half;
        (mid - HALF_SPREAD_TICKS, mid + HALF_SPREAD_TICKS)
    }
}

/// Quantity of a new best level, in lots (0.5 to 5 units: enough for arbitrage legs).
fn top_qty(rng: &mut SmallRng) -> i64 {
    rng.random_range(5_000..50_000)
}

/// Quantity of a new level behind the best, in lots.
fn depth_qty(rng: &mut SmallRng) -> i64 {
    rng.random_range(1_000..50_000)
}

/// Sets a level (quantity 0 removes it) and records the change.
fn set(book: &mut Book, changes: &mut Vec<Change>, is_bid: bool, price: i64, qty: i64) {
    let side = if is_bid {
        &mut book.bids
    } else {
        &mut book.asks
    };
    if qty == 0 {
        side.remove(&price);
    } else {
        side.insert(price, qty);
    }
    changes.push((is_bid, price, qty));
}

/// Moves `book` to best bid `bid` and best ask `ask`: levels that would cross them go, the
/// two best levels are set if missing, each side is refilled to `levels` levels behind its
/// best (spaced about 0.5 bp apart) and trimmed to twice that from the far end.
pub(crate) fn recenter(
    book: &mut Book,
    bid: i64,
    ask: i64,
    levels: usize,
    rng: &mut SmallRng,
    changes: &mut Vec<Change>,
) {
    let crossed_bids: Vec<i64> = book.bids.range(bid + 1..).map(|(p, _)| *p).collect();
    for p in crossed_bids {
        set(book, changes, true, p, 0);
    }
    let crossed_asks: Vec<i64> = book.asks.range(..ask).map(|(p, _)| *p).collect();
    for p in crossed_asks {
        set(book, changes, false, p, 0);
    }
    if !book.bids.contains_key(&bid) {
        set(book, changes, true, bid, top_qty(rng));
    }
    if !book.asks.contains_key(&ask) {
        set(book, changes, false, ask, top_qty(rng));
    }
    let spacing = (bid / 200_000).max(1);
    let levels = levels.max(1);
    for is_bid in [true, false] {
        let mut i = 1;
        loop {
            let len = if is_bid {
                book.bids.len()
            } else {
                book.asks.len()
            };
            if len >= levels {
                break;
            }
            let p = if is_bid {
                bid - i * spacing
            } else {
                ask + i * spacing
            };
            i += 1;
            if p <= 0 {
                break;
            }
            let side = if is_bid { &book.bids } else { &book.asks };
            if !side.contains_key(&p) {
                set(book, changes, is_bid, p, depth_qty(rng));
            }
        }
        loop {
            let far = if is_bid {
                (book.bids.len() > 2 * levels)
                    .then(|| book.bids.keys().next().copied())
                    .flatten()
            } else {
                (book.asks.len() > 2 * levels)
                    .then(|| book.asks.keys().next_back().copied())
                    .flatten()
            };
            match far {
                Some(p) => set(book, changes, is_bid, p, 0),
                None => break,
            }
        }
    }
}

/// One update of `book` in the crossing mode: the book moves to the model's best bid `bid`
/// and ask `ask`, one level behind the best changes size, and one time in eight a taker
/// trades part of the best bid or ask. Ids are assigned as in [`crate::synthetic::step`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn step(
    book: &mut Book,
    sym: usize,
    bid: i64,
    ask: i64,
    levels: usize,
    rng: &mut SmallRng,
    gap: u64,
    ts_ms: i64,
) -> Event {
    let mut changes = Vec::with_capacity(4);
    recenter(book, bid, ask, levels, rng, &mut changes);
    let is_bid = rng.random_bool(0.5);
    let side = if is_bid { &book.bids } else { &book.asks };
    let behind = side.len().saturating_sub(1).min(10);
    if behind > 0 {
        let off = rng.random_range(1..=behind);
        let p = if is_bid {
            side.keys().rev().nth(off)
        } else {
            side.keys().nth(off)
        };
        if let Some(p) = p.copied() {
            set(book, &mut changes, is_bid, p, depth_qty(rng));
        }
    }
    if changes.is_empty() {
        // A one-level book already at the model: refresh the best bid's size.
        set(book, &mut changes, true, bid, top_qty(rng));
    }
    let mut trade = None;
    if rng.random_range(0..8) == 0 {
        let taker_buy = rng.random_bool(0.5);
        let best = if taker_buy {
            book.best_ask()
        } else {
            book.best_bid()
        };
        // A trade takes part of the best level, never all of it: the top stays at the model.
        if let Some((p, q)) = best.filter(|(_, q)| *q > 1) {
            let tq = rng.random_range(1..q);
            book.trade_id += 1;
            trade = Some(TradeEvent {
                id: book.trade_id,
                price: p,
                qty: tq,
                taker_buy,
            });
            set(book, &mut changes, !taker_buy, p, q - tq);
        }
    }
    finish(book, sym, changes, trade, gap, ts_ms)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::market::Market;

    const T0: i64 = 1_790_000_000_000;

    fn symbols() -> Vec<Symbol> {
        ["BTC/USDT", "ETH/USDT"]
            .iter()
            .filter_map(|s| Symbol::parse(s))
            .collect()
    }

    /// How far `rich`'s best bid is above `cheap`'s best ask, in bp of the fair value.
    fn cross_bps(m: &mut PriceModel, rich: Venue, cheap: Venue, sym: usize, t: i64) -> f64 {
        let r = m.quote_ticks(rich, sym, t);
        let c = m.quote_ticks(cheap, sym, t);
        let fair = m.walks[sym].fair_ticks(t);
        (r.0 - c.1) as f64 / fair as f64 * 10_000.0
    }

    #[test]
    fn books_cross_both_ways_by_the_peak_within_each_period() {
        let mut m = PriceModel::new(7, Crossing::default(), &symbols());
        for sym in 0..2 {
            // Every 100 ms over two minutes from an arbitrary instant.
            let mut crossed_ms = [0i64; 2];
            let mut above_fees_ms = [0i64; 2];
            let mut best = [f64::MIN; 2];
            let mut last_cross = [None::<i64>; 2];
            let mut longest_wait = 0;
            let mut previous_any = T0;
            for i in 0..1_200 {
                let t = T0 + i * 100;
                let mut any = false;
                for (d, (rich, cheap)) in
                    [(Venue::Gateio, Venue::Mexc), (Venue::Mexc, Venue::Gateio)]
                        .into_iter()
                        .enumerate()
                {
                    let c = cross_bps(&mut m, rich, cheap, sym, t);
                    best[d] = best[d].max(c);
                    if c > 0.0 {
                        crossed_ms[d] += 100;
                        last_cross[d] = Some(t);
                        any = true;
                    }
                    // Taker fees of 0.1 % on each leg: 20 bp.
                    if c > 20.0 {
                        above_fees_ms[d] += 100;
                    }
                }
                if any {
                    longest_wait = longest_wait.max(t - previous_any);
                    previous_any = t;
                }
            }
            for d in 0..2 {
                // Two crossings each way in two minutes, 8 s long, above fees half the time.
                assert!((15_000..=16_400).contains(&crossed_ms[d]), "{crossed_ms:?}");
                assert!(
                    (7_600..=8_400).contains(&above_fees_ms[d]),
                    "{above_fees_ms:?}"
                );
                assert!((39.5..=40.05).contains(&best[d]), "peak {best:?}");
                assert!(last_cross[d].is_some());
            }
            // Crossed one way or the other again within 30 s less (about) the 8 s width.
            assert!(longest_wait <= 30_000 - 7_000, "{longest_wait}");
        }
    }

    #[test]
    fn between_crossings_both_venues_quote_the_fair_value() {
        let mut m = PriceModel::new(7, Crossing::default(), &symbols());
        // 15 s from a centre is the middle of the quiet time.
        let t = 30_000 * 59_666_667;
        let g = m.quote_ticks(Venue::Gateio, 0, t);
        let x = m.quote_ticks(Venue::Mexc, 0, t);
        assert_eq!(g, x);
        let fair = m.walks[0].fair_ticks(t);
        assert_eq!(g, (fair - 1, fair + 1));
    }

    #[test]
    fn the_rich_venue_alternates_at_the_scheduled_centres() {
        let crossing = Crossing {
            origin_ms: 1_000,
            ..Crossing::default()
        };
        let mut m = PriceModel::new(3, crossing, &symbols());
        // Centres at 1_000 + 15_000 + n * 30_000; n = 59_666_666 is even.
        let centre = 1_000 + 15_000 + 59_666_666 * 30_000;
        assert!(cross_bps(&mut m, Venue::Gateio, Venue::Mexc, 1, centre) > 39.0);
        assert!(cross_bps(&mut m, Venue::Mexc, Venue::Gateio, 1, centre + 30_000) > 39.0);
        // 4 s from the centre (half the width) the pulse has just ended.
        assert!(cross_bps(&mut m, Venue::Gateio, Venue::Mexc, 1, centre + 4_000) <= 0.0);
        assert!(cross_bps(&mut m, Venue::Gateio, Venue::Mexc, 1, centre + 3_500) > 0.0);
    }

    #[test]
    fn same_seed_same_prices_in_any_order_of_asking() {
        let mut a = PriceModel::new(11, Crossing::default(), &symbols());
        let mut reversed = symbols();
        reversed.reverse();
        let mut b = PriceModel::new(11, Crossing::default(), &reversed);
        let mut other = PriceModel::new(12, Crossing::default(), &symbols());
        // Forward step by step in `a`, jumps back and forth in `b`.
        let times: Vec<i64> = (0..3_000).map(|i| T0 + i * 37).collect();
        let forward: Vec<_> = times
            .iter()
            .map(|t| a.quote_ticks(Venue::Mexc, 0, *t))
            .collect();
        for (i, t) in times.iter().enumerate().rev().step_by(7) {
            assert_eq!(b.quote_ticks(Venue::Mexc, 1, *t), forward[i]);
        }
        let far = T0 + 86_400_000;
        assert_eq!(a.fair(0, far), b.fair(1, far));
        assert_ne!(a.fair(0, far), other.fair(0, far));
    }

    #[test]
    fn the_fair_value_walks_but_stays_near_its_start() {
        let mut m = PriceModel::new(7, Crossing::default(), &symbols());
        let start = Decimal::from(60_000);
        let (mut moved, mut lo, mut hi) = (false, start, start);
        let first = m.fair(0, T0);
        for i in 0..10_000 {
            let f = m.fair(0, T0 + i * 1_000);
            moved |= f != first;
            lo = lo.min(f);
            hi = hi.max(f);
        }
        assert!(moved);
        // Nine times the standard deviation (32 bp) is about 3 %.
        assert!(
            lo > Decimal::from(58_000) && hi < Decimal::from(62_000),
            "{lo}..{hi}"
        );
    }

    /// Applies `changes` to a copy of a book.
    fn apply(book: &mut Book, changes: &[Change]) {
        for &(is_bid, p, q) in changes {
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
    }

    #[test]
    fn book_updates_follow_the_model_and_replay_to_the_same_book() {
        let syms = symbols();
        let market = Market::new(syms.clone(), 50, 1_000);
        let mut model = PriceModel::new(5, Crossing::default(), &syms);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut books = market.lock();
        let mut copy = Book {
            bids: books[0].bids.clone(),
            asks: books[0].asks.clone(),
            seq: books[0].seq,
            ..Book::default()
        };
        let mut crossed_best = 0;
        for i in 0..5_000 {
            let t = T0 + i * 13;
            let (bid, ask) = model.quote_ticks(Venue::Gateio, 0, t);
            let ev = step(&mut books[0], 0, bid, ask, 50, &mut rng, 0, t);
            assert_eq!(ev.first, copy.seq + 1, "ids are contiguous");
            copy.seq = ev.last;
            apply(&mut copy, &ev.changes);
            let book = &books[0];
            assert_eq!((&copy.bids, &copy.asks), (&book.bids, &book.asks));
            let (bb, _) = book.best_bid().unwrap();
            let (ba, _) = book.best_ask().unwrap();
            assert!(bb < ba, "the book never crosses itself");
            assert_eq!((bb, ba), (bid, ask));
            assert!((50..=100).contains(&book.bids.len()), "{}", book.bids.len());
            assert!((50..=100).contains(&book.asks.len()), "{}", book.asks.len());
            let mexc = model.quote_ticks(Venue::Mexc, 0, t);
            if bb > mexc.1 {
                crossed_best += 1;
            }
        }
        // 65 s: at least two crossings where Gate.io is rich.
        assert!(crossed_best > 500, "{crossed_best}");
    }
}
