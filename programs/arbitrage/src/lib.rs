//! The pure core of the cross-venue arbitrage program (issue #14): for each configured
//! symbol it keeps every venue's touch, computes the executable spread both ways after taker
//! fees and the size at the touch, decides when to send both legs, and accounts their fills,
//! inventory and realized PnL in exact decimals. No IO, no clock, no runtime: a runtime
//! feeds it events and the time, and carries out what it returns.

pub mod budget;
pub mod config;
pub mod exact;
pub mod spread;
pub mod touch;

pub use config::{Config, ConfigError, Market, SymbolSettings, VenueId, VenueSettings};
pub use exact::Bps;
pub use spread::{SizeLimit, Spread};
pub use touch::{Quote, Touch, Untradable};
