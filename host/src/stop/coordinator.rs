//! The shutdown coordinator: stops resources wave by wave, each stop bounded by
//! its own timeout and then forced, and reports what happened to every one.

use std::time::Duration;

use tokio::time::Instant;

use futures_util::future::join_all;
use plugin_api::ResourceKind;
use serde::Serialize;

use crate::stop::graph::{stop_waves, Node};
use crate::stop::resource::ResourceSpec;

/// Timeouts for stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownTimeouts {
    /// The whole shutdown, across all waves (default 5 s).
    #[serde(with = "millis")]
    pub overall: Duration,
    /// One connection (default 2 s).
    #[serde(with = "millis")]
    pub connection: Duration,
    /// One message-processing resource: queues, streams, handler bindings (default 1 s).
    #[serde(with = "millis")]
    pub processing: Duration,
    /// Anything else: REST clients, limiters, timers (default 2 s for REST, 1 s otherwise
    /// unless set here).
    #[serde(with = "millis")]
    pub other: Duration,
}

impl Default for ShutdownTimeouts {
    fn default() -> Self {
        ShutdownTimeouts {
            overall: Duration::from_secs(5),
            connection: Duration::from_secs(2),
            processing: Duration::from_secs(1),
            other: Duration::from_secs(2),
        }
    }
}

impl ShutdownTimeouts {
    /// The stop timeout for a resource of `kind`, unless the plugin declared its own.
    pub fn for_kind(&self, kind: ResourceKind, declared_ms: Option<u64>) -> Duration {
        if let Some(ms) = declared_ms {
            return Duration::from_millis(ms);
        }
        match kind {
            ResourceKind::Connection => self.connection,
            ResourceKind::MessageQueue | ResourceKind::Stream | ResourceKind::HandlerBinding => {
                self.processing
            }
            ResourceKind::RestClient | ResourceKind::RateLimiter | ResourceKind::Timer => {
                self.other
            }
        }
    }
}

/// Durations as integer milliseconds in configuration and reports.
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// How one resource's stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stopped on request within its timeout.
    Stopped,
    /// Its stop returned an error (logged); shutdown went on.
    Failed,
    /// It did not stop within its timeout and was aborted.
    Forced,
    /// Its owner was reloaded or restarted and it stays for the next build (a stream that
    /// sent its consumers a gap, handler bindings that keep running).
    CarriedOver,
}

/// What a stop does to the resources of the instances it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Everything stops: consumers get the end of their streams.
    Stop,
    /// The instances come back (a reload or a restart): resources that can be carried over
    /// are; the others stop.
    CarryOver,
}

/// One line of the shutdown report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceReport {
    /// Owner (venue instance or `host`).
    pub owner: String,
    /// Resource name.
    pub name: String,
    /// Kind.
    pub kind: &'static str,
    /// Stop priority.
    pub priority: u8,
    /// The wave it stopped in (0 first).
    pub wave: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// Time from the stop request to the outcome, in milliseconds.
    pub elapsed_ms: f64,
    /// The error, for `Failed`; what was left, for `Forced`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Stops `nodes` in waves by `deadline`, returning one report line per resource.
///
/// Each resource gets `min(its timeout, time left)`; after that it is forced. Once the
/// deadline has passed, remaining resources are forced at once.
pub async fn stop_in_order(
    nodes: &[Node],
    deadline: Instant,
    mode: StopMode,
) -> Vec<ResourceReport> {
    let specs: Vec<&ResourceSpec> = nodes.iter().map(|n| &n.spec).collect();
    let waves = stop_waves(&specs);
    let mut reports = Vec::with_capacity(nodes.len());
    for (wave_no, wave) in waves.into_iter().enumerate() {
        let stops = wave.into_iter().map(|i| {
            let node = nodes[i].clone();
            let span =
                tracing::info_span!("stop", venue = %node.spec.owner, resource = %node.spec.name);
            tracing::Instrument::instrument(stop_one(node, wave_no, deadline, mode), span)
        });
        reports.extend(join_all(stops).await);
    }
    reports
}

