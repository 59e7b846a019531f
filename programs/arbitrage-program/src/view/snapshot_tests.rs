//! Snapshots of an engine fed a few events: counts, states, touches, spreads, decisions.

use host::venue::VenueStats;
use plugin_api::{Balance, BookTicker, Gap, GapReason, Instrument, Num, Stamp, StreamKind};

use super::*;
use crate::view::testutil::d;

const MS: u64 = 1_000_000;
const T0: u64 = 1_700_000_000_000 * MS;

/// The engine on the embedded settings: gate (10 bps) and mexc (5 bps), BTC/USDT and
/// ETH/USDT, quotes tradable for 500 ms.
fn engine() -> (Engine, VenueId, VenueId) {
    let e = Engine::new(crate::settings(None).unwrap()).unwrap();
    let (gate, mexc) = (e.venue_id("gate").unwrap(), e.venue_id("mexc").unwrap());
    (e, gate, mexc)
}

fn btc(venue_symbol: &str, bid: (&str, &str), ask: (&str, &str), received_ns: u64) -> Event {
    Event::BookTicker(BookTicker {
        instrument: Instrument::new("BTC/USDT", venue_symbol).unwrap(),
        bid_price: Num::parse(bid.0).unwrap(),
        bid_qty: Num::parse(bid.1).unwrap(),
        ask_price: Num::parse(ask.0).unwrap(),
        ask_qty: Num::parse(ask.1).unwrap(),
        update_id: 0,
        stamp: Stamp {
            venue_ts_ms: 0,
            received_ns,
        },
    })
}

fn balance(asset: &str, amount: &str) -> Event {
    Event::Balance(Balance {
        asset: asset.into(),
        available: Num::parse(amount).unwrap(),
        locked: Num::ZERO,
        stamp: Stamp {
            venue_ts_ms: 0,
            received_ns: T0,
        },
    })
}

fn book_ticker_gap() -> Event {
    Event::Gap(Gap {
        instrument: Instrument::default(),
        kind: StreamKind::BookTicker,
        reason: GapReason::Reconnect,
        last_id: 0,
        stamp: Stamp::default(),
    })
}

fn health(venue: &str, connections: Health) -> Result<VenueHealth, ExchangeError> {
    Ok(VenueHealth {
        venue: venue.into(),
        state: State::Running,
        connections,
        stats: VenueStats {
            connects: 3,
            reconnects: 2,
            ..VenueStats::default()
        },
    })
}

