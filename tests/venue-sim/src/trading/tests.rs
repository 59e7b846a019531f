//! The matching engine's arithmetic, exact: taker fees on orders that cross, maker fees on
//! resting orders the book reaches, each in the asset received, and the balances and pushes
//! that follow. The book is moved by hand; `synthetic.rs` checks the generator's hook.

use std::sync::Arc;

use rust_decimal::Decimal;
use tokio::sync::broadcast;

use super::*;
use crate::config::{Fees, Venue};
use crate::market::{Market, Symbol};

const KEY: &str = "k";

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn fees(taker: &str, maker: &str) -> Fees {
    Fees {
        taker_bps: d(taker),
        maker_bps: d(maker),
    }
}

/// One account holding 1,000,000 USDT and 100 BTC; a BTC/USDT book with best bid 59,999.99
/// and best ask 60,000.01.
fn exchange(fees: Fees) -> (Exchange, broadcast::Receiver<PrivateEvent>) {
    let market = Market::new(vec![Symbol::parse("BTC/USDT").unwrap()], 5, 1_000_000);
    let ex = Exchange::new(
        market,
        &[(KEY.into(), "secret".into())],
        &[("USDT".into(), d("1000000")), ("BTC".into(), d("100"))],
        fees,
    );
    let rx = ex.events();
    (ex, rx)
}

fn limit(side: Side, qty: &str, price: &str) -> NewOrder {
    NewOrder {
        symbol: 0,
        side,
        kind: OrderKind::Limit,
        price: Some(d(price)),
        qty: Some(d(qty)),
        quote_qty: None,
        client_id: String::new(),
    }
}

/// `(available, locked)` of `asset`.
fn balance(ex: &Exchange, asset: &str) -> (Decimal, Decimal) {
    let b = ex.balances(KEY).unwrap()[asset];
    (b.available, b.locked)
}

/// Every change pushed since the last call.
fn pushed(rx: &mut broadcast::Receiver<PrivateEvent>) -> Vec<PrivateChange> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| {
            assert_eq!(&*e.key, KEY);
            e.change
        })
        .collect()
}

/// The fills among `changes`.
fn fills(changes: &[PrivateChange]) -> Vec<&Fill> {
    changes
        .iter()
        .filter_map(|c| match c {
            PrivateChange::Fill(f) => Some(f),
            _ => None,
        })
        .collect()
}

/// The balance changes among `changes`: `(asset, available change, locked change)`.
fn moves(changes: &[PrivateChange]) -> Vec<(&str, Decimal, Decimal)> {
    changes
        .iter()
        .filter_map(|c| match c {
            PrivateChange::Balance {
                asset,
                available_change,
                locked_change,
                ..
            } => Some((asset.as_str(), *available_change, *locked_change)),
            _ => None,
        })
        .collect()
}

/// Moves the book's touch to `bid` / `ask` (in ticks) and lets the engine see it.
fn move_book(ex: &Exchange, bid: i64, ask: i64) {
    let mut books = ex.market().lock();
    let book = &mut books[0];
    book.bids.clear();
    book.asks.clear();
    book.bids.insert(bid, 10_000);
    book.asks.insert(ask, 10_000);
    ex.fill_reached(0, book, 1_700_000_000_000);
}

#[test]
fn the_fee_is_the_amount_received_times_the_rate_in_the_asset_received() {
    let btc = Symbol::parse("BTC/USDT").unwrap();
    let buy = Settlement::of(&btc, Side::Buy, d("0.5"), d("60000.01"), d("0.001"));
    assert_eq!(
        buy,
        Settlement {
            paid_asset: "USDT".into(),
            paid: d("30000.005"),
            received_asset: "BTC".into(),
            received: d("0.5"),
            fee: d("0.0005"),
        }
    );
    let sell = Settlement::of(&btc, Side::Sell, d("0.5"), d("59999.99"), d("0.0005"));
    assert_eq!(
        sell,
        Settlement {
            paid_asset: "BTC".into(),
            paid: d("0.5"),
            received_asset: "USDT".into(),
            received: d("29999.995"),
            fee: d("14.9999975"),
        }
    );
    let free = Settlement::of(&btc, Side::Sell, d("1"), d("60000"), Decimal::ZERO);
    assert_eq!((free.fee, free.received), (Decimal::ZERO, d("60000")));
    assert_eq!(Fees::of(Venue::Gateio).taker_rate(), d("0.001"));
    assert_eq!(Fees::of(Venue::Mexc).taker_rate(), d("0.0005"));
    assert_eq!(Fees::of(Venue::Mexc).maker_rate(), Decimal::ZERO);
}

