//! Where events go after the driver: the [`Bus`] routes each to the bounded queue of every
//! [`Subscription`] of its topic; [`bindings`] run consumer handlers on subscriptions;
//! [`streams`] ends or gaps a venue's streams when it stops or reloads.

pub mod bindings;
pub mod bus;
pub mod message_queue;
pub mod publish;
pub mod queue;
pub mod streams;
pub mod subscription;

pub use bus::{Bus, QueuePolicies, StreamItem, Subscription};
