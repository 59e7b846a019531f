//! Stopping: the [`Resource`] trait and task groups every resource is built on, the
//! resource [`graph`] and its stop order, the [`coordinator`] that stops waves within
//! bounded time, and the [`report`]s it returns.

pub mod coordinator;
pub mod graph;
pub mod process;
pub mod report;
pub mod resource;

pub use coordinator::{Outcome, ResourceReport, ShutdownTimeouts};
pub use report::{Counts, ReloadReport, ShutdownReport, StopReport, UnloadReport};
pub use resource::{Resource, ResourceCounts, TaskGroup};
