//! Supervision: an instance that faults (a plugin panic) is stopped through the stop
//! pipeline with its streams and handlers carried over (consumers see a gap), then started
//! again after a backoff. Too many faults within the window stop it for good, with the
//! state `failed`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Host, Inner};
use crate::names::InstanceName;
use crate::stop::coordinator::{millis, StopMode};
use crate::venue::instance::Instance;
use crate::venue::lifecycle::{State, Trigger};

/// How faulted instances are restarted (`[restart]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestartPolicy {
    /// Restart faulted instances at all (default true). Off: a fault stops the instance.
    pub enabled: bool,
    /// The wait before the first restart; it doubles with each fault in the window
    /// (default 200 ms).
    #[serde(with = "millis")]
    pub initial_backoff: Duration,
    /// The longest wait between restarts (default 10 s).
    #[serde(with = "millis")]
    pub max_backoff: Duration,
    /// Give up after this many faults within `window` (default 5).
    pub max_faults: u32,
    /// The window faults are counted in (default 60 s).
    #[serde(with = "millis")]
    pub window: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            enabled: true,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_faults: 5,
            window: Duration::from_secs(60),
        }
    }
}

impl RestartPolicy {
    /// The wait before restart number `fault` (1 for the first) of the window.
    pub fn backoff(&self, fault: u32) -> Duration {
        let doublings = fault.saturating_sub(1).min(20);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

impl Host {
    /// Watches `instance` until it is retired; a fault starts [`Host::restart`].
    pub(super) fn supervise(&self, instance: &Arc<Instance>) {
        let mut faulted = instance.driver.faulted();
        let retired = instance.retired();
        let build = Arc::downgrade(instance);
        let host = Arc::downgrade(&self.inner);
        let token = self.inner.supervisors.token().clone();
        self.inner.supervisors.spawn(async move {
            let fault = tokio::select! {
                _ = token.cancelled() => return,
                _ = retired.cancelled() => return,
                r = faulted.wait_for(Option::is_some) => match r {
                    Ok(v) => v.clone().unwrap_or_default(),
                    Err(_) => return,
                },
            };
            restart(host, build, fault, token).await;
        });
    }
}

/// Stops the faulted build `build` and, unless the policy says otherwise, starts the
/// instance again after the backoff. Holds the host only while it acts, never while it
/// waits, so a host dropped meanwhile goes away.
async fn restart(
    host: Weak<Inner>,
    build: Weak<Instance>,
    fault: String,
    token: CancellationToken,
) {
    let Some((name, delay)) = stop_faulted(&host, &build, &fault, &token).await else {
        return;
    };
    tokio::select! {
        _ = token.cancelled() => return,
        () = tokio::time::sleep(delay) => {}
    }
    let Some(inner) = host.upgrade() else { return };
    let host = Host { inner };
    let _ops = tokio::select! {
        _ = token.cancelled() => return,
        ops = host.inner.ops.lock() => ops,
    };
    let next = {
        let mut registry = host.inner.registry();
        match registry.slots.get_mut(&name) {
            // Not stopped or removed by someone else meanwhile.
            Some(slot) if slot.state() == State::Restarting => Some((
                slot.plugin.clone(),
                slot.settings.clone(),
                slot.take_bindings(),
            )),
            _ => None,
        }
    };
    let Some((plugin, settings, carried)) = next else {
        return;
    };
    tracing::info!(venue = %name, "restarting after a fault");
    if let Err(error) = host
        .build_and_start(&name, &plugin, &settings, carried)
        .await
    {
        tracing::error!(venue = %name, %error, "restart failed");
        host.end_streams(&name);
    }
}

/// The first half of a restart, under the operations lock: counts the fault, stops the
/// build, and returns the instance name and backoff if it is to start again.
async fn stop_faulted(
    host: &Weak<Inner>,
    build: &Weak<Instance>,
    fault: &str,
    token: &CancellationToken,
) -> Option<(InstanceName, Duration)> {
    let host = Host {
        inner: host.upgrade()?,
    };
    let _ops = tokio::select! {
        _ = token.cancelled() => return None,
        ops = host.inner.ops.lock() => ops,
    };
    let policy = host.inner.options.restart;
    let (name, faults) = {
        let mut registry = host.inner.registry();
        let build = build.upgrade()?;
        let (name, slot) = registry
            .slots
            .iter_mut()
            .find(|(_, s)| Arc::ptr_eq(&s.instance, &build))?;
        if !matches!(slot.state(), State::Running | State::Starting) {
            return None;
        }
        let name = name.clone();
        slot.apply(&name, Trigger::Fault).ok()?;
        let now = Instant::now();
        slot.faults
            .retain(|t| now.duration_since(*t) < policy.window);
        slot.faults.push(now);
        (name, slot.faults.len() as u32)
    };
    let again = policy.enabled && faults < policy.max_faults;
    let (mode, after) = match again {
        true => (StopMode::CarryOver, Trigger::Restart),
        false => (StopMode::Stop, Trigger::GiveUp),
    };
    tracing::error!(venue = %name, %fault, faults, "instance faulted; stopping it");
    let deadline = host.deadline();
    let _ = host
        .stop_locked(std::slice::from_ref(&name), mode, after, deadline)
        .await;
    if !again {
        tracing::error!(venue = %name, faults, window_ms = policy.window.as_millis() as u64, restarts = policy.enabled, "instance failed: not restarted again");
        return None;
    }
    let delay = policy.backoff(faults);
    tracing::info!(venue = %name, delay_ms = delay.as_millis() as u64, "restart scheduled");
    Some((name, delay))
}
