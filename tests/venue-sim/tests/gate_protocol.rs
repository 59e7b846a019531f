//! Gate.io spot v4 protocol: control messages, synthetic order-book ids consistent with REST
//! snapshots, `full: true` snapshots, and trading with private pushes.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};
use venue_sim::{Source, Venue};

fn req(channel: &str, event: &str, payload: Value) -> String {
    json!({"time": now_ms() / 1000, "id": 7, "channel": channel, "event": event, "payload": payload}).to_string()
}

#[tokio::test]
async fn control_messages_acks_and_errors() {
    let sim = start(config(Venue::Gateio, Source::Synthetic)).await;
    let mut ws = connect(&sim.ws_url()).await;
    send(
        &mut ws,
        json!({"time": now_ms() / 1000, "channel": "spot.ping"}).to_string(),
    )
    .await;
    let pong = next_json(&mut ws).await;
    assert_eq!(
        (pong["channel"].as_str(), pong["error"].is_null()),
        (Some("spot.pong"), true)
    );

    send(
        &mut ws,
        req("spot.book_ticker", "subscribe", json!(["BTC_USDT"])),
    )
    .await;
    let ack = next_json_where(&mut ws, |v| v["event"] == "subscribe").await;
    assert_eq!(ack["id"], 7);
    assert_eq!(ack["channel"], "spot.book_ticker");
    assert_eq!(ack["error"], Value::Null);
    assert_eq!(ack["result"], json!({"status": "success"}));
    assert!(ack["time"].is_i64() && ack["time_ms"].is_i64() && ack["conn_id"].is_string());
    let push = next_json_where(&mut ws, |v| v["event"] == "update").await;
    assert_eq!(push["result"]["s"], "BTC_USDT");

    send(&mut ws, "not json").await;
    let e = next_json_where(&mut ws, |v| v["error"].is_object()).await;
    assert_eq!(e["error"]["code"], 1);
    send(
        &mut ws,
        req("spot.trades", "subscribe", json!(["NOPE_USDT"])),
    )
    .await;
    let e = next_json_where(&mut ws, |v| v["error"].is_object()).await;
    assert_eq!(
        (e["error"]["code"].as_i64(), e["result"]["status"].as_str()),
        (Some(2), Some("fail"))
    );
    send(
        &mut ws,
        req("spot.orders", "subscribe", json!(["BTC_USDT"])),
    )
    .await;
    let e = next_json_where(&mut ws, |v| v["error"].is_object()).await;
    assert_eq!(e["error"]["code"], 4);
    send(
        &mut ws,
        auth_req(
            "spot.orders",
            "subscribe",
            json!(["BTC_USDT"]),
            "test-key",
            "wrong",
        ),
    )
    .await;
    let e = next_json_where(&mut ws, |v| v["error"].is_object()).await;
    assert_eq!(e["error"]["code"], 4);
    send(
        &mut ws,
        auth_req(
            "spot.orders",
            "subscribe",
            json!(["BTC_USDT"]),
            "test-key",
            "test-secret",
        ),
    )
    .await;
    let ack = next_json_where(&mut ws, |v| v["channel"] == "spot.orders").await;
    assert_eq!(ack["error"], Value::Null);

    let snap = sim
        .stats()
        .wait_until(|s| s.subscriptions.values().any(|v| v.len() == 2))
        .await;
    let subs: Vec<&String> = snap.subscriptions.values().flatten().collect();
    assert!(
        subs.contains(&&"spot.book_ticker:BTC_USDT".to_owned()),
        "{subs:?}"
    );
    send(
        &mut ws,
        req("spot.book_ticker", "unsubscribe", json!(["BTC_USDT"])),
    )
    .await;
    let ack = next_json_where(&mut ws, |v| v["event"] == "unsubscribe").await;
    assert_eq!(ack["result"]["status"], "success");
    sim.shutdown().await;
}

type Side = BTreeMap<String, String>;

