//! Whether to trade a symbol now, and the two orders if so: the gates (cooldown per symbol,
//! opportunities in flight, unhedged position), the thresholds (net spread in bps, size
//! minimums, expected profit), both venues' order budgets, and legs built as limit orders at
//! the touch whose client ids pair them.
//!
//! `plugin_api::OrderType` offers `Limit` and `Market` only, with no time in force: a leg is
//! a limit order at the touch price, and the runtime cancels what is left of it after
//! `leg_timeout_ms` ([`crate::Ledger::cancels_due`]), which makes it immediate-or-cancel in
//! effect.

use std::collections::HashMap;

use plugin_api::{Decimal, Instrument, NewOrder, Num, OrderType, Side, Symbol};

use crate::budget::OrderBudget;
use crate::client_id::{LegKey, LegRole, OppId};
use crate::config::{Config, Market, VenueId};
use crate::exact::Bps;
use crate::spread::Spread;
use crate::touch::Untradable;

/// Why no opportunity was taken. Variants are declared in the order an evaluation gets
/// through its checks, so of several directions the one that got furthest is reported
/// (`Ord`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// The symbol is not configured.
    UnknownSymbol,
    /// A decision on this symbol was taken less than `cooldown_ms` ago.
    Cooldown,
    /// `max_in_flight` opportunities are not finished yet.
    InFlight,
    /// The run's net position in the symbol is beyond `max_unhedged_qty`.
    Unhedged,
    /// A venue has no quote for the symbol yet.
    NoQuote,
    /// A venue's stream had a gap and no quote came since.
    Unsynced,
    /// A quote is older than `max_quote_age_ms`.
    Stale,
    /// A quote has a zero price or size.
    Empty,
    /// A venue's own bid is at or above its ask.
    Crossed,
    /// A venue's account streams had a gap: no trading there until resumed.
    VenuePaused,
    /// A computation overflowed (absurd prices or sizes).
    Arithmetic,
    /// Net spread after fees not positive or below `min_net_spread_bps`.
    BelowThreshold,
    /// Net spread above `max_net_spread_bps`: a quote is wrong, not the market generous.
    Implausible,
    /// The size is zero, below `min_qty`, or a leg's notional below `min_notional`.
    TooSmall,
    /// The expected profit is below `min_profit`.
    BelowMinProfit,
    /// A venue's order budget has no room for a leg now.
    RateLimited,
}

impl From<Untradable> for Skip {
    fn from(u: Untradable) -> Skip {
        match u {
            Untradable::NoQuote => Skip::NoQuote,
            Untradable::Unsynced => Skip::Unsynced,
            Untradable::Stale { .. } => Skip::Stale,
            Untradable::Empty => Skip::Empty,
            Untradable::Crossed => Skip::Crossed,
        }
    }
}

/// One direction ready to be judged: buy on `buy_venue` at its ask, sell on `sell_venue` at
/// its bid.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Candidate {
    /// Venue bought on.
    pub buy_venue: VenueId,
    /// Venue sold on.
    pub sell_venue: VenueId,
    /// The instrument as the buying venue spells it.
    pub buy_instrument: Instrument,
    /// The instrument as the selling venue spells it.
    pub sell_instrument: Instrument,
    /// The spread, size and expected profit.
    pub spread: Spread,
}

/// One leg to send.
#[derive(Clone, PartialEq, Debug)]
pub struct Leg {
    /// The venue to send it to.
    pub venue: VenueId,
    /// Its opportunity and role (also encoded in `order.client_id`).
    pub key: LegKey,
    /// The order: a limit at the touch with the leg's client id.
    pub order: NewOrder,
    /// The venue's taker fee (the ledger reserves the buy leg's cost with it).
    pub taker_fee: Bps,
}

/// A decision to trade: two legs to send at once.
#[derive(Clone, PartialEq, Debug)]
pub struct Opportunity {
    /// Its number in the run.
    pub id: OppId,
    /// The symbol.
    pub symbol: Symbol,
    /// Buy at the ask of the cheaper venue.
    pub buy: Leg,
    /// Sell at the bid of the dearer venue.
    pub sell: Leg,
    /// What was expected of it.
    pub spread: Spread,
    /// When the quote that triggered it was received.
    pub tick_received_ns: u64,
    /// When it was decided (the time the runtime passed in).
    pub decided_ns: u64,
}

impl Opportunity {
    /// Both legs, buy first.
    pub fn legs(&self) -> [&Leg; 2] {
        [&self.buy, &self.sell]
    }
}

/// Thresholds, cooldowns and id allocation.
#[derive(Clone, Debug)]
pub struct Decider {
    prefix: String,
    min_net_spread_bps: Bps,
    max_net_spread_bps: Bps,
    min_profit: Decimal,
    cooldown_ns: u64,
    max_in_flight: usize,
    fees: Vec<Bps>,
    next_id: u64,
    last_decided_ns: HashMap<Symbol, u64>,
}

