//! The plugin host: owns the tokio runtime's tasks, loads venue plugins from files, runs
//! venue instances on resources it owns, and stops them in dependency order within bounded
//! time before unloading the libraries for real.
//!
//! Start with [`Host`]: [`Host::load_plugin`], [`Host::start_venue`], [`Host::subscribe`]
//! or [`Host::bind`], [`Host::reload_plugin`], and [`Host::shutdown`], which returns a
//! [`ShutdownReport`]. Plugins are written against the `plugin-api` crate.
//!
//! The folders follow the data: [`transport`] (sockets, REST, rate limits) feeds each
//! [`venue`] (the driver, the only caller of plugin code, and the action router), which
//! publishes into the [`pipeline`] (bus, queues, subscriptions, bindings) that consumers
//! read. [`plugin`] loads and checks libraries, [`stop`] stops everything in dependency
//! order and reports, [`ops`] runs a host as a process, [`config`] reads its settings,
//! [`nats`] shares venues between hosts and programs over a NATS bus.
//!
//! A trading program needs none of that: [`exchange::Exchange`] starts the configured
//! venues and hands it typed market data, its account and order entry, and stops them all
//! in order when the program ends (`host/examples/` shows it, smallest first).

pub mod config;
pub mod error;
pub mod exchange;
mod host;
mod names;
pub mod nats;
pub mod ops;
pub mod pipeline;
pub mod plugin;
pub mod stop;
pub mod transport;
pub mod venue;

pub use error::HostError;
pub use exchange::{Exchange, ExchangeError, ExchangeHandle, VenueHandle};
pub use host::{Host, HostOptions, InstanceStatus, PluginStatus, RestartPolicy};
pub use names::{InstanceName, PluginId};
pub use pipeline::{Bus, QueuePolicies, StreamItem, Subscription};
pub use plugin::{Builtin, LoadError, Loader, PluginInfo};
pub use stop::{ReloadReport, ShutdownReport, ShutdownTimeouts, StopReport, UnloadReport};
pub use venue::State;
