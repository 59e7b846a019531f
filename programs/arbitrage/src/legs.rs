//! The state of each leg sent (status, venue order id, what filled, what it still reserves)
//! and of each opportunity as a pair of legs.

use plugin_api::{Decimal, Instrument, OrderStatus, Side, Symbol};

use crate::client_id::{LegKey, LegRole, OppId};
use crate::config::VenueId;
use crate::decision::{Leg, Opportunity};
use crate::exact::{dec, Bps};
use crate::spread::{unit_cost, Spread};

/// Where a leg is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegStatus {
    /// Decided; the runtime has not said it was sent.
    Pending,
    /// Sent; the venue has not acknowledged it yet.
    Sent,
    /// Acknowledged and resting (possibly partly filled).
    Open,
    /// Completely filled.
    Filled,
    /// Cancelled, possibly after partial fills.
    Cancelled,
    /// Refused by the venue.
    Rejected,
    /// The runtime could not send it. Not settled: an order update for it (a send that
    /// timed out but reached the venue) still moves it on.
    SendFailed,
    /// The venue never said whether it placed it (its answer was lost and the plugin's
    /// lookups did not settle it). Not settled either: a later order update moves it on.
    Unknown,
}

impl LegStatus {
    /// True when nothing more is expected of the leg (fills may still be reported late).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            LegStatus::Filled
                | LegStatus::Cancelled
                | LegStatus::Rejected
                | LegStatus::SendFailed
                | LegStatus::Unknown
        )
    }

    /// True when the venue said the last word; later updates do not change it.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            LegStatus::Filled | LegStatus::Cancelled | LegStatus::Rejected
        )
    }
}

/// One leg as the ledger knows it.
#[derive(Clone, PartialEq, Debug)]
pub struct LegRecord {
    /// Opportunity and role.
    pub key: LegKey,
    /// Venue.
    pub venue: VenueId,
    /// Client order id.
    pub client_id: String,
    /// Instrument as the venue spells it.
    pub instrument: Instrument,
    /// Side.
    pub side: Side,
    /// Limit price.
    pub price: Decimal,
    /// Ordered quantity.
    pub qty: Decimal,
    /// The venue's taker fee.
    pub taker_fee: Bps,
    /// The venue's order id, once an order update named it.
    pub order_id: Option<String>,
    /// Status.
    pub status: LegStatus,
    /// Quantity filled, from fills.
    pub filled_qty: Decimal,
    /// Sum of price × quantity over its fills.
    pub filled_notional: Decimal,
    /// The largest filled quantity order updates reported (fills may lag behind).
    pub reported_filled_qty: Decimal,
    /// When the runtime sent it.
    pub sent_ns: Option<u64>,
    /// When a cancel was last asked for.
    pub cancel_requested_ns: Option<u64>,
    /// How much of the reserved asset (quote when buying, base when selling) its fills spent,
    /// fees in that asset included.
    pub spent: Decimal,
}

impl LegRecord {
    fn new(leg: &Leg) -> LegRecord {
        LegRecord {
            key: leg.key,
            venue: leg.venue,
            client_id: leg.order.client_id.as_str().to_owned(),
            instrument: leg.order.instrument,
            side: leg.order.side,
            price: dec(leg.order.price),
            qty: dec(leg.order.qty),
            taker_fee: leg.taker_fee,
            order_id: None,
            status: LegStatus::Pending,
            filled_qty: Decimal::ZERO,
            filled_notional: Decimal::ZERO,
            reported_filled_qty: Decimal::ZERO,
            sent_ns: None,
            cancel_requested_ns: None,
            spent: Decimal::ZERO,
        }
    }

    /// Applies a status from an order update; a settled leg keeps its status.
    pub fn on_update(&mut self, status: OrderStatus, filled_qty: Decimal) {
        self.reported_filled_qty = self.reported_filled_qty.max(filled_qty);
        if self.status.is_settled() {
            return;
        }
        self.status = match status {
            OrderStatus::Open => LegStatus::Open,
            OrderStatus::Filled => LegStatus::Filled,
            OrderStatus::Cancelled => LegStatus::Cancelled,
            OrderStatus::Rejected => LegStatus::Rejected,
            OrderStatus::Unknown => LegStatus::Unknown,
        };
    }

    /// What the leg still holds back of its reserved asset on its venue: the whole order's
    /// cost (buy, taker fee included) or quantity (sell), less what its fills spent; zero
    /// once final.
    pub fn outstanding(&self) -> Decimal {
        if self.status.is_final() {
            return Decimal::ZERO;
        }
        let full = match self.side {
            Side::Buy => {
                unit_cost(self.price, self.taker_fee).and_then(|c| c.checked_mul(self.qty))
            }
            Side::Sell => Some(self.qty),
        };
        full.and_then(|f| f.checked_sub(self.spent))
            .unwrap_or(Decimal::ZERO)
            .max(Decimal::ZERO)
    }

