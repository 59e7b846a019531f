//! Starting an exchange: the operator loads the plugin folder and starts every enabled
//! venue; the exchange then waits, without polling and within a bound, until each one
//! runs, or names the first that does not and why.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Configured, Exchange, ExchangeError, Inner};
use crate::config::{Channel, HostConfig, Secrets};
use crate::nats::remote::Remote;
use crate::ops::Operator;
use crate::plugin::Builtin;
use crate::venue::State;

/// How long a start waits for the venues to run (they usually do by the time the operator
/// started them; a venue whose plugin faulted at once restarts after a backoff first).
pub const START_PATIENCE: Duration = Duration::from_secs(30);

impl Exchange {
    /// Starts an exchange from `config` (plugin folder, trust, timeouts, queues, venues)
    /// and `secrets` (the credentials its venues name): loads the plugin files of the
    /// folder, starts every enabled venue and waits (at most [`START_PATIENCE`]) until each
    /// one runs. If one does not (no plugin file provides its plugin, its plugin refused
    /// its settings, it failed while starting...), whatever started is shut down and the
    /// error names that venue and why. Must be called inside a tokio runtime.
    ///
    /// The configuration is used as given: its watcher (`[watch]`, hot plugin reloads:
    /// streams see a gap, not an end), control socket and metrics endpoint run if enabled.
    /// Its venues' `symbols` and `channels` feed the built-in counting consumer of
    /// `host run` and are not needed by programs.
    pub async fn start(config: HostConfig, secrets: Secrets) -> Result<Exchange, ExchangeError> {
        Exchange::start_until(config, secrets, &CancellationToken::new()).await
    }

    /// [`Exchange::start`] that gives up when `stop` is cancelled (Ctrl-C while a venue is
    /// still starting): what had started is shut down in order, and the error is
    /// [`ExchangeError::Cancelled`] with the shutdown report.
    pub async fn start_until(
        config: HostConfig,
        secrets: Secrets,
        stop: &CancellationToken,
    ) -> Result<Exchange, ExchangeError> {
        Exchange::start_with(config, secrets, Vec::new(), stop).await
    }

    /// [`Exchange::start_until`] with venue code linked into the program: each of
    /// `builtins` serves its venue id in place of a plugin file (a file in the folder
    /// claiming the same id is refused), so a venue configured with `plugin = "<its id>"`
    /// runs the linked code. Everything else is as for a file: the same stop order and
    /// report, panics caught and the instance restarted. See [`Builtin`].
    pub async fn start_with(
        config: HostConfig,
        secrets: Secrets,
        builtins: Vec<Builtin>,
        stop: &CancellationToken,
    ) -> Result<Exchange, ExchangeError> {
        let venues: Configured = config
            .enabled_venues()
            .map(|(name, v)| (name.clone(), v.plugin.clone()))
            .collect();
        if venues.is_empty() {
            return Err(ExchangeError::NoVenues);
        }
        for (name, v) in config.enabled_venues() {
            if v.channels.contains(&Channel::Depth) {
                tracing::warn!(venue = %name, "the venue's `channels` include depth: an order book the program opens waits for the venue's next snapshot");
            }
        }
        if config.nats.remote {
            return Exchange::start_remote(config, venues, stop).await;
        }
        let operator = Operator::start_with(config, secrets, None, builtins)
            .await
            .map_err(|e| ExchangeError::Setup(Box::new(e)))?;
        let exchange = Exchange::new(Inner::Local(operator), venues);
        let waited = tokio::select! {
            waited = exchange.wait_running() => waited,
            () = stop.cancelled() => {
                let report = exchange.shutdown("stopped while the venues started").await;
                return Err(ExchangeError::Cancelled { report: Box::new(report) });
            }
        };
        if let Err(error) = waited {
            let report = exchange.shutdown("the exchange did not start").await;
            tracing::error!(%error, tasks_left = ?report.tasks_left, "exchange not started");
            return Err(error);
        }
        tracing::info!(venues = ?exchange.handle.venue_names().collect::<Vec<_>>(), "exchange started");
        Ok(exchange)
    }