async fn stop_one(node: Node, wave: usize, deadline: Instant, mode: StopMode) -> ResourceReport {
    let spec = &node.spec;
    let started = Instant::now();
    let budget = spec
        .timeout
        .min(deadline.saturating_duration_since(started));
    tracing::debug!(owner = %spec.owner, resource = %spec.name, wave, "stopping");
    let (stop, done) = match mode {
        StopMode::CarryOver => match node.resource.carry_over() {
            Some(carry) => (carry, Outcome::CarriedOver),
            None => (node.resource.stop(), Outcome::Stopped),
        },
        StopMode::Stop => (node.resource.stop(), Outcome::Stopped),
    };
    let (outcome, detail) = match tokio::time::timeout(budget, stop).await {
        Ok(Ok(())) => (done, None),
        Ok(Err(e)) => (Outcome::Failed, Some(e)),
        Err(_) => {
            node.resource.force().await;
            let left = node.resource.counts();
            (
                Outcome::Forced,
                Some(format!(
                    "did not stop within {} ms; aborted ({} task(s) still finishing)",
                    budget.as_millis(),
                    left.tasks
                )),
            )
        }
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    match outcome {
        Outcome::Stopped | Outcome::CarriedOver => tracing::info!(
            owner = %spec.owner, resource = %spec.name, kind = spec.kind.name(),
            elapsed_ms = format_args!("{elapsed_ms:.2}"), ?outcome, "resource stopped"
        ),
        _ => tracing::warn!(
            owner = %spec.owner, resource = %spec.name, kind = spec.kind.name(),
            elapsed_ms = format_args!("{elapsed_ms:.2}"), outcome = ?outcome,
            detail = detail.as_deref().unwrap_or(""), "resource did not stop cleanly"
        ),
    }
    ResourceReport {
        owner: spec.owner.clone(),
        name: spec.name.clone(),
        kind: spec.kind.name(),
        priority: spec.priority,
        wave,
        outcome,
        elapsed_ms,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::future::BoxFuture;

    use super::*;
    use crate::stop::resource::{Resource, TaskGroup};

    /// Records the order of stops; optionally ignores cancellation.
    struct Probe {
        name: &'static str,
        log: Arc<Mutex<Vec<&'static str>>>,
        stubborn: bool,
        tasks: TaskGroup,
    }

    impl Resource for Probe {
        fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
            self.log.lock().unwrap().push(self.name);
            let stubborn = self.stubborn;
            let tasks = self.tasks.clone();
            Box::pin(async move {
                if stubborn {
                    std::future::pending::<()>().await;
                }
                tasks.shutdown().await;
                Ok(())
            })
        }
        fn force(&self) -> BoxFuture<'static, ()> {
            let tasks = self.tasks.clone();
            Box::pin(async move { tasks.abort(Duration::from_millis(20)).await })
        }
    }

    fn node(
        name: &'static str,
        kind: ResourceKind,
        deps: &[&str],
        log: &Arc<Mutex<Vec<&'static str>>>,
        stubborn: bool,
        timeout_ms: u64,
    ) -> Node {
        Node {
            spec: ResourceSpec {
                owner: "v".into(),
                name: name.into(),
                kind,
                priority: kind.default_priority(),
                depends_on: deps.iter().map(|s| s.to_string()).collect(),
                timeout: Duration::from_millis(timeout_ms),
            },
            resource: Arc::new(Probe {
                name,
                log: log.clone(),
                stubborn,
                tasks: TaskGroup::new(),
            }),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stubborn_resource_is_forced_at_its_timeout_and_others_still_stop() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let nodes = vec![
            node("queue", ResourceKind::MessageQueue, &[], &log, false, 1000),
            node("ws", ResourceKind::Connection, &["queue"], &log, true, 300),
            node("rest", ResourceKind::RestClient, &[], &log, false, 1000),
        ];
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_secs(5);
        let reports = stop_in_order(&nodes, deadline, StopMode::Stop).await;
        let took = started.elapsed();
        assert_eq!(*log.lock().unwrap(), vec!["ws", "queue", "rest"]);
        let ws = reports.iter().find(|r| r.name == "ws").unwrap();
        assert_eq!(ws.outcome, Outcome::Forced);
        assert!(ws.detail.as_deref().unwrap().contains("300 ms"));
        assert!(reports
            .iter()
            .filter(|r| r.name != "ws")
            .all(|r| r.outcome == Outcome::Stopped));
        // Virtual time: exactly the stubborn timeout plus the force grace, nothing else waits.
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took <= Duration::from_millis(350), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn overall_budget_caps_every_stop() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let nodes = vec![
            node("a", ResourceKind::Connection, &[], &log, true, 2000),
            node("b", ResourceKind::RestClient, &[], &log, true, 2000),
        ];
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_millis(500);
        let reports = stop_in_order(&nodes, deadline, StopMode::Stop).await;
        assert!(reports.iter().all(|r| r.outcome == Outcome::Forced));
        assert!(started.elapsed() <= Duration::from_millis(550));
    }
}
