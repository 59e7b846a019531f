//! The host: loaded plugins, running venue instances, the resource graph and the
//! operations on them (load, start, stop, unload, reload, shutdown).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use plugin_api::{CancelOrder, NewOrder, StreamKind};

use crate::error::HostError;
use crate::pipeline::bus::{Bus, QueuePolicies, StreamItem, Subscription};
use crate::plugin::loader::{LoadError, LoadedLibrary, Loader, PluginInfo};
use crate::stop::coordinator::{stop_in_order, ShutdownTimeouts};
use crate::stop::graph::ResourceGraph;
use crate::stop::process::is_mapped;
use crate::stop::report::{Counts, ReloadReport, ShutdownReport, StopReport, UnloadReport};
use crate::stop::resource::{ResourceCounts, TaskGroup};
use crate::venue::driver::{now_ms, DriverStats};
use crate::venue::instance::{self, Instance};
use crate::venue::lifecycle::{State, Trigger};

/// Settings of a [`Host`].
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Stop timeouts.
    pub timeouts: ShutdownTimeouts,
    /// Consumer queue sizes and overflow policies.
    pub queues: QueuePolicies,
    /// Where shadow copies of plugin files go (default: a private temp folder).
    pub shadow_dir: Option<PathBuf>,
    /// How long an unload waits for a plugin call that is still running before the library
    /// is kept mapped (quarantined).
    pub release_wait: Duration,
    /// Reconnect backoff and circuit breaker for every websocket connection.
    pub reconnect: crate::transport::ReconnectPolicy,
    /// Rate limits that replace what plugins declare, by limiter name (`orders`) or by
    /// instance and name (`gate.orders`, which wins).
    pub rate_limits: std::collections::BTreeMap<String, crate::config::RateLimitOverride>,
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
        }
    }
}

struct Plugin {
    library: LoadedLibrary,
    loaded_at: SystemTime,
}

/// Field order is drop order: instances (holding plugin adapters) and resources go before
/// the libraries whose code they point into.
#[derive(Default)]
struct State_ {
    instances: HashMap<String, (Instance, String)>,
    graph: ResourceGraph,
    plugins: HashMap<String, Plugin>,
    /// Libraries that could not be released; kept mapped for the life of the process.
    quarantine: Vec<LoadedLibrary>,
}

impl Drop for State_ {
    fn drop(&mut self) {
        // A host dropped without `shutdown` while a plugin call still runs (on another
        // thread) must not unmap that plugin's code: keep every library mapped then.
        let busy = self.instances.values().any(|(i, _)| i.driver.is_busy());
        if busy {
            for (_, plugin) in self.plugins.drain() {
                std::mem::forget(plugin.library);
            }
        }
        // Release adapters while their code is mapped.
        self.instances.clear();
        self.graph.take_all();
        // A quarantined library may still be executing; never unmap it.
        for library in self.quarantine.drain(..) {
            std::mem::forget(library);
        }
    }
}

struct Inner {
    loader: Loader,
    bus: Bus,
    options: HostOptions,
    state: tokio::sync::Mutex<State_>,
    supervisors: TaskGroup,
}

/// The plugin host. Cheap to clone; all clones share one set of plugins and instances.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

/// A plugin as shown by [`Host::plugins`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginStatus {
    /// Identity.
    pub info: PluginInfo,
    /// The mapped shadow copy.
    pub shadow: PathBuf,
    /// Load time, seconds since the Unix epoch.
    pub loaded_at_unix: u64,
}

/// An instance as shown by [`Host::instances`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceStatus {
    /// Name.
    pub name: String,
    /// Venue id of its plugin.
    pub venue: String,
    /// Life-cycle state.
    pub state: State,
    /// Live subscriptions.
    pub subscriptions: usize,
    /// Bound handlers.
    pub bindings: usize,
    /// Open websocket connections.
    pub connections: usize,
    /// Driver counters.
    pub stats: DriverStats,
}

