//! The screen drawn into a `TestBackend`: what a person would read on it.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::*;
use crate::view::testutil::sample;

/// `snapshot` drawn on a `width` × `height` terminal, as text, one line per row.
fn screen(snapshot: Option<&Snapshot>, tail: &[String], width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            draw(
                frame,
                snapshot,
                LogView {
                    file: "run/arbitrage.log",
                    tail,
                },
            )
        })
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

/// The row of `text` that contains all of `parts`, in that order.
fn row_with<'a>(text: &'a str, parts: &[&str]) -> &'a str {
    text.lines()
        .find(|line| {
            let mut rest = *line;
            parts.iter().all(|p| match rest.find(p) {
                Some(i) => {
                    rest = &rest[i + p.len()..];
                    true
                }
                None => false,
            })
        })
        .unwrap_or_else(|| panic!("no row with {parts:?} in\n{text}"))
}

#[test]
fn the_screen_shows_venues_states_touches_and_spreads() {
    let s = sample();
    let text = screen(Some(&s), &[], 120, 40);
    assert!(text.contains("up 1m05s"), "{text}");
    assert!(text.contains("q or Ctrl-C: quit"), "{text}");
    assert!(text.contains("log: run/arbitrage.log"), "{text}");
    // Venues with their states and counts.
    row_with(&text, &["gate", "up", "2", "1", "3", "12345", "97/s"]);
    row_with(&text, &["mexc", "running / connecting", "6789", "0/s"]);
    // Books at the touch: sizes and prices, age, whether tradable.
    row_with(
        &text,
        &[
            "BTC/USDT", "gate", "0.5", "64000.1", "64000.2", "0.25", "35 ms", "ok",
        ],
    );
    row_with(
        &text,
        &["mexc", "0.3", "64100.5", "64100.7", "1.2", "2.4 s", "stale"],
    );
    row_with(&text, &["ETH/USDT", "gate", "-", "no quote"]);
    // Spreads each way, gross and net.
    row_with(&text, &["BTC/USDT", "gate → mexc", "+15.66", "+0.66"]);
    row_with(&text, &["mexc → gate", "-15.72", "-30.72"]);
    // Latency, decisions and PnL.
    row_with(
        &text,
        &["tick→decision", "12.3 µs", "45.6 µs", "78.9 µs", "40"],
    );
    row_with(&text, &["tick→sent", "-", "-", "-", "0"]);
    row_with(
        &text,
        &[
            "1 of 40 evaluations",
            "in flight 1",
            "open orders 1",
            "fills 1",
        ],
    );
    row_with(&text, &["skips", "no_quote 3", "below_threshold 36"]);
    row_with(&text, &["BTC/USDT -0.064 USDT (position 0.01)"]);
}

#[test]
fn the_log_panel_shows_the_newest_lines_that_fit() {
    let s = sample();
    let tail: Vec<String> = (0..8)
        .map(|i| format!("12:00:0{i}  WARN host: warning {i}"))
        .collect();
    // 30 rows leave the panel three lines inside its borders.
    let text = screen(Some(&s), &tail, 120, 30);
    for shown in 5..8 {
        assert!(text.contains(&format!("warning {shown}")), "{text}");
    }
    assert!(!text.contains("warning 4"), "{text}");
}

#[test]
fn before_the_first_snapshot_the_screen_says_it_waits() {
    let text = screen(None, &[], 80, 10);
    assert!(text.contains("waiting for the venues to start"), "{text}");
    assert!(text.contains("q or Ctrl-C: quit"), "{text}");
}
