//! The host's shutdown: every instance through the stop pipeline under one deadline, then
//! the supervisors, then every library unloaded, and a report whose task count is exact.

use std::time::{Duration, Instant as WallInstant};

use tokio::time::Instant;

use super::Host;
use crate::stop::coordinator::StopMode;
use crate::stop::report::ShutdownReport;
use crate::stop::resource::FORCE_GRACE;
use crate::venue::lifecycle::Trigger;

/// How long the report waits for the runtime to release tasks the host saw end.
const RUNTIME_SETTLE: Duration = Duration::from_millis(100);

impl Host {
    /// Stops every instance in dependency order within the overall timeout, unloads every
    /// plugin and reports counts before and after.
    pub async fn shutdown(&self, reason: &str) -> ShutdownReport {
        let deadline = self.deadline();
        self.shutdown_by(reason, deadline).await
    }

    /// Like [`Host::shutdown`], by `deadline` (a process that stops other things first
    /// passes the time that is left of its own budget).
    pub async fn shutdown_by(&self, reason: &str, deadline: Instant) -> ShutdownReport {
        let started = WallInstant::now();
        // Supervisors wait for the operations lock to restart an instance: stop them first.
        self.inner.supervisors.token().cancel();
        // An operation still running (a stop held up by a stuck resource) has its own bound;
        // past the deadline the shutdown goes on without waiting for it.
        let _ops = match tokio::time::timeout_at(deadline, self.inner.ops.lock()).await {
            Ok(ops) => Some(ops),
            Err(_) => {
                tracing::error!("an operation still holds the host past the shutdown deadline");
                None
            }
        };
        let before = self.counts_now();
        // Tasks of the runtime that are not the host's: the caller's, other libraries'.
        let others = before.tasks.saturating_sub(before.resource_tasks);
        let names = self.inner.registry().running(None);
        // An instance waiting to restart after a fault is not running, and its supervisor
        // (cancelled above) will not start it again: end its consumers' streams, which it
        // kept open for the restart, or they would wait for it forever.
        let restarting: Vec<_> = self
            .inner
            .registry()
            .slots
            .iter()
            .filter(|(_, s)| s.state() == crate::venue::State::Restarting)
            .map(|(n, _)| n.clone())
            .collect();
        for name in &restarting {
            self.end_streams(name);
        }
        let done = self
            .stop_locked(&names, StopMode::Stop, Trigger::Stopped, deadline)
            .await;
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, self.inner.supervisors.shutdown())
            .await
            .is_err()
        {
            self.inner.supervisors.abort(FORCE_GRACE).await;
        }
        // A task aborted while stuck in a plugin call ends right after the call returned
        // (which the release phase waited for); let it go before counting.
        for node in &done.nodes {
            if node.resource.counts().tasks > 0 {
                node.resource.force().await;
            }
        }
        let tasks_left: Vec<(String, usize)> = done
            .nodes
            .iter()
            .map(|n| {
                (
                    format!("{}/{}", n.spec.owner, n.spec.name),
                    n.resource.counts().tasks,
                )
            })
            .filter(|(_, tasks)| *tasks > 0)
            .collect();
        let host_left: usize = tasks_left.iter().map(|(_, n)| n).sum();
        drop(done.nodes);
        let (unloaded, images_still_mapped) = {
            let mut registry = self.inner.registry();
            registry.shut_down = true;
            registry.slots.clear();
            let plugins: Vec<_> = registry.plugins.keys().cloned().collect();
            let unloaded: Vec<_> = plugins
                .iter()
                .filter_map(|p| registry.unload(p.as_str(), false))
                .collect();
            let mut mapped = registry.still_mapped();
            mapped.extend(
                unloaded
                    .iter()
                    .filter(|u| !u.unmapped)
                    .map(|u| u.shadow.display().to_string()),
            );
            (unloaded, mapped)
        };
        settle_runtime(others + host_left).await;
        let after = self.counts_now();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        if tasks_left.is_empty() {
            tracing::info!(%reason, elapsed_ms = format_args!("{elapsed_ms:.2}"), tasks_before = before.tasks, tasks_after = after.tasks, "shutdown complete");
        } else {
            tracing::error!(%reason, elapsed_ms = format_args!("{elapsed_ms:.2}"), left = ?tasks_left, "shutdown complete; tasks left");
        }
        ShutdownReport {
            reason: reason.to_owned(),
            forced: false,
            stop: done.report,
            unloaded,
            before,
            after,
            images_still_mapped,
            tasks_left,
            elapsed_ms,
        }
    }
}

/// Waits, at most [`RUNTIME_SETTLE`], until the runtime counts no more than `expected`
/// alive tasks. A task whose future ended is released by its worker thread a moment later,
/// and the runtime announces that with no event: this bounded wait lets the report count
/// what is really alive instead of what is about to go.
pub(crate) async fn settle_runtime(expected: usize) {
    let metrics = tokio::runtime::Handle::current().metrics();
    let until = Instant::now() + RUNTIME_SETTLE;
    while metrics.num_alive_tasks() > expected && Instant::now() < until {
        tokio::task::yield_now().await;
    }
}