fn apply(book: &mut Side, levels: &Value) {
    for l in levels.as_array().unwrap() {
        let (p, q) = (
            l[0].as_str().unwrap().to_owned(),
            l[1].as_str().unwrap().to_owned(),
        );
        if q.parse::<f64>().unwrap() == 0.0 {
            book.remove(&p);
        } else {
            book.insert(p, q);
        }
    }
}

fn side(levels: &Value) -> Side {
    let mut s = Side::new();
    apply(&mut s, levels);
    s
}

async fn snapshot(sim: &venue_sim::SimHandle) -> Value {
    http(
        sim.local_addr(),
        "GET",
        "/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=1000&with_id=true",
        &[],
        "",
    )
    .await
    .json()
}

#[tokio::test]
async fn order_book_updates_chain_onto_rest_snapshots() {
    let mut cfg = config(Venue::Gateio, Source::Synthetic);
    cfg.rate = 2_000;
    cfg.gate_full_every = Some(25);
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    send(
        &mut ws,
        req(
            "spot.order_book_update",
            "subscribe",
            json!(["BTC_USDT", "100ms"]),
        ),
    )
    .await;
    next_json_where(&mut ws, |v| v["event"] == "subscribe").await;
    // Buffer from the subscription on, then take the snapshot (the documented procedure).
    let first = next_json_where(&mut ws, |v| v["event"] == "update").await;
    let s1 = snapshot(&sim).await;
    let id1 = s1["id"].as_u64().unwrap();
    assert!(
        first["result"]["U"].as_u64().unwrap() <= id1 + 1,
        "snapshot older than the stream"
    );
    let (mut bids, mut asks) = (side(&s1["bids"]), side(&s1["asks"]));
    let mut last_u = first["result"]["u"].as_u64().unwrap();
    let mut synced = last_u >= id1;
    let s2 = snapshot(&sim).await;
    let id2 = s2["id"].as_u64().unwrap();
    while last_u < id2 {
        let m = next_json_where(&mut ws, |v| v["event"] == "update").await;
        let r = &m["result"];
        let (uu, u) = (r["U"].as_u64().unwrap(), r["u"].as_u64().unwrap());
        assert_eq!(uu, last_u + 1, "gap in the stream");
        last_u = u;
        if r["full"] == true {
            bids = side(&r["b"]);
            asks = side(&r["a"]);
            synced = true;
            continue;
        }
        if u <= id1 {
            continue;
        }
        if !synced {
            assert!(uu <= id1 + 1 && id1 < u);
            synced = true;
        }
        apply(&mut bids, &r["b"]);
        apply(&mut asks, &r["a"]);
    }
    assert_eq!(last_u, id2, "snapshot ids are update ids");
    assert_eq!((bids, asks), (side(&s2["bids"]), side(&s2["asks"])));
    // Full snapshots appear at the configured cadence.
    let full = next_json_where(&mut ws, |v| v["result"]["full"] == true).await;
    assert_eq!(full["result"]["l"], "100");
    sim.shutdown().await;
}

