//! The executable spread of one direction (buy on one venue at its ask, sell on another at
//! its bid) after both taker fees, the size at the touch, and the expected profit, all in
//! exact decimals.
//!
//! With ask `a`, bid `b` and fee fractions `fa`, `fb` (bps / 10 000):
//!
//! - cost of one unit bought: `a × (1 + fa)`; proceeds of one unit sold: `b × (1 − fb)`;
//! - net per unit: `b × (1 − fb) − a × (1 + fa)`; net bps: `net / a × 10 000`;
//! - size: `min(ask size, bid size, max qty, quote available / (a × (1 + fa)), base
//!   available)`, rounded down to the quantity step;
//! - expected profit: `net × size` in the quote asset.

use plugin_api::Decimal;

use crate::exact::{floor_to_step, Bps, BPS_PER_UNIT};
use crate::touch::Quote;

/// What bounds the size of an opportunity.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SizeLimit {
    /// The size at the ask bought from.
    AskSize,
    /// The size at the bid sold to.
    BidSize,
    /// The symbol's `max_qty`.
    MaxQty,
    /// The quote asset available on the buying venue.
    QuoteBalance,
    /// The base asset available on the selling venue.
    BaseBalance,
}

/// The limits besides the touch sizes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Caps {
    /// Largest quantity of one leg.
    pub max_qty: Decimal,
    /// Quantity step; the size is rounded down to it.
    pub qty_step: Decimal,
    /// Quote asset usable on the buying venue.
    pub quote_available: Decimal,
    /// Base asset usable on the selling venue.
    pub base_available: Decimal,
}

/// One direction's spread, size and expected profit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Spread {
    /// The ask bought at.
    pub buy_price: Decimal,
    /// The bid sold at.
    pub sell_price: Decimal,
    /// Bid minus ask, per unit.
    pub gross_per_unit: Decimal,
    /// After both fees, per unit (see the module doc).
    pub net_per_unit: Decimal,
    /// The size, rounded down to the step (may be zero).
    pub qty: Decimal,
    /// What bounded the size.
    pub limit: SizeLimit,
    /// Both taker fees on `qty`, in the quote asset.
    pub fees: Decimal,
    /// `net_per_unit × qty`, in the quote asset.
    pub expected_profit: Decimal,
}

impl Spread {
    /// Net spread in bps of the buy price, rounded to 2 decimals (for display; decisions
    /// use [`Spread::clears`], which is exact).
    pub fn net_bps(&self) -> Decimal {
        display_bps(self.net_per_unit, self.buy_price)
    }

    /// True when the net spread is positive and at least `min` bps of the buy price,
    /// compared exactly: `net × 10 000 ≥ min × ask`.
    pub fn clears(&self, min: Bps) -> bool {
        let lhs = self.net_per_unit.checked_mul(BPS_PER_UNIT);
        let rhs = min.0.checked_mul(self.buy_price);
        match (lhs, rhs) {
            (Some(l), Some(r)) => self.net_per_unit > Decimal::ZERO && l >= r,
            _ => false,
        }
    }

    /// True when the net spread is at most `max` bps of the buy price, compared exactly:
    /// `net × 10 000 ≤ max × ask`.
    pub fn within(&self, max: Bps) -> bool {
        let lhs = self.net_per_unit.checked_mul(BPS_PER_UNIT);
        let rhs = max.0.checked_mul(self.buy_price);
        matches!((lhs, rhs), (Some(l), Some(r)) if l <= r)
    }
}

/// Gross and net spread per unit for buying at `ask` and selling at `bid`; `None` on
/// overflow.
pub fn per_unit(
    ask: Decimal,
    buy_fee: Bps,
    bid: Decimal,
    sell_fee: Bps,
) -> Option<(Decimal, Decimal)> {
    let cost = unit_cost(ask, buy_fee)?;
    let proceeds = bid.checked_mul(Decimal::ONE.checked_sub(sell_fee.fraction())?)?;
    Some((bid.checked_sub(ask)?, proceeds.checked_sub(cost)?))
}

