//! One venue instance: the [`driver`] (the only caller of plugin code), its life cycle, its
//! timers, connections and REST client, the router that carries out the plugin's actions,
//! and the resources built from what it declared. Only the instance's state, its counters
//! and the host clock are public; the host drives the rest.

pub(crate) mod connections;
pub(crate) mod driver;
pub mod health;
pub(crate) mod instance;
pub(crate) mod latency;
pub mod lifecycle;
pub(crate) mod order_ledger;
pub(crate) mod port;
pub(crate) mod resources;
pub(crate) mod rest;
pub(crate) mod router;
pub(crate) mod tally;
pub(crate) mod timers;

pub use driver::{now_ms, now_ns, CallError};
pub use health::Health;
pub use lifecycle::State;
pub use tally::{RejectNote, VenueCounters, VenueStats};
