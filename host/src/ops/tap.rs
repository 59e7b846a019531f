//! `host run --print-events`: what the configured venues produce, one line per normalized
//! event, gap, end and reject, on standard output as it happens. A writer task owns stdout;
//! lines reach it through a bounded queue, and lines a slow reader made it drop are counted
//! and reported, never silently lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use plugin_api::{Event, OrderStatus, Side, StreamKind};
use tokio::io::AsyncWriteExt;
use tokio::sync::{broadcast, mpsc};

use super::Operator;
use crate::pipeline::StreamItem;
use crate::venue::RejectNote;

/// Lines waiting for stdout before new ones are dropped (and counted).
const BACKLOG: usize = 4096;

/// One line for `event` of `venue`.
pub fn event_line(venue: &str, event: &Event) -> String {
    let kind = event.kind().name();
    let side = |s: Side| match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    };
    match event {
        Event::BookTicker(t) => format!(
            "{venue} {kind} {} bid {} x {} ask {} x {} ts {}",
            t.instrument.symbol,
            t.bid_price,
            t.bid_qty,
            t.ask_price,
            t.ask_qty,
            t.stamp.venue_ts_ms
        ),
        Event::Trade(t) => format!(
            "{venue} {kind} {} {} {} @ {} id {} ts {}",
            t.instrument.symbol,
            side(t.side),
            t.qty,
            t.price,
            t.trade_id,
            t.stamp.venue_ts_ms
        ),
        Event::Depth(d) => {
            let best = |levels: &[plugin_api::Level]| {
                levels
                    .first()
                    .map_or("-".to_owned(), |l| format!("{} x {}", l.price, l.qty))
            };
            format!(
                "{venue} {kind} {} {} ids {}..{} {} bids {} asks best {} / {}",
                d.instrument.symbol,
                if d.snapshot { "snapshot" } else { "update" },
                d.first_id,
                d.last_id,
                d.bids.len(),
                d.asks.len(),
                best(&d.bids),
                best(&d.asks)
            )
        }
        Event::Order(o) => format!(
            "{venue} {kind} {} {} {} {} @ {} filled {} order {} client {}",
            o.instrument.symbol,
            match o.status {
                OrderStatus::Open => "open",
                OrderStatus::Filled => "filled",
                OrderStatus::Cancelled => "cancelled",
                OrderStatus::Rejected => "rejected",
                OrderStatus::Unknown => "unknown",
            },
            side(o.side),
            o.qty,
            o.price,
            o.filled_qty,
            o.order_id,
            o.client_id
        ),
        Event::Fill(f) => format!(
            "{venue} {kind} {} {} {} @ {} fee {} {} order {} trade {}",
            f.instrument.symbol,
            side(f.side),
            f.qty,
            f.price,
            f.fee,
            f.fee_asset,
            f.order_id,
            f.trade_id
        ),
        Event::Balance(b) => format!(
            "{venue} {kind} {} available {} locked {}",
            b.asset, b.available, b.locked
        ),
        Event::Gap(g) => format!(
            "{venue} GAP {kind} {} {:?} after id {}",
            g.instrument.symbol, g.reason, g.last_id
        ),
    }
}

/// One line for a reject of `venue`.
pub fn reject_line(venue: &str, note: &RejectNote) -> String {
    format!("{venue} REJECT {}: {}", note.reason, note.detail)
}

impl Operator {
    /// Prints what the configured venues produce to standard output until the operator
    /// shuts down: every stream of every enabled venue's configured symbols and channels
    /// (private channels once each), its gaps and ends, and every reject with its reason.
    /// Venues added later by a configuration change are not included.
    pub fn print_events(&self) {
        let (tx, rx) = mpsc::channel::<String>(BACKLOG);
        let dropped = Arc::new(AtomicU64::new(0));
        let tasks = &self.inner.tasks;
        let token = tasks.token().clone();
        let host = self.host().clone();
        for (name, plan) in super::diff::plans(&self.config(), &Default::default()) {
            let mut kinds: Vec<(StreamKind, String)> = Vec::new();
            for channel in &plan.channels {
                let kind = StreamKind::from(*channel);
                if kind.is_private() {
                    kinds.push((kind, String::new()));
                } else {
                    kinds.extend(plan.symbols.iter().map(|s| (kind, s.clone())));
                }
            }
            for (kind, symbol) in kinds {
                let Some(mut sub) = host.subscribe(&name, &symbol, kind) else {
                    continue;
                };
                let (tx, dropped, token, name) =
                    (tx.clone(), dropped.clone(), token.clone(), name.clone());
                tasks.spawn(async move {
                    loop {
                        let item = tokio::select! {
                            _ = token.cancelled() => return,
                            item = sub.recv() => item,
                        };
                        let line = match item {
                            Some(StreamItem::Event(event)) => event_line(&name, &event),
                            Some(StreamItem::End) | None => {
                                offer(
                                    &tx,
                                    &dropped,
                                    format!("{name} END {} {symbol}", kind.name()),
                                );
                                return;
                            }
                        };
                        offer(&tx, &dropped, line);
                    }
                });
            }
            if let Ok(mut rejects) = host.rejects(&name) {
                let (tx, dropped, token) = (tx.clone(), dropped.clone(), token.clone());
                tasks.spawn(async move {
                    loop {
                        let note = tokio::select! {
                            _ = token.cancelled() => return,
                            note = rejects.recv() => note,
                        };
                        match note {
                            Ok(note) => offer(&tx, &dropped, reject_line(&name, &note)),
                            Err(broadcast::error::RecvError::Lagged(n)) => offer(
                                &tx,
                                &dropped,
                                format!("{name} REJECT ({n} not shown: too many at once)"),
                            ),
                            Err(broadcast::error::RecvError::Closed) => return,
                        }
                    }
                });
            }
        }
        drop(tx);
        tasks.spawn(write_lines(rx, dropped, token));
    }
}

/// Queues `line` for stdout, or counts it if the queue is full.
fn offer(tx: &mpsc::Sender<String>, dropped: &AtomicU64, line: String) {
    if tx.try_send(line).is_err() {
        dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writes the queued lines to stdout; reports dropped lines before the next line it
/// writes, and at the end.
async fn write_lines(
    mut rx: mpsc::Receiver<String>,
    dropped: Arc<AtomicU64>,
    token: tokio_util::sync::CancellationToken,
) {
    let mut out = tokio::io::stdout();
    let mut reported = 0;
    loop {
        let line = tokio::select! {
            _ = token.cancelled() => None,
            line = rx.recv() => line,
        };
        let now = dropped.load(Ordering::Relaxed);
        let mut text = String::new();
        if now > reported {
            text.push_str(&format!(
                "({} lines dropped: stdout too slow)\n",
                now - reported
            ));
            reported = now;
        }
        let Some(line) = line else {
            let _ = out.write_all(text.as_bytes()).await;
            let _ = out.flush().await;
            return;
        };
        text.push_str(&line);
        text.push('\n');
        let written = tokio::select! {
            _ = token.cancelled() => return,
            r = out.write_all(text.as_bytes()) => r,
        };
        if written.is_err() {
            return; // stdout closed
        }
    }
}
