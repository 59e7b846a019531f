//! The screen's layout: a snapshot drawn as tables of venues, books at the touch, spreads
//! and latency, a panel of decisions, orders and PnL, and the last WARN and ERROR lines of
//! the log. Pure: it draws into any ratatui backend, the tests' `TestBackend` included.

use arbitrage::Percentiles;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::snapshot::{Snapshot, VenueState};
use super::text;

/// The log as the screen shows it: where it goes, and its last WARN and ERROR lines.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogView<'a> {
    /// Where the log goes, for the header.
    pub(crate) file: &'a str,
    /// The last WARN and ERROR lines, oldest first.
    pub(crate) tail: &'a [String],
}

const HEADER: Style = Style::new().add_modifier(Modifier::BOLD);

/// Draws `snapshot` (`None` before the first one) and the log on the whole frame.
pub(crate) fn draw(frame: &mut Frame, snapshot: Option<&Snapshot>, log: LogView<'_>) {
    let Some(s) = snapshot else {
        let [head, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(frame.area());
        frame.render_widget(header(None, log.file), head);
        frame.render_widget(
            Paragraph::new("waiting for the venues to start…").block(Block::bordered()),
            body,
        );
        return;
    };
    let touches: usize = s.symbols.iter().map(|sym| sym.touches.len()).sum();
    let directions: usize = s
        .symbols
        .iter()
        .map(|sym| sym.directions.len().max(1))
        .sum();
    let [head, venues, books, middle, orders, log_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(rows_height(s.venues.len())),
        Constraint::Length(rows_height(touches)),
        Constraint::Length(rows_height(directions.max(2))),
        Constraint::Length(6),
        Constraint::Min(3),
    ])
    .areas(frame.area());
    let [spreads, latency] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(middle);
    frame.render_widget(header(Some(s), log.file), head);
    frame.render_widget(venue_table(s), venues);
    frame.render_widget(book_table(s), books);
    frame.render_widget(spread_table(s), spreads);
    frame.render_widget(latency_table(s), latency);
    frame.render_widget(activity(s), orders);
    draw_log(frame, log.tail, log_area);
}

/// Borders and a header row around `rows` rows.
fn rows_height(rows: usize) -> u16 {
    u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(3)
}

fn header(s: Option<&Snapshot>, log_file: &str) -> Line<'static> {
    let uptime = s.map_or_else(String::new, |s| {
        format!("  up {}", text::uptime(s.uptime_ns))
    });
    Line::from(vec![
        Span::styled("arbitrage", HEADER),
        Span::raw(uptime),
        Span::raw("  q or Ctrl-C: quit"),
        Span::raw(format!("  log: {log_file}")),
    ])
}

fn right(value: String) -> Line<'static> {
    Line::from(value).right_aligned()
}

fn venue_table(s: &Snapshot) -> Table<'static> {
    let rows = s.venues.iter().map(|v| {
        let color = match v.state {
            VenueState::Up if !v.paused => Color::Green,
            VenueState::Up | VenueState::Down { .. } => Color::Yellow,
            VenueState::Unknown(_) => Color::Red,
        };
        Row::new(vec![
            Line::from(v.name.clone()),
            Line::styled(text::state(v), Style::new().fg(color)),
            right(v.connects.to_string()),
            right(v.reconnects.to_string()),
            right(v.gaps.to_string()),
            right(v.messages.to_string()),
            right(text::rate(v.rate)),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Min(24),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new(vec![
            Line::from("venue"),
            Line::from("state"),
            right("connects".into()),
            right("reconnects".into()),
            right("gaps".into()),
            right("messages".into()),
            right("rate".into()),
        ])
        .style(HEADER),
    )
    .block(Block::bordered().title("venues"))
}

fn book_table(s: &Snapshot) -> Table<'static> {
    let mut rows = Vec::new();
    for sym in &s.symbols {
        for (i, t) in sym.touches.iter().enumerate() {
            let symbol = if i == 0 {
                sym.symbol.clone()
            } else {
                String::new()
            };
            let mut cells = vec![Line::from(symbol), Line::from(t.venue.clone())];
            match &t.touch {
                Some(q) => {
                    let status = text::tradable(q.untradable);
                    let style = if q.untradable.is_some() {
                        Style::new().fg(Color::Yellow)
                    } else {
                        Style::new()
                    };
                    cells.extend([
                        right(q.bid.qty.to_string()),
                        right(q.bid.price.to_string()),
                        right(q.ask.price.to_string()),
                        right(q.ask.qty.to_string()),
                        right(text::age(q.age_ns)),
                        Line::styled(status, style),
                    ]);
                }
                None => cells.extend([
                    right("-".into()),
                    right("-".into()),
                    right("-".into()),
                    right("-".into()),
                    right("-".into()),
                    Line::from(text::tradable(Some(arbitrage::Untradable::NoQuote))),
                ]),
            }
            rows.push(Row::new(cells));
        }
    }
    Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(12),
            Constraint::Length(14),
            Constraint::Length(14),
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Min(9),
        ],
    )
    .header(
        Row::new(vec![
            Line::from("symbol"),
            Line::from("venue"),
            right("bid size".into()),
            right("bid".into()),
            right("ask".into()),
            right("ask size".into()),
            right("age".into()),
            Line::from("status"),
        ])
        .style(HEADER),
    )
    .block(Block::bordered().title("books at the touch"))
}