    /// The exchange of venues served over the bus: connects, then asks for each venue's
    /// health, each request waiting at most `nats.request_patience_ms` for a host to
    /// answer.
    async fn start_remote(
        config: HostConfig,
        venues: Configured,
        stop: &CancellationToken,
    ) -> Result<Exchange, ExchangeError> {
        let remote = tokio::select! {
            remote = Remote::connect(&config) => remote.map_err(|e| ExchangeError::Bus(e.to_string()))?,
            () = stop.cancelled() => return Err(ExchangeError::Bus("stopped while connecting".into())),
        };
        let exchange = Exchange::new(Inner::Remote(std::sync::Arc::new(remote)), venues.clone());
        for (name, _) in venues.iter() {
            let venue = exchange.venue(name)?;
            let answered = tokio::select! {
                answered = venue.health() => answered,
                () = stop.cancelled() => {
                    let report = exchange.shutdown("stopped while the venues started").await;
                    return Err(ExchangeError::Cancelled { report: Box::new(report) });
                }
            };
            if let Err(e) = answered {
                let report = exchange.shutdown("the exchange did not start").await;
                tracing::error!(venue = %name, error = %e, tasks_left = ?report.tasks_left, "exchange not started");
                let reason = match e {
                    ExchangeError::Health { source, .. } => source.to_string(),
                    e => e.to_string(),
                };
                return Err(ExchangeError::NotStarted {
                    venue: name.clone(),
                    reason,
                });
            }
        }
        tracing::info!(venues = ?exchange.handle.venue_names().collect::<Vec<_>>(), "exchange started on the bus");
        Ok(exchange)
    }

    /// Waits until every venue runs, all within [`START_PATIENCE`].
    async fn wait_running(&self) -> Result<(), ExchangeError> {
        let Inner::Local(operator) = &*self.owner.inner else {
            return Ok(());
        };
        let host = operator.host();
        let deadline = Instant::now() + START_PATIENCE;
        for (name, plugin) in self.handle.venues.iter() {
            if host.state_now(name).is_none() {
                return Err(ExchangeError::NotStarted {
                    venue: name.clone(),
                    reason: not_started(operator, name, plugin).await,
                });
            }
            let reached = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    biased;
                    running = host.state_reached(name, State::Running) => running,
                    _ = host.state_reached(name, State::Failed) => false,
                    _ = host.state_reached(name, State::Stopped) => false,
                }
            })
            .await;
            match reached {
                Ok(true) => {}
                Ok(false) => {
                    return Err(ExchangeError::NotStarted {
                        venue: name.clone(),
                        reason: not_started(operator, name, plugin).await,
                    })
                }
                Err(_) => {
                    return Err(ExchangeError::StartTimeout {
                        venue: name.clone(),
                        state: host
                            .state_now(name)
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "gone".into()),
                        waited: START_PATIENCE,
                    })
                }
            }
        }
        Ok(())
    }
}

/// Why the venue `name` of plugin `plugin` does not run, from what the operator recorded.
async fn not_started(operator: &Operator, name: &str, plugin: &str) -> String {
    let status = operator.status().await;
    let view = status.venues.iter().find(|v| v.name == name);
    let reason = match view {
        Some(v) if v.state == "waiting" => {
            let mut reason = format!(
                "no plugin file in {} provides plugin `{plugin}`",
                status.plugins_dir
            );
            let refused: Vec<String> = status
                .last
                .refused
                .iter()
                .map(|r| match r.error.contains(&r.file) {
                    true => r.error.clone(),
                    false => format!("{}: {}", r.file, r.error),
                })
                .collect();
            if !refused.is_empty() {
                reason.push_str(&format!(" (refused: {})", refused.join("; ")));
            }
            reason
        }
        Some(v) => match &v.last_error {
            Some(error) if v.state == "not_started" => error.clone(),
            Some(error) => format!("it is {}: {error}", v.state),
            None => format!("it is {}", v.state),
        },
        None => "it is not known to the host".into(),
    };
    // Host errors start with the venue's name, which the error names already.
    reason
        .strip_prefix(&format!("{name}: "))
        .map(str::to_owned)
        .unwrap_or(reason)
}
