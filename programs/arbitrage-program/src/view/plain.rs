//! The plain view, for pipes and CI: a snapshot as a few lines of text (one per venue with
//! its touches, one of spreads, one of decisions, PnL and latency), and at the end of a run
//! the trades and the shutdown report. Everything goes to stderr.

use std::fmt::Write;

use arbitrage::LatencyReport;
use host::ShutdownReport;

use super::snapshot::Snapshot;
use super::text;

/// A snapshot as the plain summary prints it, every line ending in a newline.
pub(crate) fn summary(s: &Snapshot) -> String {
    let mut out = String::new();
    for (i, v) in s.venues.iter().enumerate() {
        let _ = write!(
            out,
            "{:<6} {:<20} msgs {:>8} {:>7} gaps {:>3} reconnects {:>3} |",
            v.name,
            text::state(v),
            v.messages,
            text::rate(v.rate),
            v.gaps,
            v.reconnects,
        );
        for sym in &s.symbols {
            match sym.touches.get(i).and_then(|t| t.touch.as_ref()) {
                Some(t) => {
                    let _ = write!(
                        out,
                        " {} {} / {} ({}, {})",
                        sym.symbol,
                        text::quote(t.bid),
                        text::quote(t.ask),
                        text::age(t.age_ns),
                        text::tradable(t.untradable),
                    );
                }
                None => {
                    let _ = write!(out, " {} -", sym.symbol);
                }
            }
        }
        out.push('\n');
    }
    out.push_str("spread bps (gross / net)");
    for sym in &s.symbols {
        let _ = write!(out, " | {}", sym.symbol);
        if sym.directions.is_empty() {
            out.push_str(" -");
        }
        for d in &sym.directions {
            let _ = write!(
                out,
                " {}→{} {} / {}",
                d.buy,
                d.sell,
                text::bps(d.gross_bps),
                text::bps(d.net_bps)
            );
        }
    }
    out.push('\n');
    let a = &s.activity;
    let skips: Vec<String> = a
        .skips
        .iter()
        .map(|(reason, n)| format!("{} {n}", text::skip(*reason)))
        .collect();
    let pnl: Vec<String> = s
        .pnl
        .iter()
        .map(|p| format!("{} {} {}", p.symbol, p.realized, p.quote))
        .collect();
    let _ = writeln!(
        out,
        "opportunities {} of {} evaluations, in flight {}, open orders {}, fills {} | skips {} | pnl {} | {}",
        a.opportunities,
        a.evaluations,
        a.in_flight,
        a.open_orders,
        a.fills,
        if skips.is_empty() { "-".to_owned() } else { skips.join(", ") },
        pnl.join(", "),
        latency_line(&s.latency),
    );
    out
}

/// Tick → decision and tick → sent percentiles, one line.
pub(crate) fn latency_line(l: &LatencyReport) -> String {
    format!(
        "tick→decision {}; tick→sent {}",
        text::percentiles(&l.tick_to_decision),
        text::percentiles(&l.tick_to_send)
    )
}

/// The end of a run on stderr: the trades, PnL and latency.
pub(crate) fn print_trades(report: &arbitrage::Report) {
    eprintln!("trades: {}", report.trades.len());
    for t in &report.trades {
        eprintln!(
            "  opp {} {:?} {} {} {} {} @ {} (order {} trade {})",
            t.opp, t.leg, t.venue, t.symbol, t.side, t.qty, t.price, t.order_id, t.trade_id
        );
    }
    for s in &report.symbols {
        eprintln!(
            "{}: realized pnl {} {} (fees {} {}), net position {}",
            s.symbol, s.realized_pnl, s.quote, s.fees_in_quote, s.quote, s.net_position
        );
    }
    eprintln!("{}", latency_line(&report.latency));
}

/// The shutdown report's essentials on stderr.
pub(crate) fn print_shutdown(shutdown: &ShutdownReport) {
    eprintln!(
        "shutdown in {:.1} ms: {} resources stopped in order ({} forced), tasks left {}, tasks {} -> {}",
        shutdown.elapsed_ms,
        shutdown.stop.resources.len(),
        shutdown
            .stop
            .resources
            .iter()
            .filter(|r| r.outcome == host::stop::Outcome::Forced)
            .count(),
        shutdown.tasks_left.len(),
        shutdown.before.tasks,
        shutdown.after.tasks,
    );
}

/// One line per venue: what the program took from it and how its connections fared.
pub(crate) fn print_venues(venues: &[crate::trader::VenueRecord]) {
    for v in venues {
        let host = v.host.as_ref().map_or(String::new(), |s| {
            format!(
                ", connects {}, reconnects {}, connect failures {}, stalls {}, rejects {}",
                s.connects, s.reconnects, s.connect_failures, s.stalls, s.rejected
            )
        });
        eprintln!(
            "{}: {} events, {} gaps{host} ({})",
            v.venue, v.events, v.gaps, v.state
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::testutil::sample;

    #[test]
    fn the_summary_has_a_line_per_venue_then_spreads_then_decisions() {
        let text = summary(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[0].starts_with("gate ") && lines[0].contains(" up "),
            "{text}"
        );
        assert!(
            lines[0].contains("up                   msgs    12345    97/s gaps   3 reconnects   1")
        );
        assert!(lines[0].contains("BTC/USDT 64000.1 × 0.5 / 64000.2 × 0.25 (35 ms, ok)"));
        assert!(lines[0].ends_with("ETH/USDT -"), "{text}");
        assert!(
            lines[1].starts_with("mexc   running / connecting msgs"),
            "{text}"
        );
        assert!(lines[1].contains("(2.4 s, stale)"), "{text}");
        assert_eq!(
            lines[2],
            "spread bps (gross / net) | BTC/USDT gate→mexc +15.66 / +0.66 mexc→gate -15.72 / -30.72 | ETH/USDT -"
        );
        assert!(lines[3].starts_with(
            "opportunities 1 of 40 evaluations, in flight 1, open orders 1, fills 1 | skips no_quote 3, below_threshold 36 | pnl BTC/USDT -0.064 USDT | tick→decision p50 12.3 µs"
        ), "{text}");
    }
}
