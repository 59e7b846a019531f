//! The program's core in one place for the runtime to drive: it takes each venue's events
//! and the runtime's clock, keeps touches, balances and the ledger, evaluates a symbol on
//! each of its quotes and hands back the opportunities to send; it tells which orders to
//! cancel and reports the run. Synchronous and deterministic: no clock, no IO.

use std::collections::{BTreeMap, HashMap};

use plugin_api::{Decimal, Event, Instrument, Level, Stamp, Symbol};

use crate::balances::Balances;
use crate::budget::OrderBudget;
use crate::config::{Config, ConfigError, Market, VenueId};
use crate::decision::{Candidate, Decider, Opportunity, Skip};
use crate::latency::Latency;
use crate::ledger::{CancelRequest, Ledger, LedgerError, Spend};
use crate::spread::{self, Caps};
use crate::touch::Touches;

/// Why an [`Engine`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The latency histograms could not be made.
    #[error("latency histogram: {0}")]
    Latency(#[from] hdrhistogram::CreationError),
}

/// The arbitrage program's state; see the crate docs for how a runtime drives it.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    markets: HashMap<Symbol, Market>,
    venues: Vec<VenueId>,
    touches: Touches,
    balances: Balances,
    budgets: Vec<OrderBudget>,
    paused: Vec<bool>,
    decider: Decider,
    ledger: Ledger,
    latency: Latency,
    evaluations: u64,
    decided: u64,
    skips: BTreeMap<Skip, u64>,
}

