//! Stopping: the [`Resource`] trait and task groups every resource is built on, the
//! resource [`graph`] and its stop order, the [`coordinator`] that stops waves within
//! bounded time, the one stop [`pipeline`] every stop, reload, restart and shutdown goes
//! through, and the [`report`]s it returns.

pub mod coordinator;
pub mod graph;
pub(crate) mod pipeline;
pub mod process;
pub mod report;
pub mod resource;

pub use coordinator::{Outcome, ResourceReport, ShutdownTimeouts, StopMode};
pub use report::{Counts, ReloadReport, ShutdownReport, StopReport, UnloadReport};
pub use resource::{Resource, ResourceCounts, TaskGroup};
