//! Ledger tests: partial fills to the last decimal, pairing of updates and fills, cancels.

use plugin_api::{Instrument, NewOrder, Num, OrderStatus, OrderType, Stamp};

use super::*;
use crate::config::testutil::{config, ids};
use crate::decision::Leg;
use crate::exact::{d, Bps};
use crate::spread::{evaluate, Caps};
use crate::touch::Quote;

const MS: u64 = 1_000_000;

fn btc() -> Symbol {
    Symbol::new("BTC/USDT").unwrap()
}

/// Opportunity `id`: buy `qty` on gate at `ask`, sell on mexc at `bid`.
fn opportunity(id: u64, ask: &str, bid: &str, qty: &str) -> Opportunity {
    let c = config();
    let (gate, mexc) = ids(&c);
    let q = |p: &str| Quote {
        price: d(p),
        qty: d(qty),
    };
    let caps = Caps {
        max_qty: d("10"),
        qty_step: d("0.001"),
        quote_available: d("1000000"),
        base_available: d("1000"),
    };
    let spread = evaluate(q(ask), Bps(d("10")), q(bid), Bps(d("5")), &caps).unwrap();
    let leg = |venue, role, side, price: &str, spelling: &str, fee: &str| {
        let key = LegKey {
            opp: OppId(id),
            role,
        };
        Leg {
            venue,
            key,
            order: NewOrder {
                instrument: Instrument::new("BTC/USDT", spelling).unwrap(),
                side,
                order_type: OrderType::Limit,
                price: Num::parse(price).unwrap(),
                qty: Num::parse(qty).unwrap(),
                quote_qty: Num::ZERO,
                client_id: key.client_id("arb").unwrap().into(),
            },
            taker_fee: Bps(d(fee)),
        }
    };
    Opportunity {
        id: OppId(id),
        symbol: btc(),
        buy: leg(gate, LegRole::Buy, Side::Buy, ask, "BTC_USDT", "10"),
        sell: leg(mexc, LegRole::Sell, Side::Sell, bid, "BTCUSDT", "5"),
        spread,
        tick_received_ns: 100 * MS,
        decided_ns: 101 * MS,
    }
}

fn update(client_id: &str, order_id: &str, status: OrderStatus, filled: &str) -> OrderUpdate {
    OrderUpdate {
        instrument: Instrument::new("BTC/USDT", "X").unwrap(),
        order_id: order_id.into(),
        client_id: client_id.into(),
        side: Side::Buy,
        price: Num::ZERO,
        qty: Num::ZERO,
        filled_qty: Num::parse(filled).unwrap(),
        status,
        stamp: Stamp::default(),
    }
}

fn fill(
    order_id: &str,
    trade_id: &str,
    side: Side,
    price: &str,
    qty: &str,
    fee: (&str, &str),
) -> Fill {
    Fill {
        instrument: Instrument::new("BTC/USDT", "X").unwrap(),
        order_id: order_id.into(),
        trade_id: trade_id.into(),
        side,
        price: Num::parse(price).unwrap(),
        qty: Num::parse(qty).unwrap(),
        fee: Num::parse(fee.0).unwrap(),
        fee_asset: fee.1.into(),
        trade_ts_ms: 0,
        stamp: Stamp {
            venue_ts_ms: 7,
            received_ns: 200 * MS,
        },
    }
}

fn inventory(l: &Ledger) -> Vec<(usize, String, Decimal)> {
    l.inventory()
        .map(|(v, a, x)| (v.index(), a.to_owned(), x))
        .collect()
}

