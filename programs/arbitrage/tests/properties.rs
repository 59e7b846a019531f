//! Properties of the public API over generated prices, sizes, fees and fill sequences.

use arbitrage::client_id::{LegKey, LegRole, OppId};
use arbitrage::position::Position;
use arbitrage::spread::{evaluate, per_unit, unit_cost, Caps};
use arbitrage::{Bps, Config, Engine, Quote};
use plugin_api::{Balance, BookTicker, Decimal, Event, Instrument, Num, Side, Stamp};
use proptest::prelude::*;

const T0: u64 = 1_000_000_000_000_000;

/// A price between 1.00 and 1000.00 in cents.
fn price() -> impl Strategy<Value = Decimal> {
    (100i64..=100_000).prop_map(|c| Decimal::new(c, 2))
}

/// A quantity between 0.001 and 5.000.
fn qty() -> impl Strategy<Value = Decimal> {
    (1i64..=5_000).prop_map(|m| Decimal::new(m, 3))
}

/// A fee between 0 and 30 bps in tenths.
fn fee() -> impl Strategy<Value = Bps> {
    (0i64..=300).prop_map(|t| Bps(Decimal::new(t, 1)))
}

fn config(fee_a: Bps, fee_b: Bps, min_bps: Bps, max_bps: Bps) -> Config {
    let mut c: Config = serde_json::from_str(
        r#"{
            "venues": [
                {"name": "a", "taker_fee_bps": "0"},
                {"name": "b", "taker_fee_bps": "0"}
            ],
            "symbols": [{"symbol": "BTC/USDT", "max_qty": "2", "qty_step": "0.001"}]
        }"#,
    )
    .unwrap();
    c.venues[0].taker_fee_bps = fee_a;
    c.venues[1].taker_fee_bps = fee_b;
    c.min_net_spread_bps = min_bps;
    c.max_net_spread_bps = max_bps;
    c
}

fn ticker(bid: Decimal, ask: Decimal, size: Decimal) -> Event {
    Event::BookTicker(BookTicker {
        instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
        bid_price: Num::from(bid),
        bid_qty: Num::from(size),
        ask_price: Num::from(ask),
        ask_qty: Num::from(size),
        update_id: 0,
        stamp: Stamp {
            venue_ts_ms: 0,
            received_ns: T0,
        },
    })
}

fn fund(e: &mut Engine) {
    for v in ["a", "b"] {
        let id = e.venue_id(v).unwrap();
        for asset in ["USDT", "BTC"] {
            let b = Event::Balance(Balance {
                asset: asset.into(),
                available: Num::from(Decimal::new(1_000_000, 0)),
                locked: Num::ZERO,
                stamp: Stamp::default(),
            });
            e.on_event(id, &b, T0).unwrap();
        }
    }
}

