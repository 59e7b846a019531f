//! Operating the host: the [`Operator`] owns a [`Host`] and everything around it that a
//! running process needs: the plugin-folder and config-file watcher, configuration reloads
//! applied as a venue diff, the control socket, the metrics endpoint, plugin trust checks,
//! and the last shutdown and reload reports.
//!
//! Every operation that changes the set of plugins or venues runs under one lock, so the
//! watcher, a config reload and a control command never interleave.

pub mod control;
pub mod diff;
mod events;
pub mod metrics;
mod reconfig;
mod records;
mod serve;
pub mod status;

pub mod watch;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use plugin_api::StreamKind;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::{HostConfig, Secrets};
use crate::error::HostError;
use crate::stop::report::{ReloadReport, ShutdownReport, StopReport};
use crate::stop::resource::TaskGroup;
use crate::{Host, HostOptions};

pub use crate::plugin::trust::TrustError;
pub use diff::{ConfigOutcome, VenueDiff, VenuePlan};
pub use events::{OpsError, OpsEvent};
pub use records::{LastReports, OpsCounters, Refusal};

use records::Records;

/// What the operator knows about a plugin file it loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileRecord {
    plugin: String,
    fingerprint: String,
}

/// State changed only under the operations lock.
struct OpsState {
    config: HostConfig,
    secrets: Secrets,
    files: BTreeMap<PathBuf, FileRecord>,
}

struct OpsInner {
    host: Host,
    config_file: Option<PathBuf>,
    plugins_dir: PathBuf,
    ops: tokio::sync::Mutex<OpsState>,
    records: Mutex<Records>,
    events: broadcast::Sender<OpsEvent>,
    tasks: TaskGroup,
    shutdown_requested: CancellationToken,
    control_socket: OnceLock<PathBuf>,
    metrics_address: OnceLock<SocketAddr>,
}

/// The running host process: a [`Host`] plus watcher, control socket, metrics endpoint and
/// reports. Cheap to clone. Call [`Operator::shutdown`] to stop it all.
#[derive(Clone)]
pub struct Operator {
    inner: Arc<OpsInner>,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("plugins_dir", &self.inner.plugins_dir)
            .finish_non_exhaustive()
    }
}

impl Operator {
    /// Creates the host from `config`, starts the watcher, control socket and metrics
    /// endpoint it asks for, loads every trusted plugin file of the folder and starts the
    /// enabled venues. A venue whose plugin no file provides, a refused file, or a control
    /// or metrics listener that cannot bind is reported (log and [`Operator::reports`]); the
    /// rest runs. `config_file` is re-read by [`Operator::reload_config`].
    pub async fn start(
        config: HostConfig,
        secrets: Secrets,
        config_file: Option<PathBuf>,
    ) -> Result<Operator, OpsError> {
        let host = Host::new(HostOptions {
            timeouts: config.shutdown,
            queues: config.queues.clone(),
            shadow_dir: config.shadow_dir.clone(),
            reconnect: config.reconnect.clone(),
            rate_limits: config.rate_limits.clone(),
            ..HostOptions::default()
        })
        .map_err(|source| OpsError::Setup {
            what: "creating the shadow folder".into(),
            source,
        })?;
        let plugins_dir = config
            .plugins_dir
            .canonicalize()
            .unwrap_or_else(|_| config.plugins_dir.clone());
        let config_file = config_file.map(|f| f.canonicalize().unwrap_or(f));
        let op = Operator {
            inner: Arc::new(OpsInner {
                host,
                config_file,
                plugins_dir,
                ops: tokio::sync::Mutex::new(OpsState {
                    config: config.clone(),
                    secrets,
                    files: BTreeMap::new(),
                }),
                records: Mutex::new(Records::default()),
                events: broadcast::channel(256).0,
                tasks: TaskGroup::new(),
                shutdown_requested: CancellationToken::new(),
                control_socket: OnceLock::new(),
                metrics_address: OnceLock::new(),
            }),
        };
        op.start_watcher(&config);
        if config.control.enabled {
            match control::serve(&op, &config.control.socket) {
                Ok(path) => {
                    tracing::info!(socket = %path.display(), "control socket listening");
                    let _ = op.inner.control_socket.set(path);
                }
                Err(e) => {
                    tracing::error!(socket = %config.control.socket.display(), error = %e, "control socket not started")
                }
            }
        }
        if config.metrics.enabled {
            match metrics::serve(&op, config.metrics.address).await {
                Ok(addr) => {
                    tracing::info!(address = %addr, "metrics endpoint listening on /metrics");
                    let _ = op.inner.metrics_address.set(addr);
                }
                Err(e) => {
                    tracing::error!(address = %config.metrics.address, error = %e, "metrics endpoint not started")
                }
            }
        }
        op.scan_folder().await;
        op.report_missing_plugins().await;
        Ok(op)
    }

