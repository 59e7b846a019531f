//! describe(), resolve(), subscribe frames, heartbeat and the settings contract.

mod common;

use std::collections::HashSet;

use common::*;
use gateio_plugin::config::Settings;
use gateio_plugin::GateioVenue;
use plugin_api::{ConnId, Instrument, ResourceKind, StreamKind, Topic, Venue, VenueConfig};

#[test]
fn descriptor_is_complete_and_consistent() {
    let d = venue_with_creds().describe();
    assert_eq!(d.venue.as_str(), "gateio");
    assert!(d.trading);
    assert_eq!(d.streams.len(), 6);
    let names: HashSet<&str> = d.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), d.resources.len(), "unique names");
    for c in d.connections.iter() {
        assert!(names.contains(c.name.as_str()), "{}", c.name);
        assert_eq!((c.heartbeat_ms, c.stale_after_ms), (10_000, 30_000));
        assert_eq!(c.url.as_str(), "wss://api.gateio.ws/ws/v4/");
    }
    let rest = d.rest.clone().unwrap();
    assert_eq!(rest.base_url.as_str(), "https://api.gateio.ws");
    assert!(names.contains(rest.name.as_str()));
    for l in d.rate_limits.iter() {
        assert!(names.contains(l.name.as_str()), "{}", l.name);
    }
    let lim = |n: &str| {
        d.rate_limits
            .iter()
            .find(|l| l.name.as_str() == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            lim("orders").capacity,
            lim("orders").window_ms,
            lim("orders").per_instrument
        ),
        (10, 1000, true)
    );
    assert_eq!(
        (lim("cancel").capacity, lim("cancel").window_ms),
        (200, 1000)
    );
    assert_eq!(
        (lim("public-rest").capacity, lim("public-rest").window_ms),
        (200, 10_000)
    );
    assert_eq!(
        (lim("private-rest").capacity, lim("private-rest").window_ms),
        (200, 10_000)
    );
    for r in d.resources.iter() {
        for dep in r.depends_on.iter() {
            assert!(names.contains(dep.as_str()), "{} -> {dep}", r.name);
        }
    }
    let res = |n: &str| {
        d.resources
            .iter()
            .find(|r| r.name.as_str() == n)
            .unwrap()
            .clone()
    };
    assert_eq!(res("md-queue").kind, ResourceKind::MessageQueue);
    assert!(res("public")
        .depends_on
        .iter()
        .any(|x| x.as_str() == "md-queue"));
    assert!(res("private")
        .depends_on
        .iter()
        .any(|x| x.as_str() == "rest"));
    assert!(res("private").stop_priority < res("public").stop_priority);
    assert!(res("rest")
        .depends_on
        .iter()
        .any(|x| x.as_str() == "orders"));
    // Without credentials there is nothing private to offer.
    let public = venue().describe();
    assert!(!public.trading);
    assert!(public.streams.iter().all(|k| !k.is_private()));
}

