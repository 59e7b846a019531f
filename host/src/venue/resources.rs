//! From what a plugin declared to the host objects that stop: every declared resource is
//! exactly one object with its own stop, registered under the instance with the declared
//! priority, dependencies and timeout.
//!
//! | kind | host object | covers |
//! |---|---|---|
//! | `connection` | a pool of websocket connections ([`ConnPool`]) | its declared stream kinds |
//! | `message_queue` | the frame path of the connections that depend on it ([`MessageQueue`]) | those connections |
//! | `stream` | a [`StreamSet`]: ends (or, over a reload, gaps) its consumers' subscriptions | the kinds of the connections that reach it through `depends_on` |
//! | `handler_binding` | the [`Bindings`] consumers' handlers run in | the kinds of the streams it depends on (all kinds if none) |
//! | `rest_client`, `rate_limiter`, `timer` | the instance's REST client, limiter, timer | — |
//!
//! A stream kind that no connection reaches (events made from REST answers or timers)
//! belongs to the streams that no connection reaches, or else to the last stream declared,
//! so every subscription ends with some stream. A plugin that declares no stream gets one
//! called `streams` for every kind; one that declares no handler binding gets `handlers`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use plugin_api::{ResourceKind, StreamKind, VenueDescriptor};

use crate::error::HostError;
use crate::pipeline::bindings::Bindings;
use crate::pipeline::message_queue::MessageQueue;
use crate::pipeline::streams::StreamSet;
use crate::stop::coordinator::ShutdownTimeouts;
use crate::stop::graph::Node;
use crate::stop::resource::{Resource, ResourceSpec};
#[cfg(doc)]
use crate::venue::connections::ConnPool;
use crate::venue::router::Router;

/// One declared (or implicit) resource, host-owned.
#[derive(Debug, Clone)]
struct Decl {
    name: String,
    kind: ResourceKind,
    priority: u8,
    depends_on: Vec<String>,
    timeout_ms: Option<u64>,
}

/// What the declarations mean, worked out before anything is built.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    decls: Vec<Decl>,
    stream_kinds: HashMap<String, Vec<StreamKind>>,
    binding_kinds: HashMap<String, Vec<StreamKind>>,
    /// Declared connection name → the message queue its frames pass through.
    conn_queue: HashMap<String, String>,
}

impl Plan {
    /// Reads and checks `descriptor`'s resources for the instance `owner` (errors name it and
    /// the plugin, whose venue id the descriptor carries).
    pub(crate) fn new(owner: &str, d: &VenueDescriptor) -> Result<Plan, HostError> {
        let mut decls: Vec<Decl> = d
            .resources
            .iter()
            .map(|r| Decl {
                name: r.name.to_string(),
                kind: r.kind,
                priority: r.stop_priority,
                depends_on: r.depends_on.iter().map(|s| s.to_string()).collect(),
                timeout_ms: r.stop_timeout_ms.into_option(),
            })
            .collect();
        let implicit = |name: &str, kind: ResourceKind| Decl {
            name: name.to_owned(),
            kind,
            priority: kind.default_priority(),
            depends_on: Vec::new(),
            timeout_ms: None,
        };
        if !decls.iter().any(|r| r.kind == ResourceKind::HandlerBinding) {
            decls.push(implicit("handlers", ResourceKind::HandlerBinding));
        }
        if !decls.iter().any(|r| r.kind == ResourceKind::Stream) {
            decls.push(implicit("streams", ResourceKind::Stream));
        }
        check_names(owner, d, &decls)?;
        let reach = |from: &str| reachable(&decls, from);
        let of_kind = |kind: ResourceKind| decls.iter().filter(move |r| r.kind == kind);

        let mut stream_kinds: HashMap<String, BTreeSet<StreamKind>> = HashMap::new();
        let mut reached: BTreeSet<String> = BTreeSet::new();
        let mut conn_queue = HashMap::new();
        for conn in of_kind(ResourceKind::Connection) {
            let kinds = d
                .connections
                .iter()
                .find(|c| c.name.as_str() == conn.name)
                .map(|c| c.kinds.to_vec())
                .unwrap_or_default();
            let from = reach(&conn.name);
            for stream in of_kind(ResourceKind::Stream).filter(|s| from.contains(&s.name)) {
                reached.insert(stream.name.clone());
                stream_kinds
                    .entry(stream.name.clone())
                    .or_default()
                    .extend(kinds.iter().copied());
            }
            let queue = conn.depends_on.iter().chain(from.iter()).find(|n| {
                decls
                    .iter()
                    .any(|r| &r.name == *n && r.kind == ResourceKind::MessageQueue)
            });
            if let Some(queue) = queue {
                conn_queue.insert(conn.name.clone(), queue.clone());
            }
        }
        let covered: BTreeSet<StreamKind> = stream_kinds.values().flatten().copied().collect();
        let rest: Vec<StreamKind> = StreamKind::ALL
            .into_iter()
            .filter(|k| !covered.contains(k))
            .collect();
        let unreached: Vec<&Decl> = of_kind(ResourceKind::Stream)
            .filter(|s| !reached.contains(&s.name))
            .collect();
        let takers: Vec<&Decl> = match unreached.is_empty() {
            true => of_kind(ResourceKind::Stream)
                .next_back()
                .into_iter()
                .collect(),
            false => unreached,
        };
        for stream in takers {
            stream_kinds
                .entry(stream.name.clone())
                .or_default()
                .extend(rest.iter().copied());
        }
        let stream_kinds: HashMap<String, Vec<StreamKind>> = stream_kinds
            .into_iter()
            .map(|(name, kinds)| (name, kinds.into_iter().collect()))
            .collect();
        let binding_kinds = of_kind(ResourceKind::HandlerBinding)
            .map(|b| {
                let from = reach(&b.name);
                let kinds: BTreeSet<StreamKind> = stream_kinds
                    .iter()
                    .filter(|(s, _)| from.contains(*s))
                    .flat_map(|(_, k)| k.iter().copied())
                    .collect();
                let kinds = match kinds.is_empty() {
                    true => StreamKind::ALL.to_vec(),
                    false => kinds.into_iter().collect(),
                };
                (b.name.clone(), kinds)
            })
            .collect();
        Ok(Plan {
            decls,
            stream_kinds,
            binding_kinds,
            conn_queue,
        })
    }

