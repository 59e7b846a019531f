//! Every Gate.io frame in the vendored fixtures is parsed or deliberately classified.

mod common;

use common::*;
use gateio_plugin::parse::{parse_frame, ParseError, Parsed};
use gateio_plugin::rest;
use plugin_api::{ConnId, Event, Num, OrderStatus, Side};

fn class(text: &str) -> &'static str {
    match parse_frame(text.as_bytes(), 1) {
        Ok(Parsed::BookTicker(_)) => "book_ticker",
        Ok(Parsed::Trade(_)) => "trade",
        Ok(Parsed::Depth(_)) => "depth",
        Ok(Parsed::Orders(_)) => "orders",
        Ok(Parsed::Fills(_)) => "fills",
        Ok(Parsed::Balances(_)) => "balances",
        Ok(Parsed::Ack { .. }) => "ack",
        Ok(Parsed::Pong) => "pong",
        Ok(Parsed::VenueError { .. }) => "error",
        Ok(Parsed::Unsupported { .. }) => "unsupported",
        Ok(Parsed::Request { .. }) => "request",
        Err(ParseError::Malformed(_)) => "malformed",
        Err(ParseError::UnknownChannel(_)) => "unknown_channel",
    }
}

/// Feeds the frame through the Venue impl too and checks the output agrees with the class.
fn check_output(text: &str, expected: &str) {
    let mut v = venue();
    let out = frame(&mut v, ConnId(1), text, 1);
    match expected {
        "book_ticker" | "trade" | "orders" | "fills" | "balances" => {
            assert!(!out.events.is_empty() && out.rejects.is_empty(), "{text}")
        }
        // Depth for an unsynced book is buffered and a snapshot is requested (or a full
        // message replaces the book at once).
        "depth" => assert!(
            out.rejects.is_empty() && (!out.events.is_empty() || !out.actions.is_empty()),
            "{text}"
        ),
        "ack" | "pong" => assert!(out.is_empty(), "{text}"),
        "error" => assert_eq!(out.rejects[0].reason.as_str(), "venue_error"),
        "unsupported" => assert_eq!(out.rejects[0].reason.as_str(), "unsupported_channel"),
        "request" => assert_eq!(out.rejects[0].reason.as_str(), "unexpected_request"),
        "malformed" => assert_eq!(out.rejects[0].reason.as_str(), "malformed"),
        other => panic!("no expectation {other}"),
    }
}

fn frame_text(v: &serde_json::Value) -> String {
    for key in ["msg", "json", "raw"] {
        if let Some(m) = v.get(key) {
            return m.to_string();
        }
    }
    if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
        return t.to_owned();
    }
    v.to_string()
}

fn check_file(rel: &str, expected: &[&str]) -> usize {
    let lines = jsonl(rel);
    assert_eq!(lines.len(), expected.len(), "{rel}: expectation count");
    for (i, (line, want)) in lines.iter().zip(expected).enumerate() {
        let text = frame_text(line);
        assert_eq!(class(&text), *want, "{rel} line {}: {text}", i + 1);
        check_output(&text, want);
    }
    lines.len()
}

fn rule_file(rel: &str, rule: impl Fn(&serde_json::Value) -> &'static str) -> usize {
    let lines = jsonl(rel);
    let expected: Vec<&str> = lines.iter().map(rule).collect();
    check_file(rel, &expected)
}

/// cryptofeed captures: `out` lines are our own requests, `in` acks or data of `data_class`.
fn cryptofeed(file: &str, data_class: &'static str) -> usize {
    rule_file(
        &format!("captures/cryptofeed_2021-04-22/{file}"),
        move |v| match (v["dir"].as_str(), v["raw"]["event"].as_str()) {
            (Some("out"), _) => "request",
            (Some("in"), Some("subscribe")) => "ack",
            (Some("in"), Some("update")) => data_class,
            _ => "unexpected line shape",
        },
    )
}