#[tokio::test]
async fn trading_fills_rests_cancels_and_pushes_private_updates() {
    let sim = start(config(Venue::Gateio, Source::Synthetic)).await;
    let addr = sim.local_addr();
    let mut ws = connect(&sim.ws_url()).await;
    for (ch, p) in [
        ("spot.orders", json!(["!all"])),
        ("spot.usertrades", json!(["BTC_USDT"])),
        ("spot.balances", json!([])),
    ] {
        send(
            &mut ws,
            auth_req(ch, "subscribe", p, "test-key", "test-secret"),
        )
        .await;
        let ack = next_json_where(&mut ws, |v| v["event"] == "subscribe").await;
        assert_eq!(ack["error"], Value::Null, "{ack}");
    }
    let pairs = http(addr, "GET", "/api/v4/spot/currency_pairs", &[], "")
        .await
        .json();
    // A pair's `fee` is the taker rate in percent: 10 bps by default.
    assert!(pairs
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "BTC_USDT"
            && p["base"] == "BTC"
            && p["quote"] == "USDT"
            && p["fee"] == "0.1"));
    assert!(http(addr, "GET", "/api/v4/spot/time", &[], "").await.json()["server_time"].is_i64());

    let post = |body: Value| {
        let body = body.to_string();
        let h = gate_headers(
            "POST",
            "/api/v4/spot/orders",
            "",
            &body,
            "test-key",
            "test-secret",
        );
        async move { http(addr, "POST", "/api/v4/spot/orders", &hdrs(&h), &body).await }
    };
    // A buy far above the market crosses and fills at the best ask.
    let r = post(json!({"text": "t-fill", "currency_pair": "BTC_USDT", "type": "limit", "side": "buy", "amount": "0.5", "price": "1000000"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let o = r.json();
    assert_eq!(
        (
            o["status"].as_str(),
            o["finish_as"].as_str(),
            o["left"].as_str()
        ),
        (Some("closed"), Some("filled"), Some("0"))
    );
    // The taker fee, 10 bps of the 0.5 BTC received, in BTC.
    assert_eq!(
        (o["fee"].as_str(), o["fee_currency"].as_str()),
        (Some("0.0005"), Some("BTC"))
    );
    let put = next_json_where(&mut ws, |v| v["channel"] == "spot.orders").await;
    assert_eq!(put["result"][0]["event"], "put");
    let trade = next_json_where(&mut ws, |v| v["channel"] == "spot.usertrades").await;
    let t = &trade["result"][0];
    assert_eq!(
        (
            t["amount"].as_str(),
            t["text"].as_str(),
            t["role"].as_str(),
            t["fee"].as_str(),
            t["fee_currency"].as_str()
        ),
        (
            Some("0.5"),
            Some("t-fill"),
            Some("taker"),
            Some("0.0005"),
            Some("BTC")
        )
    );
    let finish = next_json_where(&mut ws, |v| {
        v["channel"] == "spot.orders" && v["result"][0]["event"] == "finish"
    })
    .await;
    assert_eq!(finish["result"][0]["fee"], "0.0005");
    let bal = next_json_where(&mut ws, |v| v["channel"] == "spot.balances").await;
    assert!(bal["result"][0]["currency"].is_string());

    // A buy far below rests, shows in open orders, and cancels.
    let r = post(json!({"text": "t-rest", "currency_pair": "BTC_USDT", "side": "buy", "amount": "1", "price": "10"})).await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["status"], "open");
    let q = "currency_pair=BTC_USDT&status=open";
    let h = gate_headers(
        "GET",
        "/api/v4/spot/orders",
        q,
        "",
        "test-key",
        "test-secret",
    );
    let list = http(
        addr,
        "GET",
        &format!("/api/v4/spot/orders?{q}"),
        &hdrs(&h),
        "",
    )
    .await
    .json();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["id"] == id.as_str()));
    let h = gate_headers(
        "GET",
        "/api/v4/spot/open_orders",
        "",
        "",
        "test-key",
        "test-secret",
    );
    let open = http(addr, "GET", "/api/v4/spot/open_orders", &hdrs(&h), "")
        .await
        .json();
    assert_eq!(open[0]["currency_pair"], "BTC_USDT");
    let path = format!("/api/v4/spot/orders/{id}");
    let h = gate_headers(
        "DELETE",
        &path,
        "currency_pair=BTC_USDT",
        "",
        "test-key",
        "test-secret",
    );
    let r = http(
        addr,
        "DELETE",
        &format!("{path}?currency_pair=BTC_USDT"),
        &hdrs(&h),
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("cancelled"))
    );
    let fin = next_json_where(&mut ws, |v| {
        v["channel"] == "spot.orders"
            && v["result"][0]["event"] == "finish"
            && v["result"][0]["id"] == id.as_str()
    })
    .await;
    assert_eq!(fin["result"][0]["finish_as"], "cancelled");
    let r = http(
        addr,
        "DELETE",
        &format!("{path}?currency_pair=BTC_USDT"),
        &hdrs(&h),
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.json()["label"].as_str()),
        (404, Some("ORDER_NOT_FOUND"))
    );

    let r = post(
        json!({"currency_pair": "BTC_USDT", "side": "buy", "amount": "1000000", "price": "100000"}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["label"].as_str()),
        (400, Some("BALANCE_NOT_ENOUGH"))
    );
    let r = post(json!({"currency_pair": "XXX_USDT", "side": "buy", "amount": "1", "price": "1"}))
        .await;
    assert_eq!(
        (r.status, r.json()["label"].as_str()),
        (400, Some("INVALID_CURRENCY_PAIR"))
    );
    sim.shutdown().await;
}

