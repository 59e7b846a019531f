//! Starting, stopping, reloading and shutting down venue instances. Each stop goes through
//! the one stop pipeline ([`crate::stop::pipeline`]) under one deadline; each runs under
//! the operations lock, and touches the registry only for moments between its awaits.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant as WallInstant;

use tokio::time::Instant;

use super::registry::Slot;
use super::Host;
use crate::error::HostError;
use crate::names::{InstanceName, PluginId};
use crate::pipeline::bindings::Bindings;
use crate::stop::coordinator::StopMode;
use crate::stop::graph::Node;
use crate::stop::pipeline::{self, Member, Stopping};
use crate::stop::report::{ReloadReport, StopReport};
use crate::venue::instance::{Context, Instance};
use crate::venue::lifecycle::{Lifecycle, State, Trigger};
use crate::venue::tally::Tally;

/// What a stop through the pipeline did, before it becomes a report.
pub(super) struct StopDone {
    pub(super) report: StopReport,
    /// The stopped resources (no longer registered), for a last look at what they left.
    pub(super) nodes: Vec<Node>,
}

impl Host {
    /// Creates and starts the instance `name` of the plugin `plugin`, with the
    /// plugin-specific `settings_json`.
    pub async fn start_venue(
        &self,
        name: impl Into<InstanceName>,
        plugin: impl Into<PluginId>,
        settings_json: &str,
    ) -> Result<(), HostError> {
        let (name, plugin) = (name.into(), plugin.into());
        let _ops = self.inner.ops.lock().await;
        if self.inner.registry().slots.contains_key(&name) {
            return Err(HostError::DuplicateInstance(name.to_string()));
        }
        self.build_and_start(&name, &plugin, settings_json, HashMap::new())
            .await
    }

    /// Checks that the plugin `plugin` accepts `settings_json` for an instance `name`
    /// without touching anything that runs: the plugin's constructor parses the settings and
    /// its declaration is read and checked, as a start would, then the new adapter is
    /// dropped. What a running instance of that name does is left alone (it is neither
    /// stopped nor consulted), so a change can be checked before the old build is stopped.
    /// Failures that only show once an instance starts are not found here.
    pub async fn check_settings(
        &self,
        name: impl Into<InstanceName>,
        plugin: impl Into<PluginId>,
        settings_json: &str,
    ) -> Result<(), HostError> {
        let (name, plugin) = (name.into(), plugin.into());
        // Held so the library cannot be unloaded under the adapter made from it.
        let _ops = self.inner.ops.lock().await;
        let library = {
            let registry = self.inner.registry();
            if registry.shut_down {
                return Err(HostError::ShutDown);
            }
            registry.plugin(plugin.as_str())?
        };
        // A tally of its own: what the check counts (a refusal is a call error) must not show
        // on the running build, whose counters carry over to its next build.
        let tally = Arc::new(Tally::default());
        let prepared = Instance::prepare(&name, &library.code, settings_json, tally).await?;
        prepared.discard(self.inner.options.release_wait).await;
        Ok(())
    }