impl Engine {
    /// Validates the settings and starts with no quote, no balance and nothing in flight.
    pub fn new(config: Config) -> Result<Engine, EngineError> {
        config.validate()?;
        let mut markets = HashMap::new();
        for s in &config.symbols {
            let m = s.market()?;
            markets.insert(m.symbol, m);
        }
        Ok(Engine {
            markets,
            venues: config.venue_ids().collect(),
            touches: Touches::new(config.max_quote_age_ms),
            balances: Balances::new(),
            budgets: config
                .venues
                .iter()
                .map(|v| OrderBudget::new(v.orders_per_sec, v.order_burst))
                .collect(),
            paused: vec![false; config.venues.len()],
            decider: Decider::new(&config),
            ledger: Ledger::new(&config)?,
            latency: Latency::new()?,
            evaluations: 0,
            decided: 0,
            skips: BTreeMap::new(),
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The id of a venue by its instance name.
    pub fn venue_id(&self, name: &str) -> Option<VenueId> {
        self.config.venue_id(name)
    }

    /// Takes one event from `venue` at `now_ns` (the runtime's clock, nanoseconds since the
    /// epoch like [`Stamp::received_ns`], read just before the call):
    ///
    /// - a book ticker of a configured symbol updates its touch and evaluates the symbol:
    ///   an opportunity returned is to be sent now (both legs);
    /// - order updates and fills go to the ledger, balances to the balance estimate;
    /// - a gap on a book ticker or depth stream makes the symbol untradable on that venue
    ///   until its next quote; a gap on an account stream pauses the venue (see
    ///   [`Engine::resume`]);
    /// - depth updates and public trades are ignored: pass a synced book's top with
    ///   [`Engine::on_book_top`].
    ///
    /// An error means a fill could not be applied exactly (overflow): the fill is left out.
    pub fn on_event(
        &mut self,
        venue: VenueId,
        event: &Event,
        now_ns: u64,
    ) -> Result<Option<Opportunity>, LedgerError> {
        match event {
            Event::BookTicker(t) => {
                let symbol = t.instrument.symbol;
                if !self.markets.contains_key(&symbol) || !self.touches.on_book_ticker(venue, t) {
                    return Ok(None);
                }
                Ok(self.evaluate(symbol, t.stamp.received_ns, now_ns).ok())
            }
            Event::Order(u) => {
                let spends = self.ledger.on_order_update(venue, u)?;
                self.spend(&spends);
                Ok(None)
            }
            Event::Fill(f) => {
                let spends = self.ledger.on_fill(venue, f)?;
                self.spend(&spends);
                Ok(None)
            }
            Event::Balance(b) => {
                self.balances.on_balance(venue, b);
                Ok(None)
            }
            Event::Gap(g) => {
                if !self.touches.on_gap(venue, g) && g.kind.is_private() {
                    self.pause(venue);
                }
                Ok(None)
            }
            Event::Depth(_) | Event::Trade(_) => Ok(None),
        }
    }

    fn spend(&mut self, spends: &[Spend]) {
        for s in spends {
            self.balances.on_spend(s.venue, &s.asset, s.amount);
        }
    }

    /// Takes the top of a synced order book and evaluates the symbol, as
    /// [`Engine::on_event`] does for a book ticker.
    pub fn on_book_top(
        &mut self,
        venue: VenueId,
        instrument: Instrument,
        bid: Level,
        ask: Level,
        stamp: Stamp,
        now_ns: u64,
    ) -> Option<Opportunity> {
        let symbol = instrument.symbol;
        if !self.markets.contains_key(&symbol)
            || !self.touches.on_book_top(venue, instrument, bid, ask, stamp)
        {
            return None;
        }
        self.evaluate(symbol, stamp.received_ns, now_ns).ok()
    }

    /// Flags a venue's book for a symbol (or all, with `None`) unsynced until its next quote.
    pub fn mark_unsynced(&mut self, venue: VenueId, symbol: Option<Symbol>) {
        self.touches.mark_unsynced(venue, symbol);
    }

    /// Evaluates a symbol now: records tick → decision latency from `tick_received_ns`,
    /// and either returns the opportunity decided (already in the ledger, its cooldown
    /// started, its orders taken from both budgets) or why not.
    pub fn evaluate(
        &mut self,
        symbol: Symbol,
        tick_received_ns: u64,
        now_ns: u64,
    ) -> Result<Opportunity, Skip> {
        self.evaluations += 1;
        self.latency
            .tick_to_decision
            .record(tick_received_ns, now_ns);
        let result = self.decide(symbol, tick_received_ns, now_ns);
        match &result {
            Ok(opp) => {
                self.ledger.open(opp);
                self.decided += 1;
            }
            Err(skip) => *self.skips.entry(*skip).or_default() += 1,
        }
        result
    }

    fn decide(&mut self, symbol: Symbol, tick_ns: u64, now_ns: u64) -> Result<Opportunity, Skip> {
        let market = self.markets.get(&symbol).ok_or(Skip::UnknownSymbol)?;
        self.decider.gate(
            market,
            now_ns,
            self.ledger.in_flight(),
            self.ledger.net_position(symbol),
        )?;
        let mut candidates = Vec::with_capacity(2);
        for &buy in &self.venues {
            for &sell in &self.venues {
                if buy != sell {
                    candidates.push(self.candidate(market, buy, sell, now_ns));
                }
            }
        }
        self.decider
            .decide(market, &candidates, &mut self.budgets, tick_ns, now_ns)
    }

    fn candidate(
        &self,
        market: &Market,
        buy: VenueId,
        sell: VenueId,
        now_ns: u64,
    ) -> Result<Candidate, Skip> {
        let a = self.touches.tradable(buy, market.symbol, now_ns)?;
        let b = self.touches.tradable(sell, market.symbol, now_ns)?;
        if self.is_paused(buy) || self.is_paused(sell) {
            return Err(Skip::VenuePaused);
        }
        let caps = Caps {
            max_qty: market.settings.max_qty,
            qty_step: market.settings.qty_step,
            quote_available: self.usable(buy, &market.quote),
            base_available: self.usable(sell, &market.base),
        };
        let spread = spread::evaluate(
            a.ask,
            self.decider.fee(buy),
            b.bid,
            self.decider.fee(sell),
            &caps,
        )
        .ok_or(Skip::Arithmetic)?;
        Ok(Candidate {
            buy_venue: buy,
            sell_venue: sell,
            buy_instrument: a.instrument,
            sell_instrument: b.instrument,
            spread,
        })
    }

    /// What the sizing may use of `asset` on `venue`: the balance estimate less what the
    /// legs in flight hold back; zero while no balance was reported.
    pub fn usable(&self, venue: VenueId, asset: &str) -> Decimal {
        let available = self.balances.available(venue, asset).unwrap_or_default();
        available
            .checked_sub(self.ledger.outstanding(venue, asset))
            .unwrap_or_default()
            .max(Decimal::ZERO)
    }

    /// Stops new decisions involving `venue` (done on a gap in its account streams, when
    /// order updates or fills may have been missed).
    pub fn pause(&mut self, venue: VenueId) {
        if let Some(p) = self.paused.get_mut(venue.index()) {
            *p = true;
        }
    }

    /// Allows decisions on `venue` again, once the runtime has reconciled its orders (their
    /// current state fed back as order updates) and balances.
    pub fn resume(&mut self, venue: VenueId) {
        if let Some(p) = self.paused.get_mut(venue.index()) {
            *p = false;
        }
    }

    /// True while `venue` is paused.
    pub fn is_paused(&self, venue: VenueId) -> bool {
        self.paused.get(venue.index()).copied().unwrap_or(true)
    }

    /// The runtime sent the order with this client id at `sent_ns`: records tick → sent.
    pub fn on_sent(&mut self, client_id: &str, sent_ns: u64) {
        if let Some(tick) = self.ledger.on_sent(client_id, sent_ns) {
            self.latency.tick_to_send.record(tick, sent_ns);
        }
    }

    /// The runtime could not send the order with this client id (see
    /// [`Ledger::on_send_failed`]).
    pub fn on_send_failed(&mut self, client_id: &str) -> bool {
        self.ledger.on_send_failed(client_id)
    }

    /// Legs open for longer than `leg_timeout_ms`: cancels to send now (each asked again
    /// only after another timeout).
    pub fn cancels_due(&mut self, now_ns: u64) -> Vec<CancelRequest> {
        let timeout_ns = self.config.leg_timeout_ms.saturating_mul(1_000_000);
        self.ledger.cancels_due(now_ns, timeout_ns)
    }

    /// Every leg still open with a venue order id: what to cancel on exit.
    pub fn cancels_on_exit(&self) -> Vec<CancelRequest> {
        self.ledger.open_orders()
    }

    /// The touches.
    pub fn touches(&self) -> &Touches {
        &self.touches
    }

    /// The balance estimate.
    pub fn balances(&self) -> &Balances {
        &self.balances
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The latency recorders.
    pub fn latency(&self) -> &Latency {
        &self.latency
    }

    /// Symbols evaluated, opportunities decided, and skips by reason.
    pub fn counts(&self) -> (u64, u64, &BTreeMap<Skip, u64>) {
        (self.evaluations, self.decided, &self.skips)
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
