//! Every fault switch does what it says, observed from a real client; and the counters let a
//! test assert on connections, subscriptions, frames and requests.
//!
//! The tests about time (silence, delays, a hung handshake) run in paused time on the
//! current-thread runtime, with the simulator on the same runtime: loopback I/O is polled
//! before the clock moves, so delays are exact and "nothing arrives" is shown by letting
//! virtual time run while nothing else can, at no real cost.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use prost::Message as _;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use venue_sim::mexc::proto::PushDataV3ApiWrapper;
use venue_sim::{AcceptMode, Kick, RestFault, SimHandle, Source, Venue};

/// Virtual time given to something that must not happen, for the few negative checks.
const QUIET: Duration = Duration::from_millis(300);

/// The timer wheel rounds a deadline up to the next millisecond.
const TICK: Duration = Duration::from_millis(1);

async fn gate_sim(rate: u32) -> SimHandle {
    let mut cfg = config(Venue::Gateio, Source::Synthetic);
    cfg.rate = rate;
    start(cfg).await
}

async fn subscribed(sim: &SimHandle) -> Ws {
    let mut ws = connect(&sim.ws_url()).await;
    let req = json!({"time": now_ms() / 1000, "channel": "spot.order_book_update", "event": "subscribe", "payload": ["BTC_USDT", "100ms"]});
    send(&mut ws, req.to_string()).await;
    next_json_where(&mut ws, |v| v["event"] == "subscribe").await;
    ws
}

/// The connection ends without a close frame.
async fn expect_tcp_drop(ws: &mut Ws) {
    loop {
        match next(ws).await {
            Some(Ok(Message::Close(_))) => panic!("got a close frame"),
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return,
        }
    }
}

