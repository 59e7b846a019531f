//! One symbol's position summed over venues, kept lot by lot (first in, first out), and the
//! PnL it realized, in exact decimals.
//!
//! A sell against a long lot bought at `p` realizes `(sell price − p) × qty`; a buy against a
//! short lot sold at `p` realizes `(p − buy price) × qty`; what is not matched opens a lot.
//! Fees in the quote asset are charged straight to the realized PnL; a fee taken in the base
//! asset is base that left the position for nothing, so it goes through as a sale at price 0
//! (realizing `−p × fee` against a lot at `p`).

use std::collections::VecDeque;

use plugin_api::{Decimal, Side};

/// A quantity held (or owed, when short) at the price it was traded at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Lot {
    /// Quantity, above zero.
    pub qty: Decimal,
    /// Price it was bought (long) or sold (short) at.
    pub price: Decimal,
}

/// A FIFO position with its realized PnL.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Position {
    long: bool,
    lots: VecDeque<Lot>,
    realized: Decimal,
}

impl Position {
    /// A flat position with nothing realized.
    pub fn new() -> Position {
        Position::default()
    }

    /// Applies a trade of `qty` (> 0) at `price`; returns the PnL it realized, or `None` (and
    /// changes nothing) on overflow. A zero or negative quantity changes nothing.
    pub fn apply(&mut self, side: Side, qty: Decimal, price: Decimal) -> Option<Decimal> {
        if qty <= Decimal::ZERO {
            return Some(Decimal::ZERO);
        }
        let buying = side == Side::Buy;
        let mut next = self.clone();
        let mut left = qty;
        let mut realized = Decimal::ZERO;
        if !next.lots.is_empty() && next.long != buying {
            while left > Decimal::ZERO {
                let Some(lot) = next.lots.front_mut() else {
                    break;
                };
                let matched = left.min(lot.qty);
                let per_unit = if next.long {
                    price.checked_sub(lot.price)?
                } else {
                    lot.price.checked_sub(price)?
                };
                realized = realized.checked_add(per_unit.checked_mul(matched)?)?;
                lot.qty = lot.qty.checked_sub(matched)?;
                left = left.checked_sub(matched)?;
                if lot.qty.is_zero() {
                    next.lots.pop_front();
                }
            }
        }
        if left > Decimal::ZERO {
            if next.lots.is_empty() {
                next.long = buying;
            }
            next.lots.push_back(Lot { qty: left, price });
        }
        next.realized = next.realized.checked_add(realized)?;
        *self = next;
        Some(realized)
    }

    /// Charges a fee paid in the quote asset to the realized PnL; `None` on overflow.
    pub fn charge(&mut self, fee: Decimal) -> Option<()> {
        self.realized = self.realized.checked_sub(fee)?;
        Some(())
    }

    /// Applies a fee taken in the base asset: a sale of `fee` at price 0 (a negative fee, a
    /// rebate, is a purchase at 0). Returns the PnL it realized.
    pub fn charge_base(&mut self, fee: Decimal) -> Option<Decimal> {
        if fee < Decimal::ZERO {
            self.apply(Side::Buy, -fee, Decimal::ZERO)
        } else {
            self.apply(Side::Sell, fee, Decimal::ZERO)
        }
    }

    /// Net quantity: above zero long, below zero short.
    pub fn net_qty(&self) -> Decimal {
        let total = self
            .lots
            .iter()
            .fold(Decimal::ZERO, |sum, l| sum.saturating_add(l.qty));
        // A flat short is 0, not -0.
        if self.long || total.is_zero() {
            total
        } else {
            -total
        }
    }

    /// What the open lots were traded for, signed like [`Position::net_qty`].
    pub fn cost(&self) -> Option<Decimal> {
        let mut total = Decimal::ZERO;
        for l in &self.lots {
            total = total.checked_add(l.qty.checked_mul(l.price)?)?;
        }
        Some(if self.long { total } else { -total })
    }

    /// The open lots, oldest first.
    pub fn lots(&self) -> impl Iterator<Item = &Lot> {
        self.lots.iter()
    }

    /// Realized PnL so far, fees included.
    pub fn realized(&self) -> Decimal {
        self.realized
    }

    /// What closing the open lots at `mark` would realize (fees of that close excluded).
    pub fn unrealized(&self, mark: Decimal) -> Option<Decimal> {
        self.net_qty().checked_mul(mark)?.checked_sub(self.cost()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::d;

    #[test]
    fn long_then_sold_across_lots() {
        let mut p = Position::new();
        assert_eq!(p.apply(Side::Buy, d("0.2"), d("100")), Some(d("0")));
        assert_eq!(p.apply(Side::Buy, d("0.3"), d("100.5")), Some(d("0")));
        assert_eq!(p.net_qty(), d("0.5"));
        assert_eq!(p.cost(), Some(d("50.15")));
        // Sell 0.4 at 101: 0.2 × (101 − 100) + 0.2 × (101 − 100.5) = 0.2 + 0.1
        assert_eq!(p.apply(Side::Sell, d("0.4"), d("101")), Some(d("0.3")));
        assert_eq!(p.net_qty(), d("0.1"));
        assert_eq!(
            p.lots().next(),
            Some(&Lot {
                qty: d("0.1"),
                price: d("100.5")
            })
        );
        assert_eq!(p.unrealized(d("102")), Some(d("0.15")));
        assert_eq!(p.realized(), d("0.3"));
    }

    #[test]
    fn sell_first_opens_a_short_that_a_buy_covers() {
        let mut p = Position::new();
        p.apply(Side::Sell, d("1"), d("101")).unwrap();
        assert_eq!(p.net_qty(), d("-1"));
        assert_eq!(p.cost(), Some(d("-101")));
        // Cover 1.5 at 100: realizes 1 × (101 − 100) and opens a long 0.5 at 100.
        assert_eq!(p.apply(Side::Buy, d("1.5"), d("100")), Some(d("1")));
        assert_eq!(p.net_qty(), d("0.5"));
        assert_eq!(
            p.lots().next(),
            Some(&Lot {
                qty: d("0.5"),
                price: d("100")
            })
        );
    }

    #[test]
    fn a_covered_short_is_flat_not_minus_zero() {
        let mut p = Position::new();
        p.apply(Side::Sell, d("0.1"), d("101")).unwrap();
        p.apply(Side::Buy, d("0.1"), d("100")).unwrap();
        assert_eq!(p.net_qty().to_string(), "0");
    }

    #[test]
    fn fees_in_quote_and_in_base() {
        let mut p = Position::new();
        p.apply(Side::Buy, d("1"), d("100")).unwrap();
        // 0.001 BTC fee on the buy: worth 0.1 at the lot's price.
        assert_eq!(p.charge_base(d("0.001")), Some(d("-0.1")));
        assert_eq!(p.net_qty(), d("0.999"));
        p.apply(Side::Sell, d("0.999"), d("100")).unwrap();
        p.charge(d("0.0999")).unwrap();
        assert_eq!(p.net_qty(), d("0"));
        assert_eq!(p.realized(), d("-0.1999"));
    }

    #[test]
    fn nothing_changes_for_zero_quantity() {
        let mut p = Position::new();
        assert_eq!(p.apply(Side::Sell, d("0"), d("5")), Some(d("0")));
        assert_eq!(p, Position::new());
    }
}
