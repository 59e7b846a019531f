//! What the plugin declares to the host, built with [`kit::Descriptor`]: connections and
//! their rules, the REST endpoint, rate limits, the keep-alive and order-lookup timers; the
//! kit derives the shutdown graph.

use plugin_api::kit::{self, Conn};
use plugin_api::{OpenMode, RetryPolicy, StreamKind, VenueDescriptor};

use crate::config::Settings;
use crate::listen_key::TIMER;
use crate::rest::{LIMIT_CAPACITY, LIMIT_GROUPS, LIMIT_WINDOW_MS};

/// Name of the public market-data connection.
pub const PUBLIC_CONN: &str = kit::PUBLIC;
/// Name of the REST client resource.
pub const REST: &str = kit::REST;
/// The normalized streams consumers subscribe to.
pub const STREAMS: &str = kit::STREAMS;
/// The timer that paces lookups of orders whose outcome is unknown and retries of the
/// account read.
pub const LOOKUP_TIMER: &str = "order-lookup";

/// MEXC's connection rules (spot v3 websocket doc).
const MAX_SUBSCRIPTIONS: u32 = 30;
const MAX_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;
const MAX_OUTBOUND_PER_SEC: u32 = 100;
const HEARTBEAT_MS: u64 = 20_000;
const STALE_AFTER_MS: u64 = 60_000;

fn mexc_rules(conn: Conn) -> Conn {
    conn.max_subscriptions(MAX_SUBSCRIPTIONS)
        .max_lifetime_ms(MAX_LIFETIME_MS)
        .max_outbound_per_sec(MAX_OUTBOUND_PER_SEC)
        .heartbeat_ms(HEARTBEAT_MS)
        .stale_after_ms(STALE_AFTER_MS)
}

/// The descriptor for an instance with these settings; the private stream (opened by the
/// plugin once it has a listen key), the timers and trading are declared only when
/// credentials are configured. Timers and connections stop before the REST client, which
/// deletes the listen key at stop.
pub fn descriptor(settings: &Settings) -> VenueDescriptor {
    let public_kinds = [
        StreamKind::BookTicker,
        StreamKind::Trades,
        StreamKind::Depth,
    ];
    let private_kinds = [StreamKind::Orders, StreamKind::Fills, StreamKind::Balances];
    let mut d = kit::Descriptor::new("mexc", env!("CARGO_PKG_VERSION"))
        .connection(mexc_rules(Conn::public(&settings.ws_url, &public_kinds)))
        .rest(&settings.rest_url, 10_000);
    for group in LIMIT_GROUPS {
        d = d.rate_limit(group, LIMIT_CAPACITY, LIMIT_WINDOW_MS, false);
    }
    if settings.credentials.is_some() {
        d = d
            .connection(mexc_rules(Conn::private(
                "",
                OpenMode::ByPlugin,
                &private_kinds,
            )))
            .timer(TIMER, settings.listen_key_keepalive_ms)
            .timer(LOOKUP_TIMER, RetryPolicy::DEFAULT.tick_ms())
            .trading(true);
    }
    // Every name above is a constant and declared once: the kit has nothing to refuse.
    d.build().expect("mexc's declarations are consistent")
}
