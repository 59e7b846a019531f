//! The run's books: order updates and fills applied per venue to the legs they belong to,
//! inventory per venue and asset, the position and realized PnL per symbol in its quote
//! asset (fees included), the legs still open (to cancel on timeout or exit), and the record
//! of every fill for the final report.
//!
//! Legs are found by client id (`PREFIX-N-b|s`) in order updates, which also name the
//! venue's order id; fills carry only the order id, so a fill that comes before the first
//! update of its order waits until that update arrives. A fill reported twice (same venue,
//! order and trade id) counts once. Fills of orders that are not the run's are never
//! applied; [`Ledger::unattributed_fills`] lists them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use plugin_api::{CancelOrder, Decimal, Fill, OrderUpdate, Side, Symbol};

use crate::client_id::{LegKey, LegRole, OppId};
use crate::config::{Config, ConfigError, VenueId};
use crate::decision::Opportunity;
use crate::exact::dec;
use crate::legs::{LegStatus, OppRecord};
use crate::position::Position;

/// An amount of an asset one of the run's fills took from a venue's balance.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Spend {
    /// The venue.
    pub venue: VenueId,
    /// The asset, upper case.
    pub asset: String,
    /// How much.
    pub amount: Decimal,
}

/// One fill of one of the run's legs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TradeRecord {
    /// The opportunity.
    pub opp: OppId,
    /// The leg.
    pub role: LegRole,
    /// The venue.
    pub venue: VenueId,
    /// The symbol.
    pub symbol: Symbol,
    /// The venue's order id.
    pub order_id: String,
    /// The venue's trade id.
    pub trade_id: String,
    /// Side.
    pub side: Side,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Fee charged.
    pub fee: Decimal,
    /// Asset of the fee, upper case.
    pub fee_asset: String,
    /// PnL in the quote asset this fill realized, its fee included.
    pub realized: Decimal,
    /// The venue's time of the fill (0 if none).
    pub venue_ts_ms: u64,
    /// When the host received it.
    pub received_ns: u64,
}

/// A cancel the runtime should send.
#[derive(Clone, PartialEq, Debug)]
pub struct CancelRequest {
    /// The venue.
    pub venue: VenueId,
    /// The leg.
    pub key: LegKey,
    /// The request.
    pub cancel: CancelOrder,
}

/// A fill that could not be applied exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A sum or product went beyond what a decimal holds; the fill was not applied.
    #[error(
        "fill {trade_id} of order {order_id} on venue {venue}: arithmetic overflow, not applied"
    )]
    Overflow {
        /// The venue's index in the settings.
        venue: usize,
        /// The order id.
        order_id: String,
        /// The trade id.
        trade_id: String,
    },
}

/// Per symbol: the position and the fees it paid.
#[derive(Clone, Debug, Default)]
pub struct SymbolBook {
    /// Position over all venues, with its realized PnL.
    pub position: Position,
    /// Fees paid in the quote asset, plus fees paid in the base asset valued at their
    /// fill's price.
    pub fees_in_quote: Decimal,
}

#[derive(Clone, Debug)]
struct Assets {
    base: String,
    quote: String,
}

/// The run's orders, fills, inventory and PnL.
#[derive(Clone, Debug)]
pub struct Ledger {
    prefix: String,
    assets: HashMap<Symbol, Assets>,
    opps: BTreeMap<OppId, OppRecord>,
    live: BTreeSet<OppId>,
    by_order: HashMap<(VenueId, String), LegKey>,
    seen_fills: HashSet<(VenueId, String, String)>,
    pending: Vec<(VenueId, Fill)>,
    books: HashMap<Symbol, SymbolBook>,
    inventory: BTreeMap<(VenueId, String), Decimal>,
    fees_other: BTreeMap<(VenueId, String), Decimal>,
    trades: Vec<TradeRecord>,
    foreign_updates: u64,
}

