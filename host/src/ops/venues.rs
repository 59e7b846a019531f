//! The venue commands of the operator (`start`, `stop`, `reload` of the control socket) and
//! the steps they and configuration reloads share: bringing a configured venue up with its
//! built-in consumers, and taking it down.

use plugin_api::StreamKind;

use super::diff::{self, VenuePlan};
use super::{Operator, OpsError, OpsEvent};
use crate::error::HostError;
use crate::stop::report::{ReloadReport, StopReport};

impl Operator {
    /// Enabled venues of the configuration in force: (name, plugin). Reads the published
    /// configuration, never the operations lock, so it answers during a stop or reload.
    pub(super) fn configured_venues(&self) -> Vec<(String, String)> {
        self.config()
            .enabled_venues()
            .map(|(n, v)| (n.clone(), v.plugin.clone()))
            .collect()
    }

    /// Starts the venue `name` with `plan`; `Ok(false)` if no loaded plugin serves it yet.
    pub(super) async fn bring_up(&self, name: &str, plan: &VenuePlan) -> Result<bool, HostError> {
        if !self.loaded_plugins().await.contains(&plan.plugin) {
            return Ok(false);
        }
        // Another host holds the venue's lease: this one stands by (its keeper starts it).
        if !self.may_start(name) {
            return Ok(true);
        }
        let host = &self.inner.host;
        if let Err(e) = host
            .start_venue(name, &plan.plugin, &plan.settings_json)
            .await
        {
            // A start that failed after creation leaves a stopped instance behind.
            let _ = host.remove_venue(name).await;
            tracing::error!(venue = %name, error = %e, "venue did not start");
            self.records()
                .start_failures
                .insert(name.to_owned(), e.to_string());
            self.emit(OpsEvent::VenueFailed {
                venue: name.to_owned(),
                error: e.to_string(),
            });
            return Err(e);
        }
        self.records().start_failures.remove(name);
        self.bind_consumers(name, plan).await;
        self.join_bus(name, plan).await;
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
    pub(super) async fn take_down(&self, name: &str) -> Result<(), HostError> {
        if let Some(bus) = self.bus() {
            bus.unserve(name).await;
        }
        if self.inner.host.state(name).await.is_some() {
            self.inner.host.remove_venue(name).await?;
        }
        Ok(())
    }

    /// Starts the configured venue `name` (after a `stop`, one that failed after repeated
    /// faults, or one that waited for its plugin).
    pub async fn start_venue(&self, name: &str) -> Result<(), OpsError> {
        let st = self.inner.ops.lock().await;
        let plans = diff::plans(&self.config(), &st.secrets);
        let known = self.inner.host.state(name).await;
        let plan = plans.get(name).ok_or_else(|| match known {
            Some(_) => OpsError::NotConfigured(name.to_owned()),
            None => OpsError::NoSuchVenue(name.to_owned()),
        })?;
        match known {
            Some(state) if state.is_down() => self.inner.host.remove_venue(name).await?,
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
        if self.inner.host.state(name).await.is_none()
            && !self.configured_venues().iter().any(|(n, _)| n == name)
        {
            return Err(OpsError::NoSuchVenue(name.to_owned()));
        }
        let report = self.inner.host.stop_venue(name).await?;
        self.records().stopped(&report);
        Ok(report)
    }

    /// Reloads the plugin serving the venue instance (or plugin id) `name` from its file,
    /// even if the file did not change. A name that is no instance, configured venue,
    /// loaded plugin or plugin of a file in the folder is [`OpsError::NoSuchVenueOrPlugin`].
    pub async fn reload_venue(&self, name: &str) -> Result<ReloadReport, OpsError> {
        let mut st = self.inner.ops.lock().await;
        let instance = self
            .inner
            .host
            .instances()
            .await
            .into_iter()
            .find(|i| i.name == name)
            .map(|i| i.plugin.to_string());
        let configured = || {
            self.configured_venues()
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, plugin)| plugin)
        };
        let plugin = match instance.or_else(configured) {
            Some(plugin) => plugin,
            None if st.files.values().any(|r| r.plugin == name)
                || self.loaded_plugins().await.iter().any(|p| p == name) =>
            {
                name.to_owned()
            }
            None => return Err(OpsError::NoSuchVenueOrPlugin(name.to_owned())),
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
        let fingerprint = crate::plugin::trust::check(&path, &self.config().trust)?;
        self.reload_locked(&mut st, &path, &plugin, fingerprint)
            .await
    }
}