    /// The message queues, by the connection name whose frames pass through each.
    pub(crate) fn queues(&self) -> (HashMap<String, MessageQueue>, HashMap<String, MessageQueue>) {
        let by_name: HashMap<String, MessageQueue> = self
            .decls
            .iter()
            .filter(|r| r.kind == ResourceKind::MessageQueue)
            .map(|r| (r.name.clone(), MessageQueue::new()))
            .collect();
        let by_conn = self
            .conn_queue
            .iter()
            .filter_map(|(conn, q)| Some((conn.clone(), by_name.get(q)?.clone())))
            .collect();
        (by_name, by_conn)
    }

    /// The handler bindings, each with the stream kinds it serves: those `carried` over
    /// from the instance's previous build by name, new ones otherwise.
    pub(crate) fn bindings(
        &self,
        mut carried: HashMap<String, Bindings>,
    ) -> Vec<(String, Vec<StreamKind>, Bindings)> {
        let list: Vec<_> = self
            .decls
            .iter()
            .filter(|r| r.kind == ResourceKind::HandlerBinding)
            .map(|r| {
                let kinds = self.binding_kinds.get(&r.name).cloned().unwrap_or_default();
                let bindings = carried.remove(&r.name).unwrap_or_default();
                (r.name.clone(), kinds, bindings)
            })
            .collect();
        for (name, left) in carried {
            // Dropping the last handle on a group cancels its tasks.
            tracing::info!(binding = %name, handlers = left.live(), "the new build declares no such handler binding; its handlers are unbound");
            drop(left);
        }
        list
    }

    /// The graph nodes of the instance `owner`: one per declaration.
    pub(crate) fn nodes(
        &self,
        owner: &str,
        router: &Router,
        queues: &HashMap<String, MessageQueue>,
        bindings: &[(String, Vec<StreamKind>, Bindings)],
        bus: &crate::Bus,
        timeouts: &ShutdownTimeouts,
    ) -> Vec<Node> {
        self.decls
            .iter()
            .filter_map(|r| {
                let resource: Arc<dyn Resource> = match r.kind {
                    ResourceKind::HandlerBinding => {
                        let (_, _, b) = bindings.iter().find(|(n, _, _)| *n == r.name)?;
                        Arc::new(b.clone())
                    }
                    ResourceKind::Stream => {
                        let kinds = self.stream_kinds.get(&r.name).cloned().unwrap_or_default();
                        Arc::new(StreamSet::new(owner, kinds, bus.clone()))
                    }
                    ResourceKind::MessageQueue => Arc::new(queues.get(&r.name)?.clone()),
                    ResourceKind::Timer => router.timers.get(&r.name)?,
                    ResourceKind::Connection => router.pools.get(&r.name)?.clone(),
                    ResourceKind::RateLimiter => router.limiters.get(&r.name)?.clone(),
                    ResourceKind::RestClient => router.rest.clone()?,
                };
                Some(Node {
                    spec: ResourceSpec {
                        owner: owner.to_owned(),
                        name: r.name.clone(),
                        kind: r.kind,
                        priority: r.priority,
                        depends_on: r.depends_on.clone(),
                        timeout: timeouts.for_kind(r.kind, r.timeout_ms),
                    },
                    resource,
                })
            })
            .collect()
    }
}

