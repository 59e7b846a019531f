//! The matching engine's arithmetic, exact: taker fees on orders that cross, in the asset
//! received, and the balances and pushes that follow.

use rust_decimal::Decimal;
use tokio::sync::broadcast;

use super::*;
use crate::config::{Fees, Venue};
use crate::market::{Market, Symbol};

const KEY: &str = "k";

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
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
