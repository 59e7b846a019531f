//! The [`Host`]: loaded plugins, configured venue instances, and the operations on them
//! (load, start, stop, reload, unload, shutdown). Every operation that changes instances
//! runs under one operations lock, one at a time; the registry behind them is locked only
//! for moments, never across an await, so status and counts answer during a stop.

mod consumers;
mod operations;
mod plugins;
mod registry;
mod shutdown;
mod status;
mod supervisor;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub(crate) use shutdown::settle_runtime;
pub use status::{InstanceStatus, PluginStatus};
pub use supervisor::RestartPolicy;

use crate::pipeline::bus::{Bus, QueuePolicies};
use crate::plugin::{Loader, ShadowDirError};
use crate::stop::coordinator::ShutdownTimeouts;
use crate::stop::resource::TaskGroup;
use registry::Registry;

/// Settings of a [`Host`].
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Stop timeouts.
    pub timeouts: ShutdownTimeouts,
    /// Consumer queue sizes and overflow policies.
    pub queues: QueuePolicies,
    /// The folder in which a fresh private folder for shadow copies of plugin files is made
    /// (it must be private to this user, see [`Loader::new`]; default: the temp folder).
    pub shadow_dir: Option<PathBuf>,
    /// How long a stop waits for a plugin call that is still running before the library
    /// is kept mapped (quarantined); bounded by the stop's deadline too.
    pub release_wait: Duration,
    /// Reconnect backoff and circuit breaker for every websocket connection.
    pub reconnect: crate::transport::ReconnectPolicy,
    /// Rate limits that replace what plugins declare, by limiter name (`orders`) or by
    /// instance and name (`gate.orders`, which wins).
    pub rate_limits: std::collections::BTreeMap<String, crate::config::RateLimitOverride>,
    /// Restarting instances that fault (a plugin panic).
    pub restart: RestartPolicy,
    /// How long each kind of data may pause before its connection counts as stalled.
    pub stale: crate::config::StaleThresholds,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            timeouts: ShutdownTimeouts::default(),
            queues: QueuePolicies::default(),
            shadow_dir: None,
            release_wait: Duration::from_secs(5),
            reconnect: crate::transport::ReconnectPolicy::default(),
            rate_limits: Default::default(),
            restart: RestartPolicy::default(),
            stale: crate::config::StaleThresholds::default(),
        }
    }
}

struct Inner {
    loader: Loader,
    bus: Bus,
    options: HostOptions,
    /// Serializes the operations that change instances (held across their awaits).
    ops: tokio::sync::Mutex<()>,
    /// The registry (held for moments only).
    registry: Mutex<Registry>,
    /// Fault watchers and restart backoffs.
    supervisors: TaskGroup,
}

impl Inner {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let registry = self.registry.get_mut().unwrap_or_else(|p| p.into_inner());
        let running = registry.running(None);
        if !registry.shut_down && !running.is_empty() {
            tracing::warn!(
                venues = ?running,
                "host dropped without shutdown: stopping everything without an orderly stop"
            );
        }
        // Dropping the registry releases every adapter while its library is mapped and
        // drops every resource; a dropped task group cancels its tasks.
    }
}

/// The plugin host. Cheap to clone; all clones share one set of plugins and instances.
///
/// Dropped without [`Host::shutdown`], it still cancels every task it started and warns;
/// only `shutdown` stops venues in order and returns the report.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

impl Host {
    /// A host with `options`. Must be created inside a tokio runtime. Fails if no private
    /// shadow folder can be made (the error names the folder); the folder is removed when
    /// the last clone of the host is dropped.
    pub fn new(options: HostOptions) -> Result<Host, ShadowDirError> {
        let loader = Loader::configured(options.shadow_dir.as_deref())?;
        Ok(Host {
            inner: Arc::new(Inner {
                loader,
                bus: Bus::new(options.queues.clone()),
                options,
                ops: tokio::sync::Mutex::new(()),
                registry: Mutex::new(Registry::default()),
                supervisors: TaskGroup::new(),
            }),
        })
    }

    /// The subscription registry.
    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// The loader (for validating files without keeping them loaded).
    pub fn loader(&self) -> &Loader {
        &self.inner.loader
    }
}
