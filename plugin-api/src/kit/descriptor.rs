//! A builder for [`VenueDescriptor`] whose defaults serve a market-data venue: declare the
//! connections, REST endpoint, limits and timers; the resource graph is derived and checked.

use std::collections::{BTreeSet, HashMap, HashSet};

use abi_stable::std_types::{ROption, RVec};

use crate::{
    ConnectionDecl, OpenMode, PluginError, RateLimitDecl, ResourceDecl, ResourceKind, RestDecl,
    StreamKind, TimerDecl, VenueDescriptor,
};

/// The name [`Conn::public`] gives its connection.
pub const PUBLIC: &str = "public";
/// The name [`Conn::private`] gives its connection.
pub const PRIVATE: &str = "private";
/// The name of the REST client declared by [`Descriptor::rest`].
pub const REST: &str = "rest";
/// The stream resource connections feed unless told otherwise ([`Conn::stream`]).
pub const STREAMS: &str = "streams";

/// One websocket connection, with its message queue and the stream it feeds.
///
/// By default the connection opens on demand, has no venue limits (every `ConnectionDecl`
/// number 0: no heartbeat, no stale detection, no caps), passes its frames through a queue
/// named `<name>-queue` and feeds the shared stream [`STREAMS`].
///
/// # Examples
///
/// ```
/// use plugin_api::kit::Conn;
/// use plugin_api::StreamKind;
///
/// let conn = Conn::public("wss://ws.example.com", &[StreamKind::Trades])
///     .heartbeat_ms(10_000)
///     .stale_after_ms(30_000)
///     .max_outbound_per_sec(5);
/// ```
#[derive(Clone, Debug)]
pub struct Conn {
    decl: ConnectionDecl,
    queue: String,
    stream: String,
    priority: Option<u8>,
}

impl Conn {
    /// A connection named `name` at `url` carrying `kinds`, opened as `open` says (empty
    /// `url` for [`OpenMode::ByPlugin`]).
    pub fn new(name: &str, url: &str, open: OpenMode, kinds: &[StreamKind]) -> Conn {
        Conn {
            decl: ConnectionDecl {
                name: name.into(),
                url: url.into(),
                open,
                kinds: kinds.iter().copied().collect(),
                max_subscriptions: 0,
                max_lifetime_ms: 0,
                max_outbound_per_sec: 0,
                heartbeat_ms: 0,
                stale_after_ms: 0,
            },
            queue: format!("{name}-queue"),
            stream: STREAMS.to_owned(),
            priority: None,
        }
    }

    /// The public market-data connection [`PUBLIC`], opened on demand at `url`.
    pub fn public(url: &str, kinds: &[StreamKind]) -> Conn {
        Conn::new(PUBLIC, url, OpenMode::OnDemand, kinds)
    }

    /// The account connection [`PRIVATE`]: [`OpenMode::OnDemand`] at `url`, or
    /// [`OpenMode::ByPlugin`] (with `url` empty) when the plugin learns the URL first.
    pub fn private(url: &str, open: OpenMode, kinds: &[StreamKind]) -> Conn {
        Conn::new(PRIVATE, url, open, kinds)
    }

    /// Calls [`Venue::heartbeat`](crate::Venue::heartbeat) this often.
    pub fn heartbeat_ms(mut self, ms: u64) -> Conn {
        self.decl.heartbeat_ms = ms;
        self
    }

    /// Reconnects when nothing arrived for this long.
    pub fn stale_after_ms(mut self, ms: u64) -> Conn {
        self.decl.stale_after_ms = ms;
        self
    }

    /// At most this many frames per second from the client.
    pub fn max_outbound_per_sec(mut self, n: u32) -> Conn {
        self.decl.max_outbound_per_sec = n;
        self
    }

    /// At most this many subscriptions per connection; the host opens more to carry the rest.
    pub fn max_subscriptions(mut self, n: u32) -> Conn {
        self.decl.max_subscriptions = n;
        self
    }

