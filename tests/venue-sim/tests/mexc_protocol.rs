//! MEXC spot v3 protocol: control messages, the subscription limit and inactivity disconnects,
//! aggregated depth versions consistent with REST, metadata, and trading with protobuf private
//! pushes on the listen-key websocket.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use prost::Message as _;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use venue_sim::mexc::proto::push_data_v3_api_wrapper::Body;
use venue_sim::mexc::proto::PushDataV3ApiWrapper;
use venue_sim::{Source, Venue};

const DEPTH: &str = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT";

fn sub(params: &[&str]) -> String {
    json!({"method": "SUBSCRIPTION", "params": params}).to_string()
}

#[tokio::test]
async fn ping_subscribe_unsubscribe_and_the_31st_subscription() {
    let mut cfg = config(Venue::Mexc, Source::Synthetic);
    cfg.symbols = (0..16)
        .map(|i| venue_sim::Symbol::parse(&format!("C{i}/USDT")).unwrap())
        .collect();
    cfg.rate = 0;
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    send(&mut ws, r#"{"method":"PING"}"#).await;
    // Byte-identical to the real PONG text frame captured from the venue.
    let pong = r#"{"id":0,"code":0,"msg":"PONG"}"#;
    let real: Vec<String> = fixture("mexc/samples/ws_control.jsonl")
        .lines()
        .filter_map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["raw"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(real.iter().any(|r| r == pong));
    match next(&mut ws).await {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), pong),
        other => panic!("{other:?}"),
    }
    let chans: Vec<String> = (0..16)
        .flat_map(|i| {
            [
                format!("spot@public.aggre.deals.v3.api.pb@100ms@C{i}USDT"),
                format!("spot@public.aggre.bookTicker.v3.api.pb@10ms@C{i}USDT"),
            ]
        })
        .collect();
    send(&mut ws, sub(&[chans[0].as_str()])).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"id": 0, "code": 0, "msg": chans[0]})
    );
    let rest: Vec<&str> = chans[1..30].iter().map(String::as_str).collect();
    send(&mut ws, sub(&rest)).await;
    assert_eq!(next_json(&mut ws).await["msg"], rest.join(","));
    // The 31st is refused.
    send(&mut ws, sub(&[chans[30].as_str()])).await;
    let bad = next_json(&mut ws).await;
    assert!(
        bad["msg"]
            .as_str()
            .unwrap()
            .starts_with("Not Subscribed successfully!"),
        "{bad}"
    );
    assert!(bad["msg"].as_str().unwrap().contains(&chans[30]));
    let snap = sim
        .stats()
        .wait_until(|s| s.subscriptions.values().any(|v| v.len() == 30))
        .await;
    assert!(!snap
        .subscriptions
        .values()
        .flatten()
        .any(|c| *c == chans[30]));
    send(
        &mut ws,
        json!({"method": "UNSUBSCRIPTION", "params": [chans[0]]}).to_string(),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"id": 0, "code": 0, "msg": chans[0]})
    );
    send(&mut ws, sub(&[chans[30].as_str()])).await;
    assert_eq!(next_json(&mut ws).await["msg"], chans[30]);
    send(
        &mut ws,
        sub(&["spot@public.aggre.deals.v3.api.pb@100ms@NOPEUSDT"]),
    )
    .await;
    assert!(next_json(&mut ws).await["msg"]
        .as_str()
        .unwrap()
        .starts_with("Not Subscribed"));
    sim.shutdown().await;
}

async fn expect_server_close(ws: &mut Ws) {
    loop {
        match next(ws).await {
            Some(Ok(Message::Close(_))) | None => return,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("expected a clean close, got {e}"),
        }
    }
}