/// `per_unit` in bps of `price`, rounded to 2 decimals, for display (decisions compare
/// exactly, see [`Spread::clears`]); zero for a zero price or on overflow. With
/// [`per_unit`] it gives a direction's gross and net spread in bps of the ask.
pub fn display_bps(per_unit: Decimal, price: Decimal) -> Decimal {
    per_unit
        .checked_mul(BPS_PER_UNIT)
        .and_then(|n| n.checked_div(price))
        .map(|b| b.round_dp(2))
        .unwrap_or(Decimal::ZERO)
}

/// What one unit costs when bought at `ask` with a taker fee.
pub fn unit_cost(ask: Decimal, fee: Bps) -> Option<Decimal> {
    ask.checked_mul(Decimal::ONE.checked_add(fee.fraction())?)
}

/// Evaluates buying at `ask` (on the venue charging `buy_fee`) and selling at `bid` (on the
/// venue charging `sell_fee`) within `caps`; `None` for a non-positive price or on overflow.
pub fn evaluate(
    ask: Quote,
    buy_fee: Bps,
    bid: Quote,
    sell_fee: Bps,
    caps: &Caps,
) -> Option<Spread> {
    if ask.price <= Decimal::ZERO || bid.price <= Decimal::ZERO {
        return None;
    }
    let (gross_per_unit, net_per_unit) = per_unit(ask.price, buy_fee, bid.price, sell_fee)?;
    let cost = unit_cost(ask.price, buy_fee)?;
    let affordable = caps.quote_available.max(Decimal::ZERO).checked_div(cost)?;
    let bounds = [
        (ask.qty, SizeLimit::AskSize),
        (bid.qty, SizeLimit::BidSize),
        (caps.max_qty, SizeLimit::MaxQty),
        (affordable, SizeLimit::QuoteBalance),
        (caps.base_available, SizeLimit::BaseBalance),
    ];
    let (raw, limit) = bounds
        .into_iter()
        .reduce(|best, b| if b.0 < best.0 { b } else { best })?;
    let mut qty = floor_to_step(raw, caps.qty_step)?;
    // The division above may have rounded up in its last digit: never spend more than held.
    if qty > Decimal::ZERO && qty.checked_mul(cost)? > caps.quote_available {
        qty = qty.checked_sub(caps.qty_step)?.max(Decimal::ZERO);
    }
    let fee_buy = ask.price.checked_mul(buy_fee.fraction())?;
    let fee_sell = bid.price.checked_mul(sell_fee.fraction())?;
    let fees = fee_buy.checked_add(fee_sell)?.checked_mul(qty)?;
    Some(Spread {
        buy_price: ask.price,
        sell_price: bid.price,
        gross_per_unit,
        net_per_unit,
        qty,
        limit,
        fees,
        expected_profit: net_per_unit.checked_mul(qty)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::d;

    fn q(price: &str, qty: &str) -> Quote {
        Quote {
            price: d(price),
            qty: d(qty),
        }
    }

    fn caps() -> Caps {
        Caps {
            max_qty: d("1"),
            qty_step: d("0.001"),
            quote_available: d("1000000"),
            base_available: d("100"),
        }
    }

    #[test]
    fn buy_low_sell_high_after_fees() {
        // Buy on A at 100 (fee 10 bps), sell on B at 101 (fee 5 bps), 0.5 at the touch.
        // cost 100 × 1.001 = 100.1; proceeds 101 × 0.9995 = 100.9495; net 0.8495 per unit.
        let s = evaluate(
            q("100", "0.5"),
            Bps(d("10")),
            q("101", "0.8"),
            Bps(d("5")),
            &caps(),
        )
        .unwrap();
        assert_eq!(s.gross_per_unit, d("1"));
        assert_eq!(s.net_per_unit, d("0.8495"));
        assert_eq!((s.qty, s.limit), (d("0.5"), SizeLimit::AskSize));
        // fees: (0.1 + 0.0505) × 0.5 = 0.07525; profit 0.8495 × 0.5 = 0.42475 = 0.5 − 0.07525.
        assert_eq!(s.fees, d("0.07525"));
        assert_eq!(s.expected_profit, d("0.42475"));
        assert_eq!(s.net_bps(), d("84.95"));
        assert!(s.clears(Bps(d("84.95"))));
        assert!(!s.clears(Bps(d("84.96"))));
    }

    #[test]
    fn reverse_direction_is_negative() {
        // The other way round: buy on B at its ask 101.2, sell on A at its bid 99.9.
        let s = evaluate(
            q("101.2", "1"),
            Bps(d("5")),
            q("99.9", "1"),
            Bps(d("10")),
            &caps(),
        )
        .unwrap();
        assert_eq!(s.gross_per_unit, d("-1.3"));
        // 99.9 × 0.999 − 101.2 × 1.0005 = 99.8001 − 101.2506 = −1.4505
        assert_eq!(s.net_per_unit, d("-1.4505"));
        assert!(!s.clears(Bps(Decimal::ZERO)));
    }

    #[test]
    fn fees_eat_a_positive_gross_spread() {
        // Gross 0.1 on 100 = 10 bps; fees 10 + 5 bps take more than that.
        let s = evaluate(
            q("100", "1"),
            Bps(d("10")),
            q("100.1", "1"),
            Bps(d("5")),
            &caps(),
        )
        .unwrap();
        assert_eq!(s.gross_per_unit, d("0.1"));
        // 100.1 × 0.9995 − 100.1 = −0.05005
        assert_eq!(s.net_per_unit, d("-0.05005"));
        assert!(s.expected_profit < Decimal::ZERO);
        assert!(
            !s.clears(Bps(Decimal::ZERO)),
            "a loss never clears, whatever the minimum"
        );
    }

    #[test]
    fn size_is_capped_by_inventory_and_rounded_to_the_step() {
        let mut c = caps();
        c.base_available = d("0.2345");
        let s = evaluate(q("100", "5"), Bps(d("10")), q("101", "5"), Bps(d("5")), &c).unwrap();
        assert_eq!((s.qty, s.limit), (d("0.234"), SizeLimit::BaseBalance));

        // 30 USDT buys 30 / 100.1 = 0.2997… → 0.299 at step 0.001.
        let mut c = caps();
        c.quote_available = d("30");
        let s = evaluate(q("100", "5"), Bps(d("10")), q("101", "5"), Bps(d("5")), &c).unwrap();
        assert_eq!((s.qty, s.limit), (d("0.299"), SizeLimit::QuoteBalance));
        assert!(s.qty * d("100.1") <= d("30"));

        let mut c = caps();
        c.max_qty = d("0.05");
        let s = evaluate(
            q("100", "5"),
            Bps(d("10")),
            q("101", "0.07"),
            Bps(d("5")),
            &c,
        )
        .unwrap();
        assert_eq!((s.qty, s.limit), (d("0.05"), SizeLimit::MaxQty));
        let s = evaluate(
            q("100", "5"),
            Bps(d("10")),
            q("101", "0.0304"),
            Bps(d("5")),
            &c,
        )
        .unwrap();
        assert_eq!((s.qty, s.limit), (d("0.03"), SizeLimit::BidSize));
    }

    #[test]
    fn exact_quote_budget_buys_exactly_that() {
        // 100.1 USDT buys exactly 1 at 100 with 10 bps.
        let mut c = caps();
        c.quote_available = d("100.1");
        let s = evaluate(q("100", "5"), Bps(d("10")), q("101", "5"), Bps(d("5")), &c).unwrap();
        assert_eq!(s.qty, d("1"));
        c.quote_available = d("100.0999");
        let s = evaluate(q("100", "5"), Bps(d("10")), q("101", "5"), Bps(d("5")), &c).unwrap();
        assert_eq!(s.qty, d("0.999"));
    }

    #[test]
    fn display_bps_of_gross_and_net() {
        // Buy at 100.1, sell at 101: gross 0.9 = 89.91 bps of the ask.
        assert_eq!(display_bps(d("0.9"), d("100.1")), d("89.91"));
        assert_eq!(display_bps(d("-0.05"), d("100")), d("-5"));
        assert_eq!(display_bps(d("1"), Decimal::ZERO), Decimal::ZERO);
    }

    #[test]
    fn nothing_available_sizes_to_zero() {
        let mut c = caps();
        c.quote_available = Decimal::ZERO;
        let s = evaluate(q("100", "5"), Bps(d("10")), q("101", "5"), Bps(d("5")), &c).unwrap();
        assert_eq!((s.qty, s.expected_profit), (Decimal::ZERO, Decimal::ZERO));
        assert!(evaluate(q("0", "5"), Bps(d("10")), q("101", "5"), Bps(d("5")), &c).is_none());
    }
}
