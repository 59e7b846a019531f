//! Engine tests: events in, opportunities, cancels and the report out.

use plugin_api::{
    Balance, Event, Fill, Gap, GapReason, Num, OrderStatus, OrderUpdate, Side, Stamp, StreamKind,
};

use super::*;
use crate::client_id::OppId;
use crate::config::testutil::config;
use crate::exact::d;
use crate::spread::SizeLimit;
use crate::touch::testutil::ticker;

const MS: u64 = 1_000_000;
const T0: u64 = 1_000_000 * MS;

fn btc() -> Symbol {
    Symbol::new("BTC/USDT").unwrap()
}

fn engine() -> (Engine, VenueId, VenueId) {
    let mut e = Engine::new(config()).unwrap();
    let (gate, mexc) = (e.venue_id("gate").unwrap(), e.venue_id("mexc").unwrap());
    for v in [gate, mexc] {
        for (asset, amount) in [("USDT", "1000"), ("BTC", "1")] {
            balance(&mut e, v, asset, amount);
        }
    }
    (e, gate, mexc)
}

fn balance(e: &mut Engine, venue: VenueId, asset: &str, amount: &str) {
    let b = Event::Balance(Balance {
        asset: asset.into(),
        available: Num::parse(amount).unwrap(),
        locked: Num::ZERO,
        stamp: Stamp {
            venue_ts_ms: 0,
            received_ns: T0,
        },
    });
    assert_eq!(e.on_event(venue, &b, T0), Ok(None));
}

/// A book ticker from `venue` received at `at`, handled `delay` ns later.
fn tick(
    e: &mut Engine,
    venue: VenueId,
    bid: (&str, &str),
    ask: (&str, &str),
    at: u64,
    delay: u64,
) -> Option<Opportunity> {
    let spelling = if e.config().venues[venue.index()].name == "gate" {
        "BTC_USDT"
    } else {
        "BTCUSDT"
    };
    let t = ticker(spelling, bid, ask, at);
    e.on_event(venue, &Event::BookTicker(t), at + delay)
        .unwrap()
}

fn order(client_id: &str, order_id: &str, status: OrderStatus, filled: &str) -> Event {
    Event::Order(OrderUpdate {
        instrument: plugin_api::Instrument::new("BTC/USDT", "X").unwrap(),
        order_id: order_id.into(),
        client_id: client_id.into(),
        side: Side::Buy,
        price: Num::ZERO,
        qty: Num::ZERO,
        filled_qty: Num::parse(filled).unwrap(),
        status,
        stamp: Stamp::default(),
    })
}

fn fill(order_id: &str, side: Side, price: &str, qty: &str, fee: &str) -> Event {
    Event::Fill(Fill {
        instrument: plugin_api::Instrument::new("BTC/USDT", "X").unwrap(),
        order_id: order_id.into(),
        trade_id: format!("{order_id}-t").as_str().into(),
        side,
        price: Num::parse(price).unwrap(),
        qty: Num::parse(qty).unwrap(),
        fee: Num::parse(fee).unwrap(),
        fee_asset: "USDT".into(),
        trade_ts_ms: 0,
        stamp: Stamp {
            venue_ts_ms: 0,
            received_ns: T0 + 5 * MS,
        },
    })
}

fn skips(e: &Engine, skip: Skip) -> u64 {
    e.counts().2.get(&skip).copied().unwrap_or(0)
}

