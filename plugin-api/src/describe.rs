//! What a plugin declares about itself: identity, capabilities, connections, limits and the
//! resources the host must create for it, with their shutdown order.

use abi_stable::std_types::{ROption, RString, RVec};
use abi_stable::StableAbi;

use crate::StreamKind;

/// Everything the host needs to know to run a venue, returned by [`crate::Venue::describe`].
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct VenueDescriptor {
    /// Venue id, lower case (`gateio`, `mexc`); must equal the id exported by the plugin root.
    pub venue: RString,
    /// The plugin's own version (its crate version).
    pub version: RString,
    /// Stream kinds the plugin can produce.
    pub streams: RVec<StreamKind>,
    /// True if the plugin signs REST requests and can trade.
    pub trading: bool,
    /// Websocket connections the host should open, by name.
    pub connections: RVec<ConnectionDecl>,
    /// The REST endpoint, if the venue uses one.
    pub rest: ROption<RestDecl>,
    /// Rate limits the host enforces before sending requests or frames.
    pub rate_limits: RVec<RateLimitDecl>,
    /// Timers the plugin wants to be called back on.
    pub timers: RVec<TimerDecl>,
    /// The shutdown graph: every connection, REST client, limiter and timer above by name,
    /// plus any other resource the plugin needs (queues, streams, handler bindings).
    pub resources: RVec<ResourceDecl>,
}

/// The kind of a resource; it selects the host implementation and default stop settings.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ResourceKind {
    /// A websocket connection and its reader task.
    Connection,
    /// A bounded queue between a socket reader and its consumers, with its processing task.
    MessageQueue,
    /// A set of normalized streams and the consumers' subscriptions to them.
    Stream,
    /// Handlers bound to channels.
    HandlerBinding,
    /// A keep-alive REST client with in-flight requests.
    RestClient,
    /// A rate limiter and its waiters.
    RateLimiter,
    /// A timer that calls back into the plugin.
    Timer,
}

impl ResourceKind {
    /// The default stop priority: lower stops first (handlers and consumers,
    /// timers, connections, queues and streams, REST clients, limiters).
    pub fn default_priority(self) -> u8 {
        match self {
            ResourceKind::HandlerBinding => 10,
            ResourceKind::Timer => 20,
            ResourceKind::Connection => 30,
            ResourceKind::MessageQueue | ResourceKind::Stream => 40,
            ResourceKind::RestClient => 50,
            ResourceKind::RateLimiter => 60,
        }
    }

    /// The default time a stop may take before it is forced, in milliseconds.
    pub fn default_stop_timeout_ms(self) -> u64 {
        match self {
            ResourceKind::Connection | ResourceKind::RestClient => 2_000,
            _ => 1_000,
        }
    }

    /// Lower-case name used in reports and logs.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Connection => "connection",
            ResourceKind::MessageQueue => "message_queue",
            ResourceKind::Stream => "stream",
            ResourceKind::HandlerBinding => "handler_binding",
            ResourceKind::RestClient => "rest_client",
            ResourceKind::RateLimiter => "rate_limiter",
            ResourceKind::Timer => "timer",
        }
    }
}

/// One node of the shutdown graph.
///
/// A resource stops only after every resource that lists it in `depends_on` has stopped.
/// Among the resources free to stop, those with the lowest `stop_priority` stop together.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ResourceDecl {
    /// Unique name within the plugin (`public-ws`, `rest`, `listen-key-keepalive`).
    pub name: RString,
    /// Kind.
    pub kind: ResourceKind,
    /// Lower stops first; see [`ResourceKind::default_priority`].
    pub stop_priority: u8,
    /// Names of the resources this one uses; they stop after it.
    pub depends_on: RVec<RString>,
    /// Stop timeout in milliseconds; `None` takes the host's default for the kind.
    pub stop_timeout_ms: ROption<u64>,
}

impl ResourceDecl {
    /// A resource with the kind's default priority and timeout and no dependencies.
    pub fn new(name: &str, kind: ResourceKind) -> ResourceDecl {
        ResourceDecl {
            name: name.into(),
            kind,
            stop_priority: kind.default_priority(),
            depends_on: RVec::new(),
            stop_timeout_ms: ROption::RNone,
        }
    }

    /// Adds a dependency (a resource that must stop after this one).
    pub fn depends_on(mut self, name: &str) -> ResourceDecl {
        self.depends_on.push(name.into());
        self
    }

    /// Overrides the stop priority.
    pub fn priority(mut self, priority: u8) -> ResourceDecl {
        self.stop_priority = priority;
        self
    }
}

/// How a websocket connection is opened.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug)]
pub enum OpenMode {
    /// The host opens it (at `url`) as soon as a subscription needs it.
    OnDemand,
    /// The plugin asks for it with [`crate::Action::Open`], giving the URL (for example after
    /// a REST call returned a listen key).
    ByPlugin,
}

/// A websocket connection the venue needs, and the venue's rules for it.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ConnectionDecl {
    /// Resource name (also listed in [`VenueDescriptor::resources`]).
    pub name: RString,
    /// Default URL (`wss://...`); configuration may override it. Empty for [`OpenMode::ByPlugin`].
    pub url: RString,
    /// How the connection is opened.
    pub open: OpenMode,
    /// Stream kinds whose subscriptions go over this connection.
    pub kinds: RVec<StreamKind>,
    /// At most this many subscriptions per connection (0: no limit); the host opens more
    /// connections of the same name to spread the rest.
    pub max_subscriptions: u32,
    /// Rotate the connection before it has lived this long (0: never).
    pub max_lifetime_ms: u64,
    /// At most this many frames per second sent by the client (0: no limit).
    pub max_outbound_per_sec: u32,
    /// Call [`crate::Venue::heartbeat`] this often (0: never).
    pub heartbeat_ms: u64,
    /// Reconnect when nothing arrived for this long (0: never).
    pub stale_after_ms: u64,
}

/// The venue's REST endpoint.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct RestDecl {
    /// Resource name (also listed in [`VenueDescriptor::resources`]).
    pub name: RString,
    /// Base URL (`https://api.gateio.ws`); request paths are appended to it.
    pub base_url: RString,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u64,
}

/// A request budget the host enforces: at most `capacity` weight per `window_ms`.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct RateLimitDecl {
    /// Resource name and the group requests name in [`crate::RestRequest::limit_group`].
    pub name: RString,
    /// Total weight allowed per window.
    pub capacity: u32,
    /// Window length in milliseconds.
    pub window_ms: u64,
    /// True if the budget applies per instrument (per market) rather than to the group.
    pub per_instrument: bool,
}

/// A timer: the host calls [`crate::Venue::on_timer`] with its name every `period_ms` once armed.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct TimerDecl {
    /// Resource name.
    pub name: RString,
    /// Period in milliseconds.
    pub period_ms: u64,
}