#[test]
fn every_fixture_frame_is_classified() {
    let mut n = 0;
    n += check_file("ws_book_ticker.jsonl", &["book_ticker"; 3]);
    n += check_file("ws_candlesticks.jsonl", &["unsupported"]);
    n += check_file(
        "ws_control.jsonl",
        &["pong", "error", "ack", "ack", "ack", "ack", "ack", "ack"],
    );
    n += check_file("ws_obu.jsonl", &["unsupported"; 4]);
    n += check_file("ws_order_book.jsonl", &["unsupported"; 2]);
    n += rule_file("ws_order_book_update.jsonl", |_| "depth");
    n += check_file("ws_tickers.jsonl", &["unsupported"]);
    n += rule_file("ws_trades.jsonl", |_| "trade");
    n += rule_file("samples/ws_requests.jsonl", |_| "request");
    #[rustfmt::skip]
    let doc = [
        "request", "ack", "pong", "unsupported", "trade", "unsupported", "unsupported",
        "book_ticker", "depth", "unsupported", "error", "ack", "unsupported", "unsupported",
        "ack", "orders", "unsupported", "fills", "unsupported", "balances", "unsupported",
        "unsupported", "unsupported", "unsupported", "unsupported", "unsupported",
        "unsupported", "unsupported", "unsupported", "request", "unsupported", "malformed",
        "request", "unsupported", "unsupported", "unsupported", "unsupported", "unsupported",
        "malformed", "request", "unsupported", "malformed", "request", "unsupported",
        "malformed", "request", "unsupported", "request", "unsupported", "request",
        "unsupported", "request", "unsupported",
    ];
    n += check_file("samples/doc_ws_examples.jsonl", &doc);
    n += check_file(
        "captures/crypto-msg-parser_2022/ws_spot_frames.jsonl",
        &[
            "trade",
            "depth",
            "unsupported",
            "book_ticker",
            "unsupported",
            "unsupported",
        ],
    );
    n += check_file(
        "captures/tardis-node_tests/ws_spot_frames.jsonl",
        &[
            "trade",
            "book_ticker",
            "depth",
            "ack",
            "unsupported",
            "unsupported",
        ],
    );
    n += cryptofeed("ws_spot_order_book_update.jsonl", "depth");
    n += cryptofeed("ws_spot_trades.jsonl", "trade");
    n += cryptofeed("ws_spot_tickers.jsonl", "unsupported");
    n += cryptofeed("ws_spot_candlesticks.jsonl", "unsupported");
    assert!(n > 500, "only {n} frames checked");
}

#[test]
fn rest_fixture_bodies_parse() {
    for v in jsonl("captures/cryptofeed_2021-04-22/rest_spot_order_book_with_id.jsonl") {
        let snap = rest::parse_snapshot(&v["body"].to_string()).unwrap();
        assert!(snap.id > 0 && !snap.bids.is_empty() && !snap.asks.is_empty());
    }
    // Without `with_id=true` there is no id to sync on: refused, deliberately.
    let body = read("captures/crypto-msg-parser_2022/rest_spot_order_book.jsonl");
    assert!(rest::parse_snapshot(body.trim()).is_err());
    let docs = jsonl("samples/doc_rest_examples.jsonl");
    let by_section = |s: &str| {
        docs.iter()
            .find(|d| d["section"].as_str().unwrap().starts_with(s))
            .unwrap()["json"]
            .to_string()
    };
    let snap = rest::parse_snapshot(&by_section("GET /spot/order_book")).unwrap();
    assert_eq!((snap.id, snap.ts_ms), (123456, 1623898993123));
    assert_eq!(snap.bids[0].price, Num::parse("1.17").unwrap());
    let o = rest::parse_order(&by_section("GET /spot/orders/{order_id}"), 5).unwrap();
    assert_eq!(o.order_id.as_str(), "1852454420");
    assert_eq!(o.client_id.as_str(), "abc123");
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.filled_qty, Num::parse("0.001").unwrap());
    assert_eq!(o.stamp.venue_ts_ms, 1710488334074);
    let open = rest::parse_open_orders(&by_section("GET /spot/open_orders"), 5).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].status, OrderStatus::Open);
    let bal = rest::parse_accounts(&by_section("GET /spot/accounts"), 5).unwrap();
    assert_eq!(bal[0].asset.as_str(), "ETH");
    assert_eq!(bal[0].available, Num::parse("968.8").unwrap());
}

