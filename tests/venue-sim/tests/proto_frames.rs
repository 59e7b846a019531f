//! The prost types in `venue_sim::mexc::proto` decode every captured MEXC frame, re-encode it
//! byte for byte, and agree field for field with the reference decoding (`decoded_MessageToDict`).

mod common;

use prost::Message;
use serde_json::{json, Map, Value};
use venue_sim::mexc::proto::push_data_v3_api_wrapper::Body;
use venue_sim::mexc::proto::*;

/// Insert `v` under `k` unless it is the proto3 default (MessageToDict omits defaults).
fn put(m: &mut Map<String, Value>, k: &str, v: Value) {
    let default = matches!(&v, Value::String(s) if s.is_empty() || s == "0")
        || v == json!(0)
        || v == json!(false)
        || v == json!([]);
    if !default {
        m.insert(k.into(), v);
    }
}

/// MessageToDict of a wrapper (only the bodies present in the captures).
fn to_dict(w: &PushDataV3ApiWrapper) -> Value {
    let mut m = Map::new();
    put(&mut m, "channel", json!(w.channel));
    if let Some(s) = &w.symbol {
        m.insert("symbol".into(), json!(s));
    }
    if let Some(s) = &w.symbol_id {
        m.insert("symbolId".into(), json!(s));
    }
    if let Some(t) = w.create_time {
        m.insert("createTime".into(), json!(t.to_string()));
    }
    if let Some(t) = w.send_time {
        m.insert("sendTime".into(), json!(t.to_string()));
    }
    let (name, body) = match w.body.as_ref().expect("body") {
        Body::PublicAggreBookTicker(b) => {
            let mut o = Map::new();
            put(&mut o, "bidPrice", json!(b.bid_price));
            put(&mut o, "bidQuantity", json!(b.bid_quantity));
            put(&mut o, "askPrice", json!(b.ask_price));
            put(&mut o, "askQuantity", json!(b.ask_quantity));
            put(&mut o, "version", json!(b.version));
            put(
                &mut o,
                "lastOrderCreateTime",
                json!(b.last_order_create_time.to_string()),
            );
            ("publicAggreBookTicker", o)
        }
        Body::PublicAggreDeals(d) => {
            let mut o = Map::new();
            let deals: Vec<Value> = d
                .deals
                .iter()
                .map(|x| {
                    let mut i = Map::new();
                    put(&mut i, "price", json!(x.price));
                    put(&mut i, "quantity", json!(x.quantity));
                    put(&mut i, "tradeType", json!(x.trade_type));
                    put(&mut i, "time", json!(x.time.to_string()));
                    put(&mut i, "tradeId", json!(x.trade_id));
                    Value::Object(i)
                })
                .collect();
            put(&mut o, "deals", json!(deals));
            put(&mut o, "eventType", json!(d.event_type));
            ("publicAggreDeals", o)
        }
        Body::PublicLimitDepths(d) => {
            let mut o = Map::new();
            let lv = |v: &[PublicLimitDepthV3ApiItem]| -> Value {
                v.iter()
                    .map(|x| json!({"price": x.price, "quantity": x.quantity}))
                    .collect()
            };
            put(&mut o, "asks", lv(&d.asks));
            put(&mut o, "bids", lv(&d.bids));
            put(&mut o, "eventType", json!(d.event_type));
            put(&mut o, "version", json!(d.version));
            put(
                &mut o,
                "lastOrderCreateTime",
                json!(d.last_order_create_time.to_string()),
            );
            ("publicLimitDepths", o)
        }
        Body::PublicSpotKline(k) => {
            let mut o = Map::new();
            put(&mut o, "interval", json!(k.interval));
            put(&mut o, "windowStart", json!(k.window_start.to_string()));
            put(&mut o, "openingPrice", json!(k.opening_price));
            put(&mut o, "closingPrice", json!(k.closing_price));
            put(&mut o, "highestPrice", json!(k.highest_price));
            put(&mut o, "lowestPrice", json!(k.lowest_price));
            put(&mut o, "volume", json!(k.volume));
            put(&mut o, "amount", json!(k.amount));
            put(&mut o, "windowEnd", json!(k.window_end.to_string()));
            ("publicSpotKline", o)
        }
        other => panic!("no dict conversion for {other:?}"),
    };
    m.insert(name.into(), Value::Object(body));
    Value::Object(m)
}

#[test]
fn every_captured_frame_round_trips_byte_for_byte() {
    let lines = common::fixture("mexc/samples/ws_pb_frames.jsonl");
    let mut n = 0;
    for line in lines.lines() {
        let rec: Value = serde_json::from_str(line).unwrap();
        let name = rec["name"].as_str().unwrap();
        let bin = std::fs::read(format!(
            "{}/../fixtures/venues/mexc/samples/pb/{name}.bin",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(
            hex::encode(&bin),
            rec["hex"].as_str().unwrap(),
            "{name}: .bin and hex differ"
        );
        let msg = PushDataV3ApiWrapper::decode(bin.as_slice()).unwrap();
        assert_eq!(msg.channel, rec["channel"].as_str().unwrap());
        assert_eq!(msg.encode_to_vec(), bin, "{name}: re-encoding differs");
        assert_eq!(
            to_dict(&msg),
            rec["decoded_MessageToDict"],
            "{name}: fields differ"
        );
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn private_bodies_round_trip_with_their_field_numbers() {
    let w = PushDataV3ApiWrapper {
        channel: "spot@private.orders.v3.api.pb".into(),
        symbol: Some("BTCUSDT".into()),
        send_time: Some(1),
        body: Some(Body::PrivateOrders(PrivateOrdersV3Api {
            id: "C02__1".into(),
            price: "1.5".into(),
            status: 1,
            last_deal_quantity: Some("0".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    let bytes = w.encode_to_vec();
    // Field 304 (privateOrders), wire type 2: key varint (304 << 3 | 2) = 0x82 0x13.
    assert!(bytes.windows(2).any(|x| x == [0x82, 0x13]));
    assert_eq!(PushDataV3ApiWrapper::decode(bytes.as_slice()).unwrap(), w);
    for (body, key) in [
        (
            Body::PrivateDeals(PrivateDealsV3Api {
                price: "1".into(),
                ..Default::default()
            }),
            [0x92u8, 0x13],
        ),
        (
            Body::PrivateAccount(PrivateAccountV3Api {
                vcoin_name: "USDT".into(),
                ..Default::default()
            }),
            [0x9a, 0x13],
        ),
        (
            Body::PublicAggreDepths(PublicAggreDepthsV3Api {
                from_version: "1".into(),
                ..Default::default()
            }),
            [0xca, 0x13],
        ),
    ] {
        let w = PushDataV3ApiWrapper {
            body: Some(body),
            ..Default::default()
        };
        let bytes = w.encode_to_vec();
        assert_eq!(&bytes[..2], &key, "{w:?}");
        assert_eq!(PushDataV3ApiWrapper::decode(bytes.as_slice()).unwrap(), w);
    }
}
