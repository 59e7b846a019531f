//! Configuration reload: re-read the file, compute the venue diff, have the plugins check
//! every new or changed venue's settings before anything is touched (a refused change is
//! rejected with every venue left running as it was), then apply the diff step by step and
//! undo every step taken if one fails (the outcome says which).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::diff::{self, ConfigOutcome, VenueDiff, VenuePlan};
use super::{Operator, OpsEvent};
use crate::config::{HostConfig, Secrets};

impl Operator {
    /// Re-reads the configuration file (and its secrets file) and applies the venue diff.
    pub async fn reload_config(&self) -> ConfigOutcome {
        let outcome = match HostConfig::load_with_secrets(self.inner.config_file.as_deref()) {
            Ok((config, secrets)) => self.apply_config(config, secrets).await,
            Err(e) => {
                let outcome = ConfigOutcome::Rejected {
                    error: e.to_string(),
                };
                self.config_done(&outcome);
                outcome
            }
        };
        outcome
    }

    /// Applies `config` as a diff against the running one: removed venues stop, changed
    /// ones restart with their new settings, added ones start, unchanged ones are not
    /// touched. A running venue whose plugin and built-in consumers stay the same restarts
    /// in place: its consumers see a gap, not an end ([`crate::Host::restart_venue`]). The
    /// settings of every added or changed venue whose plugin is loaded are checked by that
    /// plugin first ([`crate::Host::check_settings`]); if one is refused the change is
    /// rejected before any venue is stopped. If a step fails later (a start), the steps
    /// taken are undone in reverse order and the old configuration stays in force.
    pub async fn apply_config(&self, config: HostConfig, secrets: Secrets) -> ConfigOutcome {
        let mut st = self.inner.ops.lock().await;
        let current = self.config();
        let old = diff::plans(&current, &st.secrets);
        let new = diff::plans(&config, &secrets);
        let diff = VenueDiff::between(&old, &new);
        let outcome = if diff.is_empty() && *current == config {
            ConfigOutcome::Unchanged
        } else if let Err(error) = self.check_plans(&diff, &new).await {
            ConfigOutcome::Rejected { error }
        } else {
            match self.apply_diff(&diff, &old, &new).await {
                Ok(waiting_for_plugin) => {
                    let restart_required = diff::restart_required(&current, &config);
                    // Published under the operations lock, so commands see it in order.
                    self.inner.config.store(Arc::new(config));
                    st.secrets = secrets;
                    ConfigOutcome::Applied {
                        diff,
                        waiting_for_plugin,
                        restart_required,
                    }
                }
                Err((failed, error, rollback_errors)) => ConfigOutcome::RolledBack {
                    diff,
                    failed,
                    error,
                    rollback_errors,
                },
            }
        };
        drop(st);
        self.config_done(&outcome);
        outcome
    }

    fn config_done(&self, outcome: &ConfigOutcome) {
        match outcome {
            ConfigOutcome::Rejected { error } => {
                tracing::error!("configuration change rejected; nothing changed: {error}")
            }
            ConfigOutcome::RolledBack { failed, error, .. } => {
                tracing::error!(venue = %failed, "configuration change rolled back: {error}")
            }
            ConfigOutcome::Applied { diff, .. } => {
                tracing::info!(added = ?diff.to_add, changed = ?diff.to_change, removed = ?diff.to_remove, "configuration applied")
            }
            ConfigOutcome::Unchanged => tracing::info!("configuration unchanged"),
        }
        self.records().configured(outcome);
        self.emit(OpsEvent::Config(outcome.clone()));
    }

