//! The plugin folder as the operator sees it: the first scan, and what a file that appeared,
//! changed or disappeared does (load, reload in place, or stop its venues and unload).

use std::path::{Path, PathBuf};

use super::{diff, watch, FileRecord, Operator, OpsError, OpsEvent, OpsState};
use crate::stop::report::ReloadReport;

impl Operator {
    /// Loads every plugin candidate of the folder, in name order (at start, and when the
    /// watched folder appears). Files loaded already and unchanged are left alone.
    pub(super) async fn scan_folder(&self) {
        let dir = &self.inner.plugins_dir;
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| watch::plugin_candidate(p))
                .collect(),
            // Waited for by the watcher, which said so.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!(folder = %dir.display(), "plugin folder does not exist");
                return;
            }
            Err(e) => {
                tracing::error!(folder = %dir.display(), error = %e, "plugin folder unreadable");
                return;
            }
        };
        files.sort();
        for file in files {
            self.plugin_file_changed(&file).await;
        }
    }

    /// Starts the enabled venues whose plugin is built into the program (at start; a
    /// file's venues start when it loads).
    pub(super) async fn start_builtin_venues(&self) {
        let st = self.inner.ops.lock().await;
        let builtins: Vec<String> = self
            .inner
            .host
            .plugins()
            .await
            .into_iter()
            .filter(|p| p.info.builtin)
            .map(|p| p.info.venue)
            .collect();
        let plans = diff::plans(&self.config(), &st.secrets);
        for (name, plan) in plans.iter().filter(|(_, p)| builtins.contains(&p.plugin)) {
            if self.inner.host.state(name).await.is_none() {
                let _ = self.bring_up(name, plan).await;
            }
        }
    }

    /// Logs each enabled venue whose plugin no loaded file provides.
    pub(super) async fn report_missing_plugins(&self) {
        let _st = self.inner.ops.lock().await;
        let config = self.config();
        let loaded = self.loaded_plugins().await;
        let source = self
            .inner
            .config_file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "embedded default".into());
        for (name, entry) in config.enabled_venues() {
            if !loaded.contains(&entry.plugin) {
                tracing::error!(
                    "{source}: key `venues.{name}.plugin`: no file in {} provides plugin `{}`; the venue waits for one",
                    self.inner.plugins_dir.display(),
                    entry.plugin
                );
            }
        }
    }

    /// Venue ids of the loaded plugins.
    pub(super) async fn loaded_plugins(&self) -> Vec<String> {
        self.inner
            .host
            .plugins()
            .await
            .into_iter()
            .map(|p| p.info.venue)
            .collect()
    }

    /// Acts on a plugin file that appeared, changed or disappeared (what the watcher calls
    /// once the path settled): a new trusted file is loaded and the venues configured for
    /// it start; a replaced file is reloaded in place (validated first, so a bad file leaves
    /// the running build alone); a removed file's venues stop and its plugin is unloaded.
    pub async fn plugin_file_changed(&self, path: &Path) {
        let mut st = self.inner.ops.lock().await;
        let known = st.files.get(path).cloned();
        if !path.exists() {
            if let Some(rec) = known {
                self.remove_plugin(&mut st, path, &rec.plugin).await;
            }
            return;
        }
        let fingerprint = match crate::plugin::trust::check(path, &self.config().trust) {
            Ok(d) => d,
            Err(e) => return self.refuse(path, e.to_string()),
        };
        match known {
            Some(rec) if rec.fingerprint == fingerprint => {}
            Some(rec) if self.loaded_plugins().await.contains(&rec.plugin) => {
                let _ = self
                    .reload_locked(&mut st, path, &rec.plugin, fingerprint)
                    .await;
            }
            _ => self.load_locked(&mut st, path, fingerprint).await,
        }
    }

    async fn load_locked(&self, st: &mut OpsState, path: &Path, fingerprint: String) {
        match self.inner.host.load_plugin(path).await {
            Ok(info) => {
                tracing::info!(file = %path.display(), plugin = %info.venue, version = %info.plugin_version, "plugin file loaded");
                st.files.insert(
                    path.to_owned(),
                    FileRecord {
                        plugin: info.venue.clone(),
                        fingerprint,
                    },
                );
                self.emit(OpsEvent::PluginLoaded {
                    file: path.to_owned(),
                    plugin: info.venue.clone(),
                    version: info.plugin_version,
                });
                let plans = diff::plans(&self.config(), &st.secrets);
                for (name, plan) in plans.iter().filter(|(_, p)| p.plugin == info.venue) {
                    if self.inner.host.state(name).await.is_none() {
                        let _ = self.bring_up(name, plan).await;
                    }
                }
            }
            Err(e) => self.refuse(path, e.to_string()),
        }
    }

    /// Reloads `plugin` from `path` in place. The caller holds the operations lock.
    pub(super) async fn reload_locked(
        &self,
        st: &mut OpsState,
        path: &Path,
        plugin: &str,
        fingerprint: String,
    ) -> Result<ReloadReport, OpsError> {
        match self.inner.host.reload_plugin(plugin, path).await {
            Ok(report) => {
                st.files.insert(
                    path.to_owned(),
                    FileRecord {
                        plugin: plugin.to_owned(),
                        fingerprint,
                    },
                );
                // The built-in consumers stay bound across the reload (they see its gap).
                self.records().reloaded(&report);
                self.emit(OpsEvent::PluginReloaded {
                    file: path.to_owned(),
                    report: Box::new(report.clone()),
                });
                Ok(report)
            }
            Err(e) => {
                self.records().counters.reloads_failed += 1;
                self.refuse(path, e.to_string());
                Err(e.into())
            }
        }
    }

    async fn remove_plugin(&self, st: &mut OpsState, path: &Path, plugin: &str) {
        for inst in self.inner.host.instances().await {
            if inst.plugin == plugin {
                if let Err(e) = self.inner.host.remove_venue(inst.name.as_str()).await {
                    tracing::error!(venue = %inst.name, error = %e, "stopping a venue of a removed plugin file failed");
                }
            }
        }
        match self.inner.host.unload_plugin(plugin).await {
            Ok(report) => {
                tracing::info!(file = %path.display(), plugin, unmapped = report.unmapped, "plugin file removed; plugin unloaded")
            }
            Err(e) => {
                tracing::error!(file = %path.display(), plugin, error = %e, "unloading a removed plugin failed")
            }
        }
        st.files.remove(path);
        self.emit(OpsEvent::PluginRemoved {
            file: path.to_owned(),
            plugin: plugin.to_owned(),
        });
    }

    fn refuse(&self, path: &Path, error: String) {
        tracing::error!(file = %path.display(), "plugin file refused: {error}");
        self.records().refused(path, &error);
        self.emit(OpsEvent::PluginRefused {
            file: path.to_owned(),
            error,
        });
    }
}
