//! The best bid and ask with their sizes per (venue, symbol), and whether they may be traded
//! on: a quote that is missing, older than the allowed age, crossed, empty, or on a stream
//! flagged unsynced (a gap) is not tradable.

use std::collections::HashMap;

use plugin_api::{BookTicker, Decimal, Gap, Instrument, Level, Stamp, StreamKind, Symbol};

use crate::config::VenueId;
use crate::exact::dec;

/// A price with the size available at it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Quote {
    /// Price.
    pub price: Decimal,
    /// Size at that price, in the base asset.
    pub qty: Decimal,
}

/// The top of one venue's book for one symbol.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Touch {
    /// The instrument as the venue spells it (orders need its venue symbol).
    pub instrument: Instrument,
    /// Best bid.
    pub bid: Quote,
    /// Best ask.
    pub ask: Quote,
    /// The venue's book update id (0 if none); an older one than held is ignored.
    pub update_id: u64,
    /// When the host received it.
    pub stamp: Stamp,
}

/// Why a touch may not be traded on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Untradable {
    /// No quote received yet.
    NoQuote,
    /// The stream had a gap (or was flagged unsynced) and no quote came since.
    Unsynced,
    /// The quote is older than the allowed age.
    Stale {
        /// Its age in nanoseconds.
        age_ns: u64,
    },
    /// A zero price or size on either side.
    Empty,
    /// Bid at or above ask on the venue itself: a broken or lagging book.
    Crossed,
}

#[derive(Debug)]
struct Entry {
    touch: Touch,
    synced: bool,
}

/// Every venue's touch for every symbol, as last received.
#[derive(Debug)]
pub struct Touches {
    max_age_ns: u64,
    entries: HashMap<(VenueId, Symbol), Entry>,
}

impl Touches {
    /// An empty set; quotes older than `max_quote_age_ms` are not tradable.
    pub fn new(max_quote_age_ms: u64) -> Touches {
        Touches {
            max_age_ns: max_quote_age_ms.saturating_mul(1_000_000),
            entries: HashMap::new(),
        }
    }

    /// Takes a book ticker; returns false if it was older than the one held (by update id).
    pub fn on_book_ticker(&mut self, venue: VenueId, t: &BookTicker) -> bool {
        self.update(
            venue,
            Touch {
                instrument: t.instrument,
                bid: Quote {
                    price: dec(t.bid_price),
                    qty: dec(t.bid_qty),
                },
                ask: Quote {
                    price: dec(t.ask_price),
                    qty: dec(t.ask_qty),
                },
                update_id: t.update_id,
                stamp: t.stamp,
            },
        )
    }

    /// Takes the top of a synced order book (best bid and ask levels).
    pub fn on_book_top(
        &mut self,
        venue: VenueId,
        instrument: Instrument,
        bid: Level,
        ask: Level,
        stamp: Stamp,
    ) -> bool {
        self.update(
            venue,
            Touch {
                instrument,
                bid: Quote {
                    price: dec(bid.price),
                    qty: dec(bid.qty),
                },
                ask: Quote {
                    price: dec(ask.price),
                    qty: dec(ask.qty),
                },
                update_id: 0,
                stamp,
            },
        )
    }

    fn update(&mut self, venue: VenueId, touch: Touch) -> bool {
        let key = (venue, touch.instrument.symbol);
        match self.entries.get_mut(&key) {
            Some(e) => {
                // After a gap ids may restart (a new connection), so only a synced entry
                // refuses an older id.
                if e.synced && touch.update_id != 0 && touch.update_id < e.touch.update_id {
                    return false;
                }
                e.touch = touch;
                e.synced = true;
            }
            None => {
                self.entries.insert(
                    key,
                    Entry {
                        touch,
                        synced: true,
                    },
                );
            }
        }
        true
    }

    /// Flags one symbol (or, with `None`, every symbol) of a venue unsynced until its next
    /// quote; for a book the runtime knows to be resynchronizing.
    pub fn mark_unsynced(&mut self, venue: VenueId, symbol: Option<Symbol>) {
        for ((v, s), e) in &mut self.entries {
            if *v == venue && symbol.is_none_or(|want| want == *s) {
                e.synced = false;
            }
        }
    }

