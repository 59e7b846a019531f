//! The one stop pipeline. Stopping a venue, reloading a plugin, restarting a faulted
//! instance and shutting the host down all go through [`run`], in three phases under one
//! deadline:
//!
//! 1. **signal**: every instance concurrently freezes its subscriptions and gives the
//!    plugin's last actions (a call stuck in plugin code is skipped after a short wait);
//! 2. **waves**: the instances' resources stop in their declared order, each bounded by its
//!    own timeout and the deadline, then forced ([`stop_in_order`]);
//! 3. **release**: every instance's plugin state is dropped concurrently once no call into
//!    the plugin runs; an instance whose call is still stuck at the deadline is reported, and
//!    its library must stay mapped (quarantine).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{join_all, BoxFuture};
use tokio::time::Instant;

use crate::stop::coordinator::{stop_in_order, ResourceReport, StopMode};
use crate::stop::graph::Node;

/// How long the signal phase waits for a plugin call still running before it skips the
/// plugin's `stop`.
pub(crate) const LAST_WORDS_WAIT: Duration = Duration::from_millis(100);

/// The least time the release phase gives a plugin call to return, even past the deadline:
/// releasing an idle instance takes microseconds, and quarantining one that merely lost a
/// race would keep a library mapped for nothing.
pub(crate) const RELEASE_FLOOR: Duration = Duration::from_millis(10);

/// An instance as the pipeline sees it.
pub(crate) trait Member: Send + Sync {
    /// Its name (the owner of its resources).
    fn owner(&self) -> &str;
    /// Phase 1: stop taking new work and run the plugin's last actions.
    fn signal(&self, wait: Duration) -> BoxFuture<'_, ()>;
    /// Phase 3: drop the plugin's state; false if a call into the plugin was still running
    /// after `wait`.
    fn release(&self, wait: Duration) -> BoxFuture<'_, bool>;
}

/// What to stop, and how.
pub(crate) struct Stopping {
    /// The instances.
    pub(crate) members: Vec<Arc<dyn Member>>,
    /// Their resources.
    pub(crate) nodes: Vec<Node>,
    /// Stop, or carry over to the next build.
    pub(crate) mode: StopMode,
    /// When everything must be done.
    pub(crate) deadline: Instant,
    /// The most the release phase waits for a call still running in a plugin.
    pub(crate) release_wait: Duration,
}

/// What the pipeline did.
#[derive(Debug)]
pub(crate) struct Stopped {
    /// Per resource, in stop order.
    pub(crate) resources: Vec<ResourceReport>,
    /// Instances whose plugin state could not be released (a call was stuck).
    pub(crate) quarantined: Vec<String>,
    /// Time of the signal and wave phases, milliseconds.
    pub(crate) stop_ms: f64,
}

/// Runs the three phases; see the module docs.
pub(crate) async fn run(stopping: Stopping) -> Stopped {
    let Stopping {
        members,
        nodes,
        mode,
        deadline,
        release_wait,
    } = stopping;
    let started = Instant::now();
    let left = || deadline.saturating_duration_since(Instant::now());
    let wait = left().min(LAST_WORDS_WAIT);
    join_all(members.iter().map(|m| m.signal(wait))).await;
    let resources = stop_in_order(&nodes, deadline, mode).await;
    let stop_ms = started.elapsed().as_secs_f64() * 1e3;
    let wait = left().min(release_wait).max(RELEASE_FLOOR);
    let released = join_all(members.iter().map(|m| m.release(wait))).await;
    let quarantined = members
        .iter()
        .zip(released)
        .filter(|(_, released)| !released)
        .map(|(m, _)| {
            tracing::error!(venue = %m.owner(), "a plugin call is still running; its library stays mapped");
            m.owner().to_owned()
        })
        .collect();
    Stopped {
        resources,
        quarantined,
        stop_ms,
    }
}
