//! Shared by the plugin's tests: the fixture frames and a venue subscribed to their symbols.
#![allow(dead_code, unreachable_pub)]

use abi_stable::std_types::RSlice;
use binance_plugin::Binance;
use plugin_api::{ConnId, FrameKind, InFrame, Output, StreamKind, Topic, Venue};
use serde_json::Value;

/// When the host "received" every fed frame.
pub const RECEIVED_NS: u64 = 1_790_281_250_000_000_000;

/// One line of a fixture file: its fields, and its `msg` exactly as written there.
pub struct Line {
    /// The whole line, parsed.
    pub fields: Value,
    /// The frame, byte for byte.
    pub msg: String,
}

/// The lines of `binance/<file>`.
pub fn lines(file: &str) -> Vec<Line> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/venues/binance/"
    );
    std::fs::read_to_string(format!("{path}{file}"))
        .unwrap()
        .lines()
        .map(|l| Line {
            fields: serde_json::from_str(l).unwrap(),
            msg: l[l.find(r#""msg":"#).unwrap() + 6..l.len() - 1].to_owned(),
        })
        .collect()
}

/// A topic of a normalized symbol (the host fills in only the symbol).
pub fn topic(kind: StreamKind, symbol: &str) -> Topic {
    Topic {
        kind,
        instrument: plugin_api::Instrument::new(symbol, "").unwrap(),
    }
}

/// A venue with the fixtures' markets subscribed: BNB/USDT book tickers, BNB/BTC trades.
pub fn venue() -> Binance {
    let mut v = Binance::from_config(&plugin_api::VenueConfig {
        name: "binance".into(),
        settings_json: "{}".into(),
    })
    .unwrap();
    let topics = [
        topic(StreamKind::BookTicker, "BNB/USDT"),
        topic(StreamKind::Trades, "BNB/BTC"),
    ];
    v.subscribe(ConnId(1), &topics, 0).unwrap();
    v
}

/// Feeds one text frame.
pub fn feed(v: &mut Binance, data: &[u8]) -> Output {
    let frame = InFrame {
        kind: FrameKind::Text,
        data: RSlice::from_slice(data),
    };
    v.on_frame(ConnId(1), frame, RECEIVED_NS).unwrap()
}