#[test]
fn a_snapshot_of_an_engine_fed_a_few_events() {
    let (mut e, gate, mexc) = engine();
    let mut tally = Tally::new(2, T0);
    let events = [
        (gate, balance("USDT", "1000"), T0),
        (mexc, balance("BTC", "1"), T0),
        (
            gate,
            btc("BTC_USDT", ("100", "0.4"), ("100.1", "0.5"), T0),
            T0,
        ),
        (
            mexc,
            btc("BTCUSDT", ("101", "0.3"), ("101.2", "0.6"), T0 + 10 * MS),
            T0 + 10 * MS,
        ),
        // After the decision: mexc's books are unsynced until its next quote.
        (mexc, book_ticker_gap(), T0 + 20 * MS),
    ];
    for (venue, event, at) in events {
        tally.count(venue, &event);
        let _ = e.on_event(venue, &event, at + 1000);
    }
    let s = tally.snapshot(
        &e,
        &[
            health("gate", Health::Running),
            health("mexc", Health::Connecting),
        ],
        T0 + 500 * MS,
    );

    assert_eq!(s.uptime_ns, 500 * MS);
    let [g, m] = &s.venues[..] else {
        panic!("{:?}", s.venues)
    };
    assert_eq!((g.name.as_str(), &g.state), ("gate", &VenueState::Up));
    assert_eq!((g.connects, g.reconnects, g.gaps, g.messages), (3, 2, 0, 2));
    assert_eq!(
        m.state,
        VenueState::Down {
            state: State::Running,
            connections: Health::Connecting
        }
    );
    assert_eq!((m.gaps, m.messages), (1, 3));

    let [btc, eth] = &s.symbols[..] else {
        panic!("{:?}", s.symbols)
    };
    assert_eq!(btc.symbol, "BTC/USDT");
    let gate_touch = btc.touches[0].touch.unwrap();
    assert_eq!(
        (gate_touch.bid.price, gate_touch.bid.qty),
        (d("100"), d("0.4"))
    );
    assert_eq!(
        (gate_touch.ask.price, gate_touch.ask.qty),
        (d("100.1"), d("0.5"))
    );
    assert_eq!(gate_touch.age_ns, 500 * MS);
    assert_eq!(gate_touch.untradable, None, "500 ms old is still tradable");
    let mexc_touch = btc.touches[1].touch.unwrap();
    assert_eq!(mexc_touch.age_ns, 490 * MS);
    assert_eq!(mexc_touch.untradable, Some(Untradable::Unsynced));
    // Buy on gate at 100.1, sell on mexc at 101: gross 0.9 / 100.1 = 89.91 bps; net
    // 101 × 0.9995 − 100.1 × 1.001 = 0.7494, 74.87 bps. The other way round: gross
    // −1.2 / 101.2 = −118.58 bps; net 100 × 0.999 − 101.2 × 1.0005 = −1.3506, −133.46 bps.
    assert_eq!(
        btc.directions,
        [
            Direction {
                buy: "gate".into(),
                sell: "mexc".into(),
                gross_bps: d("89.91"),
                net_bps: d("74.87"),
            },
            Direction {
                buy: "mexc".into(),
                sell: "gate".into(),
                gross_bps: d("-118.58"),
                net_bps: d("-133.46"),
            },
        ]
    );
    assert_eq!(eth.symbol, "ETH/USDT");
    assert!(eth.touches.iter().all(|t| t.touch.is_none()));
    assert!(eth.directions.is_empty());

    // gate's quote found no mexc quote; mexc's quote decided gate → mexc.
    assert_eq!(
        s.activity,
        Activity {
            evaluations: 2,
            opportunities: 1,
            skips: vec![(Skip::NoQuote, 1)],
            in_flight: 1,
            open_orders: 0,
            fills: 0,
        }
    );
    assert_eq!(s.latency.tick_to_decision.count, 2);
    assert_eq!(s.latency.tick_to_send.count, 0);
    assert_eq!(s.pnl.len(), 2);
    assert_eq!(
        (s.pnl[0].symbol.as_str(), s.pnl[0].quote.as_str()),
        ("BTC/USDT", "USDT")
    );
    assert_eq!(s.pnl[0].realized, Decimal::ZERO);
    assert!(s.inventory.is_empty());
}

#[test]
fn a_failed_health_call_says_why() {
    let (e, _, _) = engine();
    let mut tally = Tally::new(2, T0);
    let closed = Err(ExchangeError::Closed {
        venue: "mexc".into(),
    });
    let s = tally.snapshot(&e, &[health("gate", Health::Running), closed], T0);
    assert!(
        matches!(&s.venues[1].state, VenueState::Unknown(why) if why.contains("mexc")),
        "{:?}",
        s.venues[1]
    );
}

#[test]
fn the_rate_is_over_about_the_last_second() {
    let mut r = Rate::default();
    assert_eq!(r.per_sec(T0, 0), 0.0);
    assert_eq!(r.per_sec(T0 + 500 * MS, 50), 100.0);
    assert_eq!(r.per_sec(T0 + 1000 * MS, 100), 100.0);
    // The window now starts at the sample of 500 ms: 50 more in one second.
    assert_eq!(r.per_sec(T0 + 1500 * MS, 100), 50.0);
    assert_eq!(r.per_sec(T0 + 2500 * MS, 100), 0.0);
}