#[test]
fn buys_on_gate_sells_on_mexc_and_accounts_the_round_trip() {
    let (mut e, gate, mexc) = engine();
    assert_eq!(
        tick(&mut e, gate, ("100", "0.4"), ("100.1", "0.5"), T0, 1000),
        None
    );
    assert_eq!(skips(&e, Skip::NoQuote), 1);
    // Gate → MEXC: 101 × 0.9995 − 100.1 × 1.001 = 100.9495 − 100.2001 = 0.7494 per unit,
    // size min(0.5 ask, 0.3 bid) = 0.3, profit 0.22482. The reverse loses.
    let opp = tick(
        &mut e,
        mexc,
        ("101", "0.3"),
        ("101.2", "0.6"),
        T0 + MS,
        1500,
    )
    .unwrap();
    assert_eq!(opp.id, OppId(1));
    assert_eq!((opp.buy.venue, opp.sell.venue), (gate, mexc));
    assert_eq!(opp.spread.net_per_unit, d("0.7494"));
    assert_eq!(
        (opp.spread.qty, opp.spread.limit),
        (d("0.3"), SizeLimit::BidSize)
    );
    assert_eq!(opp.spread.expected_profit, d("0.22482"));
    assert_eq!(opp.buy.order.instrument.venue_symbol.as_str(), "BTC_USDT");
    assert_eq!(opp.sell.order.instrument.venue_symbol.as_str(), "BTCUSDT");
    assert_eq!(e.ledger().in_flight(), 1);
    // The buy leg holds back 0.3 × 100.1 × 1.001 of gate's USDT.
    assert_eq!(e.usable(gate, "USDT"), d("969.93997"));
    assert_eq!(e.usable(mexc, "BTC"), d("0.7"));

    e.on_sent("arb-1-b", T0 + MS + 1800);
    e.on_sent("arb-1-s", T0 + MS + 1900);
    for ev in [
        order("arb-1-b", "G1", OrderStatus::Open, "0"),
        fill("G1", Side::Buy, "100.1", "0.3", "0.03003"),
        order("arb-1-b", "G1", OrderStatus::Filled, "0.3"),
    ] {
        assert_eq!(e.on_event(gate, &ev, T0 + 5 * MS), Ok(None));
    }
    for ev in [
        order("arb-1-s", "M1", OrderStatus::Filled, "0.3"),
        fill("M1", Side::Sell, "101", "0.3", "0.01515"),
    ] {
        assert_eq!(e.on_event(mexc, &ev, T0 + 5 * MS), Ok(None));
    }
    assert_eq!(e.ledger().in_flight(), 0);
    // Filled at the touch with the configured fees: realized is what was expected.
    let book = e.ledger().book(btc()).unwrap();
    assert_eq!(book.position.realized(), d("0.22482"));
    assert_eq!(book.position.net_qty(), d("0"));
    // Balances: the reports less what fills spent; nothing held back any more.
    assert_eq!(e.usable(gate, "USDT"), d("969.93997"));
    assert_eq!(e.usable(mexc, "BTC"), d("0.7"));
    // MEXC's USDT: the proceeds are not counted until reported, the fee paid in it is.
    assert_eq!(e.usable(mexc, "USDT"), d("999.98485"));

    let r = e.report();
    assert_eq!((r.evaluations, r.decided), (2, 1));
    assert_eq!(r.outcomes.hedged, 1);
    assert_eq!(r.trades.len(), 2);
    assert!(r.open_legs.is_empty());
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["symbols"][0]["realized_pnl"], "0.22482");
    assert_eq!(json["symbols"][0]["fees_in_quote"], "0.04518");
    assert_eq!(json["trades"][0]["venue"], "gate");
    assert_eq!(json["trades"][1]["realized"], "0.25485");
    assert_eq!(json["skips"][0]["reason"], "no_quote");
    assert_eq!(json["inventory"][0]["asset"], "BTC");
    assert_eq!(json["inventory"][1]["amount"], "-30.06003");
    // Latency: decisions 1000 and 1500 ns after their ticks, sends 1800 and 1900.
    assert_eq!(r.latency.tick_to_decision.count, 2);
    assert_eq!(r.latency.tick_to_decision.p50_ns, 1000);
    assert_eq!(r.latency.tick_to_decision.max_ns, 1500);
    assert_eq!(r.latency.tick_to_send.count, 2);
    assert_eq!(r.latency.tick_to_send.p50_ns, 1800);
    assert_eq!(r.latency.tick_to_send.max_ns, 1900);
}