    /// Applies a gap on a book ticker or depth stream (others are ignored); an empty symbol
    /// means every symbol. Returns true if it concerned market data.
    pub fn on_gap(&mut self, venue: VenueId, gap: &Gap) -> bool {
        if !matches!(gap.kind, StreamKind::BookTicker | StreamKind::Depth) {
            return false;
        }
        let symbol = gap.instrument.symbol;
        self.mark_unsynced(venue, (!symbol.is_empty()).then_some(symbol));
        true
    }

    /// The last touch received, tradable or not.
    pub fn get(&self, venue: VenueId, symbol: Symbol) -> Option<&Touch> {
        self.entries.get(&(venue, symbol)).map(|e| &e.touch)
    }

    /// The touch if it may be traded on at `now_ns` (nanoseconds since the epoch, the clock
    /// of [`Stamp::received_ns`]).
    pub fn tradable(
        &self,
        venue: VenueId,
        symbol: Symbol,
        now_ns: u64,
    ) -> Result<&Touch, Untradable> {
        let e = self
            .entries
            .get(&(venue, symbol))
            .ok_or(Untradable::NoQuote)?;
        if !e.synced {
            return Err(Untradable::Unsynced);
        }
        let t = &e.touch;
        let age_ns = now_ns.saturating_sub(t.stamp.received_ns);
        if age_ns > self.max_age_ns {
            return Err(Untradable::Stale { age_ns });
        }
        let positive = |q: Quote| q.price > Decimal::ZERO && q.qty > Decimal::ZERO;
        if !positive(t.bid) || !positive(t.ask) {
            return Err(Untradable::Empty);
        }
        if t.bid.price >= t.ask.price {
            return Err(Untradable::Crossed);
        }
        Ok(t)
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Book tickers for tests.
    use plugin_api::{BookTicker, Instrument, Num, Stamp};

    /// A `BTC/USDT` book ticker spelled the venue's way, received at `received_ns`.
    pub(crate) fn ticker(
        venue_symbol: &str,
        bid: (&str, &str),
        ask: (&str, &str),
        received_ns: u64,
    ) -> BookTicker {
        BookTicker {
            instrument: Instrument::new("BTC/USDT", venue_symbol).unwrap(),
            bid_price: Num::parse(bid.0).unwrap(),
            bid_qty: Num::parse(bid.1).unwrap(),
            ask_price: Num::parse(ask.0).unwrap(),
            ask_qty: Num::parse(ask.1).unwrap(),
            update_id: 0,
            stamp: Stamp {
                venue_ts_ms: 0,
                received_ns,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::ticker;
    use super::*;
    use crate::config::testutil::{config, ids};
    use crate::exact::d;
    use plugin_api::{GapReason, Num};

    const MS: u64 = 1_000_000;

    fn btc() -> Symbol {
        Symbol::new("BTC/USDT").unwrap()
    }

    #[test]
    fn fresh_quote_is_tradable_and_keeps_the_venue_spelling() {
        let (gate, _) = ids(&config());
        let mut t = Touches::new(500);
        t.on_book_ticker(
            gate,
            &ticker("BTC_USDT", ("100", "2"), ("101", "3"), 10 * MS),
        );
        let touch = t.tradable(gate, btc(), 510 * MS).unwrap();
        assert_eq!(
            touch.bid,
            Quote {
                price: d("100"),
                qty: d("2")
            }
        );
        assert_eq!(
            touch.ask,
            Quote {
                price: d("101"),
                qty: d("3")
            }
        );
        assert_eq!(touch.instrument.venue_symbol.as_str(), "BTC_USDT");
    }

    #[test]
    fn stale_quote_is_refused() {
        let (gate, mexc) = ids(&config());
        let mut t = Touches::new(500);
        t.on_book_ticker(
            gate,
            &ticker("BTC_USDT", ("100", "2"), ("101", "3"), 10 * MS),
        );
        assert_eq!(
            t.tradable(gate, btc(), 511 * MS),
            Err(Untradable::Stale { age_ns: 501 * MS })
        );
        assert_eq!(t.tradable(mexc, btc(), 10 * MS), Err(Untradable::NoQuote));
    }

    #[test]
    fn gap_makes_unsynced_until_next_quote() {
        let (gate, mexc) = ids(&config());
        let mut t = Touches::new(500);
        t.on_book_ticker(
            gate,
            &ticker("BTC_USDT", ("100", "2"), ("101", "3"), 10 * MS),
        );
        t.on_book_ticker(
            mexc,
            &ticker("BTCUSDT", ("100", "2"), ("101", "3"), 10 * MS),
        );
        let gap = Gap {
            instrument: Instrument::default(),
            kind: StreamKind::BookTicker,
            reason: GapReason::Reconnect,
            last_id: 0,
            stamp: Stamp::default(),
        };
        assert!(t.on_gap(gate, &gap));
        assert_eq!(t.tradable(gate, btc(), 20 * MS), Err(Untradable::Unsynced));
        assert!(
            t.tradable(mexc, btc(), 20 * MS).is_ok(),
            "other venue untouched"
        );
        t.on_book_ticker(
            gate,
            &ticker("BTC_USDT", ("100", "2"), ("101", "3"), 30 * MS),
        );
        assert!(t.tradable(gate, btc(), 30 * MS).is_ok());

        let trades_gap = Gap {
            kind: StreamKind::Trades,
            ..gap
        };
        assert!(!t.on_gap(gate, &trades_gap));
        assert!(t.tradable(gate, btc(), 30 * MS).is_ok());
    }

    #[test]
    fn older_update_id_is_ignored_unless_after_a_gap() {
        let (gate, _) = ids(&config());
        let mut t = Touches::new(500);
        let mut a = ticker("BTC_USDT", ("100", "2"), ("101", "3"), MS);
        a.update_id = 10;
        let mut b = ticker("BTC_USDT", ("99", "2"), ("100", "3"), 2 * MS);
        b.update_id = 9;
        assert!(t.on_book_ticker(gate, &a));
        assert!(!t.on_book_ticker(gate, &b));
        assert_eq!(t.get(gate, btc()).unwrap().bid.price, d("100"));
        t.mark_unsynced(gate, Some(btc()));
        assert!(t.on_book_ticker(gate, &b), "ids may restart after a gap");
        assert_eq!(t.get(gate, btc()).unwrap().bid.price, d("99"));
    }

    #[test]
    fn crossed_or_empty_book_is_refused() {
        let (gate, _) = ids(&config());
        let mut t = Touches::new(500);
        t.on_book_ticker(gate, &ticker("BTC_USDT", ("101", "2"), ("101", "3"), MS));
        assert_eq!(t.tradable(gate, btc(), MS), Err(Untradable::Crossed));
        t.on_book_ticker(gate, &ticker("BTC_USDT", ("100", "0"), ("101", "3"), MS));
        assert_eq!(t.tradable(gate, btc(), MS), Err(Untradable::Empty));
    }

    #[test]
    fn book_top_updates_the_touch() {
        let (_, mexc) = ids(&config());
        let mut t = Touches::new(500);
        let level = |p: &str, q: &str| Level {
            price: Num::parse(p).unwrap(),
            qty: Num::parse(q).unwrap(),
        };
        let stamp = Stamp {
            venue_ts_ms: 1,
            received_ns: 5 * MS,
        };
        let inst = Instrument::new("BTC/USDT", "BTCUSDT").unwrap();
        t.on_book_top(
            mexc,
            inst,
            level("100.5", "0.7"),
            level("100.6", "0.1"),
            stamp,
        );
        let touch = t.tradable(mexc, btc(), 6 * MS).unwrap();
        assert_eq!(
            touch.ask,
            Quote {
                price: d("100.6"),
                qty: d("0.1")
            }
        );
        t.mark_unsynced(mexc, None);
        assert_eq!(t.tradable(mexc, btc(), 6 * MS), Err(Untradable::Unsynced));
    }
}