fn spread_table(s: &Snapshot) -> Table<'static> {
    let mut rows = Vec::new();
    for sym in &s.symbols {
        if sym.directions.is_empty() {
            rows.push(Row::new(vec![
                Line::from(sym.symbol.clone()),
                Line::from("-"),
            ]));
        }
        for (i, d) in sym.directions.iter().enumerate() {
            let symbol = if i == 0 {
                sym.symbol.clone()
            } else {
                String::new()
            };
            let net = if d.net_bps.is_sign_positive() && !d.net_bps.is_zero() {
                Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            rows.push(Row::new(vec![
                Line::from(symbol),
                Line::from(format!("{} → {}", d.buy, d.sell)),
                right(text::bps(d.gross_bps)),
                Line::styled(text::bps(d.net_bps), net).right_aligned(),
            ]));
        }
    }
    Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Min(14),
            Constraint::Length(9),
            Constraint::Length(9),
        ],
    )
    .header(
        Row::new(vec![
            Line::from("symbol"),
            Line::from("buy → sell"),
            right("gross".into()),
            right("net".into()),
        ])
        .style(HEADER),
    )
    .block(Block::bordered().title("spreads, bps of the ask"))
}

fn latency_table(s: &Snapshot) -> Table<'static> {
    let row = |name: &str, p: &Percentiles| {
        let cell = |ns: u64| {
            right(if p.count == 0 {
                "-".into()
            } else {
                text::latency(ns)
            })
        };
        Row::new(vec![
            Line::from(name.to_owned()),
            cell(p.p50_ns),
            cell(p.p99_ns),
            cell(p.p999_ns),
            right(p.count.to_string()),
        ])
    };
    Table::new(
        [
            row("tick→decision", &s.latency.tick_to_decision),
            row("tick→sent", &s.latency.tick_to_send),
        ],
        [
            Constraint::Length(13),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Min(5),
        ],
    )
    .header(
        Row::new(vec![
            Line::from("latency"),
            right("p50".into()),
            right("p99".into()),
            right("p99.9".into()),
            right("n".into()),
        ])
        .style(HEADER),
    )
    .block(Block::bordered().title("latency"))
}

fn activity(s: &Snapshot) -> Paragraph<'static> {
    let a = &s.activity;
    let skips: Vec<String> = a
        .skips
        .iter()
        .map(|(reason, n)| format!("{} {n}", text::skip(*reason)))
        .collect();
    let pnl: Vec<String> = s
        .pnl
        .iter()
        .map(|p| {
            format!(
                "{} {} {} (position {})",
                p.symbol, p.realized, p.quote, p.net_position
            )
        })
        .collect();
    let inventory: Vec<String> = s
        .inventory
        .iter()
        .map(|h| format!("{} {} {}", h.venue, h.asset, h.amount))
        .collect();
    let or_dash = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    let label = |name: &'static str| Span::styled(name, HEADER);
    Paragraph::new(vec![
        Line::from(vec![
            label("opportunities "),
            Span::raw(format!(
                "{} of {} evaluations   in flight {}   open orders {}   fills {}",
                a.opportunities, a.evaluations, a.in_flight, a.open_orders, a.fills
            )),
        ]),
        Line::from(vec![label("skips "), Span::raw(or_dash(skips))]),
        Line::from(vec![label("realized pnl "), Span::raw(or_dash(pnl))]),
        Line::from(vec![label("inventory "), Span::raw(or_dash(inventory))]),
    ])
    .wrap(Wrap { trim: true })
    .block(Block::bordered().title("decisions, orders, pnl"))
}

fn draw_log(frame: &mut Frame, tail: &[String], area: Rect) {
    // The newest lines that fit inside the borders.
    let fit = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line> = tail[tail.len().saturating_sub(fit)..]
        .iter()
        .map(|l| {
            let color = if l.contains("ERROR") {
                Color::Red
            } else {
                Color::Yellow
            };
            Line::styled(l.clone(), Style::new().fg(color))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title("last warnings and errors")),
        area,
    );
}

#[cfg(test)]
#[path = "draw_tests.rs"]
mod tests;
