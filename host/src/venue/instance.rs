//! One running venue instance: its driver, its resources (built from what the plugin
//! declared), and the start and stop sequences.

use std::sync::Arc;
use std::time::Duration;

use abi_stable::std_types::RResult;
use plugin_api::{ResourceKind, VenueConfig, VenueDescriptor};

use crate::error::HostError;
use crate::pipeline::bindings::Bindings;
use crate::pipeline::streams::StreamSet;
use crate::plugin::loader::LoadedLibrary;
use crate::stop::coordinator::ShutdownTimeouts;
use crate::stop::graph::Node;
use crate::stop::resource::{Resource, ResourceSpec};
use crate::transport::ReconnectPolicy;
use crate::venue::driver::{now_ms, rehome, Driver};
use crate::venue::lifecycle::{Lifecycle, State, Trigger};
use crate::venue::network::VenueNet;
use crate::venue::timers::Timers;
use crate::Bus;

/// A venue instance and the handles the host keeps on it.
pub struct Instance {
    /// Configured name (unique).
    pub name: String,
    /// The plugin's venue id.
    pub venue: String,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) driver: Arc<Driver>,
    pub(crate) descriptor: VenueDescriptor,
    pub(crate) bindings: Bindings,
    pub(crate) streams: StreamSet,
    pub(crate) net: Arc<VenueNet>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("name", &self.name)
            .field("venue", &self.venue)
            .field("state", &self.lifecycle.state())
            .finish()
    }
}

impl Instance {
    /// The current life-cycle state.
    pub fn state(&self) -> State {
        self.lifecycle.state()
    }

    /// The instance's connections, REST client and rate limiters.
    pub fn net(&self) -> &VenueNet {
        &self.net
    }

    /// What the plugin declared (a host-owned copy).
    pub fn descriptor(&self) -> &VenueDescriptor {
        &self.descriptor
    }
}

/// Creates the instance and its resources. The caller registers the returned nodes and
/// then calls [`start`].
pub(crate) async fn create(
    name: &str,
    library: &LoadedLibrary,
    settings_json: &str,
    bus: &Bus,
    timeouts: &ShutdownTimeouts,
    reconnect: &ReconnectPolicy,
    rate_limits: &std::collections::BTreeMap<String, crate::config::RateLimitOverride>,
) -> Result<(Instance, Vec<Node>), HostError> {
    let venue = library.info().venue.clone();
    let config = VenueConfig {
        name: name.into(),
        settings_json: settings_json.into(),
    };
    let adapter = match (library.root().create())(config) {
        RResult::ROk(a) => a,
        RResult::RErr(e) => {
            return Err(HostError::Create {
                venue: name.to_owned(),
                error: rehome(e).to_string(),
            })
        }
    };
    let driver = Driver::new(name, adapter, bus.clone());
    let descriptor = driver
        .call(|a| a.describe().map(rehome))
        .await
        .map_err(|e| HostError::Create {
            venue: name.to_owned(),
            error: e.to_string(),
        })?;
    if descriptor.venue.as_str() != venue {
        return Err(HostError::Create {
            venue: name.to_owned(),
            error: format!(
                "describe() names venue `{}` but the plugin root exports `{venue}`",
                descriptor.venue
            ),
        });
    }
    let bindings = Bindings::default();
    let streams = StreamSet::new(name, bus.clone());
    let timers = Arc::new(Timers::new(
        &driver,
        descriptor
            .timers
            .iter()
            .map(|t| (t.name.to_string(), Duration::from_millis(t.period_ms))),
    ));
    driver.set_timers(timers.clone());
    let net = Arc::new(VenueNet::build(
        &descriptor,
        reconnect,
        rate_limits,
        &driver,
        bus,
    ));
    driver.set_sink(net.clone());
    let parts = Parts {
        bindings: &bindings,
        streams: &streams,
        timers: &timers,
        net: &net,
    };
    let nodes = resource_nodes(name, &descriptor, &parts, timeouts)?;
    let instance = Instance {
        name: name.to_owned(),
        venue,
        lifecycle: Lifecycle::new(),
        driver,
        descriptor,
        bindings,
        streams,
        net,
    };
    Ok((instance, nodes))
}