    /// Rotates the connection before it has lived this long.
    pub fn max_lifetime_ms(mut self, ms: u64) -> Conn {
        self.decl.max_lifetime_ms = ms;
        self
    }

    /// Names the message queue (connections naming the same queue share it).
    pub fn queue(mut self, name: &str) -> Conn {
        name.clone_into(&mut self.queue);
        self
    }

    /// Names the stream resource this connection's events end in.
    pub fn stream(mut self, name: &str) -> Conn {
        name.clone_into(&mut self.stream);
        self
    }

    /// Overrides the connection's stop priority (lower stops first).
    pub fn stop_priority(mut self, priority: u8) -> Conn {
        self.priority = Some(priority);
        self
    }
}

/// Builds a [`VenueDescriptor`] and its shutdown graph.
///
/// What it derives:
/// - `streams`: the kinds of the connections, plus [`Descriptor::streams_also`];
/// - resources, stopping in this order: timers first (each depends on REST), connections
///   (each depends on its queue and on REST), queues (each depends on its stream), streams,
///   the REST client (depends on every rate limiter), rate limiters. The host adds the
///   handler binding `handlers` itself.
///
/// [`Descriptor::build`] refuses duplicate names, dependencies on undeclared resources,
/// cycles, a connection that carries no kind, and trading without REST.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::{Conn, Descriptor};
/// use plugin_api::{OpenMode, ResourceKind, StreamKind};
///
/// let d = Descriptor::new("example", "0.1.0")
///     .public("wss://ws.example.com", &[StreamKind::BookTicker, StreamKind::Depth])
///     .connection(Conn::private("", OpenMode::ByPlugin, &[StreamKind::Orders]))
///     .rest("https://api.example.com", 10_000)
///     .rate_limit("orders", 10, 1_000, true)
///     .timer("keepalive", 30_000)
///     .trading(true)
///     .build()?;
/// assert_eq!(d.streams.len(), 3);
/// let public = d.resources.iter().find(|r| r.name.as_str() == "public").unwrap();
/// assert_eq!(public.kind, ResourceKind::Connection);
/// assert!(public.depends_on.iter().any(|n| n.as_str() == "public-queue"));
/// # Ok::<(), plugin_api::PluginError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Descriptor {
    venue: String,
    version: String,
    conns: Vec<Conn>,
    rest: Option<RestDecl>,
    rate_limits: Vec<RateLimitDecl>,
    timers: Vec<TimerDecl>,
    trading: bool,
    streams_also: Vec<StreamKind>,
    priorities: Vec<(String, u8)>,
    extra: Vec<ResourceDecl>,
}

