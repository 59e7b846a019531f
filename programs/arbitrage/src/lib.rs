//! The pure core of the cross-venue arbitrage program (issue #14): for each configured
//! symbol it keeps every venue's touch, computes the executable spread both ways after taker
//! fees and the size at the touch, decides when to send both legs, and accounts their fills,
//! inventory and realized PnL in exact decimals. No IO, no clock, no runtime: a runtime
//! feeds it events and the time, and carries out what it returns.

pub mod balances;
pub mod budget;
pub mod client_id;
pub mod config;
pub mod decision;
pub mod exact;
pub mod latency;
pub mod ledger;
pub mod legs;
pub mod position;
pub mod spread;
pub mod touch;

pub use client_id::{LegKey, LegRole, OppId};
pub use config::{Config, ConfigError, Market, SymbolSettings, VenueId, VenueSettings};
pub use decision::{Leg, Opportunity, Skip};
pub use exact::Bps;
pub use latency::{LatencyReport, Percentiles};
pub use ledger::{CancelRequest, Ledger, LedgerError, TradeRecord};
pub use legs::{LegStatus, Outcome};
pub use spread::{SizeLimit, Spread};
pub use touch::{Quote, Touch, Untradable};
