//! A Gate.io and a MEXC simulator in the crossing mode, as an arbitrage sees them: inside a
//! crossing the rich venue's best bid is above the cheap venue's best ask by about the
//! configured peak, and both legs of the arbitrage (buy where it is cheap, sell where it is
//! rich) fill at those prices. The schedule is placed so that the test runs inside a
//! crossing; no test waits for one, except the one that needs the market to move: a resting
//! order filled by a crossing that starts as it is placed.
//!
//! Also: `Source::ReplayThenSynthetic` plays a stream's captured frames first, then its
//! synthetic data numbered above them.

mod common;

use common::*;
use prost::Message as _;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;
use std::time::Duration;
use venue_sim::mexc::proto::push_data_v3_api_wrapper::Body;
use venue_sim::mexc::proto::PushDataV3ApiWrapper;
use venue_sim::{Crossing, PriceModel, SimConfig, SimHandle, Source, Symbol, Venue};

/// A crossing schedule whose current crossing (Gate.io rich) is centred on now and lasts
/// five minutes, so a slow machine is still inside it when the test looks.
fn crossing_now() -> Crossing {
    let every = Duration::from_secs(600);
    Crossing {
        every,
        width: Duration::from_secs(300),
        peak_bps: 40,
        // Centres at origin + every/2 + n*every; n = 0 (even) has Gate.io rich.
        origin_ms: now_ms() - every.as_millis() as i64 / 2,
    }
}

async fn crossing_sim(venue: Venue, crossing: Crossing) -> SimHandle {
    let mut cfg = SimConfig::new(venue);
    cfg.crossing = Some(crossing);
    cfg.seed = 42;
    start(cfg).await
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("{v}"))).unwrap()
}

/// Gate.io's best bid and MEXC's best ask of BTC/USDT, from their REST books.
async fn touches(gate: &SimHandle, mexc: &SimHandle) -> (Decimal, Decimal) {
    let g = http(
        gate.local_addr(),
        "GET",
        "/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=1",
        &[],
        "",
    )
    .await
    .json();
    let m = http(
        mexc.local_addr(),
        "GET",
        "/api/v3/depth?symbol=BTCUSDT&limit=1",
        &[],
        "",
    )
    .await
    .json();
    (dec(&g["bids"][0][0]), dec(&m["asks"][0][0]))
}

#[tokio::test]
async fn inside_a_crossing_both_arbitrage_legs_fill_at_crossed_prices() {
    let crossing = crossing_now();
    let gate = crossing_sim(Venue::Gateio, crossing).await;
    let mexc = crossing_sim(Venue::Mexc, crossing).await;
    let (gate_bid, mexc_ask) = touches(&gate, &mexc).await;
    let edge_bps = (gate_bid - mexc_ask) / mexc_ask * Decimal::from(10_000);
    // 40 bp at the centre; still above 35 bp half a minute either side of it.
    assert!(
        edge_bps > Decimal::from(35) && edge_bps <= Decimal::from(41),
        "Gate.io bid {gate_bid}, MEXC ask {mexc_ask}: {edge_bps} bp"
    );

    // Buy 0.1 BTC on MEXC at market...
    let path = mexc_signed(
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1&newClientOrderId=arb-buy",
        "test-key",
        "test-secret",
    );
    let key = [("X-MEXC-APIKEY", "test-key")];
    let bought = http(mexc.local_addr(), "POST", &path, &key, "").await;
    assert_eq!(bought.status, 200, "{:?}", bought.body);
    let bought = bought.json();
    let buy_price = dec(&bought["price"]);
    // ...and sell it on Gate.io at market.
    let body = json!({"text": "t-arb-sell", "currency_pair": "BTC_USDT", "type": "market", "side": "sell", "amount": "0.1", "time_in_force": "ioc"}).to_string();
    let h = gate_headers(
        "POST",
        "/api/v4/spot/orders",
        "",
        &body,
        "test-key",
        "test-secret",
    );
    let sold = http(
        gate.local_addr(),
        "POST",
        "/api/v4/spot/orders",
        &hdrs(&h),
        &body,
    )
    .await;
    assert_eq!(sold.status, 201, "{:?}", sold.body);
    let sold = sold.json();
    assert_eq!(sold["finish_as"], "filled", "{sold}");
    let sell_price = dec(&sold["avg_deal_price"]);
    // Each leg filled at the touch it crossed (the model moves a little between requests).
    let near = |a: Decimal, b: Decimal| ((a - b) / b).abs() < Decimal::new(5, 4);
    assert!(near(buy_price, mexc_ask), "{buy_price} vs {mexc_ask}");
    assert!(near(sell_price, gate_bid), "{sell_price} vs {gate_bid}");
    // The round trip beats 0.1 % taker fees on each leg.
    let gross_bps = (sell_price - buy_price) / buy_price * Decimal::from(10_000);
    assert!(gross_bps > Decimal::from(20), "{gross_bps} bp");
    gate.shutdown().await;
    mexc.shutdown().await;
}

