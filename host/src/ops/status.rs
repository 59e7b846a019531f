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
    /// The file it was loaded from.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// The plugin's version.
    pub version: String,
    /// The plugin-api version it was built for.
    pub api_version: u32,
    /// Load time, seconds since the Unix epoch.
    pub loaded_at_unix: u64,
    /// `loaded`.
    pub state: &'static str,
}

/// One venue instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VenueView {
    /// Instance name.
    pub name: String,
    /// The venue id of its plugin.
    pub plugin: String,
    /// Life-cycle state (`running`, `stopping`, `stopped`, `restarting` after a fault,
    /// `failed` after too many), or `waiting` for a plugin file.
    pub state: String,
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
    /// The last error, if any.
    pub last_error: Option<String>,
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
                state: "loaded",
            })
            .collect();
        let mut venues: Vec<VenueView> = host
            .instances()
            .await
            .into_iter()
            .map(|i| {
                let q = host.bus().venue_stats(i.name.as_str());
                VenueView {
                    state: i.state.to_string(),
                    faults: i.faults,
                    subscriptions: i.subscriptions,
                    bindings: i.bindings,
                    queue_depth: q.depth,
                    messages_in: i.stats.frames_in,
                    messages_out: i.stats.events_out,
                    dropped: q.dropped(),
                    queues: q,
                    last_error: i.stats.last_error,
                    plugin: i.plugin.to_string(),
                    name: i.name.to_string(),
                }
            })
            .collect();
        let configured = self.configured_venues();
        for (name, plugin) in configured {
            if !venues.iter().any(|v| v.name == name) {
                venues.push(VenueView {
                    name,
                    plugin,
                    state: "waiting".into(),
                    faults: 0,
                    subscriptions: 0,
                    bindings: 0,
                    queue_depth: 0,
                    messages_in: 0,
                    messages_out: 0,
                    dropped: 0,
                    queues: QueueStats::default(),
                    last_error: None,
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
        }
    }
}