#[test]
fn partial_fills_pnl_and_inventory_to_the_last_decimal() {
    let c = config();
    let (gate, mexc) = ids(&c);
    let mut l = Ledger::new(&c).unwrap();
    l.open(&opportunity(1, "100", "101", "0.5"));
    assert_eq!(l.in_flight(), 1);
    l.on_order_update(gate, &update("arb-1-b", "G1", OrderStatus::Open, "0"))
        .unwrap();
    l.on_order_update(mexc, &update("arb-1-s", "M1", OrderStatus::Open, "0"))
        .unwrap();

    // Buy 0.2 at 100 (fee 0.02), sell 0.5 at 101 (fee 0.02525), buy 0.3 at 99.9 (0.02997).
    let s = l
        .on_fill(
            gate,
            &fill("G1", "t1", Side::Buy, "100", "0.2", ("0.02", "USDT")),
        )
        .unwrap();
    assert_eq!(
        s,
        vec![
            Spend {
                venue: gate,
                asset: "USDT".into(),
                amount: d("20")
            },
            Spend {
                venue: gate,
                asset: "USDT".into(),
                amount: d("0.02")
            },
        ]
    );
    l.on_fill(
        mexc,
        &fill("M1", "s1", Side::Sell, "101", "0.5", ("0.02525", "usdt")),
    )
    .unwrap();
    assert_eq!(l.net_position(btc()), d("-0.3"), "0.2 bought, 0.5 sold");
    l.on_fill(
        gate,
        &fill("G1", "t2", Side::Buy, "99.9", "0.3", ("0.02997", "USDT")),
    )
    .unwrap();

    let book = l.book(btc()).unwrap();
    // Realized: 0.2 × (101 − 100) + 0.3 × (101 − 99.9) − fees 0.07522 = 0.53 − 0.07522.
    assert_eq!(book.position.realized(), d("0.45478"));
    assert_eq!(book.fees_in_quote, d("0.07522"));
    assert_eq!(book.position.net_qty(), d("0"));
    let realized: Vec<Decimal> = l.trades().iter().map(|t| t.realized).collect();
    assert_eq!(realized, vec![d("-0.02"), d("0.17475"), d("0.30003")]);
    assert_eq!(
        inventory(&l),
        vec![
            (0, "BTC".into(), d("0.5")),
            (0, "USDT".into(), d("-50.01997")),
            (1, "BTC".into(), d("-0.5")),
            (1, "USDT".into(), d("50.47475")),
        ]
    );
    let o = l.opportunity(OppId(1)).unwrap();
    assert_eq!(
        (o.buy.status, o.sell.status),
        (LegStatus::Filled, LegStatus::Filled)
    );
    assert_eq!(o.buy.average_price(), Some(d("99.94")));
    assert_eq!(o.outcome(), crate::legs::Outcome::Hedged);
    assert_eq!(l.in_flight(), 0);
}

#[test]
fn fill_before_its_order_update_waits_and_duplicates_count_once() {
    let c = config();
    let (gate, _) = ids(&c);
    let mut l = Ledger::new(&c).unwrap();
    l.open(&opportunity(1, "100", "101", "0.5"));
    let f = fill("G1", "t1", Side::Buy, "100", "0.5", ("0.05", "USDT"));
    assert_eq!(l.on_fill(gate, &f).unwrap(), vec![]);
    assert_eq!(l.on_fill(gate, &f).unwrap(), vec![]);
    assert_eq!(l.unattributed_fills().len(), 1);
    assert_eq!(l.net_position(btc()), d("0"));

    let spends = l
        .on_order_update(gate, &update("arb-1-b", "G1", OrderStatus::Filled, "0.5"))
        .unwrap();
    assert_eq!(spends.len(), 2, "the waiting fill was applied");
    assert!(l.unattributed_fills().is_empty());
    assert_eq!(l.net_position(btc()), d("0.5"));
    assert_eq!(
        l.on_fill(gate, &f).unwrap(),
        vec![],
        "reported again: ignored"
    );
    assert_eq!(l.trades().len(), 1);
    assert_eq!(l.net_position(btc()), d("0.5"));
}

#[test]
fn updates_from_elsewhere_are_not_ours() {
    let c = config();
    let (gate, mexc) = ids(&c);
    let mut l = Ledger::new(&c).unwrap();
    l.open(&opportunity(1, "100", "101", "0.5"));
    // Someone else's order; our buy leg's id reported by the wrong venue; an unknown number.
    l.on_order_update(gate, &update("manual-7", "X1", OrderStatus::Open, "0"))
        .unwrap();
    l.on_order_update(mexc, &update("arb-1-b", "X2", OrderStatus::Open, "0"))
        .unwrap();
    l.on_order_update(gate, &update("arb-9-b", "X3", OrderStatus::Open, "0"))
        .unwrap();
    assert_eq!(l.foreign_updates(), 3);
    assert_eq!(l.opportunity(OppId(1)).unwrap().buy.order_id, None);
    // Its fills are never applied.
    l.on_fill(gate, &fill("X1", "t", Side::Buy, "1", "1", ("0", "")))
        .unwrap();
    assert_eq!(l.unattributed_fills().len(), 1);
    assert!(l.trades().is_empty());
}

#[test]
fn fee_in_base_and_fee_in_a_venue_token() {
    let c = config();
    let (gate, mexc) = ids(&c);
    let mut l = Ledger::new(&c).unwrap();
    l.open(&opportunity(1, "100", "100", "1"));
    l.on_order_update(gate, &update("arb-1-b", "G1", OrderStatus::Open, "0"))
        .unwrap();
    l.on_order_update(mexc, &update("arb-1-s", "M1", OrderStatus::Open, "0"))
        .unwrap();
    // Buy 1 at 100, fee 0.001 BTC; sell 1 at 100, fee 0.3 GT (a token, not in the PnL).
    l.on_fill(
        gate,
        &fill("G1", "t1", Side::Buy, "100", "1", ("0.001", "BTC")),
    )
    .unwrap();
    l.on_fill(
        mexc,
        &fill("M1", "s1", Side::Sell, "100", "1", ("0.3", "GT")),
    )
    .unwrap();
    let book = l.book(btc()).unwrap();
    assert_eq!(book.position.realized(), d("-0.1"));
    assert_eq!(book.fees_in_quote, d("0.1"));
    assert_eq!(
        book.position.net_qty(),
        d("-0.001"),
        "the fee left the position"
    );
    let other: Vec<_> = l
        .fees_other()
        .map(|(v, a, x)| (v, a.to_owned(), x))
        .collect();
    assert_eq!(other, vec![(mexc, "GT".to_owned(), d("0.3"))]);
    assert!(inventory(&l).contains(&(0, "BTC".into(), d("0.999"))));
    assert!(inventory(&l).contains(&(1, "GT".into(), d("-0.3"))));
}