/// In paused time (the simulator runs on the test's current-thread runtime, and loopback
/// I/O is polled before the clock moves), so each close comes at its timeout exactly.
#[tokio::test(start_paused = true)]
async fn server_closes_unsubscribed_and_idle_connections() {
    let mut cfg = config(Venue::Mexc, Source::Synthetic);
    cfg.rate = 0; // no data flows
    let no_subscription = Duration::from_millis(300);
    let idle = Duration::from_millis(600);
    cfg.mexc_limits.no_subscription_timeout = no_subscription;
    cfg.mexc_limits.idle_timeout = idle;
    let sim = start(cfg).await;
    // The timer wheel rounds a deadline up to the next millisecond.
    let tick = Duration::from_millis(1);

    let t = tokio::time::Instant::now();
    let mut ws = connect(&sim.ws_url()).await;
    expect_server_close(&mut ws).await;
    let e = t.elapsed();
    assert!(
        e >= no_subscription && e <= no_subscription + tick,
        "closed for want of a subscription after {e:?}, not after the idle timeout"
    );

    let mut ws = connect(&sim.ws_url()).await;
    send(&mut ws, sub(&[DEPTH])).await;
    next_json(&mut ws).await;
    let t = tokio::time::Instant::now();
    expect_server_close(&mut ws).await;
    let e = t.elapsed();
    assert!(e >= idle && e <= idle + tick, "closed as idle after {e:?}");
    sim.stats().wait_until(|s| s.ws_live == 0).await;
    sim.shutdown().await;
}

fn level_map(items: &[(String, String)], book: &mut BTreeMap<String, String>) {
    for (p, q) in items {
        if q.parse::<f64>().unwrap() == 0.0 {
            book.remove(p);
        } else {
            book.insert(p.clone(), q.clone());
        }
    }
}

async fn depth_snapshot(
    sim: &venue_sim::SimHandle,
) -> (u64, BTreeMap<String, String>, BTreeMap<String, String>) {
    let v = http(
        sim.local_addr(),
        "GET",
        "/api/v3/depth?symbol=BTCUSDT&limit=5000",
        &[],
        "",
    )
    .await
    .json();
    let side = |k: &str| -> BTreeMap<String, String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l[0].as_str().unwrap().to_owned(),
                    l[1].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    (
        v["lastUpdateId"].as_u64().unwrap(),
        side("bids"),
        side("asks"),
    )
}

#[tokio::test]
async fn aggregated_depth_versions_chain_onto_rest_snapshots() {
    let mut cfg = config(Venue::Mexc, Source::Synthetic);
    cfg.rate = 2_000;
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    send(&mut ws, sub(&[DEPTH])).await;
    next_json(&mut ws).await;
    let decode = |b: bytes::Bytes| {
        let w = PushDataV3ApiWrapper::decode(b.as_ref()).unwrap();
        assert_eq!(
            (w.channel.as_str(), w.symbol.as_deref()),
            (DEPTH, Some("BTCUSDT"))
        );
        match w.body {
            Some(Body::PublicAggreDepths(d)) => d,
            other => panic!("{other:?}"),
        }
    };
    let first = decode(next_binary(&mut ws).await);
    let (id1, mut bids, mut asks) = depth_snapshot(&sim).await;
    let (id2, bids2, asks2) = depth_snapshot(&sim).await;
    assert!(first.from_version.parse::<u64>().unwrap() <= id1 + 1);
    let mut last: u64 = first.to_version.parse().unwrap();
    while last < id2 {
        let d = decode(next_binary(&mut ws).await);
        let (from, to): (u64, u64) = (
            d.from_version.parse().unwrap(),
            d.to_version.parse().unwrap(),
        );
        assert_eq!(from, last + 1, "versions must be contiguous");
        assert_eq!(d.event_type, "spot@public.aggre.depth.v3.api.pb@100ms");
        last = to;
        if to <= id1 {
            continue;
        }
        let lv =
            |v: &[venue_sim::mexc::proto::PublicAggreDepthV3ApiItem]| -> Vec<(String, String)> {
                v.iter()
                    .map(|i| (i.price.clone(), i.quantity.clone()))
                    .collect()
            };
        level_map(&lv(&d.bids), &mut bids);
        level_map(&lv(&d.asks), &mut asks);
    }
    assert_eq!(last, id2);
    assert_eq!((bids, asks), (bids2, asks2));
    sim.shutdown().await;
}