impl Decider {
    /// From validated settings; the first opportunity is number 1.
    pub fn new(config: &Config) -> Decider {
        Decider {
            prefix: config.client_id_prefix.clone(),
            min_net_spread_bps: config.min_net_spread_bps,
            max_net_spread_bps: config.max_net_spread_bps,
            min_profit: config.min_profit,
            cooldown_ns: config.cooldown_ms.saturating_mul(1_000_000),
            max_in_flight: usize::try_from(config.max_in_flight).unwrap_or(usize::MAX),
            fees: config.venues.iter().map(|v| v.taker_fee_bps).collect(),
            next_id: 1,
            last_decided_ns: HashMap::new(),
        }
    }

    /// The taker fee of a venue.
    pub fn fee(&self, venue: VenueId) -> Bps {
        // An id from another configuration: a fee that makes every spread negative.
        self.fees
            .get(venue.index())
            .copied()
            .unwrap_or(Bps(Decimal::from(10_000)))
    }

    /// The checks that need no quote: cooldown, opportunities in flight, unhedged position.
    pub fn gate(
        &self,
        market: &Market,
        now_ns: u64,
        in_flight: usize,
        net_position: Decimal,
    ) -> Result<(), Skip> {
        if let Some(last) = self.last_decided_ns.get(&market.symbol) {
            if now_ns < last.saturating_add(self.cooldown_ns) {
                return Err(Skip::Cooldown);
            }
        }
        if in_flight >= self.max_in_flight {
            return Err(Skip::InFlight);
        }
        if let Some(limit) = market.settings.max_unhedged_qty {
            if net_position.abs() > limit {
                return Err(Skip::Unhedged);
            }
        }
        Ok(())
    }

    /// The thresholds one direction must pass.
    pub fn judge(&self, market: &Market, spread: &Spread) -> Result<(), Skip> {
        if !spread.clears(self.min_net_spread_bps) {
            return Err(Skip::BelowThreshold);
        }
        if !spread.within(self.max_net_spread_bps) {
            return Err(Skip::Implausible);
        }
        let s = &market.settings;
        if spread.qty <= Decimal::ZERO || spread.qty < s.min_qty {
            return Err(Skip::TooSmall);
        }
        let notional = |price: Decimal| spread.qty.checked_mul(price);
        for price in [spread.buy_price, spread.sell_price] {
            match notional(price) {
                Some(n) if n >= s.min_notional => {}
                Some(_) => return Err(Skip::TooSmall),
                None => return Err(Skip::Arithmetic),
            }
        }
        if spread.expected_profit <= Decimal::ZERO || spread.expected_profit < self.min_profit {
            return Err(Skip::BelowMinProfit);
        }
        Ok(())
    }

    /// Picks the candidate with the largest expected profit that passes [`Decider::judge`],
    /// spends one order of each venue's budget, and builds the legs; otherwise reports the
    /// skip that got furthest. Starts the symbol's cooldown when it decides.
    pub fn decide(
        &mut self,
        market: &Market,
        candidates: &[Result<Candidate, Skip>],
        budgets: &mut [OrderBudget],
        tick_received_ns: u64,
        now_ns: u64,
    ) -> Result<Opportunity, Skip> {
        let mut worst = Skip::NoQuote;
        let mut best: Option<&Candidate> = None;
        for c in candidates {
            let judged = c.as_ref().map_err(|s| *s).and_then(|c| {
                self.judge(market, &c.spread)?;
                Ok(c)
            });
            match judged {
                Ok(c) => {
                    if best.is_none_or(|b| c.spread.expected_profit > b.spread.expected_profit) {
                        best = Some(c);
                    }
                }
                Err(skip) => worst = worst.max(skip),
            }
        }
        let c = best.ok_or(worst)?;
        let (bi, si) = (c.buy_venue.index(), c.sell_venue.index());
        let room = |i: usize| budgets.get(i).is_some_and(|b| b.can_send(now_ns));
        // Two legs on one venue would need two orders of its budget: not a cross-venue
        // opportunity, and never built by the engine; refused like a full budget.
        if bi == si || !room(bi) || !room(si) {
            return Err(Skip::RateLimited);
        }
        let id = OppId(self.next_id);
        let buy = self.leg(id, LegRole::Buy, c).ok_or(Skip::Arithmetic)?;
        let sell = self.leg(id, LegRole::Sell, c).ok_or(Skip::Arithmetic)?;
        for i in [bi, si] {
            if let Some(b) = budgets.get_mut(i) {
                b.take(now_ns);
            }
        }
        self.next_id += 1;
        self.last_decided_ns.insert(market.symbol, now_ns);
        Ok(Opportunity {
            id,
            symbol: market.symbol,
            buy,
            sell,
            spread: c.spread,
            tick_received_ns,
            decided_ns: now_ns,
        })
    }