impl Ledger {
    /// An empty ledger for these settings.
    pub fn new(config: &Config) -> Result<Ledger, ConfigError> {
        let mut assets = HashMap::new();
        for s in &config.symbols {
            let m = s.market()?;
            assets.insert(
                m.symbol,
                Assets {
                    base: m.base,
                    quote: m.quote,
                },
            );
        }
        Ok(Ledger {
            prefix: config.client_id_prefix.clone(),
            assets,
            opps: BTreeMap::new(),
            live: BTreeSet::new(),
            by_order: HashMap::new(),
            seen_fills: HashSet::new(),
            pending: Vec::new(),
            books: HashMap::new(),
            inventory: BTreeMap::new(),
            fees_other: BTreeMap::new(),
            trades: Vec::new(),
            foreign_updates: 0,
        })
    }

    /// Records a decision: both legs pending, in flight.
    pub fn open(&mut self, opp: &Opportunity) {
        self.opps.insert(opp.id, OppRecord::new(opp));
        self.live.insert(opp.id);
    }

    fn leg_by_client_id(&mut self, client_id: &str) -> Option<&mut crate::legs::LegRecord> {
        let key = LegKey::parse(&self.prefix, client_id)?;
        Some(self.opps.get_mut(&key.opp)?.leg_mut(key.role))
    }

    /// The runtime sent the leg with this client id at `sent_ns`; returns the receive time
    /// of the tick that triggered it, the first time only (for tick → sent latency).
    pub fn on_sent(&mut self, client_id: &str, sent_ns: u64) -> Option<u64> {
        let key = LegKey::parse(&self.prefix, client_id)?;
        let opp = self.opps.get_mut(&key.opp)?;
        let tick = opp.tick_received_ns;
        let leg = opp.leg_mut(key.role);
        if leg.sent_ns.is_some() {
            return None;
        }
        leg.sent_ns = Some(sent_ns);
        if leg.status == LegStatus::Pending {
            leg.status = LegStatus::Sent;
        }
        Some(tick)
    }

    /// The runtime could not send the leg; it no longer counts as in flight (unless an order
    /// update for it arrives after all). Returns false for an unknown or already settled leg.
    pub fn on_send_failed(&mut self, client_id: &str) -> bool {
        let Some(leg) = self.leg_by_client_id(client_id) else {
            return false;
        };
        if leg.status.is_settled() || leg.order_id.is_some() {
            return false;
        }
        leg.status = LegStatus::SendFailed;
        let opp = leg.key.opp;
        self.refresh_live(opp);
        true
    }

    /// Applies an order update from `venue`: the leg's venue order id, status and reported
    /// fill. Returns what fills waiting for this order spent once applied.
    pub fn on_order_update(
        &mut self,
        venue: VenueId,
        u: &OrderUpdate,
    ) -> Result<Vec<Spend>, LedgerError> {
        let order_id = u.order_id.as_str();
        let key = LegKey::parse(&self.prefix, u.client_id.as_str())
            .or_else(|| self.by_order.get(&(venue, order_id.to_owned())).copied());
        let Some(key) = key else {
            self.foreign_updates += 1;
            return Ok(Vec::new());
        };
        let Some(leg) = self.opps.get_mut(&key.opp).map(|o| o.leg_mut(key.role)) else {
            self.foreign_updates += 1;
            return Ok(Vec::new());
        };
        if leg.venue != venue {
            self.foreign_updates += 1;
            return Ok(Vec::new());
        }
        if leg.order_id.is_none() && !order_id.is_empty() {
            leg.order_id = Some(order_id.to_owned());
            self.by_order.insert((venue, order_id.to_owned()), key);
        }
        leg.on_update(u.status, dec(u.filled_qty));
        self.refresh_live(key.opp);
        self.apply_pending(venue, order_id)
    }

