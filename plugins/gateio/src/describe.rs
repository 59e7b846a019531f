//! The venue descriptor, built with [`kit::Descriptor`]: connections, REST endpoint, rate
//! limits, the order-lookup timer; the kit derives the shutdown graph.

use plugin_api::kit::{self, Conn};
use plugin_api::{OpenMode, RetryPolicy, StreamKind, VenueDescriptor};

use crate::config::Settings;
use crate::rest::{LIMIT_CANCEL, LIMIT_ORDERS, LIMIT_PRIVATE, LIMIT_PUBLIC};

/// The public market-data connection.
pub const PUBLIC_CONN: &str = kit::PUBLIC;
/// The authenticated account connection.
pub const PRIVATE_CONN: &str = kit::PRIVATE;
/// The REST client.
pub const REST: &str = kit::REST;
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
const MAX_OUTBOUND_PER_SEC: u32 = 50;

fn gate_rules(conn: Conn) -> Conn {
    conn.heartbeat_ms(HEARTBEAT_MS)
        .stale_after_ms(STALE_AFTER_MS)
        .max_outbound_per_sec(MAX_OUTBOUND_PER_SEC)
}

/// Builds the descriptor for `settings`. The private connection, its timer and trading
/// appear only with credentials.
pub fn descriptor(settings: &Settings) -> VenueDescriptor {
    let public_kinds = [
        StreamKind::BookTicker,
        StreamKind::Trades,
        StreamKind::Depth,
    ];
    let private_kinds = [StreamKind::Orders, StreamKind::Fills, StreamKind::Balances];
    let mut d = kit::Descriptor::new("gateio", env!("CARGO_PKG_VERSION"))
        .connection(gate_rules(
            Conn::public(&settings.ws_url, &public_kinds)
                .queue(MD_QUEUE)
                .stream(MD_STREAM),
        ))
        .rest(&settings.rest_url, settings.rest_timeout_ms)
        .rate_limit(LIMIT_ORDERS, 10, 1_000, true)
        .rate_limit(LIMIT_CANCEL, 200, 1_000, false)
        .rate_limit(LIMIT_PUBLIC, 200, 10_000, false)
        .rate_limit(LIMIT_PRIVATE, 200, 10_000, false)
        .priority(MD_STREAM, 45);
    if settings.credentials.is_some() {
        d = d
            .connection(gate_rules(
                // The private stream stops before the public one.
                Conn::private(
                    settings.private_ws_url(),
                    OpenMode::OnDemand,
                    &private_kinds,
                )
                .queue(ACCOUNT_QUEUE)
                .stream(ACCOUNT_STREAM)
                .stop_priority(25),
            ))
            .priority(ACCOUNT_STREAM, 45)
            .timer(LOOKUP_TIMER, RetryPolicy::DEFAULT.tick_ms())
            .trading(true);
    }
    // Every name above is a constant and declared once: the kit has nothing to refuse.
    d.build().expect("gateio's declarations are consistent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_and_without_credentials() {
        let public = descriptor(&Settings::default());
        assert_eq!(public.connections.len(), 1);
        assert!(public.timers.is_empty() && !public.trading);
        let with = Settings::from_json(r#"{"credentials":{"api_key":"k","api_secret":"s"}}"#);
        let d = descriptor(&with.unwrap());
        assert_eq!((d.connections.len(), d.timers.len()), (2, 1));
    }
}
