//! The end-of-run report: counts, PnL and position per symbol, inventory per venue and
//! asset, every fill, what is still open, and latency percentiles; serializable (decimals
//! as exact strings, venues by name).

use plugin_api::{Decimal, Side};
use serde::Serialize;

use crate::client_id::LegRole;
use crate::config::VenueId;
use crate::decision::Skip;
use crate::engine::Engine;
use crate::exact::decimal;
use crate::latency::LatencyReport;
use crate::legs::{LegStatus, Outcome};

/// Everything the run did.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Report {
    /// Symbol evaluations (one per quote of a configured symbol).
    pub evaluations: u64,
    /// Opportunities decided.
    pub decided: u64,
    /// How they ended.
    pub outcomes: Outcomes,
    /// Evaluations that decided nothing, by reason.
    pub skips: Vec<SkipCount>,
    /// Per symbol.
    pub symbols: Vec<SymbolReport>,
    /// Change of each asset per venue over the run.
    pub inventory: Vec<AssetAmount>,
    /// Fees paid in an asset other than the symbol's base or quote, not in the PnL.
    pub fees_other: Vec<AssetAmount>,
    /// Every fill, in the order applied.
    pub trades: Vec<TradeLine>,
    /// Legs not final yet.
    pub open_legs: Vec<OpenLeg>,
    /// Fills of orders that no order update tied to the run's legs.
    pub unattributed_fills: usize,
    /// Order updates about orders that are not the run's.
    pub foreign_updates: u64,
    /// Latency percentiles.
    pub latency: LatencyReport,
}

/// Opportunities by outcome.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct Outcomes {
    /// A leg not final yet.
    pub in_flight: u64,
    /// Both legs filled the same quantity.
    pub hedged: u64,
    /// The legs filled different quantities.
    pub unhedged: u64,
    /// Nothing filled.
    pub unfilled: u64,
}

/// How often one skip reason came up.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct SkipCount {
    /// The reason.
    pub reason: Skip,
    /// How often.
    pub count: u64,
}

/// One symbol's result, in its quote asset.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct SymbolReport {
    /// The symbol.
    pub symbol: String,
    /// Its quote asset, the unit of the amounts below.
    pub quote: String,
    /// Realized PnL, fees in quote and base included.
    #[serde(with = "decimal")]
    pub realized_pnl: Decimal,
    /// Fees in quote, and fees in base valued at their fill's price.
    #[serde(with = "decimal")]
    pub fees_in_quote: Decimal,
    /// Net base position left over all venues (a leg that did not fill, base fees).
    #[serde(with = "decimal")]
    pub net_position: Decimal,
    /// What that position was traded for (signed like it).
    #[serde(with = "decimal")]
    pub position_cost: Decimal,
}

/// An amount of an asset on a venue.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct AssetAmount {
    /// Venue name.
    pub venue: String,
    /// Asset.
    pub asset: String,
    /// Amount.
    #[serde(with = "decimal")]
    pub amount: Decimal,
}

/// One fill.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct TradeLine {
    /// Opportunity number.
    pub opp: u64,
    /// Leg.
    pub leg: LegRole,
    /// Venue name.
    pub venue: String,
    /// Symbol.
    pub symbol: String,
    /// Venue order id.
    pub order_id: String,
    /// Venue trade id.
    pub trade_id: String,
    /// `buy` or `sell`.
    pub side: &'static str,
    /// Price.
    #[serde(with = "decimal")]
    pub price: Decimal,
    /// Quantity.
    #[serde(with = "decimal")]
    pub qty: Decimal,
    /// Fee.
    #[serde(with = "decimal")]
    pub fee: Decimal,
    /// Fee asset.
    pub fee_asset: String,
    /// PnL this fill realized, its fee included.
    #[serde(with = "decimal")]
    pub realized: Decimal,
    /// Venue time, ms.
    pub venue_ts_ms: u64,
    /// Receive time, ns.
    pub received_ns: u64,
}

/// A leg not final at the time of the report.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct OpenLeg {
    /// Venue name.
    pub venue: String,
    /// Client order id.
    pub client_id: String,
    /// Venue order id, if known.
    pub order_id: Option<String>,
    /// Status.
    pub status: LegStatus,
    /// Filled so far (from fills).
    #[serde(with = "decimal")]
    pub filled_qty: Decimal,
}

impl Engine {
    /// The report of the run so far.
    pub fn report(&self) -> Report {
        let name = |v: VenueId| {
            self.config()
                .venue(v)
                .map_or_else(|| format!("#{}", v.index()), |s| s.name.clone())
        };
        let ledger = self.ledger();
        let mut outcomes = Outcomes::default();
        let mut open_legs = Vec::new();
        for o in ledger.opportunities() {
            match o.outcome() {
                Outcome::InFlight => outcomes.in_flight += 1,
                Outcome::Hedged => outcomes.hedged += 1,
                Outcome::Unhedged => outcomes.unhedged += 1,
                Outcome::Unfilled => outcomes.unfilled += 1,
            }
            for leg in [&o.buy, &o.sell] {
                if !leg.status.is_final() {
                    open_legs.push(OpenLeg {
                        venue: name(leg.venue),
                        client_id: leg.client_id.clone(),
                        order_id: leg.order_id.clone(),
                        status: leg.status,
                        filled_qty: leg.filled_qty,
                    });
                }
            }
        }
        let (evaluations, decided, skips) = self.counts();
        let mut symbols = Vec::new();
        for s in &self.config().symbols {
            let Ok(m) = s.market() else { continue };
            let book = ledger.book(m.symbol).cloned().unwrap_or_default();
            symbols.push(SymbolReport {
                symbol: s.symbol.clone(),
                quote: m.quote,
                realized_pnl: book.position.realized(),
                fees_in_quote: book.fees_in_quote,
                net_position: book.position.net_qty(),
                position_cost: book.position.cost().unwrap_or_default(),
            });
        }
        let amounts = |it: &mut dyn Iterator<Item = (VenueId, &str, Decimal)>| {
            it.map(|(v, a, x)| AssetAmount {
                venue: name(v),
                asset: a.to_owned(),
                amount: x,
            })
            .collect()
        };
        Report {
            evaluations,
            decided,
            outcomes,
            skips: skips
                .iter()
                .map(|(reason, count)| SkipCount {
                    reason: *reason,
                    count: *count,
                })
                .collect(),
            symbols,
            inventory: amounts(&mut ledger.inventory()),
            fees_other: amounts(&mut ledger.fees_other()),
            trades: ledger
                .trades()
                .iter()
                .map(|t| TradeLine {
                    opp: t.opp.0,
                    leg: t.role,
                    venue: name(t.venue),
                    symbol: t.symbol.to_string(),
                    order_id: t.order_id.clone(),
                    trade_id: t.trade_id.clone(),
                    side: match t.side {
                        Side::Buy => "buy",
                        Side::Sell => "sell",
                    },
                    price: t.price,
                    qty: t.qty,
                    fee: t.fee,
                    fee_asset: t.fee_asset.clone(),
                    realized: t.realized,
                    venue_ts_ms: t.venue_ts_ms,
                    received_ns: t.received_ns,
                })
                .collect(),
            open_legs,
            unattributed_fills: ledger.unattributed_fills().len(),
            foreign_updates: ledger.foreign_updates(),
            latency: LatencyReport::from(self.latency()),
        }
    }
}
