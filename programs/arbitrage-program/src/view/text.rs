//! How a snapshot's values read as text, written once for every view.

use arbitrage::{Percentiles, Quote, Skip, Untradable};
use plugin_api::Decimal;

use super::snapshot::{VenueRow, VenueState};

/// A venue's state: `up`, `starting / connecting`, or why its health is unknown; `, paused`
/// while the engine does not trade there.
pub(crate) fn state(venue: &VenueRow) -> String {
    let mut text = match &venue.state {
        VenueState::Up => "up".to_owned(),
        VenueState::Down { state, connections } => format!("{state} / {connections}"),
        VenueState::Unknown(why) => why.clone(),
    };
    if venue.paused {
        text.push_str(", paused");
    }
    text
}

/// A price with its size: `100.1 × 0.5`.
pub(crate) fn quote(q: Quote) -> String {
    format!("{} × {}", q.price, q.qty)
}

/// An age: `35 ms`, `2.4 s`.
pub(crate) fn age(ns: u64) -> String {
    if ns < 1_000_000_000 {
        format!("{} ms", ns / 1_000_000)
    } else {
        format!("{:.1} s", ns as f64 / 1e9)
    }
}

/// A duration since the start: `1h02m03s`, `4m05s`, `6s`.
pub(crate) fn uptime(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec:02}s"),
        (h, min, sec) => format!("{h}h{min:02}m{sec:02}s"),
    }
}

/// A latency in at most 8 characters: `12.3 µs`, `1.23 ms`, `123.4 ms`, `2.50 s`.
pub(crate) fn latency(ns: u64) -> String {
    let ns = ns as f64;
    if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e7 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// A message rate: `97/s`.
pub(crate) fn rate(per_sec: f64) -> String {
    format!("{per_sec:.0}/s")
}

/// A spread in bps with its sign: `+12.5`, `-3`.
pub(crate) fn bps(value: Decimal) -> String {
    if value.is_sign_negative() {
        value.to_string()
    } else {
        format!("+{value}")
    }
}

/// Whether a touch may be traded on: `ok`, `stale`, `unsynced`...
pub(crate) fn tradable(untradable: Option<Untradable>) -> &'static str {
    match untradable {
        None => "ok",
        Some(Untradable::NoQuote) => "no quote",
        Some(Untradable::Unsynced) => "unsynced",
        Some(Untradable::Stale { .. }) => "stale",
        Some(Untradable::Empty) => "empty",
        Some(Untradable::Crossed) => "crossed",
    }
}

/// A skip reason as the report spells it (`below_threshold`).
pub(crate) fn skip(reason: Skip) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{reason:?}"))
}

/// One recorder's percentiles: `p50 1.2 µs p99 3.4 µs p99.9 5.6 µs (n 10)`, or `-`.
pub(crate) fn percentiles(p: &Percentiles) -> String {
    if p.count == 0 {
        return "-".to_owned();
    }
    format!(
        "p50 {} p99 {} p99.9 {} (n {})",
        latency(p.p50_ns),
        latency(p.p99_ns),
        latency(p.p999_ns),
        p.count
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_the_same_everywhere() {
        assert_eq!(age(35_600_000), "35 ms");
        assert_eq!(age(2_430_000_000), "2.4 s");
        assert_eq!(uptime(3_723_000_000_000), "1h02m03s");
        assert_eq!(uptime(245_000_000_000), "4m05s");
        assert_eq!(latency(364_049), "364.0 µs");
        assert_eq!(latency(1_911_700), "1.91 ms");
        assert_eq!(latency(123_449_000), "123.4 ms");
        assert_eq!(latency(2_500_000_000), "2.50 s");
        assert_eq!(bps(Decimal::new(125, 1)), "+12.5");
        assert_eq!(bps(Decimal::new(-3, 0)), "-3");
        assert_eq!(skip(Skip::BelowThreshold), "below_threshold");
        assert_eq!(percentiles(&Percentiles::default()), "-");
    }
}
