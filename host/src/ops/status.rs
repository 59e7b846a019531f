//! What `host ctl status` shows: every plugin, every venue with its state, faults, queue
//! and message counters, the operator's counters and the last reports. Nothing here waits
//! for an operation in progress.

use serde::Serialize;

use super::{LastReports, Operator, OpsCounters};
use crate::pipeline::queue::QueueStats;
use crate::stop::report::Counts;

/// One loaded plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginView {
    /// The venue id it serves.
    pub plugin: String,
    /// The file it was loaded from (empty for a built-in plugin).
    pub file: String,
    /// SHA-256 of the file, hex (empty for a built-in plugin).
    pub sha256: String,
    /// The plugin's version.
    pub version: String,
    /// The plugin-api version it was built for.
    pub api_version: u32,
    /// Load time, seconds since the Unix epoch.
    pub loaded_at_unix: u64,
    /// `loaded` (from a file) or `builtin` (linked into the program).
    pub state: &'static str,
}

/// One venue instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VenueView {
    /// Instance name.
    pub name: String,
    /// The venue id of its plugin.
    pub plugin: String,
    /// What the venue is doing, in one word: while it runs, the health of its worst
    /// connection (`running`, `connecting`, `backing_off`, `breaker_open`, `stalled`);
    /// otherwise its life-cycle state (`starting`, `stopping`, `stopped`, `restarting` after
    /// a fault, `failed` after too many), `waiting` for a plugin file, or `not_started`
    /// when its start failed (`last_error` says why), `standby` while another host holds
    /// its lease (`[nats] leases`).
    pub state: String,
    /// The life-cycle state alone (`running` even while its connections are failing).
    pub lifecycle: String,
    /// Faults (plugin panics) counted in the restart window.
    pub faults: usize,
    /// Live subscriptions.
    pub subscriptions: usize,
    /// Bound handlers.
    pub bindings: usize,
    /// Items queued for consumers now.
    pub queue_depth: u64,
    /// Frames handed to the plugin.
    pub messages_in: u64,
    /// Events the plugin produced.
    pub messages_out: u64,
    /// Items dropped on the way to consumers (every reason).
    pub dropped: u64,
    /// Queue counters summed over its subscriptions.
    pub queues: QueueStats,
    /// Builds that started (first start, restarts, reloads); 0 means it never ran.
    pub starts: u64,
    /// Websocket connections opened; 0 means the venue never connected.
    pub connects: u64,
    /// Failed connect attempts.
    pub connect_failures: u64,
    /// Connections lost and replaced.
    pub reconnects: u64,
    /// Connections replaced because their data stopped while the server still answered.
    pub stalls: u64,
    /// Gap markers delivered to consumers.
    pub gaps: u64,
    /// Milliseconds since a frame last carried data (`None`: none ever did).
    pub last_data_age_ms: Option<u64>,
    /// Frames or parts the plugin rejected, by reason.
    pub rejects_by_reason: std::collections::BTreeMap<String, u64>,
    /// The last error (a failed plugin call or connect attempt), if any.
    pub last_error: Option<String>,
    /// Milliseconds since the last error.
    pub last_error_age_ms: Option<u64>,
}

/// The whole status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// Process id.
    pub pid: u32,
    /// The plugin folder.
    pub plugins_dir: String,
    /// The control socket.
    pub control_socket: Option<String>,
    /// The metrics endpoint.
    pub metrics_address: Option<String>,
    /// Loaded plugins.
    pub plugins: Vec<PluginView>,
    /// Venue instances, and configured venues still waiting for their plugin.
    pub venues: Vec<VenueView>,
    /// Process counts now.
    pub counts: Counts,
    /// Lifetime counters.
    pub counters: OpsCounters,
    /// The last shutdown, reload and configuration reports.
    pub last: LastReports,
    /// The NATS bus (`[nats]`): connection, leases, publishing; absent when off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bus: Option<super::BusStatus>,
}

impl Operator {
    /// The status of the host now; answers during a stop, reload or shutdown too.
    pub async fn status(&self) -> Status {
        let host = self.host();
        let plugins = host
            .plugins()
            .await
            .into_iter()
            .map(|p| PluginView {
                plugin: p.info.venue,
                file: p.info.path.display().to_string(),
                sha256: p.info.sha256,
                version: p.info.plugin_version,
                api_version: p.info.api_version,
                loaded_at_unix: p.loaded_at_unix,
                state: if p.info.builtin { "builtin" } else { "loaded" },
            })
            .collect();
        let now_ms = crate::venue::now_ms();
        let age = |at: Option<u64>| at.map(|at| now_ms.saturating_sub(at));
        let mut venues: Vec<VenueView> = host
            .instances()
            .await
            .into_iter()
            .map(|i| {
                let q = host.bus().venue_stats(i.name.as_str());
                let s = i.stats;
                VenueView {
                    state: match i.state {
                        crate::State::Running => i.health.to_string(),
                        other => other.to_string(),
                    },
                    lifecycle: i.state.to_string(),
                    faults: i.faults,
                    subscriptions: i.subscriptions,
                    bindings: i.bindings,
                    queue_depth: q.depth,
                    messages_in: s.frames_in,
                    messages_out: s.events_out,
                    dropped: q.dropped(),
                    queues: q,
                    starts: s.starts,
                    connects: s.connects,
                    connect_failures: s.connect_failures,
                    reconnects: s.reconnects,
                    stalls: s.stalls,
                    gaps: s.gaps,
                    last_data_age_ms: age(s.last_data_unix_ms),
                    rejects_by_reason: s.rejects_by_reason.into_iter().collect(),
                    last_error: s.last_error,
                    last_error_age_ms: age(s.last_error_unix_ms),
                    plugin: i.plugin.to_string(),
                    name: i.name.to_string(),
                }
            })
            .collect();
        let configured = self.configured_venues();
        let start_failures = self.records().start_failures.clone();
        for (name, plugin) in configured {
            if !venues.iter().any(|v| v.name == name) {
                let failure = start_failures.get(&name).cloned();
                let standby = self.standing_by(&name);
                let state = match failure {
                    Some(_) => "not_started",
                    None if standby => "standby",
                    None => "waiting",
                };
                venues.push(VenueView {
                    name,
                    plugin,
                    state: state.into(),
                    lifecycle: state.into(),
                    faults: 0,
                    subscriptions: 0,
                    bindings: 0,
                    queue_depth: 0,
                    messages_in: 0,
                    messages_out: 0,
                    dropped: 0,
                    queues: QueueStats::default(),
                    starts: 0,
                    connects: 0,
                    connect_failures: 0,
                    reconnects: 0,
                    stalls: 0,
                    gaps: 0,
                    last_data_age_ms: None,
                    rejects_by_reason: Default::default(),
                    last_error: failure,
                    last_error_age_ms: None,
                });
            }
        }
        venues.sort_by(|a, b| a.name.cmp(&b.name));
        Status {
            pid: std::process::id(),
            plugins_dir: self.plugins_dir().display().to_string(),
            control_socket: self.control_socket().map(|p| p.display().to_string()),
            metrics_address: self.metrics_address().map(|a| a.to_string()),
            plugins,
            venues,
            counts: host.counts_now(),
            counters: self.counters(),
            last: self.reports(),
            bus: match self.bus() {
                Some(bus) => Some(bus.status().await),
                None => None,
            },
        }
    }
}