    /// Average fill price, if anything filled.
    pub fn average_price(&self) -> Option<Decimal> {
        if self.filled_qty.is_zero() {
            return None;
        }
        self.filled_notional
            .checked_div(self.filled_qty)
            .map(|p| p.round_dp(12).normalize())
    }
}

/// How an opportunity ended.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A leg is not final yet.
    InFlight,
    /// Both legs filled the same quantity, above zero.
    Hedged,
    /// The legs filled different quantities: the run holds (or owes) the difference.
    Unhedged,
    /// Neither leg filled.
    Unfilled,
}

/// An opportunity as a pair of legs.
#[derive(Clone, PartialEq, Debug)]
pub struct OppRecord {
    /// Its number.
    pub id: OppId,
    /// The symbol.
    pub symbol: Symbol,
    /// The buy leg.
    pub buy: LegRecord,
    /// The sell leg.
    pub sell: LegRecord,
    /// What was expected when it was decided.
    pub expected: Spread,
    /// When the triggering quote was received.
    pub tick_received_ns: u64,
    /// When it was decided.
    pub decided_ns: u64,
}

impl OppRecord {
    /// The record of a decision just taken: both legs pending.
    pub fn new(opp: &Opportunity) -> OppRecord {
        OppRecord {
            id: opp.id,
            symbol: opp.symbol,
            buy: LegRecord::new(&opp.buy),
            sell: LegRecord::new(&opp.sell),
            expected: opp.spread,
            tick_received_ns: opp.tick_received_ns,
            decided_ns: opp.decided_ns,
        }
    }

    /// One leg.
    pub fn leg(&self, role: LegRole) -> &LegRecord {
        match role {
            LegRole::Buy => &self.buy,
            LegRole::Sell => &self.sell,
        }
    }

    /// One leg, to change.
    pub fn leg_mut(&mut self, role: LegRole) -> &mut LegRecord {
        match role {
            LegRole::Buy => &mut self.buy,
            LegRole::Sell => &mut self.sell,
        }
    }

    /// True when both legs are final.
    pub fn is_finished(&self) -> bool {
        self.buy.status.is_final() && self.sell.status.is_final()
    }

    /// How it ended so far.
    pub fn outcome(&self) -> Outcome {
        if !self.is_finished() {
            Outcome::InFlight
        } else if self.buy.filled_qty.is_zero() && self.sell.filled_qty.is_zero() {
            Outcome::Unfilled
        } else if self.buy.filled_qty == self.sell.filled_qty {
            Outcome::Hedged
        } else {
            Outcome::Unhedged
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::d;

    fn leg(side: Side) -> LegRecord {
        LegRecord {
            key: LegKey {
                opp: OppId(1),
                role: LegRole::Buy,
            },
            venue: crate::config::testutil::ids(&crate::config::testutil::config()).0,
            client_id: "arb-1-b".into(),
            instrument: Instrument::default(),
            side,
            price: d("100"),
            qty: d("0.5"),
            taker_fee: Bps(d("10")),
            order_id: None,
            status: LegStatus::Sent,
            filled_qty: d("0"),
            filled_notional: d("0"),
            reported_filled_qty: d("0"),
            sent_ns: None,
            cancel_requested_ns: None,
            spent: d("0"),
        }
    }

    #[test]
    fn outstanding_reserves_cost_with_fee_until_final() {
        let mut b = leg(Side::Buy);
        // 0.5 × 100 × 1.001
        assert_eq!(b.outstanding(), d("50.05"));
        b.spent = d("20.02");
        assert_eq!(b.outstanding(), d("30.03"));
        b.on_update(OrderStatus::Cancelled, d("0.2"));
        assert_eq!(b.outstanding(), d("0"));
        let s = leg(Side::Sell);
        assert_eq!(s.outstanding(), d("0.5"));
    }

    #[test]
    fn settled_status_sticks_but_send_failed_does_not() {
        let mut b = leg(Side::Buy);
        b.on_update(OrderStatus::Filled, d("0.5"));
        b.on_update(OrderStatus::Open, d("0.3"));
        assert_eq!(b.status, LegStatus::Filled);
        assert_eq!(b.reported_filled_qty, d("0.5"));

        let mut b = leg(Side::Buy);
        b.status = LegStatus::SendFailed;
        assert!(b.status.is_final());
        b.on_update(OrderStatus::Open, d("0"));
        assert_eq!(b.status, LegStatus::Open);
    }

    #[test]
    fn an_unknown_outcome_frees_the_leg_until_the_venue_says_more() {
        let mut b = leg(Side::Buy);
        b.on_update(OrderStatus::Unknown, d("0"));
        assert_eq!(b.status, LegStatus::Unknown);
        assert!(b.status.is_final() && !b.status.is_settled());
        assert_eq!(b.outstanding(), d("0"));
        b.on_update(OrderStatus::Filled, d("0.5"));
        assert_eq!(b.status, LegStatus::Filled);
    }
}
