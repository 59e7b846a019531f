//! The documented Binance frames, table-driven: every data frame parses to its event (exact
//! fields), answers are consumed, errors are rejects with the venue's code, and the requests
//! the plugin builds have the documented shape.

mod common;

use binance_plugin::Binance;
use common::*;
use plugin_api::{
    kit, Action, ConnId, ErrorKind, Event, Num, PluginError, Side, StreamKind, Venue, VenueConfig,
};
use serde_json::{json, Value};

fn with_settings(json: &str) -> Result<Binance, PluginError> {
    Binance::from_config(&VenueConfig {
        name: "binance".into(),
        settings_json: json.into(),
    })
}

fn n(s: &str) -> Num {
    Num::parse(s).unwrap()
}

#[test]
fn every_market_frame_parses_to_its_event() {
    let mut v = venue();
    let mut seen = 0;
    for line in lines("ws_market.jsonl") {
        let out = feed(&mut v, line.msg.as_bytes());
        let raw = &line.fields["msg"];
        let doc = raw.get("data").unwrap_or(raw);
        match doc["e"].as_str() {
            None => {
                let [Event::BookTicker(t)] = out.events.as_slice() else {
                    panic!("{out:?}")
                };
                assert_eq!(t.instrument.symbol.as_str(), "BNB/USDT");
                assert_eq!(t.instrument.venue_symbol.as_str(), "bnbusdt");
                assert_eq!(t.update_id, 400_900_217);
                assert_eq!(
                    (t.bid_price, t.bid_qty),
                    (n("25.35190000"), n("31.21000000"))
                );
                assert_eq!(
                    (t.ask_price, t.ask_qty),
                    (n("25.36520000"), n("40.66000000"))
                );
                // The payload has no event time.
                assert_eq!(t.stamp.venue_ts_ms, 0);
                assert_eq!(t.stamp.received_ns, RECEIVED_NS);
            }
            Some("trade") => {
                let [Event::Trade(t)] = out.events.as_slice() else {
                    panic!("{out:?}")
                };
                assert_eq!(t.instrument.symbol.as_str(), "BNB/BTC");
                assert_eq!(t.trade_id.as_str(), "12345");
                assert_eq!((t.price, t.qty), (n("0.001"), n("100")));
                // `m: true`: the buyer made the market, the taker sold.
                assert_eq!(t.side, Side::Sell);
                assert_eq!(t.trade_ts_ms, 1_672_515_782_136);
                assert_eq!(t.stamp.venue_ts_ms, 1_672_515_782_136);
            }
            Some("serverShutdown") => {
                assert!(out.events.is_empty() && out.rejects.is_empty());
                assert_eq!(out.actions.as_slice(), [Action::Reconnect(ConnId(1))]);
            }
            Some("aggTrade") => {
                assert_eq!(out.rejects.len(), 1, "{out:?}");
                assert_eq!(out.rejects[0].reason.as_str(), "unsupported_event");
            }
            Some(other) => panic!("no expectation for {other}"),
        }
        seen += 1;
    }
    assert_eq!(seen, 7);
}

#[test]
fn answers_are_consumed_and_errors_rejected_with_the_venue_code() {
    let mut v = venue();
    let answers = lines("ws_control.jsonl");
    let answers: Vec<_> = answers.iter().filter(|l| l.fields["dir"] == "in").collect();
    assert_eq!(answers.len(), 14);
    for line in answers {
        let out = feed(&mut v, line.msg.as_bytes());
        assert!(
            out.events.is_empty() && out.actions.is_empty(),
            "{}",
            line.msg
        );
        let msg = &line.fields["msg"];
        let code = msg.get("code").or(msg.pointer("/error/code"));
        match code {
            None => assert!(out.rejects.is_empty(), "{}: {out:?}", line.msg),
            Some(code) => {
                assert_eq!(out.rejects.len(), 1, "{}", line.msg);
                assert_eq!(out.rejects[0].reason.as_str(), "venue_error");
                let detail = out.rejects[0].detail.as_str();
                assert!(detail.starts_with(&format!("code {code}: ")), "{detail}");
            }
        }
    }
}