impl Descriptor {
    /// A venue `venue` (lower case, the id the plugin exports) at plugin version `version`
    /// (usually `env!("CARGO_PKG_VERSION")`), with nothing declared yet.
    pub fn new(venue: &str, version: &str) -> Descriptor {
        Descriptor {
            venue: venue.to_owned(),
            version: version.to_owned(),
            conns: Vec::new(),
            rest: None,
            rate_limits: Vec::new(),
            timers: Vec::new(),
            trading: false,
            streams_also: Vec::new(),
            priorities: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Adds the public connection (see [`Conn::public`]) with the defaults.
    pub fn public(self, url: &str, kinds: &[StreamKind]) -> Descriptor {
        self.connection(Conn::public(url, kinds))
    }

    /// Adds a connection.
    pub fn connection(mut self, conn: Conn) -> Descriptor {
        self.conns.push(conn);
        self
    }

    /// Declares the REST endpoint [`REST`] at `base_url`.
    pub fn rest(mut self, base_url: &str, timeout_ms: u64) -> Descriptor {
        self.rest = Some(RestDecl {
            name: REST.into(),
            base_url: base_url.into(),
            timeout_ms,
        });
        self
    }

    /// Declares a rate limit: at most `capacity` weight per `window_ms`, per instrument if
    /// `per_instrument`. Requests name it in `RestRequest::limit_group`.
    pub fn rate_limit(
        mut self,
        name: &str,
        capacity: u32,
        window_ms: u64,
        per_instrument: bool,
    ) -> Descriptor {
        self.rate_limits.push(RateLimitDecl {
            name: name.into(),
            capacity,
            window_ms,
            per_instrument,
        });
        self
    }

    /// Declares a timer firing every `period_ms` once armed.
    pub fn timer(mut self, name: &str, period_ms: u64) -> Descriptor {
        self.timers.push(TimerDecl {
            name: name.into(),
            period_ms,
        });
        self
    }

    /// Says whether the plugin signs REST requests and trades (default false).
    pub fn trading(mut self, trading: bool) -> Descriptor {
        self.trading = trading;
        self
    }

    /// Offers stream kinds no connection carries (events made from REST answers or timers).
    pub fn streams_also(mut self, kinds: &[StreamKind]) -> Descriptor {
        self.streams_also.extend_from_slice(kinds);
        self
    }

    /// Overrides the stop priority of the declared resource `name` (lower stops first).
    pub fn priority(mut self, name: &str, priority: u8) -> Descriptor {
        self.priorities.push((name.to_owned(), priority));
        self
    }

    /// Adds a resource of the plugin's own; it is checked with the derived ones.
    pub fn resource(mut self, resource: ResourceDecl) -> Descriptor {
        self.extra.push(resource);
        self
    }

    /// The descriptor, or a [`ErrorKind::Config`](crate::ErrorKind::Config) error naming
    /// what is wrong with the declarations.
    pub fn build(self) -> Result<VenueDescriptor, PluginError> {
        let fail = |m: String| PluginError::config(format!("{} descriptor: {m}", self.venue));
        if self.venue.is_empty() {
            return Err(PluginError::config("descriptor: the venue id is empty"));
        }
        if self.trading && self.rest.is_none() {
            return Err(fail("trading needs a REST endpoint (`rest`)".into()));
        }
        let rest = self.rest.as_ref().map(|r| r.name.to_string());
        let mut resources: Vec<ResourceDecl> = Vec::new();
        for t in &self.timers {
            let mut r = ResourceDecl::new(&t.name, ResourceKind::Timer);
            if let Some(rest) = &rest {
                r = r.depends_on(rest);
            }
            resources.push(r);
        }
        let mut queues: Vec<(&str, &str)> = Vec::new();
        let mut streams: Vec<&str> = Vec::new();
        for c in &self.conns {
            if c.decl.kinds.is_empty() {
                return Err(fail(format!(
                    "connection `{}` carries no stream kind",
                    c.decl.name
                )));
            }
            let mut r =
                ResourceDecl::new(&c.decl.name, ResourceKind::Connection).depends_on(&c.queue);
            if let Some(rest) = &rest {
                r = r.depends_on(rest);
            }
            if let Some(p) = c.priority {
                r = r.priority(p);
            }
            resources.push(r);
            match queues.iter().find(|(q, _)| *q == c.queue) {
                Some((_, s)) if *s != c.stream => {
                    return Err(fail(format!(
                        "queue `{}` is given two streams, `{s}` and `{}`",
                        c.queue, c.stream
                    )))
                }
                Some(_) => {}
                None => queues.push((&c.queue, &c.stream)),
            }
            if !streams.contains(&c.stream.as_str()) {
                streams.push(&c.stream);
            }
        }
        for (q, s) in &queues {
            resources.push(ResourceDecl::new(q, ResourceKind::MessageQueue).depends_on(s));
        }
        for s in &streams {
            resources.push(ResourceDecl::new(s, ResourceKind::Stream));
        }
        if let Some(rest) = &rest {
            let mut r = ResourceDecl::new(rest, ResourceKind::RestClient);
            for l in &self.rate_limits {
                r = r.depends_on(&l.name);
            }
            resources.push(r);
        }
        for l in &self.rate_limits {
            resources.push(ResourceDecl::new(&l.name, ResourceKind::RateLimiter));
        }
        resources.extend(self.extra.iter().cloned());
        for (name, p) in &self.priorities {
            match resources.iter_mut().find(|r| r.name.as_str() == name) {
                Some(r) => r.stop_priority = *p,
                None => return Err(fail(format!("priority for undeclared resource `{name}`"))),
            }
        }
        check_graph(&resources).map_err(fail)?;
        let kinds: BTreeSet<StreamKind> = self
            .conns
            .iter()
            .flat_map(|c| c.decl.kinds.iter().copied())
            .chain(self.streams_also.iter().copied())
            .collect();
        Ok(VenueDescriptor {
            venue: self.venue.as_str().into(),
            version: self.version.as_str().into(),
            streams: kinds.into_iter().collect(),
            trading: self.trading,
            connections: self.conns.into_iter().map(|c| c.decl).collect(),
            rest: ROption::from(self.rest),
            rate_limits: self.rate_limits.into(),
            timers: self.timers.into(),
            resources: RVec::from(resources),
        })
    }
}

/// Unique names, every dependency declared, no cycle.
fn check_graph(resources: &[ResourceDecl]) -> Result<(), String> {
    let mut names = HashSet::new();
    for r in resources {
        if !names.insert(r.name.as_str()) {
            return Err(format!("resource `{}` is declared twice", r.name));
        }
    }
    for r in resources {
        if let Some(d) = r.depends_on.iter().find(|d| !names.contains(d.as_str())) {
            return Err(format!("resource `{}` depends on undeclared `{d}`", r.name));
        }
    }
    match find_cycle(resources) {
        Some(names) => Err(format!("dependency cycle {}", names.join(" -> "))),
        None => Ok(()),
    }
}

/// A dependency cycle among `resources`, as the names along it with the first repeated at
/// the end (`["a", "b", "a"]`), searched from each resource in declaration order; `None` if
/// there is none. Dependencies on names no resource has are ignored.
pub fn find_cycle(resources: &[ResourceDecl]) -> Option<Vec<String>> {
    let index: HashMap<&str, usize> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    // Depth-first search; 1 = on the current path, 2 = done.
    let mut state = vec![0u8; resources.len()];
    fn visit(
        i: usize,
        resources: &[ResourceDecl],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        match state.get(i) {
            Some(2) => return None,
            Some(1) => {
                let from = path.iter().position(|&p| p == i).unwrap_or(0);
                let names = path[from..]
                    .iter()
                    .chain(std::iter::once(&i))
                    .map(|&p| resources[p].name.to_string())
                    .collect();
                return Some(names);
            }
            _ => {}
        }
        state[i] = 1;
        path.push(i);
        for d in resources[i].depends_on.iter() {
            if let Some(&j) = index.get(d.as_str()) {
                if let Some(cycle) = visit(j, resources, index, state, path) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    (0..resources.len()).find_map(|i| visit(i, resources, &index, &mut state, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(d: &VenueDescriptor, name: &str) -> Vec<String> {
        let r = d
            .resources
            .iter()
            .find(|r| r.name.as_str() == name)
            .unwrap_or_else(|| panic!("no resource {name}"));
        r.depends_on.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_common_case_is_one_public_connection() {
        let d = Descriptor::new("v", "1")
            .public("wss://x", &[StreamKind::Trades, StreamKind::BookTicker])
            .build()
            .unwrap();
        assert_eq!(
            d.streams.as_slice(),
            [StreamKind::BookTicker, StreamKind::Trades]
        );
        assert!(!d.trading && d.rest.is_none() && d.timers.is_empty());
        let c = &d.connections[0];
        assert_eq!((c.name.as_str(), c.open), (PUBLIC, OpenMode::OnDemand));
        assert_eq!(deps(&d, PUBLIC), ["public-queue"]);
        assert_eq!(deps(&d, "public-queue"), [STREAMS]);
        assert!(deps(&d, STREAMS).is_empty());
        assert_eq!(d.resources.len(), 3);
    }

    #[test]
    fn rest_limits_timers_and_a_private_connection() {
        let d = Descriptor::new("v", "1")
            .connection(
                Conn::public("wss://x", &[StreamKind::Depth])
                    .heartbeat_ms(1)
                    .stale_after_ms(2)
                    .max_outbound_per_sec(3)
                    .max_subscriptions(4)
                    .max_lifetime_ms(5)
                    .queue("md")
                    .stream("market"),
            )
            .connection(
                Conn::private("", OpenMode::ByPlugin, &[StreamKind::Orders])
                    .stop_priority(25)
                    .stream("account"),
            )
            .rest("https://x", 1_000)
            .rate_limit("a", 1, 1_000, false)
            .rate_limit("b", 1, 1_000, true)
            .timer("t", 100)
            .trading(true)
            .streams_also(&[StreamKind::Balances])
            .priority("market", 45)
            .build()
            .unwrap();
        let c = &d.connections[0];
        assert_eq!(
            (
                c.heartbeat_ms,
                c.stale_after_ms,
                c.max_outbound_per_sec,
                c.max_subscriptions,
                c.max_lifetime_ms
            ),
            (1, 2, 3, 4, 5)
        );
        assert_eq!(d.connections[1].open, OpenMode::ByPlugin);
        assert_eq!(deps(&d, PUBLIC), ["md", REST]);
        assert_eq!(deps(&d, PRIVATE), ["private-queue", REST]);
        assert_eq!(deps(&d, "md"), ["market"]);
        assert_eq!(deps(&d, "private-queue"), ["account"]);
        assert_eq!(deps(&d, REST), ["a", "b"]);
        assert_eq!(deps(&d, "t"), [REST]);
        let prio = |n: &str| {
            d.resources
                .iter()
                .find(|r| r.name.as_str() == n)
                .unwrap()
                .stop_priority
        };
        assert_eq!(
            (prio(PRIVATE), prio(PUBLIC), prio("market"), prio("account")),
            (25, 30, 45, 40)
        );
        assert_eq!(
            d.streams.as_slice(),
            [StreamKind::Depth, StreamKind::Orders, StreamKind::Balances]
        );
        assert!(d.trading);
    }

    #[test]
    fn wrong_declarations_fail_build_with_a_clear_error() {
        let base = || Descriptor::new("v", "1").public("wss://x", &[StreamKind::Trades]);
        let err = |d: Descriptor| d.build().unwrap_err().message.to_string();
        assert!(err(base().timer("public", 1)).contains("`public` is declared twice"));
        assert!(err(base().trading(true)).contains("trading needs a REST endpoint"));
        assert!(err(base().priority("nope", 1)).contains("undeclared resource `nope`"));
        assert!(err(Descriptor::new("v", "1").public("wss://x", &[]))
            .contains("carries no stream kind"));
        let m = err(base().resource(ResourceDecl::new("x", ResourceKind::Timer).depends_on("zzz")));
        assert!(m.contains("`x` depends on undeclared `zzz`"), "{m}");
        let m = err(base()
            .resource(ResourceDecl::new("x", ResourceKind::Timer).depends_on("y"))
            .resource(ResourceDecl::new("y", ResourceKind::Timer).depends_on("x")));
        assert!(m.contains("dependency cycle x -> y -> x"), "{m}");
        let m = err(base().connection(
            Conn::private("wss://y", OpenMode::OnDemand, &[StreamKind::Orders])
                .queue("public-queue")
                .stream("other"),
        ));
        assert!(
            m.contains("queue `public-queue` is given two streams"),
            "{m}"
        );
        assert!(err(Descriptor::new("", "1")).contains("venue id is empty"));
    }
}