#[tokio::test]
async fn drop_after_n_data_frames() {
    let sim = gate_sim(1_000).await;
    sim.faults().set_drop_after(Some(3));
    let mut ws = subscribed(&sim).await;
    let mut data = 0;
    loop {
        match next(&mut ws).await {
            Some(Ok(Message::Text(_))) => data += 1,
            Some(Ok(Message::Close(_))) => panic!("close frame"),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break,
        }
    }
    assert_eq!(data, 3);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn silent_keeps_the_socket_open_but_sends_nothing() {
    let sim = gate_sim(500).await;
    let mut ws = subscribed(&sim).await;
    next_json(&mut ws).await;
    sim.faults().set_silent(true);
    // Drain what was already in flight (all of it is read before the clock moves), then
    // nothing more arrives, not even a pong.
    while tokio::time::timeout(Duration::from_millis(50), ws.next())
        .await
        .is_ok()
    {}
    send(
        &mut ws,
        json!({"time": now_ms() / 1000, "channel": "spot.ping"}).to_string(),
    )
    .await;
    assert!(
        tokio::time::timeout(QUIET, ws.next()).await.is_err(),
        "frame while silent"
    );
    sim.faults().set_silent(false);
    let v = next_json(&mut ws).await; // same socket, still open
    assert_eq!(v["channel"], "spot.order_book_update");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn delayed_frames() {
    let sim = gate_sim(0).await;
    let mut ws = connect(&sim.ws_url()).await;
    let delay = Duration::from_millis(250);
    sim.faults().set_delay(delay);
    let t = tokio::time::Instant::now();
    send(
        &mut ws,
        json!({"time": now_ms() / 1000, "channel": "spot.ping"}).to_string(),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["channel"], "spot.pong");
    let e = t.elapsed();
    assert!(e >= delay && e <= delay + TICK, "{e:?}");
    sim.faults().set_delay(Duration::ZERO);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_and_truncated_frames() {
    let sim = gate_sim(1_000).await;
    let mut ws = subscribed(&sim).await;
    sim.faults().inject_malformed(1);
    let bad = loop {
        let Some(Ok(Message::Text(t))) = next(&mut ws).await else {
            panic!()
        };
        if serde_json::from_str::<Value>(&t).is_err() {
            break t;
        }
    };
    assert_eq!(bad.as_str(), "{\"malformed");
    sim.faults().inject_truncated(1);
    let cut = loop {
        let Some(Ok(Message::Text(t))) = next(&mut ws).await else {
            panic!()
        };
        if serde_json::from_str::<Value>(&t).is_err() {
            break t;
        }
    };
    assert!(cut.starts_with("{\"time\":"), "{cut}");
    // Later frames are whole again.
    next_json(&mut ws).await;
    sim.shutdown().await;

    let mut cfg = config(Venue::Mexc, Source::Synthetic);
    cfg.rate = 1_000;
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    send(&mut ws, json!({"method": "SUBSCRIPTION", "params": ["spot@public.aggre.depth.v3.api.pb@10ms@BTCUSDT"]}).to_string()).await;
    next_json(&mut ws).await;
    PushDataV3ApiWrapper::decode(next_binary(&mut ws).await.as_ref()).unwrap();
    sim.faults().inject_malformed(1);
    let bad = loop {
        let b = next_binary(&mut ws).await;
        if PushDataV3ApiWrapper::decode(b.as_ref()).is_err() {
            break b;
        }
    };
    assert_eq!(bad.as_ref(), &[0xff, 0xff, 0xff, 0x0f]);
    sim.shutdown().await;
}

#[tokio::test]
async fn sequence_gap() {
    let sim = gate_sim(1_000).await;
    let mut ws = subscribed(&sim).await;
    let mut last = next_json(&mut ws).await["result"]["u"].as_u64().unwrap();
    sim.faults().skip_sequence(5);
    loop {
        let r = next_json(&mut ws).await["result"].clone();
        let (uu, u) = (r["U"].as_u64().unwrap(), r["u"].as_u64().unwrap());
        if uu != last + 1 {
            assert_eq!(uu, last + 6);
            break;
        }
        last = u;
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn refused_and_hung_connections() {
    let sim = gate_sim(0).await;
    sim.faults().set_accept_mode(AcceptMode::Refuse);
    assert!(tokio_tungstenite::connect_async(sim.ws_url())
        .await
        .is_err());
    sim.stats().wait_until(|s| s.tcp_accepted == 1).await;
    assert_eq!(sim.stats().snapshot().ws_accepted, 0);

    sim.faults().set_accept_mode(AcceptMode::Hang);
    let hung = tokio::time::timeout(QUIET, tokio_tungstenite::connect_async(sim.ws_url())).await;
    assert!(hung.is_err(), "the handshake must not complete");
    assert_eq!(sim.stats().snapshot().tcp_accepted, 2);

    sim.faults().set_accept_mode(AcceptMode::Normal);
    let _ws = connect(&sim.ws_url()).await;
    assert_eq!(sim.stats().snapshot().ws_accepted, 1);
    // Shutdown also ends the hung connection's task.
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rest_429_5xx_and_slow() {
    let sim = gate_sim(0).await;
    let addr = sim.local_addr();
    sim.faults()
        .set_rest_fault(Some(RestFault::TooManyRequests {
            retry_after_secs: 7,
        }));
    let r = http(addr, "GET", "/api/v4/spot/time", &[], "").await;
    assert_eq!(
        (r.status, r.headers["retry-after"].to_str().unwrap()),
        (429, "7")
    );
    assert_eq!(r.json()["label"], "TOO_MANY_REQUESTS");
    sim.faults()
        .set_rest_fault(Some(RestFault::ServerError { status: 503 }));
    let r = http(addr, "GET", "/api/v4/spot/time", &[], "").await;
    assert_eq!(
        (r.status, r.json()["label"].as_str()),
        (503, Some("SERVER_ERROR"))
    );
    let delay = Duration::from_millis(250);
    sim.faults().set_rest_fault(Some(RestFault::Slow { delay }));
    let t = tokio::time::Instant::now();
    let r = http(addr, "GET", "/api/v4/spot/time", &[], "").await;
    assert_eq!(r.status, 200);
    let e = t.elapsed();
    assert!(e >= delay && e <= delay + TICK, "{e:?}");
    sim.faults().set_rest_fault(None);
    let snap = sim.stats().snapshot();
    assert_eq!(snap.rest_requests, 3);
    assert_eq!(snap.rest_by_route["GET /api/v4/spot/time"], 3);
    sim.shutdown().await;

    let sim = start(config(Venue::Mexc, Source::Synthetic)).await;
    sim.faults()
        .set_rest_fault(Some(RestFault::TooManyRequests {
            retry_after_secs: 2,
        }));
    let r = http(sim.local_addr(), "GET", "/api/v3/time", &[], "").await;
    assert_eq!(
        (r.status, r.headers["retry-after"].to_str().unwrap()),
        (429, "2")
    );
    assert_eq!(r.json(), json!({"code": 429, "msg": "Too Many Requests"}));
    sim.shutdown().await;
}

/// `ServedThenServerError`: the request takes effect, its answer is a 5xx.
#[tokio::test]
async fn rest_5xx_after_serving_keeps_the_effect() {
    let sim = start(config(Venue::Mexc, Source::Synthetic)).await;
    let addr = sim.local_addr();
    let key = [("X-MEXC-APIKEY", "test-key")];
    sim.faults()
        .set_rest_fault(Some(RestFault::ServedThenServerError { status: 502 }));
    let place = mexc_signed(
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.01&price=1&newClientOrderId=lost-1",
        "test-key",
        "test-secret",
    );
    let r = http(addr, "POST", &place, &key, "").await;
    assert_eq!(
        (r.status, r.json()),
        (502, json!({"code": 500, "msg": "Internal error"}))
    );
    sim.faults().set_rest_fault(None);
    let query = mexc_signed(
        "/api/v3/order",
        "symbol=BTCUSDT&origClientOrderId=lost-1",
        "test-key",
        "test-secret",
    );
    let r = http(addr, "GET", &query, &key, "").await;
    assert_eq!((r.status, r.json()["status"].as_str()), (200, Some("NEW")));
    sim.shutdown().await;
}

#[tokio::test]
async fn kick_with_and_without_close_frame() {
    let sim = gate_sim(100).await;
    let mut a = subscribed(&sim).await;
    sim.faults().kick_all(Kick::TcpDrop);
    expect_tcp_drop(&mut a).await;
    sim.stats().wait_until(|s| s.ws_live == 0).await;

    let mut b = subscribed(&sim).await;
    sim.faults().kick_all(Kick::CloseFrame);
    loop {
        match next(&mut b).await {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), 1001);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn observability_counts_connections_subscriptions_and_frames() {
    let sim = gate_sim(200).await;
    let mut ws = subscribed(&sim).await;
    let snap = sim.stats().wait_until(|s| s.frames_sent >= 5).await;
    assert_eq!(
        (snap.ws_accepted, snap.ws_live, snap.ws_requests),
        (1, 1, 1)
    );
    assert_eq!(
        snap.subscriptions.values().next().unwrap(),
        &vec!["spot.order_book_update:BTC_USDT,100ms".to_owned()]
    );
    next_json(&mut ws).await;
    drop(ws);
    let snap = sim.stats().wait_until(|s| s.ws_live == 0).await;
    assert!(snap.subscriptions.is_empty());
    // A client that stopped does not come back: the accepted count stays at one.
    assert_eq!(snap.ws_accepted, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_clients_with_a_close_frame_and_waits_for_tasks() {
    let sim = gate_sim(100).await;
    let mut ws = subscribed(&sim).await;
    let stats = sim.stats().clone();
    sim.shutdown().await;
    assert_eq!(stats.snapshot().ws_live, 0);
    loop {
        match next(&mut ws).await {
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("{e}"),
        }
    }
}