proptest! {
    /// Whatever the quotes and fees, a decision is only taken when its net spread after both
    /// fees is positive, at least the threshold and at most the plausible bound (checked
    /// exactly), and one is taken whenever a direction is within them with a size worth
    /// sending.
    #[test]
    fn decides_exactly_when_a_direction_clears_the_threshold(
        (bid_a, spread_a) in (price(), 1i64..=500),
        (bid_b, spread_b) in (price(), 1i64..=500),
        fee_a in fee(), fee_b in fee(),
        min_bps in (0i64..=200).prop_map(|t| Bps(Decimal::new(t, 1))),
        above_min in (1i64..=20_000).prop_map(|t| Decimal::new(t, 1)),
        size in qty(),
    ) {
        let max_bps = Bps(min_bps.0 + above_min);
        let ask_a = bid_a + Decimal::new(spread_a, 2);
        let ask_b = bid_b + Decimal::new(spread_b, 2);
        let mut e = Engine::new(config(fee_a, fee_b, min_bps, max_bps)).unwrap();
        fund(&mut e);
        let (a, b) = (e.venue_id("a").unwrap(), e.venue_id("b").unwrap());
        prop_assert!(e.on_event(a, &ticker(bid_a, ask_a, size), T0).unwrap().is_none());
        let got = e.on_event(b, &ticker(bid_b, ask_b, size), T0).unwrap();

        let clears = |ask: Decimal, fa: Bps, bid: Decimal, fb: Bps| {
            let (_, net) = per_unit(ask, fa, bid, fb).unwrap();
            let bps = net * Decimal::from(10_000);
            net > Decimal::ZERO && bps >= min_bps.0 * ask && bps <= max_bps.0 * ask
        };
        let a_to_b = clears(ask_a, fee_a, bid_b, fee_b);
        let b_to_a = clears(ask_b, fee_b, bid_a, fee_a);
        match got {
            Some(opp) => {
                let s = opp.spread;
                prop_assert!(s.net_per_unit > Decimal::ZERO);
                prop_assert!(s.net_per_unit * Decimal::from(10_000) >= min_bps.0 * s.buy_price);
                prop_assert!(s.net_per_unit * Decimal::from(10_000) <= max_bps.0 * s.buy_price);
                let taken_clears = if opp.buy.venue == a { a_to_b } else { b_to_a };
                prop_assert!(taken_clears);
                prop_assert_eq!(s.expected_profit, s.net_per_unit * s.qty);
            }
            None => prop_assert!(!a_to_b && !b_to_a, "a clearing direction was not taken"),
        }
    }

    /// The size never exceeds the touch, the maximum or the balances, never spends more
    /// quote than available (fee included), and is a whole number of steps.
    #[test]
    fn size_respects_every_cap(
        ask in price(), bid in price(), fee_a in fee(), fee_b in fee(),
        ask_qty in qty(), bid_qty in qty(), max_qty in qty(),
        quote in (0i64..=1_000_000).prop_map(|c| Decimal::new(c, 2)),
        base in (0i64..=5_000_000).prop_map(|m| Decimal::new(m, 6)),
        step in prop_oneof![Just("0.001"), Just("0.01"), Just("0.0001"), Just("0.5")],
    ) {
        let step = Decimal::from_str_exact(step).unwrap();
        let caps = Caps { max_qty, qty_step: step, quote_available: quote, base_available: base };
        let s = evaluate(Quote { price: ask, qty: ask_qty }, fee_a, Quote { price: bid, qty: bid_qty }, fee_b, &caps).unwrap();
        prop_assert!(s.qty >= Decimal::ZERO);
        prop_assert!(s.qty <= ask_qty && s.qty <= bid_qty && s.qty <= max_qty && s.qty <= base);
        prop_assert!(s.qty * unit_cost(ask, fee_a).unwrap() <= quote);
        prop_assert!((s.qty / step).fract().is_zero());
        prop_assert_eq!(s.expected_profit, s.qty * (bid - ask) - s.fees);
    }

    /// Buying and selling the same quantity at one price, in any split and any order,
    /// realizes exactly minus the fees paid in quote.
    #[test]
    fn round_trip_at_equal_prices_realizes_minus_the_fees(
        p in price(),
        buys in prop::collection::vec((qty(), 0i64..=1_000), 1..6),
        cut in prop::collection::vec(1usize..100, 0..5),
        sell_first in any::<bool>(),
    ) {
        let total: Decimal = buys.iter().map(|(q, _)| *q).sum();
        // Split the same total into sells at generated cut points (in steps of 0.001).
        let units = (total * Decimal::from(1000)).trunc();
        let mut points: Vec<Decimal> = cut.iter()
            .map(|c| (units * Decimal::from(*c as i64) / Decimal::from(100)).trunc())
            .collect();
        points.push(Decimal::ZERO);
        points.push(units);
        points.sort();
        let sells: Vec<Decimal> = points.windows(2)
            .map(|w| (w[1] - w[0]) / Decimal::from(1000))
            .filter(|q| !q.is_zero())
            .collect();
        let mut pos = Position::new();
        let mut fees = Decimal::ZERO;
        let mut trades: Vec<(Side, Decimal, Decimal)> = buys.iter()
            .map(|(q, f)| (Side::Buy, *q, Decimal::new(*f, 5)))
            .collect();
        let sell_trades = sells.iter().map(|q| (Side::Sell, *q, Decimal::new(3, 5)));
        if sell_first {
            trades = sell_trades.chain(trades).collect();
        } else {
            trades.extend(sell_trades);
        }
        for (side, q, fee) in trades {
            pos.apply(side, q, p).unwrap();
            pos.charge(fee).unwrap();
            fees += fee;
        }
        prop_assert_eq!(pos.net_qty(), Decimal::ZERO);
        prop_assert_eq!(pos.realized(), -fees);
    }

    /// Realized plus unrealized at a mark is the cash flow of the trades plus the position
    /// valued at that mark, for any sequence of trades.
    #[test]
    fn fifo_accounting_matches_the_cash_flow(
        trades in prop::collection::vec((any::<bool>(), qty(), price()), 1..12),
        mark in price(),
    ) {
        let mut pos = Position::new();
        let mut cash = Decimal::ZERO;
        let mut held = Decimal::ZERO;
        for (buy, q, p) in trades {
            let side = if buy { Side::Buy } else { Side::Sell };
            pos.apply(side, q, p).unwrap();
            if buy { cash -= q * p; held += q; } else { cash += q * p; held -= q; }
        }
        prop_assert_eq!(pos.net_qty(), held);
        prop_assert_eq!(pos.realized() + pos.unrealized(mark).unwrap(), cash + held * mark);
    }

    /// Every leg's client id reads back as that leg, and fits the venues' limit.
    #[test]
    fn client_ids_round_trip(n in 1u64..100_000_000_000_000_000, sell in any::<bool>(), prefix in "[0-9A-Za-z_.]{1,8}") {
        let key = LegKey { opp: OppId(n), role: if sell { LegRole::Sell } else { LegRole::Buy } };
        let id = key.client_id(&prefix).unwrap();
        prop_assert!(id.len() <= 28);
        prop_assert_eq!(LegKey::parse(&prefix, &id), Some(key));
        prop_assert_eq!(LegKey::parse(&prefix, &key.other().client_id(&prefix).unwrap()), Some(key.other()));
    }
}

