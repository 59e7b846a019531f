//! The action router an instance owns: the plugin's actions (send a frame, open or
//! reconnect a connection, make a REST request, arm or cancel a timer) go to the one
//! resource that carries them out. Also builds those resources from the declaration.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use plugin_api::{Action, FrameKind, VenueDescriptor};

use crate::config::{RateLimitOverride, StaleThresholds};
use crate::pipeline::message_queue::MessageQueue;
use crate::transport::{RateLimiter, ReconnectPolicy, WsOut};
use crate::venue::connections::ConnPool;
use crate::venue::health::Health;
use crate::venue::port::Port;
use crate::venue::rest::RestExec;
use crate::venue::timers::Timers;

/// Why an action was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotDone {
    /// The instance is stopping: actions that start new work are refused.
    Stopping,
    /// The action names something the plugin did not declare, or failed.
    Failed(String),
}

impl From<String> for NotDone {
    fn from(why: String) -> NotDone {
        NotDone::Failed(why)
    }
}

/// The resources that carry out an instance's actions.
pub(crate) struct Router {
    /// Connection pools by declared name.
    pub(crate) pools: HashMap<String, Arc<ConnPool>>,
    /// The REST client, if the venue declared one.
    pub(crate) rest: Option<Arc<RestExec>>,
    /// Rate limiters by declared name.
    pub(crate) limiters: HashMap<String, Arc<RateLimiter>>,
    /// Declared timers.
    pub(crate) timers: Timers,
    /// Set once the plugin's last actions ran: new work is refused from then on.
    draining: AtomicBool,
}

/// What the router needs from the host's settings.
pub(crate) struct RouterSettings<'a> {
    /// Message queues by the declared connection whose frames pass through them.
    pub(crate) queues: &'a HashMap<String, MessageQueue>,
    pub(crate) reconnect: &'a ReconnectPolicy,
    pub(crate) stale: &'a StaleThresholds,
    pub(crate) rate_limits: &'a BTreeMap<String, RateLimitOverride>,
    pub(crate) bus: &'a crate::Bus,
}

impl Router {
    /// Builds the resources `descriptor` declares for the instance `venue` behind `port`
    /// (nothing connects yet).
    pub(crate) fn build(
        venue: &str,
        descriptor: &VenueDescriptor,
        port: Weak<dyn Port>,
        settings: &RouterSettings<'_>,
    ) -> Router {
        let limiters: HashMap<String, Arc<RateLimiter>> = descriptor
            .rate_limits
            .iter()
            .map(|d| {
                let mut decl = d.clone();
                let scoped = format!("{venue}.{}", d.name);
                let overrides = settings.rate_limits;
                if let Some(o) = overrides.get(&scoped).or_else(|| overrides.get(d.name.as_str())) {
                    tracing::info!(venue, limit = %d.name, capacity = o.capacity, window_ms = o.window_ms, "rate limit overridden by configuration");
                    decl.capacity = o.capacity;
                    decl.window_ms = o.window_ms;
                }
                (d.name.to_string(), Arc::new(RateLimiter::new(&decl)))
            })
            .collect();
        let rest = descriptor
            .rest
            .as_ref()
            .into_option()
            .map(|decl| Arc::new(RestExec::new(venue, decl, limiters.clone(), port.clone())));
        let pools = descriptor
            .connections
            .iter()
            .map(|d| {
                let pool = ConnPool::new(
                    d.clone(),
                    settings.reconnect.clone(),
                    settings.stale.clone(),
                    venue,
                    port.clone(),
                    settings.bus.clone(),
                    settings.queues.get(d.name.as_str()).cloned(),
                );
                (d.name.to_string(), pool)
            })
            .collect();
        let timers = Timers::new(
            venue,
            port,
            descriptor
                .timers
                .iter()
                .map(|t| (t.name.to_string(), Duration::from_millis(t.period_ms))),
        );
        Router {
            pools,
            rest,
            limiters,
            timers,
            draining: AtomicBool::new(false),
        }
    }

    /// Starts following consumer interest on every pool.
    pub(crate) fn start(&self) {
        for pool in self.pools.values() {
            pool.follow();
        }
    }

    /// The stop signal: pools keep their subscriptions as they are (consumers leaving
    /// during the stop send no unsubscribe).
    pub(crate) fn freeze(&self) {
        for pool in self.pools.values() {
            pool.freeze();
        }
    }

    /// After the plugin's last actions: refuse every action that starts new work.
    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Open connections across pools.
    pub(crate) fn connections(&self) -> usize {
        self.pools.values().map(|p| p.connections()).sum()
    }

    /// The health of the worst connection across pools.
    pub(crate) fn health(&self) -> Health {
        Health::worst(self.pools.values().map(|p| p.health()))
    }

    /// Carries out one action.
    pub(crate) async fn act(&self, action: Action) -> Result<(), NotDone> {
        let draining = self.draining.load(Ordering::Relaxed);
        match action {
            Action::ArmTimer(_) | Action::Open { .. } | Action::Reconnect(_) | Action::Rest(_)
                if draining =>
            {
                Err(NotDone::Stopping)
            }
            Action::ArmTimer(name) => Ok(self.timers.arm(name.as_str())?),
            Action::CancelTimer(name) => Ok(self.timers.cancel(name.as_str())?),
            Action::Send { conn, frame } => {
                let sender = self
                    .pools
                    .values()
                    .find_map(|p| p.sender(conn))
                    .ok_or_else(|| format!("no connection {}", conn.0))?;
                let out = match frame.kind {
                    FrameKind::Text => {
                        WsOut::Text(String::from_utf8_lossy(&frame.data).into_owned())
                    }
                    FrameKind::Binary => WsOut::Binary(frame.data.to_vec()),
                };
                Ok(sender.send(out).await.map_err(|e| e.to_string())?)
            }
            Action::Rest(request) => match &self.rest {
                Some(rest) => Ok(rest.submit(request)?),
                None => Err("the venue declared no REST endpoint".to_owned().into()),
            },
            Action::Open { name, url } => {
                let pool = self
                    .pools
                    .get(name.as_str())
                    .ok_or_else(|| format!("no connection `{name}` was declared"))?;
                pool.open(url.to_string()).await;
                Ok(())
            }
            Action::Reconnect(conn) => match self.pools.values().any(|pool| pool.reconnect(conn)) {
                true => Ok(()),
                false => Err(format!("no connection {}", conn.0).into()),
            },
        }
    }
}
