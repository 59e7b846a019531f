//! Operating the host: the [`Operator`] owns a [`Host`] and everything around it that a
//! running process needs: the plugin-folder and config-file watcher, configuration reloads
//! applied as a venue diff, the control socket, the metrics endpoint, plugin trust checks,
//! and the last shutdown and reload reports.
//!
//! Every operation that changes the set of plugins or venues runs under one lock, so the
//! watcher, a config reload and a control command never interleave; what `status` and
//! `/metrics` read (the configuration in force, records, the host's registry) is never
//! behind that lock, so they answer while a stop or reload is in progress. This file owns
//! the [`Operator`] and its start; [`files`] the plugin folder, [`venues`] the venue
//! commands, [`shutdown`] the process's shutdown.

mod bus;
pub mod control;
pub mod diff;
mod events;
mod files;
mod http;
pub mod metrics;
mod reconfig;
mod records;
mod scrape;
mod serve;
mod shutdown;
pub mod signals;
pub mod status;
pub mod tap;
mod venues;
pub mod watch;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::{HostConfig, Secrets};
use crate::plugin::Builtin;
use crate::stop::coordinator::ShutdownTimeouts;
use crate::stop::resource::TaskGroup;
use crate::{Host, HostOptions};

pub use crate::plugin::trust::TrustError;
pub use bus::{BusStatus, LeaseView};
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
    secrets: Secrets,
    files: BTreeMap<PathBuf, FileRecord>,
}

struct OpsInner {
    host: Host,
    config_file: Option<PathBuf>,
    plugins_dir: PathBuf,
    /// The stop timeouts the host was created with (read at start only).
    timeouts: ShutdownTimeouts,
    ops: tokio::sync::Mutex<OpsState>,
    /// The configuration in force: replaced under the operations lock, read without it.
    config: ArcSwap<HostConfig>,
    records: Mutex<Records>,
    events: broadcast::Sender<OpsEvent>,
    tasks: TaskGroup,
    shutdown_requested: CancellationToken,
    control_socket: OnceLock<PathBuf>,
    metrics_address: OnceLock<SocketAddr>,
    /// The NATS bus, when `[nats]` puts the host on one.
    bus: OnceLock<Arc<bus::OpsBus>>,
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
        Operator::start_with(config, secrets, config_file, Vec::new()).await
    }

    /// [`Operator::start`] with `builtins`, venue code linked into the program: each
    /// serves its venue id before the plugin folder is read (a file claiming the same id is
    /// refused), and the enabled venues configured for it start. Fails if two of them
    /// claim one venue id.
    pub async fn start_with(
        config: HostConfig,
        secrets: Secrets,
        config_file: Option<PathBuf>,
        builtins: Vec<Builtin>,
    ) -> Result<Operator, OpsError> {
        let host = Host::new(HostOptions {
            timeouts: config.shutdown,
            queues: config.queues.clone(),
            shadow_dir: config.shadow_dir.clone(),
            reconnect: config.reconnect.clone(),
            rate_limits: config.rate_limits.clone(),
            restart: config.restart,
            stale: config.stale.clone(),
            ..HostOptions::default()
        })?;
        // A folder that does not exist yet is waited for under this path.
        let plugins_dir = watch::resolve(&config.plugins_dir);
        let config_file = config_file.map(|f| f.canonicalize().unwrap_or(f));
        let op = Operator {
            inner: Arc::new(OpsInner {
                host,
                config_file,
                plugins_dir,
                timeouts: config.shutdown,
                ops: tokio::sync::Mutex::new(OpsState {
                    secrets,
                    files: BTreeMap::new(),
                }),
                config: ArcSwap::from_pointee(config.clone()),
                records: Mutex::new(Records::default()),
                events: broadcast::channel(256).0,
                tasks: TaskGroup::new(),
                shutdown_requested: CancellationToken::new(),
                control_socket: OnceLock::new(),
                metrics_address: OnceLock::new(),
                bus: OnceLock::new(),
            }),
        };
        if config.nats.enabled && !config.nats.remote {
            let connected = bus::OpsBus::connect(&config.nats).await?;
            let _ = op.inner.bus.set(Arc::new(connected));
        }
        for builtin in builtins {
            op.inner.host.add_builtin(builtin).await?;
        }
        let plugins_watched = op.start_watcher(&config);
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
        if plugins_watched || op.inner.plugins_dir.is_dir() {
            op.scan_folder().await;
        } else {
            tracing::error!(folder = %op.inner.plugins_dir.display(), "plugin folder does not exist and is not watched (`watch.plugins = false`): no plugin is loaded");
        }
        op.start_builtin_venues().await;
        op.report_missing_plugins().await;
        Ok(op)
    }

    /// Starts the watcher of the plugin folder and the config file's folder, as `config`
    /// asks; a folder that does not exist yet is waited for. True if the plugin folder is
    /// watched (its plugins load when it appears).
    fn start_watcher(&self, config: &HostConfig) -> bool {
        let mut dirs = Vec::new();
        if config.watch.plugins {
            dirs.push(self.inner.plugins_dir.clone());
        }
        let config_file = self
            .inner
            .config_file
            .clone()
            .filter(|_| config.watch.config);
        let config_dir = config_file
            .as_ref()
            .and_then(|f| f.parent())
            .map(Path::to_owned);
        if let Some(parent) = &config_dir {
            if !dirs.contains(parent) {
                dirs.push(parent.clone());
            }
        }
        if dirs.is_empty() {
            return false;
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
            move |settled| {
                let op = op.clone();
                let (config_file, config_dir, plugins_dir) =
                    (config_file.clone(), config_dir.clone(), plugins_dir.clone());
                async move {
                    match settled {
                        watch::Settled::Path(path) if config_file.as_ref() == Some(&path) => {
                            op.reload_config().await;
                        }
                        watch::Settled::Path(path) => op.plugin_file_changed(&path).await,
                        // A folder that appeared may hold files no event announced.
                        watch::Settled::Appeared(dir) => {
                            if plugins_dir.as_ref() == Some(&dir) {
                                op.scan_folder().await;
                            }
                            if config_dir.as_ref() == Some(&dir)
                                && config_file.as_ref().is_some_and(|f| f.exists())
                            {
                                op.reload_config().await;
                            }
                        }
                    }
                }
            },
        );
        match result {
            Ok(()) => {
                tracing::info!(folders = ?dirs, "watching for plugin and configuration changes");
                config.watch.plugins
            }
            Err(e) => {
                tracing::error!(error = %e, "file watcher not started");
                false
            }
        }
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.inner.host
    }

    /// The plugin folder (canonical; of one that did not exist at start, the part that
    /// did).
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

    /// The configuration in force (the last one applied), without waiting for an operation
    /// in progress.
    pub fn config(&self) -> Arc<HostConfig> {
        self.inner.config.load_full()
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
}
