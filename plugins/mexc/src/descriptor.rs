//! What the plugin declares to the host: connections and their rules, the REST endpoint,
//! rate limits, the keep-alive and order-lookup timers and the shutdown graph.

use abi_stable::std_types::{RSome, RVec};
use plugin_api::{
    ConnectionDecl, OpenMode, RateLimitDecl, ResourceDecl, ResourceKind, RestDecl, RetryPolicy,
    StreamKind, TimerDecl, VenueDescriptor,
};

use crate::config::Settings;
use crate::listen_key::{PRIVATE_CONN, TIMER};
use crate::rest::{LIMIT_CAPACITY, LIMIT_GROUPS, LIMIT_WINDOW_MS};

/// Name of the public market-data connection.
pub const PUBLIC_CONN: &str = "public";
/// Name of the REST client resource.
pub const REST: &str = "rest";
/// Queue between the public connection's reader and the plugin.
pub const PUBLIC_QUEUE: &str = "public-queue";
/// Queue between the private connection's reader and the plugin.
pub const PRIVATE_QUEUE: &str = "private-queue";
/// The normalized streams consumers subscribe to.
pub const STREAMS: &str = "streams";
/// The timer that paces lookups of orders whose outcome is unknown and retries of the
/// account read.
pub const LOOKUP_TIMER: &str = "order-lookup";

/// MEXC's connection rules (spot v3 websocket doc).
const MAX_SUBSCRIPTIONS: u32 = 30;
const MAX_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;
const MAX_OUTBOUND_PER_SEC: u32 = 100;
const HEARTBEAT_MS: u64 = 20_000;
const STALE_AFTER_MS: u64 = 60_000;

fn connection(name: &str, url: &str, open: OpenMode, kinds: &[StreamKind]) -> ConnectionDecl {
    ConnectionDecl {
        name: name.into(),
        url: url.into(),
        open,
        kinds: kinds.iter().copied().collect(),
        max_subscriptions: MAX_SUBSCRIPTIONS,
        max_lifetime_ms: MAX_LIFETIME_MS,
        max_outbound_per_sec: MAX_OUTBOUND_PER_SEC,
        heartbeat_ms: HEARTBEAT_MS,
        stale_after_ms: STALE_AFTER_MS,
    }
}

/// The descriptor for an instance with these settings; the private stream, the timers and
/// trading are declared only when credentials are configured.
pub fn descriptor(settings: &Settings) -> VenueDescriptor {
    let private = settings.credentials.is_some();
    let public_kinds = [
        StreamKind::BookTicker,
        StreamKind::Trades,
        StreamKind::Depth,
    ];
    let private_kinds = [StreamKind::Orders, StreamKind::Fills, StreamKind::Balances];

    let mut streams: RVec<StreamKind> = public_kinds.iter().copied().collect();
    let mut connections = RVec::new();
    connections.push(connection(
        PUBLIC_CONN,
        &settings.ws_url,
        OpenMode::OnDemand,
        &public_kinds,
    ));
    let mut timers = RVec::new();
    let mut resources = RVec::new();

    // Connections stop first, then their queues, then the streams, then REST, limiters last.
    resources
        .push(ResourceDecl::new(PUBLIC_CONN, ResourceKind::Connection).depends_on(PUBLIC_QUEUE));
    resources.push(ResourceDecl::new(PUBLIC_QUEUE, ResourceKind::MessageQueue).depends_on(STREAMS));
    resources.push(ResourceDecl::new(STREAMS, ResourceKind::Stream));
    if private {
        streams.extend(private_kinds.iter().copied());
        connections.push(connection(
            PRIVATE_CONN,
            "",
            OpenMode::ByPlugin,
            &private_kinds,
        ));
        timers.push(TimerDecl {
            name: TIMER.into(),
            period_ms: settings.listen_key_keepalive_ms,
        });
        // The timer and the private stream use the listen key, which the REST client deletes
        // at stop: both must be gone before the REST client stops.
        resources.push(ResourceDecl::new(TIMER, ResourceKind::Timer).depends_on(REST));
        timers.push(TimerDecl {
            name: LOOKUP_TIMER.into(),
            period_ms: RetryPolicy::DEFAULT.tick_ms(),
        });
        // It sends lookups and account reads: it stops before the REST client.
        resources.push(ResourceDecl::new(LOOKUP_TIMER, ResourceKind::Timer).depends_on(REST));
        resources.push(
            ResourceDecl::new(PRIVATE_CONN, ResourceKind::Connection)
                .depends_on(PRIVATE_QUEUE)
                .depends_on(REST),
        );
        resources
            .push(ResourceDecl::new(PRIVATE_QUEUE, ResourceKind::MessageQueue).depends_on(STREAMS));
    }
    let mut rest = ResourceDecl::new(REST, ResourceKind::RestClient);
    let mut rate_limits = RVec::new();
    for group in LIMIT_GROUPS {
        rate_limits.push(RateLimitDecl {
            name: group.into(),
            capacity: LIMIT_CAPACITY,
            window_ms: LIMIT_WINDOW_MS,
            per_instrument: false,
        });
        rest = rest.depends_on(group);
        resources.push(ResourceDecl::new(group, ResourceKind::RateLimiter));
    }
    resources.push(rest);

    VenueDescriptor {
        venue: "mexc".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        streams,
        trading: private,
        connections,
        rest: RSome(RestDecl {
            name: REST.into(),
            base_url: settings.rest_url.as_str().into(),
            timeout_ms: 10_000,
        }),
        rate_limits,
        timers,
        resources,
    }
}
