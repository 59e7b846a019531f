//! Loading and unloading plugin libraries, and registering built-in plugins.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::registry::Plugin;
use super::Host;
use crate::error::HostError;
use crate::names::PluginId;
use crate::plugin::{Builtin, LoadError, PluginCode, PluginInfo};
use crate::stop::report::UnloadReport;

impl Host {
    /// Loads and validates a plugin file and keeps it loaded. Refuses a second plugin for a
    /// venue id already served.
    pub async fn load_plugin(&self, path: &Path) -> Result<PluginInfo, HostError> {
        let library = self.inner.loader.load(path)?;
        let info = library.info().clone();
        let id = PluginId::from(info.venue.as_str());
        let mut registry = self.inner.registry();
        if let Some(other) = registry.plugins.get(&id) {
            let err = LoadError::DuplicateVenue {
                path: path.to_owned(),
                venue: info.venue.clone(),
                other: other.code.info().path.clone(),
            };
            drop(registry);
            drop(library);
            return Err(err.into());
        }
        tracing::info!(plugin = %id, file = %path.display(), version = %info.plugin_version, "plugin loaded");
        registry.plugins.insert(
            id,
            Arc::new(Plugin {
                code: PluginCode::File(library),
                loaded_at: SystemTime::now(),
            }),
        );
        Ok(info)
    }

    /// Registers `builtin`, venue code linked into the program, under its venue id: from
    /// now on it serves that id as a loaded plugin file would ([`Host::start_venue`],
    /// reloads from a file, [`Host::unload_plugin`], which for it unmaps nothing). Refuses
    /// an id another plugin, file or built-in, already serves.
    pub async fn add_builtin(&self, builtin: Builtin) -> Result<PluginInfo, HostError> {
        let info = builtin.info().clone();
        let id = PluginId::from(info.venue.as_str());
        let mut registry = self.inner.registry();
        if let Some(other) = registry.plugins.get(&id) {
            return Err(HostError::DuplicateBuiltin {
                venue: info.venue,
                other: crate::plugin::loader::served_by(&other.code.info().path),
            });
        }
        tracing::info!(plugin = %id, version = %info.plugin_version, "built-in plugin added");
        registry.plugins.insert(
            id,
            Arc::new(Plugin {
                code: PluginCode::Builtin(builtin),
                loaded_at: SystemTime::now(),
            }),
        );
        Ok(info)
    }

    /// Unloads the plugin `plugin`. Its instances must be stopped; they are removed.
    pub async fn unload_plugin(&self, plugin: &str) -> Result<UnloadReport, HostError> {
        let _ops = self.inner.ops.lock().await;
        let mut registry = self.inner.registry();
        let running = registry.running(Some(plugin));
        if !running.is_empty() {
            return Err(HostError::InUse {
                venue: plugin.to_owned(),
                instances: running.iter().map(ToString::to_string).collect(),
            });
        }
        registry.plugin(plugin)?;
        registry.slots.retain(|_, s| s.plugin != plugin);
        registry
            .unload(plugin, false)
            .ok_or_else(|| HostError::UnknownPlugin(plugin.to_owned()))
    }
}