#[test]
fn a_taker_buy_pays_its_fee_in_base_and_receives_the_rest() {
    let (ex, mut rx) = exchange(Fees::of(Venue::Gateio));
    let o = ex.place(KEY, limit(Side::Buy, "0.5", "1000000")).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(
        (o.filled, o.filled_quote, o.fee),
        (d("0.5"), d("30000.005"), d("0.0005"))
    );
    assert!(!o.maker);
    // 0.5 BTC at the ask, 60,000.01: 30,000.005 USDT paid, 0.5 BTC less 0.0005 received.
    assert_eq!(balance(&ex, "USDT"), (d("969999.995"), Decimal::ZERO));
    assert_eq!(balance(&ex, "BTC"), (d("100.4995"), Decimal::ZERO));
    let changes = pushed(&mut rx);
    let f = fills(&changes);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (
            f[0].price,
            f[0].qty,
            f[0].fee,
            f[0].fee_asset.as_str(),
            f[0].maker
        ),
        (d("60000.01"), d("0.5"), d("0.0005"), "BTC", false)
    );
    assert_eq!(
        moves(&changes),
        [
            ("USDT", d("-30000.005"), Decimal::ZERO),
            ("BTC", d("0.4995"), Decimal::ZERO)
        ]
    );
}

#[test]
fn a_taker_sell_pays_its_fee_in_quote_and_receives_the_rest() {
    let (ex, mut rx) = exchange(Fees::of(Venue::Mexc));
    let o = ex.place(KEY, limit(Side::Sell, "0.5", "1")).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    // 0.5 BTC at the bid, 59,999.99: 29,999.995 USDT, less 5 bps of it, 14.9999975.
    assert_eq!(o.fee, d("14.9999975"));
    assert_eq!(balance(&ex, "BTC"), (d("99.5"), Decimal::ZERO));
    assert_eq!(balance(&ex, "USDT"), (d("1029984.9950025"), Decimal::ZERO));
    let changes = pushed(&mut rx);
    let f = fills(&changes);
    assert_eq!(
        (f[0].price, f[0].fee, f[0].fee_asset.as_str(), f[0].maker),
        (d("59999.99"), d("14.9999975"), "USDT", false)
    );
    assert_eq!(
        moves(&changes),
        [
            ("BTC", d("-0.5"), Decimal::ZERO),
            ("USDT", d("29984.9950025"), Decimal::ZERO)
        ]
    );
}

#[test]
fn a_resting_buy_fills_at_its_price_as_maker_when_the_ask_comes_down_to_it() {
    let (ex, mut rx) = exchange(fees("10", "2"));
    let o = ex.place(KEY, limit(Side::Buy, "0.5", "59990.00")).unwrap();
    assert_eq!((o.status, o.maker), (OrderStatus::Open, true));
    // 0.5 × 59,990 = 29,995 USDT locked.
    assert_eq!(balance(&ex, "USDT"), (d("970005"), d("29995")));
    pushed(&mut rx);

    // The book moves, but not to the order: nothing happens.
    move_book(&ex, 5_999_499, 5_999_500);
    assert!(pushed(&mut rx).is_empty());
    assert_eq!(ex.order(KEY, o.id).unwrap().status, OrderStatus::Open);

    // The ask comes down through the order's price: it fills at its own price, 59,990.00,
    // not at the ask, and pays the maker fee (2 bps) in BTC.
    move_book(&ex, 5_998_000, 5_998_500);
    let changes = pushed(&mut rx);
    let f = fills(&changes);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (
            f[0].price,
            f[0].qty,
            f[0].fee,
            f[0].fee_asset.as_str(),
            f[0].maker
        ),
        (d("59990.00"), d("0.5"), d("0.0001"), "BTC", true)
    );
    assert_ne!(f[0].trade_id, o.id);
    let filled = ex.order(KEY, o.id).unwrap();
    assert_eq!(
        (
            filled.status,
            filled.filled,
            filled.filled_quote,
            filled.fee
        ),
        (OrderStatus::Filled, d("0.5"), d("29995"), d("0.0001"))
    );
    assert!(changes.iter().any(
        |c| matches!(c, PrivateChange::Order(u) if u.id == o.id && u.status == OrderStatus::Filled)
    ));
    // The locked USDT paid for it; 0.5 BTC less 0.0001 arrived.
    assert_eq!(
        moves(&changes),
        [
            ("USDT", Decimal::ZERO, d("-29995")),
            ("BTC", d("0.4999"), Decimal::ZERO)
        ]
    );
    assert_eq!(balance(&ex, "USDT"), (d("970005"), Decimal::ZERO));
    assert_eq!(balance(&ex, "BTC"), (d("100.4999"), Decimal::ZERO));
    assert!(ex.market().lock()[0].resting.is_empty());
    assert!(ex.open_orders(KEY, None).unwrap().is_empty());

    // Filled once only.
    move_book(&ex, 5_997_000, 5_997_500);
    assert!(pushed(&mut rx).is_empty());
}