mod ledger {
    use super::*;
    use arbitrage::decision::Leg;
    use arbitrage::Ledger;
    use arbitrage::Opportunity;
    use plugin_api::{Fill, NewOrder, OrderStatus, OrderType, OrderUpdate, Symbol};

    fn opportunity(c: &Config, p: Decimal, qty: Decimal) -> Opportunity {
        let (a, b) = (c.venue_id("a").unwrap(), c.venue_id("b").unwrap());
        let q = Quote { price: p, qty };
        let caps = Caps {
            max_qty: qty,
            qty_step: Decimal::new(1, 3),
            quote_available: Decimal::MAX,
            base_available: qty,
        };
        let leg = |venue, role, side| {
            let key = LegKey {
                opp: OppId(1),
                role,
            };
            Leg {
                venue,
                key,
                order: NewOrder {
                    instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
                    side,
                    order_type: OrderType::Limit,
                    price: Num::from(p),
                    qty: Num::from(qty),
                    quote_qty: Num::ZERO,
                    client_id: key.client_id("arb").unwrap().as_str().into(),
                },
                taker_fee: Bps(Decimal::ZERO),
            }
        };
        Opportunity {
            id: OppId(1),
            symbol: Symbol::new("BTC/USDT").unwrap(),
            buy: leg(a, LegRole::Buy, Side::Buy),
            sell: leg(b, LegRole::Sell, Side::Sell),
            spread: evaluate(q, Bps(Decimal::ZERO), q, Bps(Decimal::ZERO), &caps).unwrap(),
            tick_received_ns: T0,
            decided_ns: T0,
        }
    }

