//! The resting orders of one symbol, indexed by side and limit price (best first). The index
//! lives in the symbol's [`Book`](crate::market::Book), under the market's lock, so a book
//! change and the orders it reaches are seen together, and the check after each change costs
//! one comparison per side.

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::Side;
use crate::market::price_dec;

/// One resting order: whose it is and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The API key of the account.
    pub(crate) key: Arc<str>,
    /// The order id.
    pub(crate) id: u64,
}

/// One side's resting orders: limit price → orders at that price, oldest first.
type Ladder = BTreeMap<Decimal, Vec<Entry>>;

/// A symbol's resting orders.
#[derive(Debug, Default)]
pub(crate) struct Resting {
    /// Buy orders; the best is the highest price.
    buys: Ladder,
    /// Sell orders; the best is the lowest price.
    sells: Ladder,
}

impl Resting {
    fn side(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.buys,
            Side::Sell => &mut self.sells,
        }
    }

    /// Adds an order behind the others at its price.
    pub(crate) fn insert(&mut self, side: Side, price: Decimal, entry: Entry) {
        self.side(side).entry(price).or_default().push(entry);
    }

    /// Removes order `id` resting at `price`; whether it was there.
    pub(crate) fn remove(&mut self, side: Side, price: Decimal, id: u64) -> bool {
        let levels = self.side(side);
        let Some(orders) = levels.get_mut(&price) else {
            return false;
        };
        let before = orders.len();
        orders.retain(|e| e.id != id);
        let removed = orders.len() < before;
        if orders.is_empty() {
            levels.remove(&price);
        }
        removed
    }

    /// No order rests.
    pub(crate) fn is_empty(&self) -> bool {
        self.buys.is_empty() && self.sells.is_empty()
    }

    /// Whether a book whose best bid and ask are these (in ticks) reaches a resting order:
    /// a buy priced at or above the best ask, or a sell at or below the best bid.
    pub(crate) fn reached(&self, best_bid: Option<i64>, best_ask: Option<i64>) -> bool {
        let buy = match (self.buys.last_key_value(), best_ask) {
            (Some((p, _)), Some(ask)) => *p >= price_dec(ask),
            _ => false,
        };
        let sell = match (self.sells.first_key_value(), best_bid) {
            (Some((p, _)), Some(bid)) => *p <= price_dec(bid),
            _ => false,
        };
        buy || sell
    }

    /// Removes and returns every order [`Resting::reached`] by the book: buys from the highest
    /// price down, then sells from the lowest up, oldest first at each price.
    pub(crate) fn take_reached(
        &mut self,
        best_bid: Option<i64>,
        best_ask: Option<i64>,
    ) -> Vec<Entry> {
        let mut out = Vec::new();
        if let Some(ask) = best_ask.map(price_dec) {
            while let Some(level) = self.buys.last_entry().filter(|l| *l.key() >= ask) {
                out.extend(level.remove());
            }
        }
        if let Some(bid) = best_bid.map(price_dec) {
            while let Some(level) = self.sells.first_entry().filter(|l| *l.key() <= bid) {
                out.extend(level.remove());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: u64) -> Entry {
        Entry {
            key: Arc::from("k"),
            id,
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_book_reaches_buys_at_or_above_its_ask_and_sells_at_or_below_its_bid() {
        let mut r = Resting::default();
        assert!(r.is_empty() && !r.reached(Some(100), Some(101)));
        r.insert(Side::Buy, d("0.99"), e(1));
        r.insert(Side::Buy, d("1.00"), e(2));
        r.insert(Side::Buy, d("1.00"), e(3));
        r.insert(Side::Sell, d("1.02"), e(4));
        r.insert(Side::Sell, d("1.025"), e(5));
        // Bid 1.00, ask 1.01: nothing crosses.
        assert!(!r.reached(Some(100), Some(101)));
        assert!(r.take_reached(Some(100), Some(101)).is_empty());
        // The ask comes down to 1.00: both buys at 1.00, oldest first; not the one at 0.99.
        assert!(r.reached(Some(99), Some(100)));
        let got = r.take_reached(Some(99), Some(100));
        assert_eq!(got, [e(2), e(3)]);
        assert!(!r.reached(Some(99), Some(100)));
        // The bid goes up to 1.02: the sell at 1.02 fills, the one at 1.025 does not.
        let got = r.take_reached(Some(102), Some(103));
        assert_eq!(got, [e(4)]);
        // A jump through everything: the remaining buy needs the ask at 0.99.
        let got = r.take_reached(Some(103), Some(99));
        assert_eq!(got, [e(1), e(5)]);
        assert!(r.is_empty());
    }

    #[test]
    fn removed_orders_are_not_reached() {
        let mut r = Resting::default();
        r.insert(Side::Sell, d("1.00"), e(1));
        r.insert(Side::Sell, d("1.00"), e(2));
        assert!(r.remove(Side::Sell, d("1.00"), 1));
        assert!(!r.remove(Side::Sell, d("1.00"), 1));
        assert!(!r.remove(Side::Buy, d("1.00"), 2));
        assert_eq!(r.take_reached(Some(100), None), [e(2)]);
        assert!(!r.remove(Side::Sell, d("1.00"), 2));
        assert!(r.is_empty());
    }
}