    fn leg(&self, opp: OppId, role: LegRole, c: &Candidate) -> Option<Leg> {
        let key = LegKey { opp, role };
        let (venue, instrument, side, price) = match role {
            LegRole::Buy => (c.buy_venue, c.buy_instrument, Side::Buy, c.spread.buy_price),
            LegRole::Sell => (
                c.sell_venue,
                c.sell_instrument,
                Side::Sell,
                c.spread.sell_price,
            ),
        };
        Some(Leg {
            venue,
            key,
            order: NewOrder {
                instrument,
                side,
                order_type: OrderType::Limit,
                price: Num::from(price),
                qty: Num::from(c.spread.qty),
                quote_qty: Num::ZERO,
                client_id: key.client_id(&self.prefix)?.into(),
            },
            taker_fee: self.fee(venue),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testutil::{config, ids};
    use crate::exact::d;
    use crate::spread::{evaluate, Caps};
    use crate::touch::Quote;

    const MS: u64 = 1_000_000;

    fn market(c: &Config) -> Market {
        c.symbols[0].market().unwrap()
    }

    fn budgets(c: &Config) -> Vec<OrderBudget> {
        c.venues
            .iter()
            .map(|v| OrderBudget::new(v.orders_per_sec, v.order_burst))
            .collect()
    }

    /// Buy on `buy` at `ask`, sell on `sell` at `bid`, 0.5 at the touch.
    fn candidate(c: &Config, buy: VenueId, ask: &str, sell: VenueId, bid: &str) -> Candidate {
        let fee = |v: VenueId| c.venue(v).unwrap().taker_fee_bps;
        let caps = Caps {
            max_qty: d("1"),
            qty_step: d("0.001"),
            quote_available: d("100000"),
            base_available: d("10"),
        };
        let q = |p: &str| Quote {
            price: d(p),
            qty: d("0.5"),
        };
        Candidate {
            buy_venue: buy,
            sell_venue: sell,
            buy_instrument: Instrument::new("BTC/USDT", "BUY_SPELLING").unwrap(),
            sell_instrument: Instrument::new("BTC/USDT", "SELL_SPELLING").unwrap(),
            spread: evaluate(q(ask), fee(buy), q(bid), fee(sell), &caps).unwrap(),
        }
    }

    #[test]
    fn takes_the_better_direction_with_paired_limit_legs() {
        let c = config();
        let (gate, mexc) = ids(&c);
        let mut decider = Decider::new(&c);
        let mut b = budgets(&c);
        // Gate → MEXC: 100 → 101 (net 0.8495/unit); MEXC → Gate: 100.2 → 101 (net 0.6489).
        let one = candidate(&c, gate, "100", mexc, "101");
        let other = candidate(&c, mexc, "100.2", gate, "101");
        let opp = decider
            .decide(&market(&c), &[Ok(other), Ok(one)], &mut b, 5 * MS, 7 * MS)
            .unwrap();
        assert_eq!(opp.id, OppId(1));
        assert_eq!((opp.buy.venue, opp.sell.venue), (gate, mexc));
        assert_eq!((opp.tick_received_ns, opp.decided_ns), (5 * MS, 7 * MS));
        let (buy, sell) = (&opp.buy.order, &opp.sell.order);
        assert_eq!((buy.side, sell.side), (Side::Buy, Side::Sell));
        assert_eq!(
            (buy.order_type, sell.order_type),
            (OrderType::Limit, OrderType::Limit)
        );
        assert_eq!(
            (buy.price.to_decimal(), sell.price.to_decimal()),
            (d("100"), d("101"))
        );
        assert_eq!(
            (buy.qty.to_decimal(), sell.qty.to_decimal()),
            (d("0.5"), d("0.5"))
        );
        assert_eq!(
            (buy.client_id.as_str(), sell.client_id.as_str()),
            ("arb-1-b", "arb-1-s")
        );
        assert_eq!(buy.instrument.venue_symbol.as_str(), "BUY_SPELLING");
        assert_eq!(sell.instrument.venue_symbol.as_str(), "SELL_SPELLING");
        assert_eq!(opp.spread.expected_profit, d("0.42475"));
        assert_eq!(opp.buy.taker_fee, Bps(d("10")));
    }

    #[test]
    fn below_threshold_is_refused() {
        let mut c = config();
        let (gate, mexc) = ids(&c);
        // Net 84.95 bps clears 84.95 exactly, not 85.
        c.min_net_spread_bps = Bps(d("85"));
        let mut decider = Decider::new(&c);
        let cand = candidate(&c, gate, "100", mexc, "101");
        let got = decider.decide(&market(&c), &[Ok(cand)], &mut budgets(&c), 0, 0);
        assert_eq!(got, Err(Skip::BelowThreshold));
        c.min_net_spread_bps = Bps(d("84.95"));
        let mut decider = Decider::new(&c);
        assert!(decider
            .decide(&market(&c), &[Ok(cand)], &mut budgets(&c), 0, 0)
            .is_ok());
    }

    #[test]
    fn a_spread_too_wide_to_be_true_is_refused() {
        let mut c = config();
        let (gate, mexc) = ids(&c);
        let cand = candidate(&c, gate, "100", mexc, "101");
        // Net 84.95 bps: believed up to a bound of 84.95, not below it.
        c.max_net_spread_bps = Bps(d("84.94"));
        let decider = Decider::new(&c);
        assert_eq!(
            decider.judge(&market(&c), &cand.spread),
            Err(Skip::Implausible)
        );
        c.max_net_spread_bps = Bps(d("84.95"));
        let decider = Decider::new(&c);
        assert_eq!(decider.judge(&market(&c), &cand.spread), Ok(()));
    }

    #[test]
    fn min_profit_and_min_notional() {
        let mut c = config();
        let (gate, mexc) = ids(&c);
        c.min_profit = d("0.42476");
        let cand = candidate(&c, gate, "100", mexc, "101");
        let decider = Decider::new(&c);
        assert_eq!(
            decider.judge(&market(&c), &cand.spread),
            Err(Skip::BelowMinProfit)
        );
        c.min_profit = d("0.42475");
        c.symbols[0].min_notional = d("50.01");
        let decider = Decider::new(&c);
        assert_eq!(
            decider.judge(&market(&c), &cand.spread),
            Err(Skip::TooSmall)
        );
        c.symbols[0].min_notional = d("50");
        let decider = Decider::new(&c);
        assert_eq!(decider.judge(&market(&c), &cand.spread), Ok(()));
    }

    #[test]
    fn cooldown_per_symbol() {
        let c = config();
        let (gate, mexc) = ids(&c);
        let m = market(&c);
        let mut decider = Decider::new(&c);
        let mut b = budgets(&c);
        let cand = candidate(&c, gate, "100", mexc, "101");
        let t0 = 10_000 * MS;
        decider.decide(&m, &[Ok(cand)], &mut b, t0, t0).unwrap();
        assert_eq!(
            decider.gate(&m, t0 + 999 * MS, 0, d("0")),
            Err(Skip::Cooldown)
        );
        assert_eq!(decider.gate(&m, t0 + 1000 * MS, 0, d("0")), Ok(()));
        let next = decider
            .decide(&m, &[Ok(cand)], &mut b, t0 + 1000 * MS, t0 + 1000 * MS)
            .unwrap();
        assert_eq!(next.id, OppId(2));
        assert_eq!(next.sell.order.client_id.as_str(), "arb-2-s");
    }

    #[test]
    fn in_flight_and_unhedged_gates() {
        let mut c = config();
        c.max_in_flight = 2;
        c.symbols[0].max_unhedged_qty = Some(d("0.01"));
        let m = market(&c);
        let decider = Decider::new(&c);
        assert_eq!(decider.gate(&m, 0, 1, d("-0.01")), Ok(()));
        assert_eq!(decider.gate(&m, 0, 2, d("0")), Err(Skip::InFlight));
        assert_eq!(decider.gate(&m, 0, 0, d("-0.011")), Err(Skip::Unhedged));
    }

    #[test]
    fn rate_limit_takes_nothing_from_either_venue() {
        let c = config();
        let (gate, mexc) = ids(&c);
        let m = market(&c);
        let mut decider = Decider::new(&c);
        let mut b = vec![OrderBudget::new(1, 1), OrderBudget::new(1, 1)];
        assert!(b[mexc.index()].take(0));
        let cand = candidate(&c, gate, "100", mexc, "101");
        assert_eq!(
            decider.decide(&m, &[Ok(cand)], &mut b, 0, 0),
            Err(Skip::RateLimited)
        );
        assert!(b[gate.index()].can_send(0), "gate's order was not spent");
        let opp = decider
            .decide(&m, &[Ok(cand)], &mut b, 1000 * MS, 1000 * MS)
            .unwrap();
        assert_eq!(opp.id, OppId(1), "a refused decision uses no id");
    }

    #[test]
    fn reports_the_skip_that_got_furthest() {
        let c = config();
        let (gate, mexc) = ids(&c);
        let mut decider = Decider::new(&c);
        let losing = candidate(&c, mexc, "101", gate, "100");
        let got = decider.decide(
            &market(&c),
            &[Err(Skip::Stale), Ok(losing)],
            &mut budgets(&c),
            0,
            0,
        );
        assert_eq!(got, Err(Skip::BelowThreshold));
    }
}