#[tokio::test]
async fn metadata_trading_and_private_protobuf_pushes() {
    let sim = start(config(Venue::Mexc, Source::Synthetic)).await;
    let addr = sim.local_addr();
    let key = [("X-MEXC-APIKEY", "test-key")];
    let info = http(addr, "GET", "/api/v3/exchangeInfo", &[], "")
        .await
        .json();
    let btc = info["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["symbol"] == "BTCUSDT")
        .unwrap()
        .clone();
    assert_eq!(
        (btc["baseAsset"].as_str(), btc["quoteAsset"].as_str()),
        (Some("BTC"), Some("USDT"))
    );
    // The default fees, as fractions: maker 0, taker 5 bps.
    assert_eq!(
        (
            btc["makerCommission"].as_str(),
            btc["takerCommission"].as_str()
        ),
        (Some("0"), Some("0.0005"))
    );
    assert!(http(addr, "GET", "/api/v3/time", &[], "").await.json()["serverTime"].is_i64());

    let r = http(
        addr,
        "POST",
        &mexc_signed("/api/v3/userDataStream", "", "test-key", "test-secret"),
        &key,
        "",
    )
    .await;
    let lk = r.json()["listenKey"].as_str().unwrap().to_owned();
    let r = http(
        addr,
        "PUT",
        &mexc_signed(
            "/api/v3/userDataStream",
            &format!("listenKey={lk}"),
            "test-key",
            "test-secret",
        ),
        &key,
        "",
    )
    .await;
    assert_eq!(r.json()["listenKey"], lk.as_str());
    let mut ws = connect(&format!("{}?listenKey={lk}", sim.ws_url())).await;
    let private = [
        "spot@private.orders.v3.api.pb",
        "spot@private.deals.v3.api.pb",
        "spot@private.account.v3.api.pb",
    ];
    send(&mut ws, sub(&private)).await;
    assert_eq!(next_json(&mut ws).await["msg"], private.join(","));
    // A public connection may not take private channels.
    let mut public = connect(&sim.ws_url()).await;
    send(&mut public, sub(&private[..1])).await;
    assert!(next_json(&mut public).await["msg"]
        .as_str()
        .unwrap()
        .starts_with("Not Subscribed"));

    let path = mexc_signed(
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.25&price=1000000&newClientOrderId=c1",
        "test-key",
        "test-secret",
    );
    let r = http(addr, "POST", &path, &key, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let order_id = r.json()["orderId"].as_str().unwrap().to_owned();
    let mut seen = (false, false, false);
    while !(seen.0 && seen.1 && seen.2) {
        let w = PushDataV3ApiWrapper::decode(next_binary(&mut ws).await.as_ref()).unwrap();
        match w.body.unwrap() {
            Body::PrivateOrders(o) if o.status == 2 => {
                assert_eq!(
                    (
                        o.id.as_str(),
                        o.client_id.as_str(),
                        o.cumulative_quantity.as_str()
                    ),
                    (order_id.as_str(), "c1", "0.25")
                );
                seen.0 = true;
            }
            Body::PrivateOrders(_) => {}
            Body::PrivateDeals(d) => {
                assert_eq!(
                    (d.order_id.as_str(), d.quantity.as_str(), d.trade_type),
                    (order_id.as_str(), "0.25", 1)
                );
                // A taker buy pays 5 bps of the BTC it receives, in BTC.
                assert_eq!(
                    (d.fee_amount.as_str(), d.fee_currency.as_str(), d.is_maker),
                    ("0.000125", "BTC", false)
                );
                seen.1 = true;
            }
            Body::PrivateAccount(a) => {
                assert!(a.vcoin_name == "BTC" || a.vcoin_name == "USDT");
                seen.2 = true;
            }
            other => panic!("{other:?}"),
        }
    }
    let q = format!("symbol=BTCUSDT&orderId={order_id}");
    let r = http(
        addr,
        "GET",
        &mexc_signed("/api/v3/order", &q, "test-key", "test-secret"),
        &key,
        "",
    )
    .await;
    assert_eq!(r.json()["status"], "FILLED");
    // By client id too; an order MEXC does not know is -2013 for a query.
    let r = http(
        addr,
        "GET",
        &mexc_signed(
            "/api/v3/order",
            "symbol=BTCUSDT&origClientOrderId=c1",
            "test-key",
            "test-secret",
        ),
        &key,
        "",
    )
    .await;
    assert_eq!(
        (r.json()["orderId"].as_str(), r.json()["status"].as_str()),
        (Some(order_id.as_str()), Some("FILLED"))
    );
    for q in [
        "symbol=BTCUSDT&origClientOrderId=never",
        "symbol=BTCUSDT&orderId=1",
    ] {
        let r = http(
            addr,
            "GET",
            &mexc_signed("/api/v3/order", q, "test-key", "test-secret"),
            &key,
            "",
        )
        .await;
        assert_eq!(
            (
                r.status,
                r.json()["code"].as_i64(),
                r.json()["msg"].as_str()
            ),
            (400, Some(-2013), Some("Order does not exist.")),
            "{q}"
        );
    }

    let path = mexc_signed(
        "/api/v3/order",
        "symbol=BTCUSDT&side=SELL&type=LIMIT&quantity=1&price=9999999",
        "test-key",
        "test-secret",
    );
    let resting = http(addr, "POST", &path, &key, "").await.json()["orderId"]
        .as_str()
        .unwrap()
        .to_owned();
    let q = format!("symbol=BTCUSDT&orderId={resting}");
    let r = http(
        addr,
        "DELETE",
        &mexc_signed("/api/v3/order", &q, "test-key", "test-secret"),
        &key,
        "",
    )
    .await;
    assert_eq!(r.json()["status"], "CANCELED");
    let r = http(
        addr,
        "DELETE",
        &mexc_signed("/api/v3/order", &q, "test-key", "test-secret"),
        &key,
        "",
    )
    .await;
    assert_eq!((r.status, r.json()["code"].as_i64()), (400, Some(-2011)));
    let r = http(
        addr,
        "DELETE",
        &mexc_signed("/api/v3/order", "symbol=BTCUSDT", "test-key", "test-secret"),
        &key,
        "",
    )
    .await;
    assert_eq!(r.json()["code"], 700004);
    let path = mexc_signed(
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1000&price=100000",
        "test-key",
        "test-secret",
    );
    assert_eq!(
        http(addr, "POST", &path, &key, "").await.json()["code"],
        30004
    );
    let acct = http(
        addr,
        "GET",
        &mexc_signed("/api/v3/account", "", "test-key", "test-secret"),
        &key,
        "",
    )
    .await
    .json();
    let btc: Value = acct["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"] == "BTC")
        .unwrap()
        .clone();
    // 100 + 0.25 bought - 0.000125 fee; the 1 locked by the sell came back.
    assert_eq!(btc["free"], "100.249875");
    let r = http(
        addr,
        "DELETE",
        &mexc_signed(
            "/api/v3/userDataStream",
            &format!("listenKey={lk}"),
            "test-key",
            "test-secret",
        ),
        &key,
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let refused =
        tokio_tungstenite::connect_async(format!("{}?listenKey={lk}", sim.ws_url())).await;
    assert!(refused.is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_market_buy_sized_in_quote_fills_for_about_that_much_quote() {
    let sim = start(config(Venue::Mexc, Source::Synthetic)).await;
    let addr = sim.local_addr();
    let key = [("X-MEXC-APIKEY", "test-key")];
    let path = mexc_signed(
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=1000",
        "test-key",
        "test-secret",
    );
    let r = http(addr, "POST", &path, &key, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let q = format!(
        "symbol=BTCUSDT&orderId={}",
        r.json()["orderId"].as_str().unwrap()
    );
    let r = http(
        addr,
        "GET",
        &mexc_signed("/api/v3/order", &q, "test-key", "test-secret"),
        &key,
        "",
    )
    .await
    .json();
    assert_eq!(r["status"], "FILLED", "{r}");
    let dec = |k: &str| r[k].as_str().unwrap().parse::<f64>().unwrap();
    assert!(dec("executedQty") > 0.0, "{r}");
    // The base quantity is the quote amount at the touch, cut to the lot size.
    let spent = dec("cummulativeQuoteQty");
    assert!((spent - 1000.0).abs() < 20.0, "{r}");
}