#[tokio::test]
async fn a_resting_order_fills_as_maker_when_a_crossing_reaches_it() {
    // A crossing with Gate.io rich, centred 3 s from now and 6 s wide: Gate.io's bid rises
    // from the fair value now to about 20 bp above it at the centre.
    let centre = now_ms() + 3_000;
    let crossing = Crossing {
        every: Duration::from_secs(60),
        width: Duration::from_secs(6),
        peak_bps: 40,
        origin_ms: centre - 30_000,
    };
    let gate = crossing_sim(Venue::Gateio, crossing).await;
    let addr = gate.local_addr();
    // The simulator's symbols, in its order: the model quotes what it will quote.
    let symbols: Vec<Symbol> = ["BTC/USDT", "ETH/USDT"]
        .iter()
        .map(|s| Symbol::parse(s).unwrap())
        .collect();
    let mut model = PriceModel::new(42, crossing, &symbols);
    let start = now_ms();
    let bid_at = |model: &mut PriceModel, t: i64| model.quote(Venue::Gateio, 0, t).bid;
    let max_bid = |model: &mut PriceModel, from: i64, to: i64| {
        (from..to)
            .step_by(10)
            .map(|t| bid_at(model, t))
            .max()
            .unwrap()
    };
    let first_second = max_bid(&mut model, start - 1_000, start + 1_000);
    let peak = max_bid(&mut model, start, centre + 1_000);
    assert!(peak > first_second, "{first_second} {peak}");
    // A sell halfway between: it rests now and the crossing's rise reaches it.
    let price = ((first_second + peak) / Decimal::TWO).round_dp(2);

    let mut ws = connect(&gate.ws_url()).await;
    for ch in ["spot.usertrades", "spot.orders"] {
        send(
            &mut ws,
            auth_req(
                ch,
                "subscribe",
                json!(["BTC_USDT"]),
                "test-key",
                "test-secret",
            ),
        )
        .await;
        let ack = next_json_where(&mut ws, |v| v["event"] == "subscribe").await;
        assert_eq!(ack["error"], Value::Null, "{ack}");
    }
    let body = json!({"text": "t-maker", "currency_pair": "BTC_USDT", "side": "sell", "amount": "0.1", "price": price.to_string()}).to_string();
    let h = gate_headers(
        "POST",
        "/api/v4/spot/orders",
        "",
        &body,
        "test-key",
        "test-secret",
    );
    let placed = http(addr, "POST", "/api/v4/spot/orders", &hdrs(&h), &body).await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    let placed = placed.json();
    assert_eq!(placed["status"], "open", "{placed}");
    assert_eq!(placed["fee"], "0");

    // Filled as the bid rises through it: at its own price, as maker, paying Gate.io's maker
    // fee (10 bps) in USDT.
    let trade = next_json_where(&mut ws, |v| v["channel"] == "spot.usertrades").await;
    let t = &trade["result"][0];
    let fee = (Decimal::new(1, 1) * price * Decimal::new(1, 3)).normalize();
    assert_eq!(
        (
            t["order_id"].as_str(),
            t["role"].as_str(),
            t["amount"].as_str()
        ),
        (placed["id"].as_str(), Some("maker"), Some("0.1"))
    );
    assert_eq!((dec(&t["price"]), dec(&t["fee"])), (price, fee));
    assert_eq!(t["fee_currency"], "USDT");
    let finish = next_json_where(&mut ws, |v| {
        v["channel"] == "spot.orders" && v["result"][0]["event"] == "finish"
    })
    .await;
    let o = &finish["result"][0];
    assert_eq!(
        (o["finish_as"].as_str(), o["left"].as_str()),
        (Some("filled"), Some("0"))
    );
    assert_eq!(
        (dec(&o["fee"]), o["fee_currency"].as_str()),
        (fee, Some("USDT"))
    );

    // The BTC locked by the order paid for it; the USDT arrived less the fee.
    let h = gate_headers(
        "GET",
        "/api/v4/spot/accounts",
        "",
        "",
        "test-key",
        "test-secret",
    );
    let accounts = http(addr, "GET", "/api/v4/spot/accounts", &hdrs(&h), "")
        .await
        .json();
    let of = |c: &str| {
        accounts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["currency"] == c)
            .unwrap()
            .clone()
    };
    let (btc, usdt) = (of("BTC"), of("USDT"));
    assert_eq!(
        (dec(&btc["available"]), dec(&btc["locked"])),
        (Decimal::from_str("99.9").unwrap(), Decimal::ZERO)
    );
    let proceeds = Decimal::new(1, 1) * price - fee;
    assert_eq!(
        (dec(&usdt["available"]), dec(&usdt["locked"])),
        (Decimal::from(1_000_000) + proceeds, Decimal::ZERO)
    );
    gate.shutdown().await;
}

