//! The vendored MEXC fixtures, table-driven: real protobuf frames against their decoded
//! expectations, control frames, legacy JSON captures and the verified signing vectors.

use abi_stable::std_types::RSlice;
use mexc_plugin::control::{classify, Control, Method};
use mexc_plugin::{config::Settings, sign, Mexc};
use plugin_api::{ConnId, Event, FrameKind, InFrame, Level, Num, Output, Side, Venue};
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/venues/mexc"
);
const RECEIVED_NS: u64 = 1_790_281_250_000_000_000;

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{rel}")).unwrap()
}

fn jsonl(rel: &str) -> Vec<Value> {
    read(rel)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn venue() -> Mexc {
    Mexc::new(
        Settings::parse(r#"{"symbols":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT"}]}"#)
            .unwrap(),
    )
    .unwrap()
}

fn feed(v: &mut Mexc, kind: FrameKind, data: &[u8]) -> Output {
    let frame = InFrame {
        kind,
        data: RSlice::from_slice(data),
    };
    v.on_frame(ConnId(1), frame, RECEIVED_NS).unwrap()
}

fn num(v: &Value) -> Num {
    Num::parse(v.as_str().unwrap()).unwrap()
}

fn int(v: &Value) -> u64 {
    v.as_str().unwrap().parse().unwrap()
}

fn assert_levels(levels: &[Level], expected: &Value) {
    let expected = expected.as_array().unwrap();
    assert_eq!(levels.len(), expected.len());
    for (l, e) in levels.iter().zip(expected) {
        assert_eq!(l.price, num(&e["price"]));
        assert_eq!(l.qty, num(&e["quantity"]));
    }
}

#[test]
fn real_protobuf_frames_decode_to_expected_events() {
    let frames = jsonl("samples/ws_pb_frames.jsonl");
    assert_eq!(frames.len(), 6);
    let mut checked = 0;
    for f in &frames {
        let name = f["name"].as_str().unwrap();
        let bytes = std::fs::read(format!("{FIXTURES}/samples/pb/{name}.bin")).unwrap();
        assert_eq!(hex::encode(&bytes), f["hex"].as_str().unwrap(), "{name}");
        let d = &f["decoded_MessageToDict"];
        let ts = int(d.get("sendTime").or(d.get("createTime")).unwrap());
        let out = feed(&mut venue(), FrameKind::Binary, &bytes);
        match f["oneof_body"].as_str().unwrap() {
            "publicAggreBookTicker" => {
                let b = &d["publicAggreBookTicker"];
                let [Event::BookTicker(t)] = out.events.as_slice() else {
                    panic!("{name}: {out:?}")
                };
                assert_eq!(t.instrument.symbol.as_str(), "BTC/USDT");
                assert_eq!(t.instrument.venue_symbol.as_str(), "BTCUSDT");
                assert_eq!(t.bid_price, num(&b["bidPrice"]));
                assert_eq!(t.bid_qty, num(&b["bidQuantity"]));
                assert_eq!(t.ask_price, num(&b["askPrice"]));
                assert_eq!(t.ask_qty, num(&b["askQuantity"]));
                assert_eq!(t.ask_price.to_string(), b["askPrice"].as_str().unwrap());
                assert_eq!(t.update_id, int(&b["version"]));
                assert_eq!(
                    (t.stamp.venue_ts_ms, t.stamp.received_ns),
                    (ts, RECEIVED_NS)
                );
            }
            "publicAggreDeals" => {
                let deals = d["publicAggreDeals"]["deals"].as_array().unwrap();
                assert_eq!(out.events.len(), deals.len(), "{name}");
                for (e, deal) in out.events.iter().zip(deals) {
                    let Event::Trade(t) = e else {
                        panic!("{name}: {e:?}")
                    };
                    assert_eq!(t.instrument.symbol.as_str(), "BTC/USDT");
                    assert_eq!(t.price, num(&deal["price"]));
                    assert_eq!(t.qty, num(&deal["quantity"]));
                    assert_eq!(t.qty.to_string(), deal["quantity"].as_str().unwrap());
                    let side = if deal["tradeType"] == 1 {
                        Side::Buy
                    } else {
                        Side::Sell
                    };
                    assert_eq!(t.side, side);
                    assert_eq!(t.trade_id.as_str(), deal["tradeId"].as_str().unwrap());
                    assert_eq!(t.stamp.venue_ts_ms, ts);
                }
            }
            "publicLimitDepths" => {
                let b = &d["publicLimitDepths"];
                let [Event::Depth(u)] = out.events.as_slice() else {
                    panic!("{name}: {out:?}")
                };
                assert!(u.snapshot);
                assert_eq!(
                    (u.first_id, u.last_id),
                    (int(&b["version"]), int(&b["version"]))
                );
                assert_levels(&u.bids, &b["bids"]);
                assert_levels(&u.asks, &b["asks"]);
                assert_eq!(u.stamp.venue_ts_ms, ts);
            }
            "publicSpotKline" => {
                assert!(out.events.is_empty());
                assert_eq!(out.rejects.len(), 1);
                assert_eq!(out.rejects[0].reason.as_str(), "unsupported_channel");
            }
            other => panic!("unexpected body {other}"),
        }
        if f["oneof_body"] != "publicSpotKline" {
            assert!(out.rejects.is_empty(), "{name}: {:?}", out.rejects);
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn unknown_symbol_is_rejected_not_guessed() {
    let bytes = std::fs::read(format!("{FIXTURES}/samples/pb/A_bookTicker_100ms.bin")).unwrap();
    let mut v = Mexc::new(Settings::default()).unwrap();
    let out = feed(&mut v, FrameKind::Binary, &bytes);
    assert!(out.events.is_empty());
    assert_eq!(out.rejects[0].reason.as_str(), "unknown_symbol");
}

#[test]
fn control_frames_are_classified() {
    let lines = jsonl("samples/ws_control.jsonl");
    assert_eq!(lines.len(), 9);
    for line in &lines {
        let text = match (&line["msg"], &line["raw"]) {
            (Value::Null, Value::String(raw)) => raw.clone(),
            (msg, _) => msg.to_string(),
        };
        let got = classify(text.as_bytes()).unwrap();
        let kind = line["kind"].as_str().unwrap();
        let ok = match kind {
            "subscribe" => {
                matches!(&got, Control::Request { method: Method::Subscription, params } if params.len() == 1)
            }
            "unsubscribe" => matches!(
                &got,
                Control::Request {
                    method: Method::Unsubscription,
                    ..
                }
            ),
            "ping" => matches!(
                &got,
                Control::Request {
                    method: Method::Ping,
                    ..
                }
            ),
            "subscribe_ack" | "unsubscribe_ack" => {
                matches!(&got, Control::Ack { channel } if channel.starts_with("spot@"))
            }
            "pong" => got == Control::Pong,
            other => panic!("unknown kind {other}"),
        };
        assert!(ok, "{kind}: {got:?} from {text}");
        // Through the venue: acks and PONGs are consumed silently.
        if line["dir"] == "in" {
            let out = feed(&mut venue(), FrameKind::Text, text.as_bytes());
            assert!(out.is_empty(), "{text}: {out:?}");
        }
    }
}

#[test]
fn legacy_json_captures_are_unsupported_format() {
    let lines = jsonl("captures/hftbacktest_2025-01-12_legacy_json/ws_legacy_json_SOLUSDT.jsonl");
    assert_eq!(lines.len(), 7);
    let mut v = venue();
    for line in &lines {
        let text = line["raw"].to_string();
        let out = feed(&mut v, FrameKind::Text, text.as_bytes());
        assert!(out.events.is_empty() && out.actions.is_empty(), "{out:?}");
        assert_eq!(out.rejects.len(), 1);
        assert_eq!(out.rejects[0].reason.as_str(), "unsupported_format");
        assert!(out.rejects[0].detail.contains("SOLUSDT"));
        // The same bytes in a binary frame are not a protobuf push either.
        let out = feed(&mut v, FrameKind::Binary, text.as_bytes());
        assert!(out.events.is_empty());
        assert_eq!(out.rejects.len(), 1, "{out:?}");
    }
}

#[test]
fn doc_ws_examples_never_panic_and_never_emit_events() {
    let mut v = venue();
    for line in jsonl("samples/doc_ws_examples.jsonl") {
        let text = match (&line["json"], &line["text"]) {
            (Value::Null, Value::String(t)) => t.clone(),
            (json, _) => json.to_string(),
        };
        let out = feed(&mut v, FrameKind::Text, text.as_bytes());
        assert!(out.events.is_empty(), "{text}");
    }
}

#[test]
fn signing_vectors_reproduce() {
    let doc: Value = serde_json::from_str(&read("rest_signature_vectors.json")).unwrap();
    let secret = doc["secretKey"].as_str().unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    for v in vectors {
        let query = v["queryString"].as_str().unwrap();
        let body = v["requestBody"].as_str().unwrap();
        assert_eq!(format!("{query}{body}"), v["totalParams"].as_str().unwrap());
        assert_eq!(
            sign::signature(secret, query, body),
            v["expected_signature"].as_str().unwrap()
        );
    }
    // The doc's Example 1 output is wrong: it must not be what we produce.
    let q = vectors[0]["queryString"].as_str().unwrap();
    assert_ne!(
        sign::signature(secret, q, ""),
        "323c96ab85a745712e95e63cad28903dd8292e4a905e99c4ee3932023843a117"
    );
}

#[test]
fn oversize_frames_are_rejected_unread() {
    let mut v = venue();
    let big = vec![0x0a; (1 << 20) + 1];
    let out = feed(&mut v, FrameKind::Binary, &big);
    assert_eq!(out.rejects[0].reason.as_str(), "oversize");
    let out = feed(&mut v, FrameKind::Text, &big);
    assert_eq!(out.rejects[0].reason.as_str(), "oversize");
}
