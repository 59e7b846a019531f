//! Reports of shutdowns, stops, unloads and reloads, written as JSON by `host run --report`.

use std::path::PathBuf;

use serde::Serialize;

use crate::stop::coordinator::ResourceReport;
use crate::stop::process::ProcessCounts;
use crate::stop::resource::ResourceCounts;

/// Live counts of the whole process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Tasks alive in the tokio runtime, the caller's own included. After a shutdown it is
    /// read once the runtime has released every task the host saw end (a bounded wait), so
    /// a task counted here is really alive.
    pub tasks: usize,
    /// Tasks owned by the host's resources, handler bindings and supervisors (exact:
    /// counted as each task's future ends).
    pub resource_tasks: usize,
    /// Consumer subscriptions.
    pub subscriptions: usize,
    /// Open websocket connections.
    pub connections: usize,
    /// Bound handlers.
    pub bindings: usize,
    /// Open file descriptors.
    pub fds: usize,
    /// OS threads.
    pub threads: usize,
    /// Resident memory, KiB.
    pub rss_kib: u64,
}

impl Counts {
    /// Combines runtime, resource and process counts.
    pub fn gather(runtime_tasks: usize, resources: ResourceCounts, subscriptions: usize) -> Counts {
        let p = ProcessCounts::now();
        Counts {
            tasks: runtime_tasks,
            resource_tasks: resources.tasks,
            subscriptions,
            connections: resources.connections,
            bindings: resources.bindings,
            fds: p.fds,
            threads: p.threads,
            rss_kib: p.rss_kib,
        }
    }
}

/// What happened to one plugin library at unload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnloadReport {
    /// Venue id.
    pub venue: String,
    /// The plugin file.
    pub file: PathBuf,
    /// The shadow copy that was mapped.
    pub shadow: PathBuf,
    /// True once the image has left `/proc/self/maps`.
    pub unmapped: bool,
    /// Why the library was kept mapped or is still mapped, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaked: Option<String>,
}

/// The result of stopping one venue instance (or all of them).
#[must_use = "a stop report says which resources had to be forced"]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StopReport {
    /// What was stopped (`shutdown`, or the instance name).
    pub scope: String,
    /// Time to stop (the plugin's last actions and every resource), milliseconds; waiting
    /// for a stuck plugin call before unloading is not included.
    pub elapsed_ms: f64,
    /// Per resource, in stop order.
    pub resources: Vec<ResourceReport>,
    /// Instances whose adapter could not be released (a plugin call was stuck).
    pub quarantined: Vec<String>,
}

/// The full shutdown report.
#[must_use = "a shutdown report says what was left behind"]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShutdownReport {
    /// Why the shutdown happened (`signal: SIGTERM`, `ctl`, `end of run`, ...).
    pub reason: String,
    /// Whether a second signal forced it short.
    pub forced: bool,
    /// Stopping.
    pub stop: StopReport,
    /// Unloading.
    pub unloaded: Vec<UnloadReport>,
    /// Counts before shutdown.
    pub before: Counts,
    /// Counts after shutdown.
    pub after: Counts,
    /// Plugin images (shadow copies) still in `/proc/self/maps` after shutdown.
    pub images_still_mapped: Vec<String>,
    /// Resources (`instance/resource`) whose tasks were still alive after shutdown, with
    /// how many; empty after a clean shutdown.
    pub tasks_left: Vec<(String, usize)>,
    /// Total time, milliseconds.
    pub elapsed_ms: f64,
}

/// The result of a reload.
#[must_use = "a reload report says what happened to the old build"]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReloadReport {
    /// Venue id.
    pub venue: String,
    /// Old and new plugin versions.
    pub from_version: String,
    /// New version.
    pub to_version: String,
    /// Instances restarted on the new build.
    pub instances: Vec<String>,
    /// Stopping the old instances.
    pub stop: StopReport,
    /// Unloading the old library.
    pub unload: UnloadReport,
    /// Validate new + stop + unload + start, milliseconds.
    pub elapsed_ms: f64,
}
