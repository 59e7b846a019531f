//! One venue instance: the [`driver`] (the only caller of plugin code), its life cycle, its
//! timers, connections and REST client, and the resources built from what it declared.

pub mod connections;
pub mod driver;
pub mod instance;
pub mod lifecycle;
pub mod network;
pub mod rest;
pub mod timers;

pub use lifecycle::State;
