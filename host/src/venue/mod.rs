//! One venue instance: the [`driver`] (the only caller of plugin code), its life cycle, its
//! timers, connections and REST client, the [`router`] that carries out the plugin's
//! actions, and the resources built from what it declared.

pub mod connections;
pub mod driver;
pub(crate) mod instance;
pub mod lifecycle;
pub(crate) mod port;
pub(crate) mod resources;
pub mod rest;
pub(crate) mod router;
pub mod timers;

pub use lifecycle::State;