#[test]
fn outstanding_follows_fills_and_ends_with_the_leg() {
    let c = config();
    let (gate, mexc) = ids(&c);
    let mut l = Ledger::new(&c).unwrap();
    l.open(&opportunity(1, "100", "101", "0.5"));
    // Buy 0.5 × 100 × 1.001 on gate; sell 0.5 BTC on mexc.
    assert_eq!(l.outstanding(gate, "USDT"), d("50.05"));
    assert_eq!(l.outstanding(mexc, "btc"), d("0.5"));
    assert_eq!(l.outstanding(mexc, "USDT"), d("0"));
    l.on_order_update(gate, &update("arb-1-b", "G1", OrderStatus::Open, "0"))
        .unwrap();
    l.on_fill(
        gate,
        &fill("G1", "t1", Side::Buy, "100", "0.2", ("0.02", "USDT")),
    )
    .unwrap();
    assert_eq!(l.outstanding(gate, "USDT"), d("30.03"));
    l.on_order_update(
        gate,
        &update("arb-1-b", "G1", OrderStatus::Cancelled, "0.2"),
    )
    .unwrap();
    assert_eq!(l.outstanding(gate, "USDT"), d("0"));
    assert_eq!(l.in_flight(), 1, "the sell leg is still pending");
}

#[test]
fn cancels_after_the_timeout_then_on_exit() {
    let c = config();
    let (gate, mexc) = ids(&c);
    let mut l = Ledger::new(&c).unwrap();
    l.open(&opportunity(1, "100", "101", "0.5"));
    assert_eq!(l.on_sent("arb-1-b", 102 * MS), Some(100 * MS));
    assert_eq!(l.on_sent("arb-1-b", 103 * MS), None, "once");
    l.on_sent("arb-1-s", 102 * MS);
    l.on_order_update(gate, &update("arb-1-b", "G1", OrderStatus::Open, "0"))
        .unwrap();
    assert_eq!(l.unacknowledged(), vec![(mexc, "arb-1-s".to_owned())]);

    let timeout = 2000 * MS;
    assert!(l.cancels_due(2101 * MS, timeout).is_empty());
    let due = l.cancels_due(2102 * MS, timeout);
    assert_eq!(due.len(), 1, "only the acknowledged leg can be cancelled");
    assert_eq!(
        (due[0].venue, due[0].cancel.order_id.as_str()),
        (gate, "G1")
    );
    assert_eq!(due[0].cancel.instrument.venue_symbol.as_str(), "BTC_USDT");
    assert!(
        l.cancels_due(2103 * MS, timeout).is_empty(),
        "asked already"
    );
    assert_eq!(
        l.cancels_due(4102 * MS, timeout).len(),
        1,
        "asked again later"
    );

    let exit = l.open_orders();
    assert_eq!(exit.len(), 1);
    l.on_order_update(gate, &update("arb-1-b", "G1", OrderStatus::Cancelled, "0"))
        .unwrap();
    assert!(l.open_orders().is_empty());
    assert!(l.on_send_failed("arb-1-s"));
    assert_eq!(l.in_flight(), 0);
    assert_eq!(
        l.opportunity(OppId(1)).unwrap().outcome(),
        crate::legs::Outcome::Unfilled
    );
}

#[test]
fn one_leg_filled_is_unhedged() {
    let c = config();
    let (gate, mexc) = ids(&c);
    let mut l = Ledger::new(&c).unwrap();
    l.open(&opportunity(1, "100", "101", "0.5"));
    l.on_order_update(gate, &update("arb-1-b", "G1", OrderStatus::Filled, "0.5"))
        .unwrap();
    l.on_fill(
        gate,
        &fill("G1", "t1", Side::Buy, "100", "0.5", ("0.05", "USDT")),
    )
    .unwrap();
    l.on_order_update(mexc, &update("arb-1-s", "M1", OrderStatus::Rejected, "0"))
        .unwrap();
    let o = l.opportunity(OppId(1)).unwrap();
    assert_eq!(o.outcome(), crate::legs::Outcome::Unhedged);
    assert_eq!(l.net_position(btc()), d("0.5"));
    assert_eq!(l.book(btc()).unwrap().position.realized(), d("-0.05"));
}