    fn start_watcher(&self, config: &HostConfig) {
        let mut dirs = Vec::new();
        if config.watch.plugins {
            dirs.push(self.inner.plugins_dir.clone());
        }
        let config_file = self
            .inner
            .config_file
            .clone()
            .filter(|_| config.watch.config);
        if let Some(parent) = config_file.as_ref().and_then(|f| f.parent()) {
            if !dirs.iter().any(|d| d == parent) {
                dirs.push(parent.to_owned());
            }
        }
        if dirs.is_empty() {
            return;
        }
        let plugins_dir = config.watch.plugins.then(|| self.inner.plugins_dir.clone());
        let accept_dir = plugins_dir.clone();
        let accept_config = config_file.clone();
        let op = self.clone();
        let result = watch::spawn(
            &self.inner.tasks,
            &dirs,
            Duration::from_millis(config.watch.debounce_ms),
            move |p| {
                accept_config.as_deref() == Some(p)
                    || (accept_dir.as_deref() == p.parent() && watch::plugin_candidate(p))
            },
            move |path| {
                let op = op.clone();
                let is_config = config_file.as_deref() == Some(path.as_path());
                async move {
                    if is_config {
                        op.reload_config().await;
                    } else {
                        op.plugin_file_changed(&path).await;
                    }
                }
            },
        );
        match result {
            Ok(()) => {
                tracing::info!(folders = ?dirs, "watching for plugin and configuration changes")
            }
            Err(e) => tracing::error!(error = %e, "file watcher not started"),
        }
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.inner.host
    }

    /// The plugin folder (canonical).
    pub fn plugins_dir(&self) -> &Path {
        &self.inner.plugins_dir
    }

    /// Events from now on.
    pub fn events(&self) -> broadcast::Receiver<OpsEvent> {
        self.inner.events.subscribe()
    }

    /// Where the control socket listens, if it does.
    pub fn control_socket(&self) -> Option<&Path> {
        self.inner.control_socket.get().map(PathBuf::as_path)
    }