/// Maps every declared resource to its host implementation, adding the handler bindings
/// and stream set when the plugin did not declare them.
/// The host implementations a declaration can map to.
struct Parts<'a> {
    bindings: &'a Bindings,
    streams: &'a StreamSet,
    timers: &'a Timers,
    net: &'a VenueNet,
}

fn resource_nodes(
    owner: &str,
    descriptor: &VenueDescriptor,
    parts: &Parts<'_>,
    timeouts: &ShutdownTimeouts,
) -> Result<Vec<Node>, HostError> {
    let Parts {
        bindings,
        streams,
        timers,
        net,
    } = *parts;
    let missing = |what: &str, name: &str| HostError::Declaration {
        venue: owner.to_owned(),
        error: format!("{what} resource `{name}` has no matching declaration"),
    };
    let mut nodes = Vec::new();
    let has = |kind: ResourceKind| descriptor.resources.iter().any(|r| r.kind == kind);
    let implicit_bindings = !has(ResourceKind::HandlerBinding);
    let implicit_streams = !has(ResourceKind::Stream) && !has(ResourceKind::MessageQueue);
    for decl in &descriptor.resources {
        let resource: Arc<dyn Resource> = match decl.kind {
            ResourceKind::HandlerBinding => Arc::new(bindings.clone()),
            ResourceKind::Stream | ResourceKind::MessageQueue => Arc::new(streams.clone()),
            ResourceKind::Timer => match timers.get(decl.name.as_str()) {
                Some(t) => t,
                None => return Err(missing("timer", &decl.name)),
            },
            ResourceKind::Connection => match net.pools.get(decl.name.as_str()) {
                Some(p) => p.clone(),
                None => return Err(missing("connection", &decl.name)),
            },
            ResourceKind::RateLimiter => match net.limiters.get(decl.name.as_str()) {
                Some(l) => l.clone(),
                None => return Err(missing("rate limiter", &decl.name)),
            },
            ResourceKind::RestClient => match &net.rest {
                Some(r)
                    if descriptor
                        .rest
                        .as_ref()
                        .into_option()
                        .map(|d| d.name.as_str())
                        == Some(decl.name.as_str()) =>
                {
                    r.clone()
                }
                _ => return Err(missing("REST client", &decl.name)),
            },
        };
        nodes.push(Node {
            spec: ResourceSpec {
                owner: owner.to_owned(),
                name: decl.name.to_string(),
                kind: decl.kind,
                priority: decl.stop_priority,
                depends_on: decl.depends_on.iter().map(|d| d.to_string()).collect(),
                timeout: timeouts.for_kind(decl.kind, decl.stop_timeout_ms.into_option()),
            },
            resource,
        });
    }
    let mut implicit = |name: &str, kind: ResourceKind, resource: Arc<dyn Resource>| {
        nodes.push(Node {
            spec: ResourceSpec {
                owner: owner.to_owned(),
                name: name.to_owned(),
                kind,
                priority: kind.default_priority(),
                depends_on: Vec::new(),
                timeout: timeouts.for_kind(kind, None),
            },
            resource,
        })
    };
    if implicit_bindings {
        implicit(
            "handlers",
            ResourceKind::HandlerBinding,
            Arc::new(bindings.clone()),
        );
    }
    if implicit_streams {
        implicit("streams", ResourceKind::Stream, Arc::new(streams.clone()));
    }
    Ok(nodes)
}

/// Runs the plugin's `start` and moves the instance to running (or faulted).
pub(crate) async fn start(instance: &mut Instance) -> Result<(), HostError> {
    transition(instance, Trigger::Start)?;
    let result = instance.driver.call_output(|a| a.start(now_ms())).await;
    match result {
        Ok(()) => {
            instance.net.start();
            transition(instance, Trigger::Started).map(|_| ())
        }
        Err(e) => {
            transition(instance, Trigger::Fault)?;
            Err(HostError::Start {
                venue: instance.name.clone(),
                error: e.to_string(),
            })
        }
    }
}

/// Applies a life-cycle trigger, logging the move.
pub(crate) fn transition(instance: &mut Instance, trigger: Trigger) -> Result<State, HostError> {
    let from = instance.lifecycle.state();
    let to = instance
        .lifecycle
        .apply(trigger)
        .map_err(|e| HostError::Transition {
            venue: instance.name.clone(),
            error: e,
        })?;
    tracing::info!(venue = %instance.name, plugin = %instance.venue, %from, %to, "state");
    Ok(to)
}
