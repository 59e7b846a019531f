//! What the host knows, behind one short-held lock: loaded plugins, configured instances
//! (each with its current build and life-cycle state), the resource graph, and the libraries
//! kept mapped because a plugin call was stuck in them. No await ever happens under it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use plugin_api::StreamKind;

use crate::error::HostError;
use crate::names::{InstanceName, PluginId};
use crate::pipeline::bindings::Bindings;
use crate::plugin::{LoadedLibrary, PluginCode};
use crate::stop::graph::ResourceGraph;
use crate::stop::process::is_mapped;
use crate::stop::report::UnloadReport;
use crate::venue::instance::Instance;
use crate::venue::lifecycle::{Lifecycle, State, Trigger};

/// A plugin the host serves: a loaded library or a built-in plugin. Shared while an
/// instance is being built from it.
pub(super) struct Plugin {
    pub(super) code: PluginCode,
    pub(super) loaded_at: SystemTime,
}

/// One configured instance: its settings, its state and its current build.
pub(super) struct Slot {
    pub(super) plugin: PluginId,
    pub(super) settings: String,
    pub(super) lifecycle: Lifecycle,
    /// The current (or last) build.
    pub(super) instance: Arc<Instance>,
    /// The build's handler bindings, with the stream kinds each serves.
    pub(super) bindings: Vec<(String, Vec<StreamKind>, Bindings)>,
    /// When the faults the supervisor counts within its window happened.
    pub(super) faults: Vec<tokio::time::Instant>,
    /// Told about every change of state.
    pub(super) changes: tokio::sync::watch::Sender<u64>,
}

impl Slot {
    pub(super) fn state(&self) -> State {
        self.lifecycle.state()
    }

    /// Applies a life-cycle trigger, logging the move.
    pub(super) fn apply(
        &mut self,
        name: &InstanceName,
        trigger: Trigger,
    ) -> Result<State, HostError> {
        let from = self.lifecycle.state();
        let to = self
            .lifecycle
            .apply(trigger)
            .map_err(|source| HostError::Transition {
                venue: name.to_string(),
                source,
            })?;
        tracing::info!(venue = %name, plugin = %self.plugin, %from, %to, "state");
        self.changes.send_modify(|n| *n += 1);
        Ok(to)
    }

    /// The bindings, by resource name, to carry over to the next build.
    pub(super) fn take_bindings(&mut self) -> HashMap<String, Bindings> {
        self.bindings
            .drain(..)
            .map(|(name, _, b)| (name, b))
            .collect()
    }
}

