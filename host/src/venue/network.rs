//! A venue instance's network: its declared connections (as pools of websocket
//! connections), its REST client and its rate limiters, and the plugin actions that use
//! them (`Send`, `Rest`, `Open`, `Reconnect`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use plugin_api::{Action, FrameKind, VenueDescriptor};

pub use super::connections::ConnPool;
pub use super::rest::RestExec;

use crate::config::RateLimitOverride;
use crate::transport::{RateLimiter, ReconnectPolicy, WsOut};
use crate::venue::driver::{ActionSink, Driver};

/// The network resources of one venue instance.
pub struct VenueNet {
    /// Connection pools by declared name.
    pub pools: HashMap<String, Arc<ConnPool>>,
    /// The REST client, if the venue declared one.
    pub rest: Option<Arc<RestExec>>,
    /// Rate limiters by declared name.
    pub limiters: HashMap<String, Arc<RateLimiter>>,
}

impl VenueNet {
    /// Builds the network resources `descriptor` declares (nothing connects yet).
    pub(crate) fn build(
        descriptor: &VenueDescriptor,
        reconnect: &ReconnectPolicy,
        overrides: &BTreeMap<String, RateLimitOverride>,
        driver: &Arc<Driver>,
        bus: &crate::Bus,
    ) -> VenueNet {
        let limiters: HashMap<String, Arc<RateLimiter>> = descriptor
            .rate_limits
            .iter()
            .map(|d| {
                let mut decl = d.clone();
                let scoped = format!("{}.{}", driver.name(), d.name);
                if let Some(o) = overrides.get(&scoped).or_else(|| overrides.get(d.name.as_str())) {
                    tracing::info!(venue = %driver.name(), limit = %d.name, capacity = o.capacity, window_ms = o.window_ms, "rate limit overridden by configuration");
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
            .map(|decl| Arc::new(RestExec::new(decl, limiters.clone(), driver)));
        let pools = descriptor
            .connections
            .iter()
            .map(|d| {
                let pool = ConnPool::new(d.clone(), reconnect.clone(), driver, bus.clone());
                (d.name.to_string(), pool)
            })
            .collect();
        VenueNet {
            pools,
            rest,
            limiters,
        }
    }

    /// Starts following consumer interest on every pool.
    pub(crate) fn start(&self) {
        for pool in self.pools.values() {
            pool.follow();
        }
    }

    /// Open connections across pools.
    pub fn connections(&self) -> usize {
        self.pools.values().map(|p| p.connections()).sum()
    }

    /// Reconnects across pools.
    pub fn reconnects(&self) -> u64 {
        self.pools.values().map(|p| p.reconnects()).sum()
    }
}

impl ActionSink for VenueNet {
    fn act(&self, action: Action) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            match action {
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
                    sender.send(out).await.map_err(|e| e.to_string())
                }
                Action::Rest(request) => match &self.rest {
                    Some(rest) => rest.submit(request),
                    None => Err("the venue declared no REST endpoint".into()),
                },
                Action::Open { name, url } => {
                    let pool = self
                        .pools
                        .get(name.as_str())
                        .ok_or_else(|| format!("no connection `{name}` was declared"))?;
                    pool.open(url.to_string()).await;
                    Ok(())
                }
                Action::Reconnect(conn) => {
                    for pool in self.pools.values() {
                        if pool.reconnect(conn).await {
                            return Ok(());
                        }
                    }
                    Err(format!("no connection {}", conn.0))
                }
                other => Err(format!("not a network action: {other:?}")),
            }
        })
    }
}
