//! The operator's shutdown: one deadline for the whole process. The operator's own tasks
//! (watcher, control socket, metrics endpoint and their connections) get a share of it and
//! are aborted if they are not done by then; the host's shutdown gets the rest.

use std::time::Duration;

use tokio::time::Instant;

use super::Operator;
use crate::stop::report::ShutdownReport;
use crate::stop::resource::FORCE_GRACE;

/// The operator's own tasks get this fraction of the overall shutdown time...
const TASKS_SHARE: u32 = 10;
/// ...but never more than this.
const TASKS_MAX: Duration = Duration::from_secs(1);

impl Operator {
    /// Stops the watcher, control socket and metrics endpoint, then shuts the host down
    /// (every venue stopped dependents-first, every plugin unloaded) and keeps the report.
    /// All of it within `shutdown.overall` of the configuration: a stalled client of the
    /// control socket or the metrics endpoint cannot hold the process.
    pub async fn shutdown(&self, reason: &str) -> ShutdownReport {
        let overall = self.inner.timeouts.overall;
        let deadline = Instant::now() + overall;
        self.inner.shutdown_requested.cancel();
        let share = (overall / TASKS_SHARE).min(TASKS_MAX);
        self.stop_tasks(deadline.min(Instant::now() + share)).await;
        if let Some(path) = self.inner.control_socket.get() {
            let _ = std::fs::remove_file(path);
        }
        // No task of the operator runs any more; a command an API caller started is waited
        // for, up to the deadline.
        let ops = tokio::time::timeout_at(deadline, self.inner.ops.lock()).await;
        if ops.is_err() {
            tracing::warn!("an operator command still runs at the shutdown deadline");
        }
        let report = self.inner.host.shutdown_by(reason, deadline).await;
        drop(ops);
        // Venues stopped: give their leases up and drain what is still to publish.
        if let Some(bus) = self.bus() {
            bus.close(deadline).await;
        }
        self.records().shut_down(&report);
        report
    }

    /// Cancels the operator's tasks and waits for them until `until`, then aborts those left.
    async fn stop_tasks(&self, until: Instant) {
        let tasks = &self.inner.tasks;
        if tokio::time::timeout_at(until, tasks.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = tasks.live(),
                "operator tasks still running at their share of the shutdown; aborting them"
            );
            tasks.abort(FORCE_GRACE).await;
        }
    }

    /// Cancels the operator's own tasks (watcher, control socket, metrics endpoint) without
    /// waiting for them: what an owner dropped without [`Operator::shutdown`] does. Those
    /// tasks hold the operator, so once they end the host goes too (which cancels its own).
    pub fn cancel_tasks(&self) {
        self.inner.tasks.token().cancel();
        if let Some(bus) = self.bus() {
            bus.cancel();
        }
    }

    /// Tasks of the operator itself (watcher, listeners, connections, and on the bus the
    /// lease keepers and request services) still alive.
    pub fn live_tasks(&self) -> usize {
        self.inner.tasks.live() + self.bus().map_or(0, |bus| bus.live_tasks())
    }
}