impl Host {
    /// A host with `options`. Must be created inside a tokio runtime.
    pub fn new(options: HostOptions) -> std::io::Result<Host> {
        let loader = match &options.shadow_dir {
            Some(dir) => Loader::new(dir)?,
            None => Loader::in_temp_dir()?,
        };
        Ok(Host {
            inner: Arc::new(Inner {
                loader,
                bus: Bus::new(options.queues.clone()),
                options,
                state: tokio::sync::Mutex::new(State_::default()),
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

    /// Loads and validates a plugin file and keeps it loaded. Refuses a second plugin for a
    /// venue id already served.
    pub async fn load_plugin(&self, path: &Path) -> Result<PluginInfo, HostError> {
        let library = self.inner.loader.load(path)?;
        let info = library.info().clone();
        let mut st = self.inner.state.lock().await;
        if let Some(other) = st.plugins.get(&info.venue) {
            let err = LoadError::DuplicateVenue {
                path: path.to_owned(),
                venue: info.venue.clone(),
                other: other.library.info().path.clone(),
            };
            drop(st);
            drop(library);
            return Err(err.into());
        }
        tracing::info!(plugin = %info.venue, file = %path.display(), version = %info.plugin_version, "plugin loaded");
        st.plugins.insert(
            info.venue.clone(),
            Plugin {
                library,
                loaded_at: SystemTime::now(),
            },
        );
        Ok(info)
    }

    /// Creates and starts the instance `name` of the plugin serving `venue`, with the
    /// plugin-specific `settings_json`.
    pub async fn start_venue(
        &self,
        name: &str,
        venue: &str,
        settings_json: &str,
    ) -> Result<(), HostError> {
        let mut st = self.inner.state.lock().await;
        self.start_locked(&mut st, name, venue, settings_json).await
    }

    async fn start_locked(
        &self,
        st: &mut State_,
        name: &str,
        venue: &str,
        settings_json: &str,
    ) -> Result<(), HostError> {
        if st.instances.contains_key(name) {
            return Err(HostError::DuplicateInstance(name.to_owned()));
        }
        let plugin = st
            .plugins
            .get(venue)
            .ok_or_else(|| HostError::UnknownPlugin(venue.to_owned()))?;
        let started = Instant::now();
        let (mut inst, nodes) = instance::create(
            name,
            &plugin.library,
            settings_json,
            &self.inner.bus,
            &self.inner.options.timeouts,
            &self.inner.options.reconnect,
            &self.inner.options.rate_limits,
        )
        .await?;
        if let Err(error) = st.graph.register(nodes) {
            inst.driver.release(self.inner.options.release_wait).await;
            return Err(HostError::Resources {
                venue: name.to_owned(),
                error,
            });
        }
        self.supervise(&inst);
        let result = instance::start(&mut inst).await;
        st.instances
            .insert(name.to_owned(), (inst, settings_json.to_owned()));
        if let Err(e) = result {
            let _ = self.stop_locked(st, name, false).await;
            return Err(e);
        }
        tracing::info!(venue = %name, plugin = %venue, elapsed_ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1e3), "venue started");
        Ok(())
    }

    /// Watches the instance for a panic; a faulted instance is stopped in the background.
    fn supervise(&self, inst: &Instance) {
        let mut faulted = inst.driver.faulted();
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let name = inst.name.clone();
        let token = self.inner.supervisors.token().clone();
        self.inner.supervisors.spawn(async move {
            let fault = tokio::select! {
                _ = token.cancelled() => return,
                r = faulted.wait_for(Option::is_some) => match r {
                    Ok(v) => v.clone().unwrap_or_default(),
                    Err(_) => return,
                },
            };
            let Some(inner) = weak.upgrade() else { return };
            let host = Host { inner };
            let mut st = host.inner.state.lock().await;
            if let Some((inst, _)) = st.instances.get_mut(&name) {
                if inst.state() == State::Running || inst.state() == State::Starting {
                    let _ = instance::transition(inst, Trigger::Fault);
                }
                tracing::error!(venue = %name, %fault, "stopping faulted instance");
                let _ = host.stop_locked(&mut st, &name, false).await;
            }
        });
    }

    /// Stops the instance `name`: the plugin's last actions, then its resources in
    /// dependency order, then its adapter is released. The instance stays known (stopped).
    pub async fn stop_venue(&self, name: &str) -> Result<StopReport, HostError> {
        let mut st = self.inner.state.lock().await;
        self.stop_locked(&mut st, name, false).await
    }

    async fn stop_locked(
        &self,
        st: &mut State_,
        name: &str,
        for_reload: bool,
    ) -> Result<StopReport, HostError> {
        let started = Instant::now();
        let (inst, _) = st
            .instances
            .get_mut(name)
            .ok_or_else(|| HostError::UnknownInstance(name.to_owned()))?;
        if inst.state() == State::Stopped {
            return Ok(StopReport {
                scope: name.to_owned(),
                elapsed_ms: 0.0,
                resources: Vec::new(),
                quarantined: Vec::new(),
            });
        }
        instance::transition(inst, Trigger::Stop)?;
        if for_reload {
            inst.streams.keep_for_reload();
        }
        let driver = inst.driver.clone();
        last_words(&driver, self.inner.options.timeouts.overall).await;
        let nodes = st.graph.take_owner(name);
        let resources = stop_in_order(nodes, self.inner.options.timeouts.overall).await;
        let mut quarantined = Vec::new();
        if !driver.release(self.inner.options.release_wait).await {
            tracing::error!(venue = %name, "a plugin call is still running; its library stays mapped");
            quarantined.push(name.to_owned());
        }
        let (inst, _) = st
            .instances
            .get_mut(name)
            .ok_or_else(|| HostError::UnknownInstance(name.to_owned()))?;
        instance::transition(inst, Trigger::Stopped)?;
        if !quarantined.is_empty() {
            let venue = inst.venue.clone();
            if let Some(p) = st.plugins.remove(&venue) {
                st.quarantine.push(p.library);
            }
        }
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(venue = %name, elapsed_ms = format_args!("{elapsed_ms:.2}"), "venue stopped");
        Ok(StopReport {
            scope: name.to_owned(),
            elapsed_ms,
            resources,
            quarantined,
        })
    }

    /// Forgets a stopped instance.
    pub async fn remove_venue(&self, name: &str) -> Result<(), HostError> {
        let mut st = self.inner.state.lock().await;
        self.stop_locked(&mut st, name, false).await?;
        st.instances.remove(name);
        Ok(())
    }

    /// Unloads the plugin serving `venue`. Its instances must be stopped; they are removed.
    pub async fn unload_plugin(&self, venue: &str) -> Result<UnloadReport, HostError> {
        let mut st = self.inner.state.lock().await;
        Self::unload_locked(&mut st, venue)
    }

    fn unload_locked(st: &mut State_, venue: &str) -> Result<UnloadReport, HostError> {
        let running: Vec<String> = st
            .instances
            .values()
            .filter(|(i, _)| i.venue == venue && i.state() != State::Stopped)
            .map(|(i, _)| i.name.clone())
            .collect();
        if !running.is_empty() {
            return Err(HostError::InUse {
                venue: venue.to_owned(),
                instances: running,
            });
        }
        let plugin = st
            .plugins
            .remove(venue)
            .ok_or_else(|| HostError::UnknownPlugin(venue.to_owned()))?;
        st.instances.retain(|_, (i, _)| i.venue != venue);
        Ok(unload_library(plugin.library))
    }

    /// Replaces the plugin serving `venue` with the file at `path` without restarting the
    /// process: validate the new file first (a bad file leaves the old one running), stop the
    /// old instances (consumers get a reload gap, not an end), unload, start them on the new
    /// build with the same settings.
    pub async fn reload_plugin(&self, venue: &str, path: &Path) -> Result<ReloadReport, HostError> {
        let started = Instant::now();
        let library = self.inner.loader.load(path)?;
        let new_info = library.info().clone();
        if new_info.venue != venue {
            return Err(HostError::WrongVenue {
                path: path.to_owned(),
                found: new_info.venue,
                expected: venue.to_owned(),
            });
        }
        let mut st = self.inner.state.lock().await;
        let old = st
            .plugins
            .get(venue)
            .ok_or_else(|| HostError::UnknownPlugin(venue.to_owned()))?;
        let from_version = old.library.info().plugin_version.clone();
        let mut restart: Vec<(String, String)> = st
            .instances
            .values()
            .filter(|(i, _)| i.venue == venue && i.state() != State::Stopped)
            .map(|(i, s)| (i.name.clone(), s.clone()))
            .collect();
        restart.sort();
        let mut stop = StopReport {
            scope: venue.to_owned(),
            elapsed_ms: 0.0,
            resources: Vec::new(),
            quarantined: Vec::new(),
        };
        for (name, _) in &restart {
            let r = self.stop_locked(&mut st, name, true).await?;
            stop.elapsed_ms += r.elapsed_ms;
            stop.resources.extend(r.resources);
            stop.quarantined.extend(r.quarantined);
        }
        let unload = match st.plugins.contains_key(venue) {
            true => Self::unload_locked(&mut st, venue)?,
            false => UnloadReport {
                venue: venue.to_owned(),
                file: PathBuf::new(),
                shadow: PathBuf::new(),
                unmapped: false,
                leaked: Some("quarantined: a plugin call was stuck".into()),
            },
        };
        st.plugins.insert(
            venue.to_owned(),
            Plugin {
                library,
                loaded_at: SystemTime::now(),
            },
        );
        for (name, settings) in &restart {
            self.start_locked(&mut st, name, venue, settings).await?;
        }
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(plugin = %venue, from = %from_version, to = %new_info.plugin_version, elapsed_ms = format_args!("{elapsed_ms:.2}"), "plugin reloaded");
        Ok(ReloadReport {
            venue: venue.to_owned(),
            from_version,
            to_version: new_info.plugin_version,
            instances: restart.into_iter().map(|(n, _)| n).collect(),
            stop,
            unload,
            elapsed_ms,
        })
    }

    /// Stops every instance in dependency order within the overall timeout, unloads every
    /// plugin and reports counts before and after.
    pub async fn shutdown(&self, reason: &str) -> ShutdownReport {
        let started = Instant::now();
        let before = self.counts().await;
        let mut st = self.inner.state.lock().await;
        let names: Vec<String> = st
            .instances
            .values()
            .filter(|(i, _)| i.state() != State::Stopped)
            .map(|(i, _)| i.name.clone())
            .collect();
        let overall = self.inner.options.timeouts.overall;
        let mut drivers = Vec::new();
        for name in &names {
            if let Some((inst, _)) = st.instances.get_mut(name) {
                let _ = instance::transition(inst, Trigger::Stop);
                drivers.push((name.clone(), inst.driver.clone()));
            }
        }
        futures_util::future::join_all(drivers.iter().map(|(_, d)| last_words(d, overall))).await;
        let nodes = st.graph.take_all();
        let resources = stop_in_order(nodes.clone(), overall).await;
        let stop_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut quarantined = Vec::new();
        for (name, driver) in &drivers {
            if !driver.release(self.inner.options.release_wait).await {
                quarantined.push(name.clone());
            }
            if let Some((inst, _)) = st.instances.get_mut(name) {
                let _ = instance::transition(inst, Trigger::Stopped);
            }
        }
        self.inner.supervisors.shutdown().await;
        // A task that was aborted while stuck in a plugin call ends right after the call
        // returned (which `release` waited for); let it go before counting.
        for node in &nodes {
            if node.resource.counts().tasks > 0 {
                node.resource.force().await;
            }
        }
        drop(nodes);
        let venues_q: Vec<String> = quarantined
            .iter()
            .filter_map(|n| st.instances.get(n).map(|(i, _)| i.venue.clone()))
            .collect();
        let mut unloaded = Vec::new();
        let venues: Vec<String> = st.plugins.keys().cloned().collect();
        for venue in venues {
            if let Some(p) = st.plugins.remove(&venue) {
                if venues_q.contains(&venue) {
                    st.quarantine.push(p.library);
                } else {
                    unloaded.push(unload_library(p.library));
                }
            }
        }
        st.instances.clear();
        let images_still_mapped = st
            .quarantine
            .iter()
            .map(|l| l.shadow_path().display().to_string())
            .chain(
                unloaded
                    .iter()
                    .filter(|u| !u.unmapped)
                    .map(|u| u.shadow.display().to_string()),
            )
            .collect();
        drop(st);
        let stop = StopReport {
            scope: "shutdown".into(),
            elapsed_ms: stop_ms,
            resources,
            quarantined,
        };
        let after = self.counts().await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(%reason, elapsed_ms = format_args!("{elapsed_ms:.2}"), tasks_before = before.tasks, tasks_after = after.tasks, "shutdown complete");
        ShutdownReport {
            reason: reason.to_owned(),
            forced: false,
            stop,
            unloaded,
            before,
            after,
            images_still_mapped,
            elapsed_ms,
        }
    }

    /// Counts of the process now.
    pub async fn counts(&self) -> Counts {
        let st = self.inner.state.lock().await;
        let resources = st
            .graph
            .nodes()
            .iter()
            .map(|n| n.resource.counts())
            .fold(ResourceCounts::default(), |a, b| a + b);
        drop(st);
        let runtime = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        Counts::gather(runtime, resources, self.inner.bus.live_subscriptions())
    }

    /// Subscribes a consumer to a venue instance's stream (`symbol` normalized; empty for
    /// account-wide private streams).
    pub fn subscribe(&self, venue: &str, symbol: &str, kind: StreamKind) -> Option<Subscription> {
        self.inner.bus.subscribe(venue, symbol, kind)
    }

    /// Binds `handler` to a stream of the instance `venue`; it is unbound when the instance
    /// stops.
    pub async fn bind<F, Fut>(
        &self,
        venue: &str,
        symbol: &str,
        kind: StreamKind,
        handler: F,
    ) -> Result<(), HostError>
    where
        F: FnMut(StreamItem) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let st = self.inner.state.lock().await;
        let (inst, _) = st
            .instances
            .get(venue)
            .ok_or_else(|| HostError::UnknownInstance(venue.to_owned()))?;
        let sub = self
            .inner
            .bus
            .subscribe(venue, symbol, kind)
            .ok_or_else(|| HostError::Declaration {
                venue: venue.to_owned(),
                error: format!("symbol `{symbol}` is too long"),
            })?;
        inst.bindings.bind(sub, handler);
        Ok(())
    }

    /// Places an order on the instance `venue`: the plugin builds the signed REST request,
    /// the host rate-limits and sends it; the venue's answer and later updates arrive as
    /// order events on the `Orders` stream. Returns the request's tag.
    pub async fn place_order(&self, venue: &str, order: NewOrder) -> Result<u64, HostError> {
        let tag = next_tag();
        self.order_request(venue, |a| a.place_order(order, tag))
            .await?;
        Ok(tag)
    }

    /// Cancels an order on the instance `venue` (see [`Host::place_order`]).
    pub async fn cancel_order(&self, venue: &str, cancel: CancelOrder) -> Result<u64, HostError> {
        let tag = next_tag();
        self.order_request(venue, |a| a.cancel_order(cancel, tag))
            .await?;
        Ok(tag)
    }

    async fn order_request(
        &self,
        venue: &str,
        f: impl FnOnce(
            &mut plugin_api::VenueAdapterBox,
        ) -> abi_stable::std_types::RResult<
            plugin_api::RestRequest,
            plugin_api::PluginError,
        >,
    ) -> Result<(), HostError> {
        let driver = {
            let st = self.inner.state.lock().await;
            let (inst, _) = st
                .instances
                .get(venue)
                .ok_or_else(|| HostError::UnknownInstance(venue.to_owned()))?;
            if inst.state() != State::Running {
                return Err(HostError::Start {
                    venue: venue.to_owned(),
                    error: format!("instance is {}", inst.state()),
                });
            }
            inst.driver.clone()
        };
        let request = driver
            .call(|a| f(a).map(crate::venue::driver::rehome))
            .await
            .map_err(|e| HostError::Start {
                venue: venue.to_owned(),
                error: e.to_string(),
            })?;
        let output = plugin_api::Output {
            actions: vec![plugin_api::Action::Rest(request)].into(),
            ..plugin_api::Output::default()
        };
        driver.handle(output).await;
        Ok(())
    }

    /// The state of instance `name`.
    pub async fn state(&self, name: &str) -> Option<State> {
        let st = self.inner.state.lock().await;
        st.instances.get(name).map(|(i, _)| i.state())
    }

    /// Loaded plugins.
    pub async fn plugins(&self) -> Vec<PluginStatus> {
        let st = self.inner.state.lock().await;
        let mut v: Vec<PluginStatus> = st
            .plugins
            .values()
            .map(|p| PluginStatus {
                info: p.library.info().clone(),
                shadow: p.library.shadow_path().to_owned(),
                loaded_at_unix: p
                    .loaded_at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            })
            .collect();
        v.sort_by(|a, b| a.info.venue.cmp(&b.info.venue));
        v
    }

    /// Venue instances.
    pub async fn instances(&self) -> Vec<InstanceStatus> {
        let st = self.inner.state.lock().await;
        let mut v: Vec<InstanceStatus> = st
            .instances
            .values()
            .map(|(i, _)| InstanceStatus {
                name: i.name.clone(),
                venue: i.venue.clone(),
                state: i.state(),
                subscriptions: self.inner.bus.venue_subscriptions(&i.name),
                bindings: i.bindings.live(),
                connections: i.net.connections(),
                stats: i.driver.stats(),
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

/// Tags for requests the host starts (orders); plugins keep the top bit for their own.
fn next_tag() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// How long the plugin's `stop` waits for a call still running in the plugin.
const LAST_WORDS_WAIT: Duration = Duration::from_millis(100);

/// Asks the plugin for its last actions and stops new work from starting. Skipped (and
/// logged) if the plugin is busy in a stuck call or faulted.
async fn last_words(driver: &Arc<crate::venue::driver::Driver>, bound: Duration) {
    driver.begin_stop();
    let wait = bound.min(LAST_WORDS_WAIT);
    if !driver.call_output_within(wait, |a| a.stop(now_ms())).await {
        tracing::warn!(venue = %driver.name(), "plugin busy in another call; stop() skipped");
    }
}

/// Drops the library and checks that its image left the process maps.
fn unload_library(library: LoadedLibrary) -> UnloadReport {
    let info = library.info().clone();
    let shadow = library.unload();
    let unmapped = !is_mapped(&shadow);
    let leaked = (!unmapped).then(|| {
        tracing::error!(plugin = %info.venue, shadow = %shadow.display(), "plugin image still mapped after unload");
        "dlclose left the image mapped (a thread-local destructor or a live thread pins it)"
            .to_owned()
    });
    if unmapped {
        tracing::info!(plugin = %info.venue, "plugin unloaded; image unmapped");
    }
    UnloadReport {
        venue: info.venue,
        file: info.path,
        shadow,
        unmapped,
        leaked,
    }
}
