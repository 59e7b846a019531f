//! A snapshot made by hand for the views' tests: two venues (one up, one reconnecting), one
//! symbol quoted on both and one on neither, some decisions, a fill and latency.

use arbitrage::{LatencyReport, Percentiles, Quote, Skip, Untradable};
use host::venue::{Health, State};
use plugin_api::Decimal;

use super::snapshot::{
    Activity, Direction, Holding, Snapshot, SymbolPnl, SymbolRows, TouchQuote, TouchRow, VenueRow,
    VenueState,
};

/// `text` as a decimal.
pub(crate) fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn quote(price: &str, qty: &str) -> Quote {
    Quote {
        price: d(price),
        qty: d(qty),
    }
}

/// The snapshot.
pub(crate) fn sample() -> Snapshot {
    let venue = |name: &str, state, messages, rate| VenueRow {
        name: name.into(),
        state,
        paused: false,
        connects: 2,
        reconnects: 1,
        gaps: 3,
        messages,
        rate,
    };
    Snapshot {
        uptime_ns: 65_000_000_000,
        venues: vec![
            venue("gate", VenueState::Up, 12_345, 97.4),
            venue(
                "mexc",
                VenueState::Down {
                    state: State::Running,
                    connections: Health::Connecting,
                },
                6_789,
                0.0,
            ),
        ],
        symbols: vec![
            SymbolRows {
                symbol: "BTC/USDT".into(),
                touches: vec![
                    TouchRow {
                        venue: "gate".into(),
                        touch: Some(TouchQuote {
                            bid: quote("64000.1", "0.5"),
                            ask: quote("64000.2", "0.25"),
                            age_ns: 35_000_000,
                            untradable: None,
                        }),
                    },
                    TouchRow {
                        venue: "mexc".into(),
                        touch: Some(TouchQuote {
                            bid: quote("64100.5", "0.3"),
                            ask: quote("64100.7", "1.2"),
                            age_ns: 2_400_000_000,
                            untradable: Some(Untradable::Stale {
                                age_ns: 2_400_000_000,
                            }),
                        }),
                    },
                ],
                directions: vec![
                    Direction {
                        buy: "gate".into(),
                        sell: "mexc".into(),
                        gross_bps: d("15.66"),
                        net_bps: d("0.66"),
                    },
                    Direction {
                        buy: "mexc".into(),
                        sell: "gate".into(),
                        gross_bps: d("-15.72"),
                        net_bps: d("-30.72"),
                    },
                ],
            },
            SymbolRows {
                symbol: "ETH/USDT".into(),
                touches: vec![
                    TouchRow {
                        venue: "gate".into(),
                        touch: None,
                    },
                    TouchRow {
                        venue: "mexc".into(),
                        touch: None,
                    },
                ],
                directions: vec![],
            },
        ],
        latency: LatencyReport {
            tick_to_decision: Percentiles {
                count: 40,
                p50_ns: 12_300,
                p99_ns: 45_600,
                p999_ns: 78_900,
                max_ns: 80_000,
            },
            tick_to_send: Percentiles::default(),
        },
        activity: Activity {
            evaluations: 40,
            opportunities: 1,
            skips: vec![(Skip::NoQuote, 3), (Skip::BelowThreshold, 36)],
            in_flight: 1,
            open_orders: 1,
            fills: 1,
        },
        pnl: vec![SymbolPnl {
            symbol: "BTC/USDT".into(),
            quote: "USDT".into(),
            realized: d("-0.064"),
            net_position: d("0.01"),
        }],
        inventory: vec![Holding {
            venue: "gate".into(),
            asset: "BTC".into(),
            amount: d("0.01"),
        }],
    }
}