    /// Builds the instance `name` from its plugin and starts it. `carried` are the handler
    /// bindings of its previous build. The caller holds the operations lock.
    pub(super) async fn build_and_start(
        &self,
        name: &InstanceName,
        plugin: &PluginId,
        settings_json: &str,
        carried: HashMap<String, Bindings>,
    ) -> Result<(), HostError> {
        let started = WallInstant::now();
        let (library, tally) = {
            let registry = self.inner.registry();
            if registry.shut_down {
                return Err(HostError::ShutDown);
            }
            // A rebuild counts on where the previous build left off.
            let tally = registry
                .slots
                .get(name)
                .map(|slot| slot.instance.driver.tally.clone())
                .unwrap_or_default();
            (registry.plugin(plugin.as_str())?, tally)
        };
        let options = &self.inner.options;
        let ctx = Context {
            bus: &self.inner.bus,
            timeouts: &options.timeouts,
            reconnect: &options.reconnect,
            rate_limits: &options.rate_limits,
            stale: &options.stale,
            tally,
        };
        let built = Instance::create(name, &library.code, settings_json, &ctx, carried).await?;
        drop(library);
        let instance = built.instance.clone();
        let registered = {
            let mut registry = self.inner.registry();
            let changes = registry.changes.clone();
            let registered = registry.graph.register(built.nodes);
            if registered.is_ok() {
                let slot = registry.slots.entry(name.clone()).or_insert_with(|| Slot {
                    plugin: plugin.clone(),
                    settings: settings_json.to_owned(),
                    lifecycle: Lifecycle::new(),
                    instance: instance.clone(),
                    bindings: Vec::new(),
                    faults: Vec::new(),
                    changes: changes.clone(),
                });
                slot.plugin = plugin.clone();
                slot.settings = settings_json.to_owned();
                slot.instance = instance.clone();
                slot.bindings = built.bindings;
                slot.apply(name, Trigger::Start)?;
            }
            registered
        };
        if let Err(source) = registered {
            instance
                .driver
                .release(self.inner.options.release_wait)
                .await;
            return Err(HostError::Resources {
                venue: name.to_string(),
                plugin: plugin.to_string(),
                source,
            });
        }
        self.supervise(&instance);
        if let Err(e) = instance.start().await {
            self.inner
                .registry()
                .slot_mut(name.as_str())?
                .apply(name, Trigger::Fault)?;
            let deadline = self.deadline();
            self.stop_locked(
                std::slice::from_ref(name),
                StopMode::Stop,
                Trigger::Stopped,
                deadline,
            )
            .await;
            return Err(e);
        }
        self.inner
            .registry()
            .slot_mut(name.as_str())?
            .apply(name, Trigger::Started)?;
        instance
            .driver
            .tally
            .counters
            .starts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(venue = %name, %plugin, elapsed_ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1e3), "venue started");
        instance.recover_orders().await;
        Ok(())
    }

    /// Stops the instance `name`: the plugin's last actions, then its resources in
    /// dependency order, then its plugin state is released. The instance stays known
    /// (stopped) until started again or removed.
    pub async fn stop_venue(&self, name: &str) -> Result<StopReport, HostError> {
        let _ops = self.inner.ops.lock().await;
        let name = self.known(name)?;
        let deadline = self.deadline();
        let done = self
            .stop_locked(&[name], StopMode::Stop, Trigger::Stopped, deadline)
            .await;
        Ok(done.report)
    }

    /// Restarts the instance `name` on the same plugin with `settings_json`: it
    /// stops through the pipeline with its streams and handlers carried over (consumers see
    /// a gap, not an end), as a plugin reload does, then starts with the new settings. If
    /// the new build does not start, its streams end (as a stop's would) and the instance
    /// is left stopped; the error says why. Check the settings first with
    /// [`Host::check_settings`] to keep that from happening.
    pub async fn restart_venue(
        &self,
        name: &str,
        settings_json: &str,
    ) -> Result<StopReport, HostError> {
        let _ops = self.inner.ops.lock().await;
        let name = self.known(name)?;
        let deadline = self.deadline();
        let stop = self
            .stop_locked(
                std::slice::from_ref(&name),
                StopMode::CarryOver,
                Trigger::Stopped,
                deadline,
            )
            .await
            .report;
        let (plugin, bindings) = {
            let mut registry = self.inner.registry();
            let slot = registry.slot_mut(name.as_str())?;
            (slot.plugin.clone(), slot.take_bindings())
        };
        if let Err(e) = self
            .build_and_start(&name, &plugin, settings_json, bindings)
            .await
        {
            tracing::error!(venue = %name, error = %e, "venue did not start with its new settings");
            self.end_streams(&name);
            return Err(e);
        }
        Ok(stop)
    }

    /// Stops `names` through the stop pipeline by `deadline`, then applies `after` to each
    /// (stopped, or about to restart). Instances already down are skipped. The caller holds
    /// the operations lock.
    pub(super) async fn stop_locked(
        &self,
        names: &[InstanceName],
        mode: StopMode,
        after: Trigger,
        deadline: Instant,
    ) -> StopDone {
        let started = WallInstant::now();
        let mut members: Vec<Arc<dyn Member>> = Vec::new();
        let mut nodes = Vec::new();
        let mut stopping = Vec::new();
        {
            let mut registry = self.inner.registry();
            for name in names {
                let Some(slot) = registry.slots.get_mut(name) else {
                    continue;
                };
                // An instance already `Stopping` is one whose stop was cut off (its
                // operation's future dropped): stopping it again finishes the job.
                let cut_off = slot.state() == State::Stopping;
                if slot.state().is_down() || (!cut_off && slot.apply(name, Trigger::Stop).is_err())
                {
                    continue;
                }
                members.push(slot.instance.clone());
                stopping.push(name.clone());
                nodes.extend(registry.graph.owned(name.as_str()));
            }
        }
        // A reload names its plugin instead (see `reload_plugin`).
        let scope = match names {
            [one] => one.to_string(),
            _ => "shutdown".to_owned(),
        };
        let stopped = pipeline::run(Stopping {
            members,
            nodes,
            mode,
            deadline,
            release_wait: self.inner.options.release_wait,
        })
        .await;
        let mut nodes = Vec::new();
        {
            let mut registry = self.inner.registry();
            for name in &stopping {
                nodes.extend(registry.graph.take_owner(name.as_str()));
                if let Ok(slot) = registry.slot_mut(name.as_str()) {
                    let _ = slot.apply(name, after);
                }
            }
            for name in &stopped.quarantined {
                let plugin = registry.slot(name).map(|s| s.plugin.clone());
                if let Ok(plugin) = plugin {
                    registry.unload(plugin.as_str(), true);
                }
            }
        }
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(venues = ?stopping, ?mode, elapsed_ms = format_args!("{elapsed_ms:.2}"), "venues stopped");
        StopDone {
            report: StopReport {
                scope,
                elapsed_ms: stopped.stop_ms,
                resources: stopped.resources,
                quarantined: stopped.quarantined,
            },
            nodes,
        }
    }

    /// The name of a known instance.
    fn known(&self, name: &str) -> Result<InstanceName, HostError> {
        self.inner.registry().slot(name)?;
        Ok(InstanceName::from(name))
    }

    /// When a stop that starts now must be done.
    pub(super) fn deadline(&self) -> Instant {
        Instant::now() + self.inner.options.timeouts.overall
    }

    /// Ends every stream of `name` for its consumers: what a stop would have done, for an
    /// instance whose streams were carried over to a build that then did not start.
    pub(super) fn end_streams(&self, name: &InstanceName) {
        self.inner
            .bus
            .end_kinds(name.as_str(), &plugin_api::StreamKind::ALL);
    }

    /// Stops (if needed) and forgets the instance `name`.
    pub async fn remove_venue(&self, name: &str) -> Result<(), HostError> {
        let _ops = self.inner.ops.lock().await;
        let name = self.known(name)?;
        let deadline = self.deadline();
        self.stop_locked(
            std::slice::from_ref(&name),
            StopMode::Stop,
            Trigger::Stopped,
            deadline,
        )
        .await;
        self.inner.registry().slots.remove(&name);
        Ok(())
    }

    /// Replaces the plugin `plugin` with the file at `path` without restarting the process:
    /// the new file is validated first (a bad file leaves the old one running), the old
    /// instances stop through the pipeline with their streams and handlers carried over
    /// (consumers see a gap, not an end), the old library is unloaded, and the instances
    /// start on the new build with the same settings.
    pub async fn reload_plugin(
        &self,
        plugin: impl Into<PluginId>,
        path: &Path,
    ) -> Result<ReloadReport, HostError> {
        let plugin = plugin.into();
        let started = WallInstant::now();
        let library = self.inner.loader.load(path)?;
        let new_info = library.info().clone();
        if new_info.venue != plugin.as_str() {
            return Err(HostError::WrongVenue {
                path: path.to_owned(),
                found: new_info.venue,
                expected: plugin.to_string(),
            });
        }
        let _ops = self.inner.ops.lock().await;
        let (from_version, restart) = {
            let registry = self.inner.registry();
            let old = registry.plugin(plugin.as_str())?;
            let names = registry.running(Some(plugin.as_str()));
            (old.code.info().plugin_version.clone(), names)
        };
        let deadline = self.deadline();
        let mut stop = self
            .stop_locked(&restart, StopMode::CarryOver, Trigger::Stopped, deadline)
            .await
            .report;
        stop.scope = plugin.to_string();
        let (unload, carried) = {
            let mut registry = self.inner.registry();
            let quarantined = !stop.quarantined.is_empty();
            let unload = registry.unload(plugin.as_str(), quarantined);
            registry.plugins.insert(
                plugin.clone(),
                Arc::new(super::registry::Plugin {
                    code: crate::plugin::PluginCode::File(library),
                    loaded_at: std::time::SystemTime::now(),
                }),
            );
            let carried: Vec<(InstanceName, String, HashMap<String, Bindings>)> = restart
                .iter()
                .filter_map(|n| {
                    let slot = registry.slots.get_mut(n)?;
                    Some((n.clone(), slot.settings.clone(), slot.take_bindings()))
                })
                .collect();
            (unload, carried)
        };
        let mut first_error = None;
        for (name, settings, bindings) in carried {
            if let Err(e) = self
                .build_and_start(&name, &plugin, &settings, bindings)
                .await
            {
                tracing::error!(venue = %name, error = %e, "venue did not start on the new build");
                self.end_streams(&name);
                first_error.get_or_insert(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(%plugin, from = %from_version, to = %new_info.plugin_version, elapsed_ms = format_args!("{elapsed_ms:.2}"), "plugin reloaded");
        Ok(ReloadReport {
            venue: plugin.to_string(),
            from_version,
            to_version: new_info.plugin_version,
            instances: restart.iter().map(ToString::to_string).collect(),
            unload: unload.unwrap_or_else(|| crate::stop::report::UnloadReport {
                venue: plugin.to_string(),
                file: Default::default(),
                shadow: Default::default(),
                unmapped: false,
                // The stop already moved a library it could not release to the quarantine.
                leaked: Some(match stop.quarantined.is_empty() {
                    true => "the old library is still in use".into(),
                    false => "quarantined: a plugin call was stuck".into(),
                }),
            }),
            stop,
            elapsed_ms,
        })
    }

    /// The state of instance `name`.
    pub async fn state(&self, name: &str) -> Option<State> {
        self.state_now(name)
    }

    /// The state of instance `name`, without waiting.
    pub fn state_now(&self, name: &str) -> Option<State> {
        self.inner.registry().slots.get(name).map(Slot::state)
    }

    /// Waits until the instance `name` is in `state` (at once if it is); resolves with
    /// `false` if the host shuts down first or the instance is removed.
    pub async fn state_reached(&self, name: &str, state: State) -> bool {
        let mut changes = self.inner.registry().changes.subscribe();
        loop {
            match self.state_now(name) {
                Some(now) if now == state => return true,
                None => return false,
                Some(_) => {}
            }
            if changes.changed().await.is_err() {
                return false;
            }
        }
    }
}
