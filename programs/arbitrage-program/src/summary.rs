//! The plain view: once a second, a few lines on stderr with each venue's state, quotes at
//! the touch, the gross cross between venues, message counts, latency percentiles,
//! decisions and PnL; at the end, the run's trades and the shutdown report.

use std::fmt::Write;

use arbitrage::{Engine, LatencyReport, Opportunity, Percentiles, VenueId};
use host::exchange::VenueHandle;
use host::ShutdownReport;
use plugin_api::{Event, Symbol};

/// Counts per venue and what the last summary printed.
pub(crate) struct Summary {
    names: Vec<String>,
    messages: Vec<u64>,
    gaps: Vec<u64>,
    opportunities: u64,
}

impl Summary {
    pub(crate) fn new(names: Vec<String>) -> Summary {
        let n = names.len();
        Summary {
            names,
            messages: vec![0; n],
            gaps: vec![0; n],
            opportunities: 0,
        }
    }

    /// Counts an event of `venue`.
    pub(crate) fn count(&mut self, venue: VenueId, event: &Event) {
        if let Some(n) = self.messages.get_mut(venue.index()) {
            *n += 1;
        }
        if matches!(event, Event::Gap(_)) {
            if let Some(n) = self.gaps.get_mut(venue.index()) {
                *n += 1;
            }
        }
    }

    /// Events taken from the venue at `index`.
    pub(crate) fn events(&self, index: usize) -> u64 {
        self.messages.get(index).copied().unwrap_or(0)
    }

    /// Gap markers taken from the venue at `index`.
    pub(crate) fn gaps(&self, index: usize) -> u64 {
        self.gaps.get(index).copied().unwrap_or(0)
    }

    /// Notes an opportunity sent.
    pub(crate) fn opportunity(&mut self, opportunity: &Opportunity) {
        self.opportunities += 1;
        let s = &opportunity.spread;
        tracing::info!(
            symbol = %opportunity.symbol.as_str(),
            buy = %self.names[opportunity.buy.venue.index()],
            sell = %self.names[opportunity.sell.venue.index()],
            qty = %s.qty,
            buy_price = %s.buy_price,
            sell_price = %s.sell_price,
            expected_profit = %s.expected_profit,
            "opportunity: both legs sent"
        );
    }

    /// Prints the summary now.
    pub(crate) async fn print(&self, engine: &Engine, venues: &[VenueHandle]) {
        let mut text = String::new();
        for (i, venue) in venues.iter().enumerate() {
            let state = match venue.health().await {
                Ok(h) if h.is_up() => "up".to_owned(),
                Ok(h) => format!("{} / {}", h.state, h.connections),
                Err(e) => e.to_string(),
            };
            let _ = write!(
                text,
                "{:<6} {:<18} msgs {:>8} gaps {:>3} |",
                venue.name(),
                state,
                self.messages[i],
                self.gaps[i]
            );
            for s in &engine.config().symbols {
                let touch = engine
                    .venue_id(venue.name())
                    .zip(Symbol::new(&s.symbol))
                    .and_then(|(id, sym)| engine.touches().get(id, sym));
                match touch {
                    Some(t) => {
                        let _ = write!(text, " {} {} / {}", s.symbol, t.bid.price, t.ask.price);
                    }
                    None => {
                        let _ = write!(text, " {} -", s.symbol);
                    }
                }
            }
            text.push('\n');
        }
        let report = engine.report();
        let pnl: Vec<String> = report
            .symbols
            .iter()
            .map(|s| format!("{} {} {}", s.symbol, s.realized_pnl, s.quote))
            .collect();
        let _ = writeln!(
            text,
            "decisions {} of {} evaluations, opportunities sent {}, legs open {} | pnl {} | {}",
            report.decided,
            report.evaluations,
            self.opportunities,
            report.open_legs.len(),
            pnl.join(", "),
            latency_line(&report.latency)
        );
        eprint!("{text}");
    }
}

fn micros(ns: u64) -> f64 {
    ns as f64 / 1e3
}

fn percentiles(name: &str, p: &Percentiles) -> String {
    if p.count == 0 {
        return format!("{name} -");
    }
    format!(
        "{name} p50 {:.1} µs p99 {:.1} µs p99.9 {:.1} µs (n {})",
        micros(p.p50_ns),
        micros(p.p99_ns),
        micros(p.p999_ns),
        p.count
    )
}

/// Tick → decision and tick → sent percentiles, one line.
pub(crate) fn latency_line(l: &LatencyReport) -> String {
    format!(
        "{}; {}",
        percentiles("tick→decision", &l.tick_to_decision),
        percentiles("tick→sent", &l.tick_to_send)
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
