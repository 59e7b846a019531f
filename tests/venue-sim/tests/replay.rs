//! Every real captured frame in the fixtures comes back through a websocket client unchanged
//! except for its timestamps: JSON byte for byte outside the timestamp digits, protobuf field
//! for field.

mod common;

use std::collections::BTreeMap;

use common::*;
use prost::Message as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use venue_sim::mexc::proto::push_data_v3_api_wrapper::Body;
use venue_sim::mexc::proto::PushDataV3ApiWrapper;
use venue_sim::{Source, Venue};

/// Timestamp keys as documented in `venue_sim::replay` (restated here, not imported).
const TS_KEYS: &[&str] = &[
    "time",
    "time_ms",
    "t",
    "E",
    "create_time",
    "create_time_ms",
    "current",
    "update",
];

/// Byte ranges of the integer digits of timestamp values, found independently of the library.
fn ts_ranges(s: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for k in TS_KEYS {
        let pat = format!("\"{k}\":");
        let mut from = 0;
        while let Some(p) = s[from..].find(&pat) {
            let mut v = from + p + pat.len();
            from = v;
            if s.as_bytes().get(v) == Some(&b'"') {
                v += 1;
            }
            let n = s[v..].bytes().take_while(u8::is_ascii_digit).count();
            if n == 10 || n == 13 {
                out.push(v..v + n);
            }
        }
    }
    out
}

/// JSON with every timestamp value replaced by 0.
fn normalised(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let is_ts = TS_KEYS.contains(&k.as_str())
                        && match x {
                            Value::Number(n) => {
                                n.to_string().len() == 10 || n.to_string().len() == 13
                            }
                            Value::String(s) => s.split('.').next().is_some_and(|i| {
                                (i.len() == 10 || i.len() == 13)
                                    && i.bytes().all(|b| b.is_ascii_digit())
                            }),
                            _ => false,
                        };
                    (
                        k.clone(),
                        if is_ts { Value::from(0) } else { normalised(x) },
                    )
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalised).collect()),
        x => x.clone(),
    }
}

/// Check a replayed JSON frame against the captured one; returns the shift in ms of its first
/// timestamp.
fn check_json(got: &str, want: &str) -> i64 {
    let (g, w): (Value, Value) = (
        serde_json::from_str(got).unwrap(),
        serde_json::from_str(want).unwrap(),
    );
    assert_eq!(
        normalised(&g),
        normalised(&w),
        "frames differ beyond timestamps:\n{got}\n{want}"
    );
    assert_eq!(got.len(), want.len());
    let ranges = ts_ranges(want);
    for (i, (a, b)) in got.bytes().zip(want.bytes()).enumerate() {
        if a != b {
            assert!(
                ranges.iter().any(|r| r.contains(&i)),
                "byte {i} differs outside a timestamp:\n{got}\n{want}"
            );
        }
    }
    let r = ranges.iter().min_by_key(|r| r.start).expect("a timestamp");
    let (g, w): (i64, i64) = (
        got[r.clone()].parse().unwrap(),
        want[r.clone()].parse().unwrap(),
    );
    if r.len() == 10 {
        (g - w) * 1000
    } else {
        g - w
    }
}

fn gate_expected() -> BTreeMap<(String, String), Vec<String>> {
    let files = [
        "cryptofeed_2021-04-22/ws_spot_order_book_update.jsonl",
        "cryptofeed_2021-04-22/ws_spot_trades.jsonl",
        "cryptofeed_2021-04-22/ws_spot_tickers.jsonl",
        "cryptofeed_2021-04-22/ws_spot_candlesticks.jsonl",
        "crypto-msg-parser_2022/ws_spot_frames.jsonl",
        "tardis-node_tests/ws_spot_frames.jsonl",
    ];
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for f in files {
        for line in fixture(&format!("gateio/captures/{f}")).lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let raw = if v.get("raw").is_some() {
                if v["dir"] != "in" {
                    continue;
                }
                // The exact text of the "raw" member as stored in the line.
                let start = line.find("\"raw\":").unwrap() + 6;
                line[start..line.len() - 1].to_owned()
            } else {
                line.to_owned()
            };
            let frame: Value = serde_json::from_str(&raw).unwrap();
            if frame["event"] != "update" {
                continue;
            }
            let r = &frame["result"];
            let key = r["s"]
                .as_str()
                .or(r["currency_pair"].as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    r["n"]
                        .as_str()
                        .unwrap()
                        .split_once('_')
                        .unwrap()
                        .1
                        .to_owned()
                });
            out.entry((frame["channel"].as_str().unwrap().to_owned(), key))
                .or_default()
                .push(raw);
        }
    }
    out
}