/// Every resource name reachable from `from` through `depends_on`.
fn reachable(decls: &[Decl], from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut next = vec![from.to_owned()];
    while let Some(name) = next.pop() {
        for dep in decls
            .iter()
            .filter(|r| r.name == name)
            .flat_map(|r| r.depends_on.iter())
        {
            if seen.insert(dep.clone()) {
                next.push(dep.clone());
            }
        }
    }
    seen
}

/// Connections, timers, limiters and the REST client named in the resources must be
/// declared in their own lists, and everything declared in those lists must be named in the
/// resources: a declaration left out of the shutdown graph would run but never stop in order.
fn check_names(owner: &str, d: &VenueDescriptor, decls: &[Decl]) -> Result<(), HostError> {
    let fail = |error: String| HostError::Declaration {
        venue: owner.to_owned(),
        error: format!("plugin `{}`: {error}", d.venue),
    };
    let listed =
        |name: &str, kind: ResourceKind| decls.iter().any(|r| r.name == name && r.kind == kind);
    let declared = d
        .connections
        .iter()
        .map(|c| ("connection", c.name.as_str(), ResourceKind::Connection))
        .chain(
            d.timers
                .iter()
                .map(|t| ("timer", t.name.as_str(), ResourceKind::Timer)),
        )
        .chain(
            d.rate_limits
                .iter()
                .map(|l| ("rate limit", l.name.as_str(), ResourceKind::RateLimiter)),
        )
        .chain(
            d.rest
                .as_ref()
                .into_option()
                .map(|r| ("REST endpoint", r.name.as_str(), ResourceKind::RestClient)),
        );
    for (what, name, kind) in declared {
        if !listed(name, kind) {
            return Err(fail(format!(
                "{what} `{name}` is declared but `resources` has no {} resource of that name",
                kind.name()
            )));
        }
    }
    for r in decls {
        let (what, found) = match r.kind {
            ResourceKind::Connection => (
                "connection",
                d.connections.iter().any(|c| c.name.as_str() == r.name),
            ),
            ResourceKind::Timer => ("timer", d.timers.iter().any(|t| t.name.as_str() == r.name)),
            ResourceKind::RateLimiter => (
                "rate limiter",
                d.rate_limits.iter().any(|l| l.name.as_str() == r.name),
            ),
            ResourceKind::RestClient => (
                "REST client",
                d.rest
                    .as_ref()
                    .into_option()
                    .is_some_and(|rest| rest.name.as_str() == r.name),
            ),
            _ => continue,
        };
        if !found {
            return Err(fail(format!(
                "{what} resource `{}` has no matching declaration",
                r.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use plugin_api::kit::Descriptor;

    use super::*;

    /// A kind in `streams` that no connection carries (events made from REST answers or
    /// timers) is served: a stream resource ends its subscriptions and a handler binding
    /// runs its handlers, so the host accepts subscriptions to it.
    #[test]
    fn a_kind_no_connection_carries_is_served_by_a_stream_and_a_binding() {
        let d = Descriptor::new("v", "1")
            .public("wss://x", &[StreamKind::Trades])
            .streams_also(&[StreamKind::Balances])
            .build()
            .unwrap();
        assert!(d.streams.contains(&StreamKind::Balances));
        assert!(!d.connections[0].kinds.contains(&StreamKind::Balances));
        let plan = Plan::new("v", &d).unwrap();
        let streams = &plan.stream_kinds["streams"];
        assert!(streams.contains(&StreamKind::Balances) && streams.contains(&StreamKind::Trades));
        let bindings = plan.bindings(HashMap::new());
        assert!(bindings
            .iter()
            .any(|(_, kinds, _)| kinds.contains(&StreamKind::Balances)));
    }
}
