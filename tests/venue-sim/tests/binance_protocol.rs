//! Binance spot market streams: live requests and their documented answers and errors, raw
//! and combined stream URLs replaying the documented payloads before synthetic ones, server
//! pings and the close of a client that leaves one unanswered, the incoming message limit
//! and the stream limit.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use venue_sim::{SimConfig, Source, Symbol, Venue};

fn binance(source: Source, symbols: &[&str]) -> SimConfig {
    let mut cfg = config(Venue::Binance, source);
    cfg.symbols = symbols.iter().filter_map(|s| Symbol::parse(s)).collect();
    cfg
}

/// The next text frame, as sent.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        match next(ws).await {
            Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The documented payload of `stream` in the fixture file, as written there.
fn documented_text(stream: &str) -> String {
    fixture("binance/ws_market.jsonl")
        .lines()
        .find(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["src"] == "doc" && v["stream"] == stream
        })
        .and_then(|l| Some(l[l.find(r#""msg":"#)? + 6..l.len() - 1].to_owned()))
        .unwrap()
}

/// The documented payload of `stream`.
fn documented(stream: &str) -> Value {
    serde_json::from_str(&documented_text(stream)).unwrap()
}

#[tokio::test]
async fn live_requests_get_the_documented_answers_and_errors() {
    let mut cfg = binance(Source::Synthetic, &["BTC/USDT", "ETH/USDT"]);
    cfg.rate = 0;
    cfg.binance_limits.max_incoming_per_sec = 1_000;
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    let mut ask = async |req: Value| {
        send(&mut ws, req.to_string()).await;
        next_text(&mut ws).await
    };
    let sub =
        json!({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker", "ethusdt@trade"], "id": 1});
    assert_eq!(ask(sub).await, r#"{"result":null,"id":1}"#);
    let list = json!({"method": "LIST_SUBSCRIPTIONS", "id": 3});
    assert_eq!(
        ask(list.clone()).await,
        r#"{"result":["btcusdt@bookTicker","ethusdt@trade"],"id":3}"#
    );
    let unsub = json!({"method": "UNSUBSCRIBE", "params": ["ethusdt@trade"], "id": 312});
    assert_eq!(ask(unsub).await, r#"{"result":null,"id":312}"#);
    assert_eq!(
        ask(list).await,
        r#"{"result":["btcusdt@bookTicker"],"id":3}"#
    );
    // Stream names are lower case; unknown streams and symbols are refused as a whole.
    for params in [
        json!(["BTCUSDT@trade"]),
        json!(["xrpusdt@trade"]),
        json!(["btcusdt@trade", "btcusdt@nope"]),
    ] {
        let req = json!({"method": "SUBSCRIBE", "params": params, "id": 4});
        assert_eq!(
            ask(req).await,
            r#"{"code":2,"msg":"Invalid request: invalid stream","id":4}"#
        );
    }
    let get = json!({"method": "GET_PROPERTY", "params": ["combined"], "id": 2});
    assert_eq!(ask(get.clone()).await, r#"{"result":false,"id":2}"#);
    let set = json!({"method": "SET_PROPERTY", "params": ["combined", true], "id": 5});
    assert_eq!(ask(set).await, r#"{"result":null,"id":5}"#);
    assert_eq!(ask(get).await, r#"{"result":true,"id":2}"#);
    let cases = [
        (
            json!({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 6}),
            r#"{"code":1,"msg":"Invalid value type: expected Boolean","id":6}"#,
        ),
        (
            json!({"method": "GET_PROPERTY", "params": ["colour"], "id": 7}),
            r#"{"code":0,"msg":"Unknown property","id":7}"#,
        ),
        (
            json!({"method": "GET_PROPERTY", "params": [1], "id": 8}),
            r#"{"code":2,"msg":"Invalid request: property name must be a string","id":8}"#,
        ),
        (
            json!({"method": "LIST_SUBSCRIPTIONS", "params": ["x"], "id": 9}),
            r#"{"code":2,"msg":"Invalid request: too many parameters","id":9}"#,
        ),
        (
            json!({"method": "SUBSCRIBE", "params": [], "id": {"x": 1}}),
            r#"{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"}"#,
        ),
    ];
    for (req, answer) in cases {
        assert_eq!(ask(req).await, answer);
    }
    let unknown = ask(json!({"method": "SUBSCRIBER", "params": [], "id": 10})).await;
    assert!(
        unknown.starts_with(r#"{"code":2,"msg":"Invalid request: unknown variant SUBSCRIBER"#),
        "{unknown}"
    );
    let missing = ask(json!({"params": [], "id": 11})).await;
    assert!(
        missing.starts_with(r#"{"code":2,"msg":"Invalid request: missing field `method`"#),
        "{missing}"
    );
    send(&mut ws, "{not json").await;
    let bad = next_json(&mut ws).await;
    assert_eq!(bad["code"], 3, "{bad}");
    // Every answer has the keys of a documented one.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let control: Vec<Value> = fixture("binance/ws_control.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["msg"].clone())
        .collect();
    assert!(control.iter().any(|c| keys(c) == keys(&bad)));
}

#[tokio::test]
async fn raw_and_combined_streams_replay_the_documented_payloads_then_synthetic_ones() {
    let mut cfg = binance(Source::ReplayThenSynthetic, &["BNB/USDT", "BNB/BTC"]);
    cfg.rate = 200;
    let sim = start(cfg).await;
    let base = format!("ws://{}", sim.local_addr());
    let mut raw = connect(&format!("{base}/ws/bnbusdt@bookTicker")).await;
    let ticker = documented("bnbusdt@bookTicker");
    // The book ticker carries no time: replayed byte for byte.
    assert_eq!(
        next_text(&mut raw).await,
        documented_text("bnbusdt@bookTicker")
    );
    let synthetic = next_json(&mut raw).await;
    assert_eq!(synthetic["s"], "BNBUSDT");
    assert!(synthetic["u"].as_u64().unwrap() > ticker["u"].as_u64().unwrap());

    let mut combined = connect(&format!(
        "{base}/stream?streams=bnbbtc@trade/bnbusdt@bookTicker"
    ))
    .await;
    let trade = next_json_where(&mut combined, |v| v["stream"] == "bnbbtc@trade").await;
    let (data, doc) = (&trade["data"], documented("bnbbtc@trade"));
    for k in ["e", "s", "t", "p", "q", "m", "M"] {
        assert_eq!(data[k], doc[k], "{k}");
    }
    // Times are moved to now, event and trade time alike.
    assert_eq!(data["E"], data["T"]);
    assert!(data["E"].as_i64().unwrap() > doc["E"].as_i64().unwrap());
    let next_trade = next_json_where(&mut combined, |v| v["stream"] == "bnbbtc@trade").await;
    assert_eq!(next_trade["data"]["e"], "trade");
    assert_ne!(next_trade["data"]["t"], doc["t"]);
    next_json_where(&mut combined, |v| {
        v["stream"] == "bnbusdt@bookTicker" && v["data"]["u"].is_u64()
    })
    .await;

    // A URL naming an unknown stream is refused before the upgrade.
    let refused = tokio_tungstenite::connect_async(format!("{base}/ws/xrpusdt@trade")).await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn the_server_pings_and_closes_a_client_that_does_not_answer() {
    let mut cfg = binance(Source::Synthetic, &["BTC/USDT"]);
    cfg.rate = 0;
    // Pongs count against the 5 messages a second: one ping every 300 ms stays under it.
    cfg.binance_limits.ping_interval = Duration::from_millis(300);
    cfg.binance_limits.pong_timeout = Duration::from_millis(1_000);
    let sim = start(cfg).await;
    // A client that reads answers every ping (tungstenite queues the pong) and stays.
    let mut alive = connect(&sim.ws_url()).await;
    let mut pings = 0;
    while pings < 4 {
        match next(&mut alive).await {
            Some(Ok(Message::Ping(_))) => pings += 1,
            other => panic!("expected pings, got {other:?}"),
        }
    }
    let answered = sim.stats().wait_until(|s| s.pongs_received >= 3);
    tokio::time::timeout(WAIT, answered).await.unwrap();
    // One that never reads never answers: the server closes it, the other stays.
    let _deaf = connect(&sim.ws_url()).await;
    let closed = sim
        .stats()
        .wait_until(|s| s.ws_accepted == 2 && s.ws_live == 1);
    let snap = tokio::time::timeout(WAIT, closed)
        .await
        .expect("the deaf client stays");
    assert_eq!(snap.ws_accepted, 2);
    assert!(matches!(next(&mut alive).await, Some(Ok(Message::Ping(_)))));
}

#[tokio::test]
async fn the_message_and_stream_limits_are_enforced() {
    let mut cfg = binance(Source::Synthetic, &["BTC/USDT", "ETH/USDT"]);
    cfg.rate = 0;
    cfg.binance_limits.max_streams = 3;
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    let four = json!({"method": "SUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@bookTicker", "ethusdt@trade", "ethusdt@bookTicker"], "id": 1});
    send(&mut ws, four.to_string()).await;
    assert_eq!(
        next_text(&mut ws).await,
        r#"{"code":2,"msg":"Invalid request: too many streams","id":1}"#
    );
    let three = json!({"method": "SUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@bookTicker", "ethusdt@trade"], "id": 2});
    send(&mut ws, three.to_string()).await;
    assert_eq!(next_text(&mut ws).await, r#"{"result":null,"id":2}"#);
    // Two requests so far; four more in a burst make six within a second: closed.
    for id in 3..7 {
        send(
            &mut ws,
            json!({"method": "LIST_SUBSCRIPTIONS", "id": id}).to_string(),
        )
        .await;
    }
    loop {
        match next(&mut ws).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1008);
                break;
            }
            Some(Ok(Message::Text(_) | Message::Ping(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    tokio::time::timeout(WAIT, sim.stats().wait_until(|s| s.ws_live == 0))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_shared_faults_end_binance_connections() {
    let mut cfg = binance(Source::Synthetic, &["BTC/USDT"]);
    cfg.rate = 500;
    let sim = start(cfg).await;
    let url = format!("ws://{}/ws/btcusdt@bookTicker", sim.local_addr());
    // Dropped without a close frame after three data frames.
    sim.faults().set_drop_after(Some(3));
    let mut ws = connect(&url).await;
    for _ in 0..3 {
        assert_eq!(next_json(&mut ws).await["s"], "BTCUSDT");
    }
    match next(&mut ws).await {
        None | Some(Err(_)) => {}
        other => panic!("expected a dropped connection, got {other:?}"),
    }
    sim.faults().set_drop_after(None);
    // Kicked with a close frame.
    let mut ws = connect(&url).await;
    next_json(&mut ws).await;
    sim.faults().kick_all(venue_sim::Kick::CloseFrame);
    loop {
        match next(&mut ws).await {
            Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Text(_) | Message::Ping(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_connection_ends_at_its_lifetime() {
    let mut cfg = binance(Source::Synthetic, &["BTC/USDT"]);
    cfg.rate = 0;
    cfg.binance_limits.lifetime = Duration::from_millis(200);
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    loop {
        match next(&mut ws).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1000);
                break;
            }
            Some(Ok(Message::Ping(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}
