//! The venue descriptor: connections, REST endpoint, rate limits, the order-lookup timer and
//! the shutdown graph.

use abi_stable::std_types::{ROption, RVec};
use plugin_api::{
    ConnectionDecl, OpenMode, RateLimitDecl, ResourceDecl, ResourceKind, RestDecl, RetryPolicy,
    StreamKind, TimerDecl, VenueDescriptor,
};

use crate::config::Settings;
use crate::rest::{LIMIT_CANCEL, LIMIT_ORDERS, LIMIT_PRIVATE, LIMIT_PUBLIC};

/// The public market-data connection.
pub const PUBLIC_CONN: &str = "public";
/// The authenticated account connection.
pub const PRIVATE_CONN: &str = "private";
/// The REST client.
pub const REST: &str = "rest";
/// The queue between the public socket reader and market-data processing.
pub const MD_QUEUE: &str = "md-queue";
/// The queue between the private socket reader and account processing.
pub const ACCOUNT_QUEUE: &str = "account-queue";
/// The normalized market-data streams and their subscribers.
pub const MD_STREAM: &str = "market-data";
/// The normalized account streams and their subscribers.
pub const ACCOUNT_STREAM: &str = "account";
/// The timer that paces lookups of orders whose outcome is unknown and retries of the
/// account re-read (declared with credentials only).
pub const LOOKUP_TIMER: &str = "order-lookup";

const HEARTBEAT_MS: u64 = 10_000;
const STALE_AFTER_MS: u64 = 30_000;

fn conn(name: &str, url: &str, kinds: &[StreamKind]) -> ConnectionDecl {
    ConnectionDecl {
        name: name.into(),
        url: url.into(),
        open: OpenMode::OnDemand,
        kinds: kinds.iter().copied().collect(),
        max_subscriptions: 0,
        max_lifetime_ms: 0,
        max_outbound_per_sec: 50,
        heartbeat_ms: HEARTBEAT_MS,
        stale_after_ms: STALE_AFTER_MS,
    }
}

fn limit(name: &str, capacity: u32, window_ms: u64, per_instrument: bool) -> RateLimitDecl {
    RateLimitDecl {
        name: name.into(),
        capacity,
        window_ms,
        per_instrument,
    }
}

/// Builds the descriptor for `settings`. Private kinds and trading appear only with credentials.
pub fn descriptor(settings: &Settings) -> VenueDescriptor {
    let private = settings.credentials.is_some();
    let public_kinds = [
        StreamKind::BookTicker,
        StreamKind::Trades,
        StreamKind::Depth,
    ];
    let private_kinds = [StreamKind::Orders, StreamKind::Fills, StreamKind::Balances];
    let mut streams: RVec<StreamKind> = public_kinds.iter().copied().collect();
    if private {
        streams.extend(private_kinds.iter().copied());
    }
    let rate_limits: RVec<RateLimitDecl> = vec![
        limit(LIMIT_ORDERS, 10, 1_000, true),
        limit(LIMIT_CANCEL, 200, 1_000, false),
        limit(LIMIT_PUBLIC, 200, 10_000, false),
        limit(LIMIT_PRIVATE, 200, 10_000, false),
    ]
    .into();
    let limiters = [LIMIT_ORDERS, LIMIT_CANCEL, LIMIT_PUBLIC, LIMIT_PRIVATE];
    let mut resources = vec![
        // The private stream stops first, then the public one; both before their queues
        // and before the REST client (the book resync and reconciliation use REST).
        ResourceDecl::new(PRIVATE_CONN, ResourceKind::Connection)
            .priority(25)
            .depends_on(ACCOUNT_QUEUE)
            .depends_on(REST),
        ResourceDecl::new(PUBLIC_CONN, ResourceKind::Connection)
            .depends_on(MD_QUEUE)
            .depends_on(REST),
        ResourceDecl::new(ACCOUNT_QUEUE, ResourceKind::MessageQueue).depends_on(ACCOUNT_STREAM),
        ResourceDecl::new(MD_QUEUE, ResourceKind::MessageQueue).depends_on(MD_STREAM),
        ResourceDecl::new(ACCOUNT_STREAM, ResourceKind::Stream).priority(45),
        ResourceDecl::new(MD_STREAM, ResourceKind::Stream).priority(45),
    ];
    let mut timers = RVec::new();
    if private {
        timers.push(TimerDecl {
            name: LOOKUP_TIMER.into(),
            period_ms: RetryPolicy::DEFAULT.tick_ms(),
        });
        // The timer sends lookups and account reads: it stops before the REST client.
        resources.push(ResourceDecl::new(LOOKUP_TIMER, ResourceKind::Timer).depends_on(REST));
    }
    let mut rest = ResourceDecl::new(REST, ResourceKind::RestClient);
    for l in limiters {
        rest = rest.depends_on(l);
        resources.push(ResourceDecl::new(l, ResourceKind::RateLimiter));
    }
    resources.push(rest);
    VenueDescriptor {
        venue: "gateio".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        streams,
        trading: private,
        connections: vec![
            conn(PUBLIC_CONN, &settings.ws_url, &public_kinds),
            conn(PRIVATE_CONN, &settings.private_ws_url, &private_kinds),
        ]
        .into(),
        rest: ROption::RSome(RestDecl {
            name: REST.into(),
            base_url: settings.rest_url.as_str().into(),
            timeout_ms: settings.rest_timeout_ms,
        }),
        rate_limits,
        timers,
        resources: resources.into(),
    }
}