fn one(text: &str) -> Event {
    let mut v = venue();
    let mut out = frame(&mut v, ConnId(1), text, 777);
    assert_eq!(out.events.len(), 1, "{out:?}");
    out.events.pop().unwrap()
}

fn n(s: &str) -> Num {
    Num::parse(s).unwrap()
}

#[test]
fn spot_check_exact_fields() {
    let lines = jsonl("ws_book_ticker.jsonl");
    let Event::BookTicker(b) = one(&lines[0]["msg"].to_string()) else {
        panic!()
    };
    assert_eq!(b.instrument.symbol.as_str(), "BTC/USDT");
    assert_eq!(b.instrument.venue_symbol.as_str(), "BTC_USDT");
    assert_eq!((b.bid_price, b.bid_qty), (n("19177.79"), n("0.0003341504")));
    assert_eq!((b.ask_price, b.ask_qty), (n("19179.38"), n("0.09")));
    assert_eq!(b.bid_qty.to_string(), "0.0003341504");
    assert_eq!(
        (b.update_id, b.stamp.venue_ts_ms, b.stamp.received_ns),
        (48733182, 1606293275123, 777)
    );

    let Event::Trade(t) = one(&jsonl("ws_trades.jsonl")[0]["msg"].to_string()) else {
        panic!()
    };
    assert_eq!(t.instrument.symbol.as_str(), "GT/USDT");
    assert_eq!(t.trade_id.as_str(), "309143071");
    assert_eq!(
        (t.price, t.qty, t.side),
        (n("0.4705"), n("16.47"), Side::Sell)
    );
    assert_eq!(
        (t.trade_ts_ms, t.stamp.venue_ts_ms),
        (1606292218213, 1606292218231),
        "the trade's time and the message's"
    );

    let doc = jsonl("samples/doc_ws_examples.jsonl");
    let Event::Depth(d) = one(&doc[8]["json"].to_string()) else {
        panic!()
    };
    assert!(d.snapshot, "full:true replaces the book");
    assert_eq!(
        (d.first_id, d.last_id, d.stamp.venue_ts_ms),
        (48776301, 48776306, 1606294781123)
    );
    assert_eq!(d.bids[1].qty, Num::ZERO);
    assert_eq!(d.asks[0].price, n("19137.75"));

    let Event::Order(o) = one(&doc[15]["json"].to_string()) else {
        panic!()
    };
    assert_eq!(
        (o.order_id.as_str(), o.client_id.as_str()),
        ("399123456", "testtext")
    );
    assert_eq!(
        (o.side, o.price, o.qty),
        (Side::Sell, n("26253.3"), n("0.0001"))
    );
    assert_eq!((o.filled_qty, o.status), (Num::ZERO, OrderStatus::Open));
    assert_eq!(o.stamp.venue_ts_ms, 1694655225315);

    let Event::Fill(f) = one(&doc[17]["json"].to_string()) else {
        panic!()
    };
    assert_eq!(
        (f.order_id.as_str(), f.trade_id.as_str()),
        ("30784428", "5736713")
    );
    assert_eq!((f.price, f.qty, f.fee), (n("10000"), n("1"), n("0.002")));
    assert_eq!((f.side, f.fee_asset.as_str()), (Side::Sell, "USDT"));
    assert_eq!(
        (f.trade_ts_ms, f.stamp.venue_ts_ms),
        (1605176741123, 1605176741763),
        "the fill's time and the message's"
    );

    let Event::Balance(b) = one(&doc[19]["json"].to_string()) else {
        panic!()
    };
    assert_eq!(b.asset.as_str(), "USDT");
    assert_eq!((b.available, b.locked), (n("222244.3827"), n("5")));
    assert_eq!(b.stamp.venue_ts_ms, 1667556323730);

    let cmp = read("captures/crypto-msg-parser_2022/ws_spot_frames.jsonl");
    let Event::Trade(t) = one(cmp.lines().next().unwrap()) else {
        panic!()
    };
    assert_eq!(
        (t.price, t.side, t.trade_ts_ms, t.stamp.venue_ts_ms),
        (n("47395.009"), Side::Buy, 1631824310261, 1631824310000)
    );
}
