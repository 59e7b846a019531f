//! The venue descriptor: one public connection and the stream set it feeds.

use abi_stable::std_types::{ROption, RVec};
use plugin_api::{
    ConnectionDecl, OpenMode, ResourceDecl, ResourceKind, StreamKind, VenueDescriptor,
};

/// The public connection's name.
pub const PUBLIC_CONN: &str = "public";
/// The stream set of its consumers.
pub const STREAMS: &str = "market-data";
/// The kinds this plugin serves.
pub const KINDS: [StreamKind; 2] = [StreamKind::BookTicker, StreamKind::Trades];

/// Binance allows 1024 streams per connection and 5 incoming messages per second (pongs
/// included), and ends a connection at 24 h: rotate before it, send at most 4 frames a
/// second, and count the server's pings (every 20 s) as traffic for staleness.
pub fn descriptor(ws_url: &str) -> VenueDescriptor {
    let public = ConnectionDecl {
        name: PUBLIC_CONN.into(),
        url: ws_url.into(),
        open: OpenMode::OnDemand,
        kinds: KINDS.iter().copied().collect(),
        max_subscriptions: 1024,
        max_lifetime_ms: 23 * 3_600_000 + 30 * 60_000,
        max_outbound_per_sec: 4,
        heartbeat_ms: 0,
        stale_after_ms: 60_000,
    };
    VenueDescriptor {
        venue: "binance".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        streams: KINDS.iter().copied().collect(),
        trading: false,
        connections: RVec::from(vec![public]),
        rest: ROption::RNone,
        rate_limits: RVec::new(),
        timers: RVec::new(),
        resources: RVec::from(vec![
            ResourceDecl::new(PUBLIC_CONN, ResourceKind::Connection).depends_on(STREAMS),
            ResourceDecl::new(STREAMS, ResourceKind::Stream),
        ]),
    }
}