#[test]
fn a_resting_sell_fills_at_its_price_when_the_bid_goes_through_it() {
    let (ex, mut rx) = exchange(Fees::of(Venue::Mexc));
    let o = ex.place(KEY, limit(Side::Sell, "1", "60010.00")).unwrap();
    assert_eq!(o.status, OrderStatus::Open);
    assert_eq!(balance(&ex, "BTC"), (d("99"), d("1")));
    pushed(&mut rx);

    // The bid jumps past the order, to 60,010.50: the fill is at 60,010.00; MEXC's maker fee
    // is 0, still named in USDT.
    move_book(&ex, 6_001_050, 6_001_060);
    let changes = pushed(&mut rx);
    let f = fills(&changes);
    assert_eq!(
        (f[0].price, f[0].fee, f[0].fee_asset.as_str(), f[0].maker),
        (d("60010.00"), Decimal::ZERO, "USDT", true)
    );
    assert_eq!(
        moves(&changes),
        [
            ("BTC", Decimal::ZERO, d("-1")),
            ("USDT", d("60010.00"), Decimal::ZERO)
        ]
    );
    assert_eq!(balance(&ex, "BTC"), (d("99"), Decimal::ZERO));
    assert_eq!(balance(&ex, "USDT"), (d("1060010"), Decimal::ZERO));
}

#[test]
fn a_resting_sell_pays_the_maker_fee_in_quote() {
    let (ex, mut rx) = exchange(Fees::of(Venue::Gateio));
    ex.place(KEY, limit(Side::Sell, "0.3", "60000.02")).unwrap();
    pushed(&mut rx);
    move_book(&ex, 6_000_002, 6_000_003);
    let changes = pushed(&mut rx);
    // 0.3 × 60,000.02 = 18,000.006 USDT; 10 bps of it is 18.000006.
    let f = fills(&changes);
    assert_eq!(
        (f[0].fee, f[0].fee_asset.as_str()),
        (d("18.000006"), "USDT")
    );
    assert_eq!(balance(&ex, "USDT"), (d("1017982.005994"), Decimal::ZERO));
    assert_eq!(balance(&ex, "BTC"), (d("99.7"), Decimal::ZERO));
}

#[test]
fn a_cancelled_order_is_not_filled_later_and_gets_its_funds_back() {
    let (ex, mut rx) = exchange(Fees::of(Venue::Gateio));
    let o = ex.place(KEY, limit(Side::Buy, "1", "59000")).unwrap();
    let cancelled = ex.cancel(KEY, o.id).unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert!(ex.market().lock()[0].resting.is_empty());
    pushed(&mut rx);
    move_book(&ex, 5_800_000, 5_800_001);
    assert!(pushed(&mut rx).is_empty());
    assert_eq!(balance(&ex, "USDT"), (d("1000000"), Decimal::ZERO));
    assert_eq!(ex.cancel(KEY, o.id).unwrap_err(), TradeError::OrderNotFound);
}

#[test]
fn orders_of_several_accounts_at_one_price_fill_together() {
    let market = Market::new(vec![Symbol::parse("BTC/USDT").unwrap()], 5, 1_000_000);
    let ex = Exchange::new(
        market,
        &[(KEY.into(), "s".into()), ("other".into(), "s".into())],
        &[("USDT".into(), d("1000")), ("BTC".into(), d("1"))],
        Fees::of(Venue::Gateio),
    );
    let a = ex.place(KEY, limit(Side::Buy, "0.01", "59000")).unwrap();
    let b = ex
        .place("other", limit(Side::Buy, "0.01", "59000"))
        .unwrap();
    let mut rx = ex.events();
    move_book(&ex, 5_899_999, 5_900_000);
    let keys: Vec<(Arc<str>, u64)> = std::iter::from_fn(|| rx.try_recv().ok())
        .filter_map(|e| match e.change {
            PrivateChange::Fill(f) => Some((e.key, f.order.id)),
            _ => None,
        })
        .collect();
    assert_eq!(keys, [(Arc::from(KEY), a.id), (Arc::from("other"), b.id)]);
    assert_eq!(ex.balances("other").unwrap()["BTC"].available, d("1.00999"));
}
