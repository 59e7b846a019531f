//! The pure core of the cross-venue arbitrage program (issue #14): for each configured
//! symbol it keeps every venue's touch, computes the executable spread both ways after taker
//! fees and the size at the touch, decides when to send both legs, and accounts their fills,
//! inventory and realized PnL in exact decimals. No IO, no clock, no runtime: a runtime
//! feeds it events and the time, and carries out what it returns.
//!
//! # Driving it
//!
//! ```no_run
//! # use arbitrage::{Config, Engine};
//! # fn clock() -> u64 { 0 }
//! # fn events() -> Vec<(String, plugin_api::Event)> { vec![] }
//! # fn send(_: arbitrage::VenueId, _: &plugin_api::NewOrder) -> bool { true }
//! # fn cancel(_: arbitrage::VenueId, _: &plugin_api::CancelOrder) {}
//! # fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
//! let mut engine = Engine::new(config)?;
//! for (venue_name, event) in events() {
//!     let Some(venue) = engine.venue_id(&venue_name) else { continue };
//!     if let Some(opp) = engine.on_event(venue, &event, clock())? {
//!         for leg in opp.legs() {
//!             if send(leg.venue, &leg.order) {
//!                 engine.on_sent(&leg.order.client_id, clock());
//!             } else {
//!                 engine.on_send_failed(&leg.order.client_id);
//!             }
//!         }
//!     }
//!     for c in engine.cancels_due(clock()) {
//!         cancel(c.venue, &c.cancel);
//!     }
//! }
//! for c in engine.cancels_on_exit() {
//!     cancel(c.venue, &c.cancel);
//! }
//! let report = engine.report();
//! # let _ = report; Ok(()) }
//! ```
//!
//! Modules: [`config`] settings; [`touch`] quotes and their freshness; [`spread`] the
//! spread, size and profit of one direction; [`budget`] order rates; [`decision`] gates,
//! thresholds and legs; [`client_id`] leg pairing; [`legs`] leg state; [`ledger`] fills,
//! inventory and PnL; [`position`] FIFO lots; [`balances`] the balance estimate;
//! [`latency`] recorders; [`engine`] all of it together; [`report`] the end-of-run report.

pub mod balances;
pub mod budget;
pub mod client_id;
pub mod config;
pub mod decision;
pub mod engine;
pub mod exact;
pub mod latency;
pub mod ledger;
pub mod legs;
pub mod position;
pub mod report;
pub mod spread;
pub mod touch;

pub use client_id::{LegKey, LegRole, OppId};
pub use config::{Config, ConfigError, Market, SymbolSettings, VenueId, VenueSettings};
pub use decision::{Leg, Opportunity, Skip};
pub use engine::{Engine, EngineError};
pub use exact::Bps;
pub use latency::{LatencyReport, Percentiles};
pub use ledger::{CancelRequest, Ledger, LedgerError, TradeRecord};
pub use legs::{LegStatus, Outcome};
pub use report::Report;
pub use spread::{SizeLimit, Spread};
pub use touch::{Quote, Touch, Untradable};