    /// Has the plugin of every added or changed venue check its new settings; the venues
    /// refused, each with the plugin's reason, in one message. A venue whose plugin is not
    /// loaded is not checked (it waits for its plugin, as it would after the change).
    async fn check_plans(
        &self,
        diff: &VenueDiff,
        new: &BTreeMap<String, VenuePlan>,
    ) -> Result<(), String> {
        let loaded = self.loaded_plugins().await;
        let source = self
            .inner
            .config_file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "configuration".into());
        let mut refused = Vec::new();
        for name in diff.to_change.iter().chain(&diff.to_add) {
            let plan = &new[name];
            if !loaded.contains(&plan.plugin) {
                continue;
            }
            if let Err(e) = self
                .inner
                .host
                .check_settings(name.as_str(), plan.plugin.as_str(), &plan.settings_json)
                .await
            {
                refused.push(format!(
                    "{source}: key `venues.{name}.settings`: plugin `{}` refused them: {e}",
                    plan.plugin
                ));
            }
        }
        match refused.is_empty() {
            true => Ok(()),
            false => Err(refused.join("; ")),
        }
    }

    /// Applies the steps in order; on failure undoes them and returns what failed.
    async fn apply_diff(
        &self,
        diff: &VenueDiff,
        old: &BTreeMap<String, VenuePlan>,
        new: &BTreeMap<String, VenuePlan>,
    ) -> Result<Vec<String>, (String, String, Vec<String>)> {
        enum Undo<'a> {
            Restore(&'a str, &'a VenuePlan, bool),
            TakeDown(&'a str),
            Restart(&'a str, &'a VenuePlan),
        }
        let mut undo: Vec<Undo<'_>> = Vec::new();
        let mut waiting = Vec::new();
        let mut failure = None;
        let steps = diff
            .to_remove
            .iter()
            .map(|n| (n, true, false))
            .chain(diff.to_change.iter().map(|n| (n, true, true)))
            .chain(diff.to_add.iter().map(|n| (n, false, true)));
        for (name, down, up) in steps {
            if down && up && self.restarts_in_place(name, &old[name], &new[name]).await {
                if let Err(e) = self
                    .inner
                    .host
                    .restart_venue(name, &new[name].settings_json)
                    .await
                {
                    // A build that did not start is left stopped: forget it, so the undo
                    // below can start the old settings afresh.
                    let _ = self.take_down(name).await;
                    undo.push(Undo::Restore(name, &old[name], true));
                    failure = Some((name.clone(), e.to_string()));
                    break;
                }
                undo.push(Undo::Restart(name, &old[name]));
                continue;
            }
            if down {
                let was_running = self.inner.host.state(name).await.is_some();
                if let Err(e) = self.take_down(name).await {
                    failure = Some((name.clone(), e.to_string()));
                    break;
                }
                undo.push(Undo::Restore(name, &old[name], was_running));
            }
            if up {
                match self.bring_up(name, &new[name]).await {
                    Ok(true) => undo.push(Undo::TakeDown(name)),
                    Ok(false) => waiting.push(name.clone()),
                    Err(e) => {
                        failure = Some((name.clone(), e.to_string()));
                        break;
                    }
                }
            }
        }
        let Some((failed, error)) = failure else {
            return Ok(waiting);
        };
        let mut rollback_errors = Vec::new();
        for step in undo.into_iter().rev() {
            let result = match step {
                Undo::TakeDown(name) => self.take_down(name).await.map(|_| ()),
                Undo::Restart(name, plan) => self
                    .inner
                    .host
                    .restart_venue(name, &plan.settings_json)
                    .await
                    .map(|_| ()),
                Undo::Restore(name, plan, true) => self.bring_up(name, plan).await.map(|_| ()),
                Undo::Restore(..) => Ok(()),
            };
            if let Err(e) = result {
                rollback_errors.push(e.to_string());
            }
        }
        Err((failed, error, rollback_errors))
    }

    /// True if the change of `name` from `old` to `new` touches only its settings (same
    /// plugin, same built-in consumers) and it runs: it restarts in place, its consumers'
    /// streams carried over (a gap, not an end).
    async fn restarts_in_place(&self, name: &str, old: &VenuePlan, new: &VenuePlan) -> bool {
        old.plugin == new.plugin
            && old.symbols == new.symbols
            && old.channels == new.channels
            && self
                .inner
                .host
                .state(name)
                .await
                .is_some_and(|s| !s.is_down())
    }
}