#[test]
fn buys_on_mexc_when_gate_is_dearer() {
    let (mut e, gate, mexc) = engine();
    tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), T0, 0);
    // 102 × 0.999 − 101.2 × 1.0005 = 101.898 − 101.2506 = 0.6474
    let opp = tick(&mut e, gate, ("102", "0.2"), ("102.1", "1"), T0, 0).unwrap();
    assert_eq!((opp.buy.venue, opp.sell.venue), (mexc, gate));
    assert_eq!(opp.spread.net_per_unit, d("0.6474"));
    assert_eq!(opp.buy.order.price.to_decimal(), d("101.2"));
    assert_eq!(opp.sell.order.price.to_decimal(), d("102"));
}

#[test]
fn size_is_capped_by_the_selling_venue_base_balance() {
    let (mut e, gate, mexc) = engine();
    balance(&mut e, mexc, "BTC", "0.1234");
    tick(&mut e, gate, ("100", "5"), ("100.1", "5"), T0, 0);
    let opp = tick(&mut e, mexc, ("101", "5"), ("101.2", "5"), T0, 0).unwrap();
    assert_eq!(
        (opp.spread.qty, opp.spread.limit),
        (d("0.123"), SizeLimit::BaseBalance)
    );
}

#[test]
fn no_balance_reported_means_no_trade() {
    let mut e = Engine::new(config()).unwrap();
    let (gate, mexc) = (e.venue_id("gate").unwrap(), e.venue_id("mexc").unwrap());
    tick(&mut e, gate, ("100", "5"), ("100.1", "5"), T0, 0);
    assert_eq!(
        tick(&mut e, mexc, ("101", "5"), ("101.2", "5"), T0, 0),
        None
    );
    assert_eq!(skips(&e, Skip::TooSmall), 1);
}

#[test]
fn stale_quote_is_not_traded() {
    let (mut e, gate, mexc) = engine();
    tick(&mut e, gate, ("100", "1"), ("100.1", "1"), T0, 0);
    assert_eq!(
        tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), T0 + 501 * MS, 0),
        None
    );
    assert_eq!(skips(&e, Skip::Stale), 1);
    // Quotes received in time but handled late are stale too.
    let (mut e, gate, mexc) = engine();
    tick(&mut e, gate, ("100", "1"), ("100.1", "1"), T0, 0);
    assert_eq!(
        tick(
            &mut e,
            mexc,
            ("101", "1"),
            ("101.2", "1"),
            T0 + 10 * MS,
            590 * MS
        ),
        None
    );
    assert_eq!(skips(&e, Skip::Stale), 1);
}

#[test]
fn cooldown_then_in_flight_then_free_again() {
    let (mut e, gate, mexc) = engine();
    tick(&mut e, gate, ("100", "1"), ("100.1", "1"), T0, 0);
    let first = tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), T0, 0).unwrap();
    assert_eq!(
        tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), T0 + 10 * MS, 0),
        None
    );
    assert_eq!(skips(&e, Skip::Cooldown), 1);
    let later = T0 + 1000 * MS;
    tick(&mut e, gate, ("100", "1"), ("100.1", "1"), later, 0);
    assert_eq!(skips(&e, Skip::InFlight), 1);
    // Both legs end unfilled (cancelled): the slot is free.
    e.on_event(
        gate,
        &order("arb-1-b", "G1", OrderStatus::Cancelled, "0"),
        later,
    )
    .unwrap();
    e.on_event(
        mexc,
        &order("arb-1-s", "M1", OrderStatus::Cancelled, "0"),
        later,
    )
    .unwrap();
    let second = tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), later + MS, 0).unwrap();
    assert_eq!((first.id, second.id), (OppId(1), OppId(2)));
    assert_eq!(second.buy.order.client_id.as_str(), "arb-2-b");
}

