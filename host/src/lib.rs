//! The plugin host: owns the tokio runtime's tasks, loads venue plugins from files, runs
//! venue instances on resources it owns, and stops them in dependency order within bounded
//! time before unloading the libraries for real.
//!
//! Start with [`Host`]: [`Host::load_plugin`], [`Host::start_venue`], [`Host::subscribe`]
//! or [`Host::bind`], [`Host::reload_plugin`], and [`Host::shutdown`], which returns a
//! [`ShutdownReport`]. Plugins are written against the `plugin-api` crate.

pub mod bindings;
pub mod bus;
pub mod config;
pub mod driver;
pub mod error;
pub mod graph;
mod host;
pub mod instance;
pub mod lifecycle;
pub mod loader;
pub mod net;
pub mod network;
pub mod ops;
pub mod proc_stats;
pub mod queue;
pub mod report;
pub mod resource;
pub mod shutdown;
pub mod streams;
pub mod timers;

pub use bus::{Bus, QueuePolicies, StreamItem, Subscription};
pub use error::HostError;
pub use host::{Host, HostOptions, InstanceStatus, PluginStatus};
pub use lifecycle::State;
pub use loader::{LoadError, Loader, PluginInfo};
pub use report::{ReloadReport, ShutdownReport, StopReport, UnloadReport};
pub use shutdown::ShutdownTimeouts;