/// Orders are looked up by id, or by text (`t-...`) only while open (Gate's documented
/// rule); finished orders are listed by side and creation time, newest first.
#[tokio::test]
async fn orders_are_found_by_text_while_open_and_listed_once_finished() {
    let sim = start(config(Venue::Gateio, Source::Synthetic)).await;
    let addr = sim.local_addr();
    let signed = |method: &'static str, path: String, query: String, body: String| {
        let h = gate_headers(method, &path, &query, &body, "test-key", "test-secret");
        let url = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        async move { http(addr, method, &url, &hdrs(&h), &body).await }
    };
    let place = |text: &str, price: &str| {
        let body = json!({"text": text, "currency_pair": "BTC_USDT", "side": "buy", "amount": "0.01", "price": price}).to_string();
        signed("POST", "/api/v4/spot/orders".into(), String::new(), body)
    };
    let get = |id: &str| {
        signed(
            "GET",
            format!("/api/v4/spot/orders/{id}"),
            "currency_pair=BTC_USDT".into(),
            String::new(),
        )
    };
    let not_found = |r: &Resp| {
        assert_eq!(
            (r.status, r.json()["label"].as_str()),
            (404, Some("ORDER_NOT_FOUND")),
            "{:?}",
            r.body
        )
    };

    let rest = place("t-look-rest", "10").await.json();
    let r = get("t-look-rest").await;
    assert_eq!(
        (
            r.status,
            r.json()["id"].as_str(),
            r.json()["status"].as_str()
        ),
        (200, rest["id"].as_str(), Some("open"))
    );
    let filled = place("t-look-fill", "1000000").await.json();
    assert_eq!(filled["finish_as"], "filled");
    not_found(&get("t-look-fill").await);
    not_found(&get("t-never-placed").await);
    let by_id = get(filled["id"].as_str().unwrap()).await;
    assert_eq!(by_id.json()["finish_as"], "filled");
    // Cancelled: the text is forgotten, the id is not.
    let id = rest["id"].as_str().unwrap();
    signed(
        "DELETE",
        format!("/api/v4/spot/orders/{id}"),
        "currency_pair=BTC_USDT".into(),
        String::new(),
    )
    .await;
    not_found(&get("t-look-rest").await);
    assert_eq!(get(id).await.json()["status"], "cancelled");

    let list = |q: String| signed("GET", "/api/v4/spot/orders".into(), q, String::new());
    let from = now_ms() / 1000 - 60;
    let finished = list(format!(
        "currency_pair=BTC_USDT&status=finished&side=buy&from={from}&limit=1000"
    ))
    .await
    .json();
    let texts: Vec<&str> = finished
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["t-look-fill", "t-look-rest"], "newest first");
    let sells = list("currency_pair=BTC_USDT&status=finished&side=sell".into())
        .await
        .json();
    assert_eq!(sells, json!([]));
    let later = list(format!(
        "currency_pair=BTC_USDT&status=finished&from={}",
        from + 3600
    ))
    .await
    .json();
    assert_eq!(later, json!([]));
    let bad = list("currency_pair=BTC_USDT&status=done".into()).await;
    assert_eq!(bad.json()["label"], "INVALID_PARAM_VALUE");
    sim.shutdown().await;
}