    /// Where the metrics endpoint listens, if it does.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.inner.metrics_address.get().copied()
    }

    /// The last shutdown, reload and configuration reports and recent refusals.
    pub fn reports(&self) -> LastReports {
        self.records().last.clone()
    }

    /// Lifetime counters (reloads, refusals, forced resources...).
    pub fn counters(&self) -> OpsCounters {
        self.records().counters.clone()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, Records> {
        self.inner.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, event: OpsEvent) {
        let _ = self.inner.events.send(event);
    }

    /// Asks the process to shut down (what `host ctl shutdown` does); see
    /// [`Operator::shutdown_requested`].
    pub fn request_shutdown(&self) {
        self.inner.shutdown_requested.cancel();
    }

    /// Resolves once a shutdown was requested.
    pub async fn shutdown_requested(&self) {
        self.inner.shutdown_requested.cancelled().await
    }

    async fn scan_folder(&self) {
        let dir = &self.inner.plugins_dir;
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| watch::plugin_candidate(p))
                .collect(),
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

    async fn report_missing_plugins(&self) {
        let st = self.inner.ops.lock().await;
        let loaded = self.loaded_plugins().await;
        let source = self
            .inner
            .config_file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "embedded default".into());
        for (name, entry) in st.config.enabled_venues() {
            if !loaded.contains(&entry.plugin) {
                tracing::error!(
                    "{source}: key `venues.{name}.plugin`: no file in {} provides plugin `{}`; the venue waits for one",
                    self.inner.plugins_dir.display(),
                    entry.plugin
                );
            }
        }
    }

    /// Enabled venues of the configuration in force: (name, plugin).
    async fn configured_venues(&self) -> Vec<(String, String)> {
        let st = self.inner.ops.lock().await;
        st.config
            .enabled_venues()
            .map(|(n, v)| (n.clone(), v.plugin.clone()))
            .collect()
    }

    async fn loaded_plugins(&self) -> Vec<String> {
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
        let fingerprint = match crate::plugin::trust::check(path, &st.config.trust) {
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
                let plans = diff::plans(&st.config, &st.secrets);
                for (name, plan) in plans.iter().filter(|(_, p)| p.plugin == info.venue) {
                    if self.inner.host.state(name).await.is_none() {
                        let _ = self.bring_up(name, plan).await;
                    }
                }
            }
            Err(e) => self.refuse(path, e.to_string()),
        }
    }

    async fn reload_locked(
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
                let plans = diff::plans(&st.config, &st.secrets);
                for name in &report.instances {
                    if let Some(plan) = plans.get(name) {
                        self.bind_consumers(name, plan).await;
                    }
                }
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
            if inst.venue == plugin {
                if let Err(e) = self.inner.host.remove_venue(&inst.name).await {
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

    /// Starts the venue `name` with `plan`; `Ok(false)` if no loaded plugin serves it yet.
    async fn bring_up(&self, name: &str, plan: &VenuePlan) -> Result<bool, HostError> {
        if !self.loaded_plugins().await.contains(&plan.plugin) {
            return Ok(false);
        }
        let host = &self.inner.host;
        if let Err(e) = host
            .start_venue(name, &plan.plugin, &plan.settings_json)
            .await
        {
            // A start that failed after creation leaves a stopped instance behind.
            let _ = host.remove_venue(name).await;
            tracing::error!(venue = %name, error = %e, "venue did not start");
            self.emit(OpsEvent::VenueFailed {
                venue: name.to_owned(),
                error: e.to_string(),
            });
            return Err(e);
        }
        self.bind_consumers(name, plan).await;
        self.emit(OpsEvent::VenueStarted {
            venue: name.to_owned(),
        });
        Ok(true)
    }

    /// The built-in consumer: counts what it receives, so the venue's data flows.
    async fn bind_consumers(&self, name: &str, plan: &VenuePlan) {
        for channel in &plan.channels {
            let kind = StreamKind::from(*channel);
            let symbols: Vec<&str> = if kind.is_private() {
                vec![""]
            } else {
                plan.symbols.iter().map(String::as_str).collect()
            };
            for symbol in symbols {
                if let Err(e) = self.inner.host.bind(name, symbol, kind, |_| async {}).await {
                    tracing::warn!(venue = %name, symbol, channel = kind.name(), error = %e, "consumer not bound");
                }
            }
        }
    }

    /// Stops and forgets `name` if the host knows it.
    async fn take_down(&self, name: &str) -> Result<(), HostError> {
        if self.inner.host.state(name).await.is_some() {
            self.inner.host.remove_venue(name).await?;
        }
        Ok(())
    }

    /// Starts the configured venue `name` (after a `stop`, or one that waited for its
    /// plugin).
    pub async fn start_venue(&self, name: &str) -> Result<(), OpsError> {
        let st = self.inner.ops.lock().await;
        let plans = diff::plans(&st.config, &st.secrets);
        let plan = plans
            .get(name)
            .ok_or_else(|| OpsError::NotConfigured(name.to_owned()))?;
        match self.inner.host.state(name).await {
            Some(crate::State::Stopped) => self.inner.host.remove_venue(name).await?,
            Some(_) => return Err(OpsError::AlreadyRunning(name.to_owned())),
            None => {}
        }
        match self.bring_up(name, plan).await? {
            true => Ok(()),
            false => Err(OpsError::NoPluginFile {
                venue: name.to_owned(),
                plugin: plan.plugin.clone(),
            }),
        }
    }

    /// Stops the venue `name` (it stays known, stopped, until started again).
    pub async fn stop_venue(&self, name: &str) -> Result<StopReport, OpsError> {
        let _st = self.inner.ops.lock().await;
        let report = self.inner.host.stop_venue(name).await?;
        self.records().stopped(&report);
        Ok(report)
    }

    /// Reloads the plugin serving the venue instance (or plugin id) `name` from its file,
    /// even if the file did not change.
    pub async fn reload_venue(&self, name: &str) -> Result<ReloadReport, OpsError> {
        let mut st = self.inner.ops.lock().await;
        let plugin = match self
            .inner
            .host
            .instances()
            .await
            .into_iter()
            .find(|i| i.name == name)
        {
            Some(i) => i.venue,
            None => name.to_owned(),
        };
        let path = st
            .files
            .iter()
            .find(|(_, r)| r.plugin == plugin)
            .map(|(p, _)| p.clone())
            .ok_or_else(|| OpsError::NoPluginFile {
                venue: name.to_owned(),
                plugin: plugin.clone(),
            })?;
        let fingerprint = crate::plugin::trust::check(&path, &st.config.trust)?;
        self.reload_locked(&mut st, &path, &plugin, fingerprint)
            .await
    }

    /// Stops the watcher, control socket and metrics endpoint, then shuts the host down
    /// (every venue stopped dependents-first, every plugin unloaded) and keeps the report.
    pub async fn shutdown(&self, reason: &str) -> ShutdownReport {
        self.inner.shutdown_requested.cancel();
        self.inner.tasks.shutdown().await;
        if let Some(path) = self.inner.control_socket.get() {
            let _ = std::fs::remove_file(path);
        }
        let _st = self.inner.ops.lock().await;
        let report = self.inner.host.shutdown(reason).await;
        self.records().shut_down(&report);
        report
    }

    /// Tasks of the operator itself (watcher, listeners, connections) still alive.
    pub fn live_tasks(&self) -> usize {
        self.inner.tasks.live()
    }
}