    /// Applies a fill from `venue`; a fill of an order not yet named by an order update waits
    /// for it. Returns what the fill spent.
    pub fn on_fill(&mut self, venue: VenueId, f: &Fill) -> Result<Vec<Spend>, LedgerError> {
        let id = (
            venue,
            f.order_id.as_str().to_owned(),
            f.trade_id.as_str().to_owned(),
        );
        if self.seen_fills.contains(&id) {
            return Ok(Vec::new());
        }
        match self.by_order.get(&(venue, id.1.clone())).copied() {
            Some(key) => self.apply_fill(venue, key, f),
            None => {
                let waiting = self.pending.iter().any(|(v, p)| {
                    *v == venue && p.order_id == f.order_id && p.trade_id == f.trade_id
                });
                if !waiting {
                    self.pending.push((venue, f.clone()));
                }
                Ok(Vec::new())
            }
        }
    }

    fn apply_pending(&mut self, venue: VenueId, order_id: &str) -> Result<Vec<Spend>, LedgerError> {
        let Some(key) = self.by_order.get(&(venue, order_id.to_owned())).copied() else {
            return Ok(Vec::new());
        };
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(v, f)| *v == venue && f.order_id.as_str() == order_id);
        self.pending = waiting;
        let mut spends = Vec::new();
        for (i, (_, f)) in ready.iter().enumerate() {
            match self.apply_fill(venue, key, f) {
                Ok(s) => spends.extend(s),
                Err(e) => {
                    // Keep the ones not applied waiting rather than lose them.
                    self.pending.extend(ready[i..].iter().cloned());
                    return Err(e);
                }
            }
        }
        Ok(spends)
    }

    fn apply_fill(
        &mut self,
        venue: VenueId,
        key: LegKey,
        f: &Fill,
    ) -> Result<Vec<Spend>, LedgerError> {
        let overflow = || LedgerError::Overflow {
            venue: venue.index(),
            order_id: f.order_id.as_str().to_owned(),
            trade_id: f.trade_id.as_str().to_owned(),
        };
        let Some(opp) = self.opps.get(&key.opp) else {
            return Ok(Vec::new());
        };
        let symbol = opp.symbol;
        let Some(assets) = self.assets.get(&symbol).cloned() else {
            return Ok(Vec::new());
        };
        let (price, qty, fee) = (dec(f.price), dec(f.qty), dec(f.fee));
        let fee_asset = f.fee_asset.as_str().to_ascii_uppercase();
        let notional = price.checked_mul(qty).ok_or_else(overflow)?;

        // Work on copies and commit only if every sum fits.
        let mut book = self.books.get(&symbol).cloned().unwrap_or_default();
        let mut realized = book
            .position
            .apply(f.side, qty, price)
            .ok_or_else(overflow)?;
        let mut other_fee = None;
        if !fee.is_zero() {
            if fee_asset == assets.quote {
                book.position.charge(fee).ok_or_else(overflow)?;
                realized = realized.checked_sub(fee).ok_or_else(overflow)?;
                book.fees_in_quote = book.fees_in_quote.checked_add(fee).ok_or_else(overflow)?;
            } else if fee_asset == assets.base {
                let r = book.position.charge_base(fee).ok_or_else(overflow)?;
                realized = realized.checked_add(r).ok_or_else(overflow)?;
                let value = fee.checked_mul(price).ok_or_else(overflow)?;
                book.fees_in_quote = book.fees_in_quote.checked_add(value).ok_or_else(overflow)?;
            } else {
                other_fee = Some(fee);
            }
        }
        let (got, gave) = match f.side {
            Side::Buy => ((&assets.base, qty), (&assets.quote, notional)),
            Side::Sell => ((&assets.quote, notional), (&assets.base, qty)),
        };
        let mut spends = vec![Spend {
            venue,
            asset: gave.0.clone(),
            amount: gave.1,
        }];
        if !fee.is_zero() {
            spends.push(Spend {
                venue,
                asset: fee_asset.clone(),
                amount: fee,
            });
        }
        let mut inventory = self.inventory.clone();
        let mut add = |asset: &str, amount: Decimal| -> Option<()> {
            let slot = inventory.entry((venue, asset.to_owned())).or_default();
            *slot = slot.checked_add(amount)?;
            Some(())
        };
        add(got.0, got.1).ok_or_else(overflow)?;
        add(gave.0, -gave.1).ok_or_else(overflow)?;
        if !fee.is_zero() {
            add(&fee_asset, -fee).ok_or_else(overflow)?;
        }
        let mut fees_other = self.fees_other.clone();
        if let Some(fee) = other_fee {
            let slot = fees_other.entry((venue, fee_asset.clone())).or_default();
            *slot = slot.checked_add(fee).ok_or_else(overflow)?;
        }
        let reserved_asset = gave.0.clone();
        let mut leg = opp.leg(key.role).clone();
        leg.filled_qty = leg.filled_qty.checked_add(qty).ok_or_else(overflow)?;
        leg.filled_notional = leg
            .filled_notional
            .checked_add(notional)
            .ok_or_else(overflow)?;
        for s in spends.iter().filter(|s| s.asset == reserved_asset) {
            leg.spent = leg.spent.checked_add(s.amount).ok_or_else(overflow)?;
        }
        if leg.filled_qty >= leg.qty && !leg.status.is_settled() {
            leg.status = LegStatus::Filled;
        }

        // Commit.
        self.books.insert(symbol, book);
        self.inventory = inventory;
        self.fees_other = fees_other;
        if let Some(o) = self.opps.get_mut(&key.opp) {
            *o.leg_mut(key.role) = leg;
        }
        self.seen_fills.insert((
            venue,
            f.order_id.as_str().to_owned(),
            f.trade_id.as_str().to_owned(),
        ));
        self.trades.push(TradeRecord {
            opp: key.opp,
            role: key.role,
            venue,
            symbol,
            order_id: f.order_id.as_str().to_owned(),
            trade_id: f.trade_id.as_str().to_owned(),
            side: f.side,
            price,
            qty,
            fee,
            fee_asset,
            realized,
            venue_ts_ms: f.stamp.venue_ts_ms,
            received_ns: f.stamp.received_ns,
        });
        self.refresh_live(key.opp);
        Ok(spends)
    }

    fn refresh_live(&mut self, id: OppId) {
        match self.opps.get(&id) {
            Some(o) if !o.is_finished() => {
                self.live.insert(id);
            }
            _ => {
                self.live.remove(&id);
            }
        }
    }

    /// Opportunities with a leg not final yet.
    pub fn in_flight(&self) -> usize {
        self.live.len()
    }

    /// What the legs in flight still hold back of `asset` on `venue` (see
    /// [`crate::legs::LegRecord::outstanding`]).
    pub fn outstanding(&self, venue: VenueId, asset: &str) -> Decimal {
        let mut total = Decimal::ZERO;
        for id in &self.live {
            let Some(o) = self.opps.get(id) else { continue };
            let Some(a) = self.assets.get(&o.symbol) else {
                continue;
            };
            for leg in [&o.buy, &o.sell] {
                let reserved = match leg.side {
                    Side::Buy => &a.quote,
                    Side::Sell => &a.base,
                };
                if leg.venue == venue && reserved.eq_ignore_ascii_case(asset) {
                    total = total.saturating_add(leg.outstanding());
                }
            }
        }
        total
    }

    /// The run's net position in a symbol over all venues (above zero: more bought than
    /// sold).
    pub fn net_position(&self, symbol: Symbol) -> Decimal {
        self.books
            .get(&symbol)
            .map_or(Decimal::ZERO, |b| b.position.net_qty())
    }

    /// A symbol's position, realized PnL and fees.
    pub fn book(&self, symbol: Symbol) -> Option<&SymbolBook> {
        self.books.get(&symbol)
    }

    /// Legs in flight with a venue order id, sent (or decided, if never reported sent) at
    /// least `timeout_ns` ago and not asked to cancel in the last `timeout_ns`: cancels to
    /// send now. Marks them asked.
    pub fn cancels_due(&mut self, now_ns: u64, timeout_ns: u64) -> Vec<CancelRequest> {
        let mut due = Vec::new();
        for id in &self.live {
            let Some(o) = self.opps.get_mut(id) else {
                continue;
            };
            let decided = o.decided_ns;
            for role in LegRole::BOTH {
                let leg = o.leg_mut(role);
                let start = leg.sent_ns.unwrap_or(decided);
                let asked_long_ago = leg
                    .cancel_requested_ns
                    .is_none_or(|t| now_ns >= t.saturating_add(timeout_ns));
                if leg.status.is_final()
                    || now_ns < start.saturating_add(timeout_ns)
                    || !asked_long_ago
                {
                    continue;
                }
                if let Some(order_id) = &leg.order_id {
                    leg.cancel_requested_ns = Some(now_ns);
                    due.push(CancelRequest {
                        venue: leg.venue,
                        key: leg.key,
                        cancel: CancelOrder {
                            instrument: leg.instrument,
                            order_id: order_id.as_str().into(),
                        },
                    });
                }
            }
        }
        due
    }

    /// Every leg not final that has a venue order id: what to cancel on exit.
    pub fn open_orders(&self) -> Vec<CancelRequest> {
        self.live_legs()
            .filter_map(|leg| {
                Some(CancelRequest {
                    venue: leg.venue,
                    key: leg.key,
                    cancel: CancelOrder {
                        instrument: leg.instrument,
                        order_id: leg.order_id.as_deref()?.into(),
                    },
                })
            })
            .collect()
    }

    /// Legs not final that no order update has named yet (venue, client id): they cannot be
    /// cancelled by order id until one does.
    pub fn unacknowledged(&self) -> Vec<(VenueId, String)> {
        self.live_legs()
            .filter(|leg| leg.order_id.is_none())
            .map(|leg| (leg.venue, leg.client_id.clone()))
            .collect()
    }

    fn live_legs(&self) -> impl Iterator<Item = &crate::legs::LegRecord> {
        self.live
            .iter()
            .filter_map(|id| self.opps.get(id))
            .flat_map(|o| [&o.buy, &o.sell])
            .filter(|leg| !leg.status.is_final())
    }

    /// One opportunity.
    pub fn opportunity(&self, id: OppId) -> Option<&OppRecord> {
        self.opps.get(&id)
    }

    /// Every opportunity, oldest first.
    pub fn opportunities(&self) -> impl Iterator<Item = &OppRecord> {
        self.opps.values()
    }

    /// Every fill applied, in the order applied.
    pub fn trades(&self) -> &[TradeRecord] {
        &self.trades
    }

    /// Change of each asset on each venue over the run (fills and their fees), by venue
    /// then asset.
    pub fn inventory(&self) -> impl Iterator<Item = (VenueId, &str, Decimal)> {
        self.inventory
            .iter()
            .map(|((v, a), d)| (*v, a.as_str(), *d))
    }

    /// Fees paid in an asset that is neither the base nor the quote of the fill's symbol
    /// (e.g. a venue token), not counted in the PnL.
    pub fn fees_other(&self) -> impl Iterator<Item = (VenueId, &str, Decimal)> {
        self.fees_other
            .iter()
            .map(|((v, a), d)| (*v, a.as_str(), *d))
    }

    /// Fills of orders no order update has tied to one of the run's legs.
    pub fn unattributed_fills(&self) -> &[(VenueId, Fill)] {
        &self.pending
    }

    /// Order updates that were not about one of the run's legs.
    pub fn foreign_updates(&self) -> u64 {
        self.foreign_updates
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