#[test]
fn resolve_and_settings() {
    let v = venue();
    let i = v.resolve("BTC/USDT").unwrap();
    assert_eq!(i.venue_symbol.as_str(), "BTC_USDT");
    assert!(v.resolve("BTCUSDT").is_none());
    let only = GateioVenue::new(Settings::from_json(r#"{"symbols":["ETH/USDT"]}"#).unwrap());
    assert!(only.resolve("BTC/USDT").is_none() && only.resolve("ETH/USDT").is_some());
    let cfg = VenueConfig {
        name: "g".into(),
        settings_json: r#"{"credentials":{"api_key":"AK","api_secret":"SK"},"x":1}"#.into(),
    };
    let err = GateioVenue::from_config(&cfg).unwrap_err();
    assert!(
        err.message.contains("`x`") && !err.message.contains("SK"),
        "{}",
        err.message
    );
    let ok = GateioVenue::from_config(&VenueConfig {
        name: "g".into(),
        settings_json: r#"{"credentials":{"api_key":"AK","api_secret":"SK"}}"#.into(),
    })
    .unwrap();
    let dbg = format!("{ok:?}");
    assert!(!dbg.contains("\"AK\"") && !dbg.contains("\"SK\""), "{dbg}");
}

#[test]
fn subscribe_frames_and_heartbeat() {
    let mut v = venue();
    v.on_connected(ConnId(1), "public").unwrap();
    let t = |kind, sym: &str| Topic {
        kind,
        instrument: Instrument::new(sym, "").unwrap(),
    };
    let frames = v
        .subscribe(
            ConnId(1),
            &[
                t(StreamKind::BookTicker, "BTC/USDT"),
                t(StreamKind::BookTicker, "ETH/USDT"),
                t(StreamKind::Depth, "BTC/USDT"),
                t(StreamKind::Trades, "BTC/USDT"),
            ],
            1_611_541_000_123,
        )
        .unwrap();
    let texts: Vec<serde_json::Value> = frames
        .iter()
        .map(|f| serde_json::from_slice(f.data.as_slice()).unwrap())
        .collect();
    assert_eq!(texts[0]["channel"], "spot.book_ticker");
    assert_eq!(
        texts[0]["payload"],
        serde_json::json!(["BTC_USDT", "ETH_USDT"])
    );
    assert_eq!(texts[1]["channel"], "spot.trades");
    assert_eq!(texts[2]["channel"], "spot.order_book_update");
    assert_eq!(
        texts[2]["payload"],
        serde_json::json!(["BTC_USDT", "100ms"])
    );
    assert!(texts
        .iter()
        .all(|f| f["event"] == "subscribe" && f["time"] == 1611541000));
    let hb = v.heartbeat(ConnId(1), 1_700_000_000_123).unwrap().unwrap();
    assert_eq!(
        hb.data.as_slice(),
        br#"{"time":1700000000,"channel":"spot.ping"}"#
    );
    assert!(
        v.subscribe(ConnId(1), &[t(StreamKind::Orders, "BTC/USDT")], 0)
            .is_err(),
        "no credentials"
    );
    let un = v
        .unsubscribe(
            ConnId(1),
            &[t(StreamKind::Depth, "BTC/USDT")],
            1_700_000_005_000,
        )
        .unwrap();
    let un: serde_json::Value = serde_json::from_slice(un[0].data.as_slice()).unwrap();
    // Frames are stamped with the time the host passes, in seconds.
    assert_eq!(
        (un["event"].as_str(), un["time"].as_u64()),
        (Some("unsubscribe"), Some(1_700_000_005))
    );
}

#[test]
fn private_connect_reconciles_balances_and_orders() {
    let mut v = venue_with_creds();
    let out = v.on_connected(ConnId(3), "private").unwrap();
    let reqs = rest_requests(&out);
    assert_eq!(reqs.len(), 2);
    assert!(reqs
        .iter()
        .all(|r| r.signed && r.limit_group.as_str() == "private-rest"));
    let docs = jsonl("samples/doc_rest_examples.jsonl");
    let accounts = docs
        .iter()
        .find(|d| {
            d["section"]
                .as_str()
                .unwrap()
                .starts_with("GET /spot/accounts")
        })
        .unwrap();
    let out = respond(&mut v, reqs[0].tag, 200, &accounts["json"].to_string());
    assert!(matches!(&out.events[0], plugin_api::Event::Balance(b) if b.asset.as_str() == "ETH"));
    let out = respond(&mut v, 12345, 200, "[]");
    assert_eq!(out.rejects[0].reason.as_str(), "unknown_tag");
}

/// A wrong key or secret is an error of the call that learns it (the host logs it and shows
/// it as the instance's last error) naming the keys to check; an order gets `Rejected`.
#[test]
fn refused_credentials_are_reported_naming_the_keys() {
    use plugin_api::{Event, NewOrder, Num, OrderStatus, OrderType, Side};
    let refused = |e: plugin_api::PluginError| {
        assert_eq!(e.kind, plugin_api::ErrorKind::Config);
        assert!(
            e.message.contains("`credentials.api_key`")
                && e.message.contains("`credentials.api_secret`")
                && !e.message.contains("secret\""),
            "{}",
            e.message
        );
        e.message.to_string()
    };
    let mut v = venue_with_creds();
    // The private channel's auth is refused.
    let e = v
        .on_frame(
            ConnId(3),
            plugin_api::InFrame {
                kind: plugin_api::FrameKind::Text,
                data: br#"{"time":1,"id":4,"channel":"spot.orders","event":"subscribe","error":{"code":4,"message":"Authentication fail"},"result":{"status":"fail"}}"#.as_slice().into(),
            },
            1,
        )
        .unwrap_err();
    assert!(refused(e).contains("spot.orders"));
    // The reconciliation after a private connect is refused.
    let out = v.on_connected(ConnId(3), "private").unwrap();
    let tag = rest_requests(&out)[0].tag;
    let e = v
        .on_rest_response(
            plugin_api::RestResponse {
                tag,
                status: 401,
                body: r#"{"label":"INVALID_SIGNATURE","message":"Invalid signature"}"#.into(),
                error: "".into(),
            },
            1,
        )
        .unwrap_err();
    assert!(refused(e).contains("INVALID_SIGNATURE"));
    // A clock far off is not a credentials problem.
    let tag = rest_requests(&out)[1].tag;
    let out = respond(
        &mut v,
        tag,
        401,
        r#"{"label":"REQUEST_EXPIRED","message":"x"}"#,
    );
    assert_eq!(out.rejects[0].reason.as_str(), "rest_failed");
    // An order: Rejected, with the reason counted as `credentials_refused`.
    let order = NewOrder {
        instrument: v.resolve("BTC/USDT").unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse("1").unwrap(),
        qty: Num::parse("0.01").unwrap(),
        quote_qty: Num::ZERO,
        client_id: "c1".into(),
    };
    v.place_order(&order, 5).unwrap();
    let out = respond(
        &mut v,
        5,
        401,
        r#"{"label":"INVALID_KEY","message":"Invalid API Key"}"#,
    );
    assert!(matches!(&out.events[0], Event::Order(o) if o.status == OrderStatus::Rejected));
    assert_eq!(out.rejects[0].reason.as_str(), "credentials_refused");
}
