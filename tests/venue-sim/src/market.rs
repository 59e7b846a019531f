//! The simulated order books: symbols, price levels and sequence ids shared by the generator,
//! REST snapshots and the matching engine.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rust_decimal::Decimal;

/// Decimal places of every simulated price (tick 0.01).
pub(crate) const PRICE_DECIMALS: u32 = 2;
/// Decimal places of every simulated quantity (lot 0.0001).
pub(crate) const QTY_DECIMALS: u32 = 4;

/// One tradable pair, e.g. BTC/USDT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Base asset, upper case (`BTC`).
    pub base: String,
    /// Quote asset, upper case (`USDT`).
    pub quote: String,
}

const KNOWN_QUOTES: [&str; 6] = ["USDT", "USDC", "USD", "BTC", "ETH", "EUR"];

impl Symbol {
    /// Parse `BTC/USDT`, `BTC_USDT`, `btc-usdt` or the MEXC form `BTCUSDT` (split before a
    /// known quote asset: USDT, USDC, USD, BTC, ETH, EUR).
    pub fn parse(s: &str) -> Option<Self> {
        let up = s.trim().to_ascii_uppercase();
        if let Some((b, q)) = up.split_once(['/', '_', '-']) {
            return (!b.is_empty() && !q.is_empty()).then(|| Self::new(b, q));
        }
        KNOWN_QUOTES.iter().find_map(|q| {
            up.strip_suffix(q)
                .filter(|b| !b.is_empty())
                .map(|b| Self::new(b, q))
        })
    }

    fn new(base: &str, quote: &str) -> Self {
        Self {
            base: base.to_owned(),
            quote: quote.to_owned(),
        }
    }

    /// Gate.io name: `BTC_USDT`.
    pub fn gate(&self) -> String {
        format!("{}_{}", self.base, self.quote)
    }

    /// MEXC name: `BTCUSDT`.
    pub fn mexc(&self) -> String {
        format!("{}{}", self.base, self.quote)
    }
}

/// `(price ticks, quantity lots)` levels, best first.
pub(crate) type LevelList = Vec<(i64, i64)>;

/// One side's levels: price in ticks → quantity in lots.
pub(crate) type Levels = BTreeMap<i64, i64>;

/// A symbol's book and its sequence counters.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub(crate) bids: Levels,
    pub(crate) asks: Levels,
    /// Id of the last applied update (Gate `u`, MEXC `toVersion` / `lastUpdateId`).
    pub(crate) seq: u64,
    /// Id of the last public trade.
    pub(crate) trade_id: u64,
    /// The accounts' orders resting on this symbol, which a change of the book may fill
    /// ([`crate::trading::Exchange::fill_reached`]).
    pub(crate) resting: crate::trading::Resting,
}

impl Book {
    pub(crate) fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.iter().next_back().map(|(p, q)| (*p, *q))
    }

    pub(crate) fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.iter().next().map(|(p, q)| (*p, *q))
    }

    /// Top `n` levels: bids high to low, asks low to high.
    pub(crate) fn top(&self, n: usize) -> (LevelList, LevelList) {
        let bids = self
            .bids
            .iter()
            .rev()
            .take(n)
            .map(|(p, q)| (*p, *q))
            .collect();
        let asks = self.asks.iter().take(n).map(|(p, q)| (*p, *q)).collect();
        (bids, asks)
    }
}

/// All symbols' books behind one lock (the generator takes it once per batch).
#[derive(Debug)]
pub(crate) struct Market {
    pub(crate) symbols: Vec<Symbol>,
    books: Mutex<Vec<Book>>,
}

/// A starting price in ticks for a base asset.
pub(crate) fn start_price_ticks(base: &str) -> i64 {
    let units = match base {
        "BTC" => 60_000,
        "ETH" => 3_000,
        "SOL" => 150,
        _ => 100,
    };
    units * 10_i64.pow(PRICE_DECIMALS)
}

impl Market {
    /// Books seeded with `levels` levels per side around a per-asset start price.
    pub(crate) fn new(symbols: Vec<Symbol>, levels: usize, first_seq: u64) -> Arc<Self> {
        let books = symbols
            .iter()
            .map(|s| {
                let mid = start_price_ticks(&s.base);
                let mut book = Book {
                    seq: first_seq,
                    trade_id: first_seq,
                    ..Book::default()
                };
                for i in 0..levels as i64 {
                    let qty = 1_000 + (i * 7_919) % 50_000;
                    book.bids.insert(mid - 1 - i, qty);
                    book.asks.insert(mid + 1 + i, qty);
                }
                book
            })
            .collect();
        Arc::new(Self {
            symbols,
            books: Mutex::new(books),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<Book>> {
        self.books.lock().unwrap()
    }

    /// Index of the symbol whose Gate or MEXC name is `name`.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.symbols
            .iter()
            .position(|s| s.gate() == name || s.mexc() == name)
    }
}

/// Append the decimal digits of `v` (no allocation, no formatter).
pub(crate) fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Append `v`, with a sign if negative.
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Write `v / 10^decimals` with exactly `decimals` fraction digits.
pub(crate) fn write_fixed(out: &mut Vec<u8>, v: i64, decimals: u32) {
    if v < 0 {
        out.push(b'-');
    }
    let v = v.unsigned_abs();
    let scale = 10_u64.pow(decimals);
    write_u64(out, v / scale);
    if decimals > 0 {
        out.push(b'.');
        let mut frac = v % scale;
        let mut digits = [b'0'; 20];
        for d in (0..decimals as usize).rev() {
            digits[d] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        out.extend_from_slice(&digits[..decimals as usize]);
    }
}

/// `v / 10^decimals` as a string.
pub(crate) fn fixed(v: i64, decimals: u32) -> String {
    let mut out = Vec::with_capacity(24);
    write_fixed(&mut out, v, decimals);
    String::from_utf8(out).expect("ascii")
}

/// Price in ticks as a decimal.
pub(crate) fn price_dec(ticks: i64) -> Decimal {
    Decimal::new(ticks, PRICE_DECIMALS)
}