    fn split(total_units: i64, cuts: &[usize]) -> Vec<Decimal> {
        let mut points: Vec<i64> = cuts.iter().map(|c| total_units * *c as i64 / 100).collect();
        points.extend([0, total_units]);
        points.sort();
        points
            .windows(2)
            .map(|w| Decimal::new(w[1] - w[0], 3))
            .filter(|q| !q.is_zero())
            .collect()
    }

    proptest! {
        /// Through the ledger: both legs of one opportunity filled at one price, in pieces,
        /// interleaved in any order, some fills before their order's first update, some
        /// reported twice: realized PnL is exactly minus the fees and the position is flat.
        #[test]
        fn round_trip_at_equal_prices_realizes_minus_the_fees(
            p in price(),
            units in 1i64..=5_000,
            buy_cuts in prop::collection::vec(1usize..100, 0..4),
            sell_cuts in prop::collection::vec(1usize..100, 0..4),
            fee_cents in prop::collection::vec(0i64..=500, 8),
            order in prop::collection::vec(any::<u8>(), 8),
            ack_early in any::<bool>(),
        ) {
            let c = config(Bps(Decimal::ZERO), Bps(Decimal::ZERO), Bps(Decimal::ZERO), Bps(Decimal::from(200)));
            let (a, b) = (c.venue_id("a").unwrap(), c.venue_id("b").unwrap());
            let mut l = Ledger::new(&c).unwrap();
            let qty = Decimal::new(units, 3);
            l.open(&opportunity(&c, p, qty));
            let update = |client: &str, id: &str, status| OrderUpdate {
                instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
                order_id: id.into(),
                client_id: client.into(),
                side: Side::Buy,
                price: Num::ZERO,
                qty: Num::ZERO,
                filled_qty: Num::ZERO,
                status,
                stamp: Stamp::default(),
            };
            let mut fills = Vec::new();
            for (i, q) in split(units, &buy_cuts).into_iter().enumerate() {
                fills.push((a, "A1", Side::Buy, q, i));
            }
            for (i, q) in split(units, &sell_cuts).into_iter().enumerate() {
                fills.push((b, "B1", Side::Sell, q, i));
            }
            // Shuffle by the generated keys.
            let mut keyed: Vec<_> = fills.into_iter().enumerate()
                .map(|(i, f)| (order[i % order.len()], i, f)).collect();
            keyed.sort_by_key(|(k, i, _)| (*k, *i));
            if ack_early {
                l.on_order_update(a, &update("arb-1-b", "A1", OrderStatus::Open)).unwrap();
            }
            let mut fees = Decimal::ZERO;
            for (n, (_, _, (venue, order_id, side, q, i))) in keyed.iter().enumerate() {
                let fee = Decimal::new(fee_cents[n % fee_cents.len()], 4);
                let f = Fill {
                    instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
                    order_id: (*order_id).into(),
                    trade_id: format!("{order_id}-{i}").as_str().into(),
                    side: *side,
                    price: Num::from(p),
                    qty: Num::from(*q),
                    fee: Num::from(fee),
                    fee_asset: "USDT".into(),
                    trade_ts_ms: 0,
                    stamp: Stamp::default(),
                };
                l.on_fill(*venue, &f).unwrap();
                l.on_fill(*venue, &f).unwrap();
                fees += fee;
            }
            l.on_order_update(a, &update("arb-1-b", "A1", OrderStatus::Filled)).unwrap();
            l.on_order_update(b, &update("arb-1-s", "B1", OrderStatus::Filled)).unwrap();
            let book = l.book(Symbol::new("BTC/USDT").unwrap()).unwrap();
            prop_assert_eq!(book.position.net_qty(), Decimal::ZERO);
            prop_assert_eq!(book.position.realized(), -fees);
            prop_assert_eq!(book.fees_in_quote, fees);
            prop_assert!(l.unattributed_fills().is_empty());
            prop_assert_eq!(l.in_flight(), 0);
            let trade_sum: Decimal = l.trades().iter().map(|t| t.realized).sum();
            prop_assert_eq!(trade_sum, -fees);
        }
    }
}