#[test]
fn unusable_frames_are_rejected_with_a_reason() {
    let mut v = venue();
    let cases: [(&str, &str); 6] = [
        (
            r#"{"e":"trade","E":1,"s":"NOQUOTE","t":1,"p":"1","q":"1","T":1,"m":false}"#,
            "unknown_symbol",
        ),
        (
            r#"{"e":"trade","E":1,"s":"BNBBTC","t":1,"p":"1e3","q":"1","T":1,"m":false}"#,
            "malformed",
        ),
        (
            r#"{"e":"trade","E":1,"s":"BNBBTC","t":1,"p":"1","q":"1","m":false}"#,
            "malformed",
        ),
        (
            r#"{"u":1,"s":"BNBUSDT","b":"1","B":"1","a":"1"}"#,
            "malformed",
        ),
        (r#"{"stream":"x"}"#, "unknown_message"),
        ("{\"malformed", "malformed"),
    ];
    for (frame, reason) in cases {
        let out = feed(&mut v, frame.as_bytes());
        assert!(out.events.is_empty(), "{frame}");
        assert_eq!(
            out.rejects[0].reason.as_str(),
            reason,
            "{frame}: {:?}",
            out.rejects
        );
    }
    let missing = feed(
        &mut v,
        br#"{"e":"trade","E":1,"s":"BNBBTC","t":1,"p":"1","q":"1","m":false}"#,
    );
    assert!(missing.rejects[0].detail.contains("`T`"), "{missing:?}");
    let binary = plugin_api::InFrame {
        kind: plugin_api::FrameKind::Binary,
        data: abi_stable::std_types::RSlice::from_slice(b"{}"),
    };
    let out = v.on_frame(ConnId(1), binary, 1).unwrap();
    assert_eq!(out.rejects[0].reason.as_str(), "unsupported_format");
}

#[test]
fn subscribe_batches_every_topic_into_one_documented_request() {
    let mut v = with_settings("{}").unwrap();
    let topics = [
        topic(StreamKind::BookTicker, "BTC/USDT"),
        topic(StreamKind::Trades, "BTC/USDT"),
        topic(StreamKind::Trades, "ETH/BTC"),
    ];
    let frames = v.subscribe(ConnId(1), &topics, 0).unwrap();
    assert_eq!(frames.len(), 1);
    let sent: Value = serde_json::from_slice(frames[0].data.as_slice()).unwrap();
    assert_eq!(
        sent,
        json!({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker", "btcusdt@trade", "ethbtc@trade"], "id": 1})
    );
    // The same keys as the documented request.
    let doc = lines("ws_control.jsonl").remove(0).fields["msg"].clone();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&sent), keys(&doc));
    let frames = v.unsubscribe(ConnId(1), &topics[2..], 0).unwrap();
    let sent: Value = serde_json::from_slice(frames[0].data.as_slice()).unwrap();
    assert_eq!(
        sent,
        json!({"method": "UNSUBSCRIBE", "params": ["ethbtc@trade"], "id": 2})
    );
    // A kind the venue plugin does not serve, or a malformed symbol, is refused.
    let depth = v.subscribe(ConnId(1), &[topic(StreamKind::Depth, "BTC/USDT")], 0);
    assert_eq!(depth.unwrap_err().kind, ErrorKind::Unsupported);
    let bad = v.subscribe(ConnId(1), &[topic(StreamKind::Trades, "btc/usdt")], 0);
    assert_eq!(bad.unwrap_err().kind, ErrorKind::Unsupported);
    assert!(v.subscribe(ConnId(1), &[], 0).unwrap().is_empty());
}

#[test]
fn symbols_map_both_ways_and_settings_limit_them() {
    let v = with_settings("{}").unwrap();
    let i = v.resolve("BTC/USDT").unwrap();
    assert_eq!(
        (i.symbol.as_str(), i.venue_symbol.as_str()),
        ("BTC/USDT", "btcusdt")
    );
    for bad in [
        "BTCUSDT",
        "btc/usdt",
        "/USDT",
        "BTC/",
        "BTC/US/DT",
        "BTC_USDT",
    ] {
        assert!(v.resolve(bad).is_none(), "{bad}");
    }
    let only = with_settings(r#"{"symbols":["ETH/USDT"]}"#).unwrap();
    assert!(only.resolve("BTC/USDT").is_none());
    assert!(only.resolve("ETH/USDT").is_some());
}

#[test]
fn bad_settings_name_the_key_and_never_the_value() {
    let d = with_settings("").unwrap().describe();
    assert_eq!(
        d.connections[0].url.as_str(),
        "wss://stream.binance.com:9443/ws"
    );
    let cases = [
        (r#"{"ws_url":"http://x"}"#, "`ws_url`"),
        (r#"{"ws_url":5}"#, "`ws_url`"),
        (r#"{"symbols":"BTC/USDT"}"#, "`symbols`"),
        (r#"{"symbols":["BTCUSDT"]}"#, "`symbols[0]`"),
        (r#"{"api_key":"hunter2"}"#, "`api_key`"),
        (r#"{"credentials":{"api_key":"hunter2"}}"#, "`credentials`"),
        ("[1]", "JSON object"),
    ];
    for (json, key) in cases {
        let e = with_settings(json).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.contains(key), "{json}: {}", e.message);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }
}

#[test]
fn the_descriptor_keeps_within_the_venue_rules() {
    let d = with_settings(r#"{"ws_url":"ws://127.0.0.1:1/ws"}"#)
        .unwrap()
        .describe();
    assert_eq!(d.venue.as_str(), "binance");
    assert!(!d.trading);
    assert_eq!(d.streams.as_slice(), binance_plugin::KINDS);
    let c = &d.connections[0];
    assert_eq!(c.url.as_str(), "ws://127.0.0.1:1/ws");
    assert_eq!(c.max_subscriptions, 1024);
    // Under 5 incoming messages a second, with room for a pong.
    assert!(c.max_outbound_per_sec > 0 && c.max_outbound_per_sec < 5);
    // Rotated before the venue's 24 h; pings every 20 s keep it from looking stale.
    assert!(c.max_lifetime_ms > 0 && c.max_lifetime_ms < 24 * 3_600_000);
    assert!(c.stale_after_ms > 20_000);
    let names: Vec<&str> = d.resources.iter().map(|r| r.name.as_str()).collect();
    assert!(
        names.contains(&kit::PUBLIC) && names.contains(&kit::STREAMS),
        "{names:?}"
    );
}
