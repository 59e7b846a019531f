//! Changing a running exchange's configuration: the venues it started with keep running,
//! each whose settings changed restarts with the new ones, its streams carried over.

use super::{Configured, ExchangeError, ExchangeHandle};
use crate::config::{HostConfig, Secrets};
use crate::ops::ConfigOutcome;

impl ExchangeHandle {
    /// Applies `config` (with `secrets`) to the running exchange. Each venue whose
    /// settings or credentials changed is checked by its plugin first, then restarts with
    /// them; the program's streams of that venue see a gap, not an end. Venues left as they
    /// were are not touched. Sections other than `[venues]` that changed are listed in the
    /// outcome's `restart_required` and take effect only in a new exchange.
    ///
    /// The venues of an exchange are those it started with: a configuration that adds,
    /// removes, disables or re-plugs one is refused. A refused change (by that rule, or
    /// because a plugin refused its settings) leaves everything as it was; a venue that
    /// does not start with its new settings is put back on its old ones, and its streams
    /// end on the way (open them again). Both are [`ExchangeError::Reconfigure`], saying
    /// why.
    pub async fn reconfigure(
        &self,
        config: HostConfig,
        secrets: Secrets,
    ) -> Result<ConfigOutcome, ExchangeError> {
        let inner = self.inner.upgrade().ok_or_else(|| ExchangeError::Closed {
            venue: self.venue_names().collect::<Vec<_>>().join(", "),
        })?;
        same_venues(&self.venues, &config)?;
        let super::Inner::Local(operator) = &*inner else {
            return Err(ExchangeError::Reconfigure {
                reason: "the venues are served over the bus (`nats.remote`): configure the hosts that run them".into(),
            });
        };
        match operator.apply_config(config, secrets).await {
            ConfigOutcome::Rejected { error } => Err(ExchangeError::Reconfigure { reason: error }),
            ConfigOutcome::RolledBack {
                failed,
                error,
                rollback_errors,
                ..
            } => Err(ExchangeError::Reconfigure {
                reason: match rollback_errors.is_empty() {
                    true => {
                        format!("venue `{failed}` did not start ({error}); the change was undone")
                    }
                    false => format!(
                        "venue `{failed}` did not start ({error}); undoing it failed too: {}",
                        rollback_errors.join("; ")
                    ),
                },
            }),
            outcome => Ok(outcome),
        }
    }
}

/// Refuses a configuration whose enabled venues (names and plugins) differ from `venues`.
fn same_venues(venues: &Configured, config: &HostConfig) -> Result<(), ExchangeError> {
    let mut problems = Vec::new();
    for (name, plugin) in venues.iter() {
        match config.venues.get(name) {
            Some(v) if v.enabled && v.plugin == *plugin => {}
            Some(v) if v.enabled => problems.push(format!(
                "`venues.{name}.plugin` changes from `{plugin}` to `{}`",
                v.plugin
            )),
            _ => problems.push(format!("venue `{name}` would stop")),
        }
    }
    for (name, _) in config.enabled_venues() {
        if !venues.iter().any(|(n, _)| n == name) {
            problems.push(format!("venue `{name}` would be added"));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(ExchangeError::Reconfigure {
            reason: format!(
                "the venues of an exchange are fixed when it starts: {}",
                problems.join("; ")
            ),
        }),
    }
}