#[tokio::test]
async fn gate_replay_reproduces_every_captured_frame() {
    let expected = gate_expected();
    let total: usize = expected.values().map(Vec::len).sum();
    assert!(total > 200, "{total}");
    let mut cfg = config(Venue::Gateio, Source::Replay);
    cfg.rate = 20_000;
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    for (i, (channel, key)) in expected.keys().enumerate() {
        let payload = match channel.as_str() {
            "spot.order_book_update" => serde_json::json!([key, "100ms"]),
            "spot.candlesticks" => serde_json::json!(["1m", key]),
            _ => serde_json::json!([key]),
        };
        let req = serde_json::json!({"time": now_ms() / 1000, "id": i, "channel": channel, "event": "subscribe", "payload": payload});
        send(&mut ws, req.to_string()).await;
    }
    let mut got: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut acks = 0;
    let mut n = 0;
    while n < total || acks < expected.len() {
        let Some(Ok(Message::Text(t))) = next(&mut ws).await else {
            panic!("connection ended")
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["event"] == "subscribe" {
            assert_eq!(v["error"], Value::Null, "{v}");
            assert_eq!(v["result"]["status"], "success");
            acks += 1;
            continue;
        }
        let r = &v["result"];
        let key = r["s"]
            .as_str()
            .or(r["currency_pair"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                r["n"]
                    .as_str()
                    .unwrap()
                    .split_once('_')
                    .unwrap()
                    .1
                    .to_owned()
            });
        got.entry((v["channel"].as_str().unwrap().to_owned(), key))
            .or_default()
            .push(t.to_string());
        n += 1;
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (topic, want) in &expected {
        let have = &got[topic];
        assert_eq!(have.len(), want.len(), "{topic:?}");
        let shifts: Vec<i64> = have
            .iter()
            .zip(want)
            .map(|(g, w)| check_json(g, w))
            .collect();
        // One shift per stream, a whole number of seconds, bringing the first frame to now.
        assert!(
            shifts.iter().all(|s| *s == shifts[0]),
            "{topic:?}: {shifts:?}"
        );
        assert_eq!(shifts[0] % 1000, 0);
    }
    // The first order-book frame carries "time" close to now.
    let first: Value =
        serde_json::from_str(&got[&("spot.order_book_update".into(), "HAI_ETH".into())][0])
            .unwrap();
    assert!((first["time"].as_i64().unwrap() - now_ms() / 1000).abs() < 30);
    sim.shutdown().await;
}

#[tokio::test]
async fn gate_replay_serves_the_captured_rest_snapshots() {
    let sim = start(config(Venue::Gateio, Source::Replay)).await;
    for line in
        fixture("gateio/captures/cryptofeed_2021-04-22/rest_spot_order_book_with_id.jsonl").lines()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        let url = v["url"].as_str().unwrap();
        let pq = &url[url.find("/api/v4").unwrap()..];
        let r = http(sim.local_addr(), "GET", pq, &[], "").await;
        assert_eq!(r.status, 200);
        let start = line.find("\"body\":").unwrap() + 7;
        assert_eq!(
            std::str::from_utf8(&r.body).unwrap(),
            &line[start..line.len() - 1]
        );
    }
    sim.shutdown().await;
}

/// The wrapper's own timestamp.
fn stamp(m: &PushDataV3ApiWrapper) -> i64 {
    m.send_time.or(m.create_time).expect("a wrapper timestamp")
}

/// Undo a replay shift on the timestamp fields of a MEXC push.
fn unshift(m: &mut PushDataV3ApiWrapper, d: i64) {
    for t in [&mut m.create_time, &mut m.send_time].into_iter().flatten() {
        *t -= d;
    }
    match m.body.as_mut().unwrap() {
        Body::PublicAggreDeals(x) => x.deals.iter_mut().for_each(|i| i.time -= d),
        Body::PublicAggreBookTicker(x) => x.last_order_create_time -= d,
        Body::PublicLimitDepths(x) => x.last_order_create_time -= d,
        Body::PublicSpotKline(k) => {
            k.window_start -= d / 1000;
            k.window_end -= d / 1000;
        }
        other => panic!("unexpected body {other:?}"),
    }
}

#[tokio::test]
async fn mexc_replay_reproduces_protobuf_and_legacy_json_frames() {
    let mut pb: BTreeMap<String, Vec<PushDataV3ApiWrapper>> = BTreeMap::new();
    for line in fixture("mexc/samples/ws_pb_frames.jsonl").lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let m = PushDataV3ApiWrapper::decode(
            hex::decode(v["hex"].as_str().unwrap()).unwrap().as_slice(),
        )
        .unwrap();
        pb.entry(m.channel.clone()).or_default().push(m);
    }
    let mut legacy: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in
        fixture("mexc/captures/hftbacktest_2025-01-12_legacy_json/ws_legacy_json_SOLUSDT.jsonl")
            .lines()
    {
        let start = line.find("\"raw\":").unwrap() + 6;
        let raw = line[start..line.len() - 1].to_owned();
        let c = serde_json::from_str::<Value>(&raw).unwrap()["c"]
            .as_str()
            .unwrap()
            .to_owned();
        legacy.entry(c).or_default().push(raw);
    }
    let mut cfg = config(Venue::Mexc, Source::Replay);
    cfg.rate = 10_000;
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    let channels: Vec<&String> = pb.keys().chain(legacy.keys()).collect();
    send(
        &mut ws,
        serde_json::json!({"method": "SUBSCRIPTION", "params": channels}).to_string(),
    )
    .await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["code"], 0);
    assert_eq!(
        ack["msg"].as_str().unwrap().split(',').count(),
        channels.len()
    );
    let total: usize =
        pb.values().map(Vec::len).sum::<usize>() + legacy.values().map(Vec::len).sum::<usize>();
    let mut got_pb: BTreeMap<String, Vec<PushDataV3ApiWrapper>> = BTreeMap::new();
    let mut got_json: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for _ in 0..total {
        match next(&mut ws).await {
            Some(Ok(Message::Binary(b))) => {
                let m = PushDataV3ApiWrapper::decode(b.as_ref()).unwrap();
                got_pb.entry(m.channel.clone()).or_default().push(m);
            }
            Some(Ok(Message::Text(t))) => {
                let c = serde_json::from_str::<Value>(&t).unwrap()["c"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                got_json.entry(c).or_default().push(t.to_string());
            }
            other => panic!("{other:?}"),
        }
    }
    for (c, want) in &pb {
        let have = &got_pb[c];
        assert_eq!(have.len(), want.len());
        // The stream's first frame is stamped now; later ones keep their captured spacing.
        assert!((stamp(&have[0]) - now_ms()).abs() < 30_000);
        let d0 = stamp(&have[0]) - stamp(&want[0]);
        for (h, w) in have.iter().zip(want) {
            let d = stamp(h) - stamp(w);
            assert_eq!((d % 1000, d), (0, d0));
            let mut h = h.clone();
            unshift(&mut h, d);
            assert_eq!(&h, w, "{c}");
        }
    }
    for (c, want) in &legacy {
        let have = &got_json[c];
        assert_eq!(have.len(), want.len());
        for (h, w) in have.iter().zip(want) {
            check_json(h, w);
        }
    }
    sim.shutdown().await;
}