/// Everything the host knows. Field order is drop order: instances (holding plugin
/// adapters) and resources go before the libraries whose code they point into.
pub(super) struct Registry {
    pub(super) slots: BTreeMap<InstanceName, Slot>,
    pub(super) graph: ResourceGraph,
    pub(super) plugins: HashMap<PluginId, Arc<Plugin>>,
    /// Libraries that could not be released; kept mapped for the life of the process.
    pub(super) quarantine: Vec<Arc<Plugin>>,
    /// Set once a shutdown ran: nothing starts any more.
    pub(super) shut_down: bool,
    /// Bumped at every change of an instance's state.
    pub(super) changes: tokio::sync::watch::Sender<u64>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            slots: BTreeMap::new(),
            graph: ResourceGraph::default(),
            plugins: HashMap::new(),
            quarantine: Vec::new(),
            shut_down: false,
            changes: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Registry {
    pub(super) fn slot(&self, name: &str) -> Result<&Slot, HostError> {
        self.slots
            .get(name)
            .ok_or_else(|| HostError::UnknownInstance(name.to_owned()))
    }

    pub(super) fn slot_mut(&mut self, name: &str) -> Result<&mut Slot, HostError> {
        self.slots
            .get_mut(name)
            .ok_or_else(|| HostError::UnknownInstance(name.to_owned()))
    }

    pub(super) fn plugin(&self, id: &str) -> Result<Arc<Plugin>, HostError> {
        self.plugins
            .get(id)
            .cloned()
            .ok_or_else(|| HostError::UnknownPlugin(id.to_owned()))
    }

    /// Names of the instances of `plugin` (all plugins if `None`) that run resources.
    pub(super) fn running(&self, plugin: Option<&str>) -> Vec<InstanceName> {
        self.slots
            .iter()
            .filter(|(_, s)| plugin.is_none_or(|p| s.plugin == p) && !s.state().is_down())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Takes the plugin `id` out to unload it; a library an instance could not release goes
    /// to the quarantine instead.
    pub(super) fn unload(&mut self, id: &str, quarantined: bool) -> Option<UnloadReport> {
        let plugin = self.plugins.remove(id)?;
        if let PluginCode::Builtin(builtin) = &plugin.code {
            // Its code is the program's: nothing to unmap, nothing to keep mapped.
            tracing::info!(plugin = %id, "built-in plugin removed");
            return Some(UnloadReport {
                venue: builtin.info().venue.clone(),
                file: PathBuf::new(),
                shadow: PathBuf::new(),
                unmapped: true,
                leaked: None,
            });
        }
        if quarantined {
            let info = plugin.code.info();
            let report = UnloadReport {
                venue: info.venue.clone(),
                file: info.path.clone(),
                shadow: plugin
                    .code
                    .shadow_path()
                    .unwrap_or(Path::new(""))
                    .to_owned(),
                unmapped: false,
                leaked: Some("quarantined: a plugin call was stuck".into()),
            };
            self.quarantine.push(plugin);
            return Some(report);
        }
        match Arc::try_unwrap(plugin) {
            Ok(Plugin {
                code: PluginCode::File(library),
                ..
            }) => Some(unload_library(library)),
            // A built-in plugin returned above.
            Ok(Plugin {
                code: PluginCode::Builtin(_),
                ..
            }) => None,
            Err(still_shared) => {
                // An instance is still being built from it (cannot happen under the
                // operations lock); never unmap code that may run.
                tracing::error!(plugin = %id, "plugin still in use at unload; kept mapped");
                self.quarantine.push(still_shared);
                None
            }
        }
    }

    /// Shadow copies still mapped: quarantined ones.
    pub(super) fn still_mapped(&self) -> Vec<String> {
        self.quarantine
            .iter()
            .filter_map(|p| p.code.shadow_path())
            .map(|shadow| shadow.display().to_string())
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // A host dropped without `shutdown`: drop every plugin adapter while its code is
        // mapped. If a call still runs on another thread, no library may be unmapped.
        let all_released = self.slots.values().all(|s| s.instance.driver.try_release());
        if !all_released {
            for (_, plugin) in self.plugins.drain() {
                std::mem::forget(plugin);
            }
        }
        self.slots.clear();
        self.graph.take_all();
        // A quarantined library may still be executing; never unmap it.
        for plugin in self.quarantine.drain(..) {
            std::mem::forget(plugin);
        }
    }
}

/// Drops the library and checks that its image left the process maps.
pub(super) fn unload_library(library: LoadedLibrary) -> UnloadReport {
    let info = library.info().clone();
    let shadow: PathBuf = library.unload();
    let unmapped = !is_mapped(&shadow);
    let leaked = (!unmapped).then(|| {
        tracing::error!(plugin = %info.venue, shadow = %shadow.display(), "plugin image still mapped after unload");
        "dlclose left the image mapped (a thread-local destructor or a live thread pins it)"
            .to_owned()
    });
    if unmapped {
        tracing::info!(plugin = %info.venue, "plugin unloaded; image unmapped");
    }
    return_free_memory();
    UnloadReport {
        venue: info.venue,
        file: info.path,
        shadow,
        unmapped,
        leaked,
    }
}

/// Hands the allocator's free pages back to the system. Starting and stopping an instance
/// allocates and frees many short-lived blocks on every worker thread's arena; glibc keeps
/// the freed pages of an arena resident, so without this a process that reloads plugins
/// for days shows a resident set that creeps up although nothing it holds grows.
fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