#[test]
fn account_gap_pauses_the_venue_until_resumed() {
    let (mut e, gate, mexc) = engine();
    let gap = Event::Gap(Gap {
        instrument: plugin_api::Instrument::default(),
        kind: StreamKind::Orders,
        reason: GapReason::Reconnect,
        last_id: 0,
        stamp: Stamp::default(),
    });
    e.on_event(gate, &gap, T0).unwrap();
    assert!(e.is_paused(gate));
    tick(&mut e, gate, ("100", "1"), ("100.1", "1"), T0, 0);
    assert_eq!(
        tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), T0, 0),
        None
    );
    assert_eq!(skips(&e, Skip::VenuePaused), 1);
    e.resume(gate);
    assert!(tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), T0, 0).is_some());
}

#[test]
fn book_gap_makes_the_symbol_unsynced_on_that_venue() {
    let (mut e, gate, mexc) = engine();
    tick(&mut e, gate, ("100", "1"), ("100.1", "1"), T0, 0);
    let gap = Event::Gap(Gap {
        instrument: plugin_api::Instrument::new("BTC/USDT", "BTC_USDT").unwrap(),
        kind: StreamKind::Depth,
        reason: GapReason::SequenceGap,
        last_id: 7,
        stamp: Stamp::default(),
    });
    e.on_event(gate, &gap, T0).unwrap();
    assert!(!e.is_paused(gate));
    assert_eq!(
        tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), T0, 0),
        None
    );
    assert_eq!(skips(&e, Skip::Unsynced), 1);
    // The synced book's next top makes it tradable again.
    let level = |p: &str, q: &str| Level {
        price: Num::parse(p).unwrap(),
        qty: Num::parse(q).unwrap(),
    };
    let stamp = Stamp {
        venue_ts_ms: 0,
        received_ns: T0,
    };
    let inst = plugin_api::Instrument::new("BTC/USDT", "BTC_USDT").unwrap();
    let opp = e.on_book_top(
        gate,
        inst,
        level("100", "1"),
        level("100.1", "1"),
        stamp,
        T0,
    );
    assert!(opp.is_some());
}

#[test]
fn leg_left_open_is_cancelled_after_the_timeout_and_on_exit() {
    let (mut e, gate, mexc) = engine();
    tick(&mut e, gate, ("100", "1"), ("100.1", "1"), T0, 0);
    tick(&mut e, mexc, ("101", "1"), ("101.2", "1"), T0, 0).unwrap();
    e.on_sent("arb-1-b", T0);
    e.on_sent("arb-1-s", T0);
    e.on_event(gate, &order("arb-1-b", "G1", OrderStatus::Open, "0"), T0)
        .unwrap();
    e.on_event(mexc, &order("arb-1-s", "M1", OrderStatus::Filled, "1"), T0)
        .unwrap();
    assert!(e.cancels_due(T0 + 1999 * MS).is_empty());
    let due = e.cancels_due(T0 + 2000 * MS);
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].venue, due[0].cancel.order_id.as_str()),
        (gate, "G1")
    );
    assert_eq!(e.cancels_on_exit().len(), 1);
    let r = e.report();
    assert_eq!(r.open_legs.len(), 1);
    assert_eq!(r.open_legs[0].client_id, "arb-1-b");
    assert_eq!(r.outcomes.in_flight, 1);
}

#[test]
fn symbols_not_configured_are_ignored() {
    let (mut e, gate, _) = engine();
    let mut t = ticker("ETH_USDT", ("1", "1"), ("2", "1"), T0);
    t.instrument = plugin_api::Instrument::new("ETH/USDT", "ETH_USDT").unwrap();
    let eth = t.instrument.symbol;
    assert_eq!(e.on_event(gate, &Event::BookTicker(t), T0), Ok(None));
    assert_eq!(e.counts().0, 0);
    assert_eq!(e.evaluate(eth, T0, T0), Err(Skip::UnknownSymbol));
}