#[tokio::test]
async fn simulators_with_the_same_seed_agree_on_the_fair_value() {
    // Quiet time (no crossing): both venues quote the same book top.
    let every = Duration::from_secs(600);
    let quiet = Crossing {
        every,
        width: Duration::from_secs(60),
        peak_bps: 40,
        // Now is a whole period from the nearest centre.
        origin_ms: now_ms(),
    };
    let gate = crossing_sim(Venue::Gateio, quiet).await;
    let mexc = crossing_sim(Venue::Mexc, quiet).await;
    let (gate_bid, mexc_ask) = touches(&gate, &mexc).await;
    // Best bid one tick below the shared mid, best ask one above; the fair value walks at
    // most a few bp between the two requests, either way (a fall of two ticks or more
    // between them puts Gate.io's bid above MEXC's ask), so only the size of the gap says
    // whether the two agree.
    let gap_bps = (mexc_ask - gate_bid) / gate_bid * Decimal::from(10_000);
    assert!(gap_bps.abs() < Decimal::from(3), "{gate_bid} {mexc_ask}");
    gate.shutdown().await;
    mexc.shutdown().await;
}

#[tokio::test]
async fn replay_then_synthetic_plays_captures_first_then_higher_ids() {
    let mut cfg = config(Venue::Gateio, Source::ReplayThenSynthetic);
    cfg.crossing = Some(crossing_now());
    let sim = start(cfg).await;
    let mut ws = connect(&sim.ws_url()).await;
    let sub = |id: u32, pair: &str| {
        json!({"time": now_ms() / 1000, "id": id, "channel": "spot.book_ticker", "event": "subscribe", "payload": [pair]})
            .to_string()
    };
    send(&mut ws, sub(1, "BTC_USDT")).await;
    let ticker = |v: &Value| v["channel"] == "spot.book_ticker" && v["event"] == "update";
    // The one captured BTC_USDT book ticker (2022, u 6765708346), stamped now...
    let first = next_json_where(&mut ws, ticker).await;
    assert_eq!(first["result"]["u"], 6_765_708_346_u64, "{first}");
    assert_eq!(first["result"]["b"], "31738.93");
    assert!((first["time"].as_i64().unwrap() - now_ms() / 1000).abs() < 30);
    // ...then synthetic ones, numbered above it, at the model's prices.
    let next = next_json_where(&mut ws, ticker).await;
    assert!(
        next["result"]["u"].as_u64().unwrap() > 6_765_708_346,
        "{next}"
    );
    assert_ne!(next["result"]["b"], "31738.93");
    // A pair without captures starts synthetic at once.
    send(&mut ws, sub(2, "ETH_USDT")).await;
    let eth = next_json_where(&mut ws, |v| ticker(v) && v["result"]["s"] == "ETH_USDT").await;
    assert!(
        eth["result"]["u"].as_u64().unwrap() > 6_765_708_346,
        "{eth}"
    );
    // Pairs outside the configured symbols are refused, captured or not.
    send(&mut ws, sub(3, "OMG_USDT")).await;
    let refused = next_json_where(&mut ws, |v| v["id"] == 3).await;
    assert_eq!(refused["result"]["status"], "fail", "{refused}");
    sim.shutdown().await;
}

#[tokio::test]
async fn mexc_replay_then_synthetic_numbers_versions_above_the_captures() {
    let sim = start(config(Venue::Mexc, Source::ReplayThenSynthetic)).await;
    let mut ws = connect(&sim.ws_url()).await;
    let channel = "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT";
    send(
        &mut ws,
        json!({"method": "SUBSCRIPTION", "params": [channel]}).to_string(),
    )
    .await;
    let mut versions = Vec::new();
    while versions.len() < 3 {
        let w = PushDataV3ApiWrapper::decode(next_binary(&mut ws).await.as_ref()).unwrap();
        if let Some(Body::PublicAggreBookTicker(b)) = w.body {
            versions.push((b.version.parse::<u64>().unwrap(), b.bid_price));
        }
    }
    // The captured frame (bid 84270, version 82164153436), then synthetic above every
    // captured version (the largest is a limit-depth frame's 82164155643).
    assert_eq!(versions[0], (82_164_153_436, "84270".to_owned()));
    assert!(versions[1].0 > 82_164_155_643, "{versions:?}");
    assert!(versions[2].0 > versions[1].0, "{versions:?}");
    sim.shutdown().await;
}
