//! The host pipeline under stop, with the Gate.io plugin `.so` against the simulator: a stop
//! while consumers have stopped reading (queues full, one of them applying backpressure to the
//! plugin's driver) accounts for every item, and a stop in the middle of a full-speed stream
//! ends every connection resource quickly, leaves no task or connection, and never reconnects.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use host::pipeline::queue::QueueStats;
use host::stop::Outcome;
use host::{Host, HostOptions, QueuePolicies, ShutdownReport, StreamItem, Subscription};
use integration_tests::{gate_simulator, plugin, runtime, runtime_tasks_settle, temp_dir};
use plugin_api::{Event, StreamKind};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use venue_sim::SimHandle;

/// Bound on every wait, against hangs only.
const HANG: Duration = Duration::from_secs(20);

async fn gate_host(tag: &str, sim: &SimHandle, queues: QueuePolicies) -> Host {
    let host = Host::new(HostOptions {
        shadow_dir: Some(temp_dir(tag)),
        queues,
        ..HostOptions::default()
    })
    .unwrap();
    host.load_plugin(&plugin("gateio_plugin")).await.unwrap();
    let settings = serde_json::json!({
        "ws_url": sim.ws_url(),
        "rest_url": format!("http://{}", sim.local_addr()),
    })
    .to_string();
    host.start_venue("gate", "gateio", &settings).await.unwrap();
    host
}

/// Every item offered to a queue was delivered, dropped for a reason, or is still queued.
fn accounted(s: &QueueStats) -> bool {
    s.offered == s.delivered + s.dropped() + s.depth
}

/// Waits for the first data event on `sub`.
async fn first_event(sub: &mut Subscription) {
    loop {
        match timeout(HANG, sub.recv()).await.expect("no event in time") {
            Some(StreamItem::Event(Event::Gap(_))) => continue,
            Some(StreamItem::Event(_)) => return,
            other => panic!("stream ended: {other:?}"),
        }
    }
}

/// Waits until `cond` holds, re-checking whenever the simulator sends more frames (or a
/// connection opens or closes): an event-driven wait, no timer.
async fn until_sim_progress(sim: &SimHandle, mut cond: impl FnMut() -> bool) {
    timeout(HANG, async {
        loop {
            if cond() {
                return;
            }
            let seen = sim.stats().snapshot();
            sim.stats()
                .wait_until(|s| {
                    s.frames_sent != seen.frames_sent
                        || s.ws_live != seen.ws_live
                        || s.lagged != seen.lagged
                })
                .await;
        }
    })
    .await
    .expect("condition not reached in time");
}

/// One line per resource: wave, name, kind, outcome, elapsed.
fn stop_lines(report: &ShutdownReport) -> String {
    report
        .stop
        .resources
        .iter()
        .map(|r| {
            format!(
                "  wave {} {:<14} {:<14} {:?} {:.2} ms {}",
                r.wave,
                r.name,
                r.kind,
                r.outcome,
                r.elapsed_ms,
                r.detail.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_clean(report: &ShutdownReport) {
    assert!(!report.forced, "{report:#?}");
    for r in &report.stop.resources {
        assert_eq!(
            r.outcome,
            Outcome::Stopped,
            "{} did not stop cleanly:\n{}",
            r.name,
            stop_lines(report)
        );
    }
    // `after.tasks` (the runtime's alive-task count, taken at once) can still see a task
    // whose tracked future already ended: the tests check it with `runtime_tasks_settle`.
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    assert_eq!(report.after.connections, 0, "{report:#?}");
    assert_eq!(report.after.subscriptions, 0, "{report:#?}");
    assert!(report.unloaded.iter().all(|u| u.unmapped), "{report:#?}");
}

/// A host whose two consumers stopped reading: the book-ticker queue (latest value wins) is
/// full and conflating, the trades queue (backpressure) is full and holds the plugin's driver
/// back. Returns the host, both subscriptions and the driver counters at that moment.
async fn stalled_consumers(
    sim: &SimHandle,
    tag: &str,
) -> (Host, Subscription, Subscription, host::venue::VenueStats) {
    let queues = QueuePolicies {
        capacity: CAPACITY,
        ..QueuePolicies::default()
    };
    let host = gate_host(tag, sim, queues).await;
    let mut ticker = host
        .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
        .unwrap();
    let mut trades = host
        .subscribe("gate", "BTC/USDT", StreamKind::Trades)
        .unwrap();
    first_event(&mut ticker).await;
    first_event(&mut trades).await;
    // From here nobody reads.
    until_sim_progress(sim, || {
        trades.stats().depth == CAPACITY as u64 && ticker.stats().dropped() > 0
    })
    .await;
    let held = host.instances().await[0].stats.clone();
    (host, ticker, trades, held)
}

const CAPACITY: usize = 32;

/// Reads `sub` to its end; returns the events read. Fails if `End` does not come.
async fn drain(sub: &mut Subscription) -> u64 {
    let mut events = 0;
    loop {
        match timeout(HANG, sub.recv()).await.expect("no end of stream") {
            Some(StreamItem::Event(_)) => events += 1,
            Some(StreamItem::End) => break,
            None => panic!("stream closed without End"),
        }
    }
    assert_eq!(sub.recv().await, None, "nothing after End");
    events
}

/// Stop with messages queued: both consumers stopped reading (the ticker queue conflates,
/// the full trades queue holds the plugin's driver back), then the venue stops and the
/// trades consumer resumes slowly while it does. Both streams end after what was queued; the
/// host then shuts down with nothing left, and once the subscriptions are gone every item is
/// accounted for — per queue and per venue `offered == delivered + dropped (by reason)` — and
/// what the plugin produced from `frames_in` frames is exactly what the queues were offered
/// (`events_out`) plus what the stop kept from them (`events_abandoned`).
#[test]
fn stop_with_messages_queued_accounts_for_every_item() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(20_000));
    runtime().block_on(async {
        let (host, mut ticker, mut trades, held) = stalled_consumers(&sim, "pipe-queued").await;
        // Held back by the full trades queue, the plugin takes no more frames.
        let again = host.instances().await[0].stats.clone();
        assert!(again.frames_in <= held.frames_in + 1, "{held:?} {again:?}");

        let (stop, trades_read) = tokio::join!(host.stop_venue("gate"), drain(&mut trades));
        let stop = stop.unwrap();
        assert!(trades_read >= CAPACITY as u64);
        let ticker_read = drain(&mut ticker).await;
        assert!(ticker_read > 0);
        let driver = host.instances().await[0].stats.clone();
        let report = host.shutdown("test").await;
        assert_clean(&report);
        let left = runtime_tasks_settle().await;
        eprintln!(
            "tasks after shutdown: {} in the report, {left} a moment later, then 0",
            report.after.tasks
        );
        for r in &stop.resources {
            assert_eq!(r.outcome, Outcome::Stopped, "{r:?}");
        }

        let (t, tr) = (ticker.stats(), trades.stats());
        assert!(accounted(&t) && t.depth == 0, "{t:?}");
        assert!(accounted(&tr) && tr.depth == 0, "{tr:?}");
        assert!(t.dropped_conflated + t.dropped_overflow > 0, "{t:?}");
        assert_eq!(tr.dropped(), 0, "backpressure never drops: {tr:?}");
        drop(ticker);
        drop(trades);
        let venue = host.bus().venue_stats("gate");
        let mut sum = t;
        sum += tr;
        assert_eq!(venue, sum, "venue totals are the queues' totals");
        assert_eq!(venue.depth, 0, "{venue:?}");
        assert_eq!(
            venue.offered,
            venue.delivered + venue.dropped(),
            "every offered item delivered or dropped by reason: {venue:?}"
        );

        // Each event went to exactly one queue, and each queue was also offered its End.
        let offered_events = venue.offered - 2;
        assert_eq!(driver.events_out, offered_events, "{driver:?} {venue:?}");
        // One event per data frame, out or abandoned by the stop (none here: the trades
        // consumer reads again, so the event waiting for room gets it); the rest of frames_in
        // are the two subscribe acks.
        assert_eq!(driver.rejected, 0, "{driver:?}");
        assert_eq!(
            driver.frames_in,
            driver.events_out + driver.events_abandoned + 2,
            "{driver:?}"
        );
    });
    sim_rt.block_on(sim.shutdown());
}

/// After the stop a consumer goes away with items still queued: they count as undelivered,
/// so the venue totals still satisfy `offered == delivered + dropped (by reason)`.
#[test]
fn dropping_a_subscription_with_items_queued_counts_them_undelivered() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(20_000));
    runtime().block_on(async {
        let (host, mut ticker, mut trades, _) = stalled_consumers(&sim, "pipe-undelivered").await;
        let (stop, _) = tokio::join!(host.stop_venue("gate"), drain(&mut trades));
        let _ = stop.unwrap();
        // The ticker consumer takes one more value, then goes away with the rest queued.
        let next = timeout(HANG, ticker.recv()).await.unwrap();
        assert!(matches!(next, Some(StreamItem::Event(_))), "{next:?}");
        let (t, tr) = (ticker.stats(), trades.stats());
        assert!(accounted(&t) && t.depth > 0, "{t:?}");
        drop(ticker);
        drop(trades);
        let _ = host.shutdown("test").await;
        let venue = host.bus().venue_stats("gate");
        assert_eq!(venue.offered, t.offered + tr.offered, "{venue:?}");
        assert_eq!(venue.delivered, t.delivered + tr.delivered, "{venue:?}");
        // What the ticker consumer left queued (its End included) counts as undelivered.
        assert_eq!(venue.dropped_undelivered, t.depth, "{venue:?}");
        assert_eq!(venue.depth, 0, "{venue:?}");
        assert_eq!(
            venue.offered,
            venue.delivered + venue.dropped(),
            "{venue:?}"
        );
    });
    sim_rt.block_on(sim.shutdown());
}

/// The same stop, but the trades consumer never reads again: the stop must not wait for it.
/// Both streams end (after what is queued) and every resource stops within its timeout.
#[test]
fn stop_does_not_wait_for_a_consumer_that_stopped_reading() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(20_000));
    runtime().block_on(async {
        let (host, mut ticker, mut trades, _) = stalled_consumers(&sim, "pipe-stalled").await;
        let stop = host.stop_venue("gate").await.unwrap();
        // Every resource stopped on request: none waited for the consumer until forced.
        assert!(
            stop.resources.iter().all(|r| r.outcome == Outcome::Stopped),
            "{stop:#?}"
        );
        // The event that waited for room in the full trades queue never got it: the stop
        // counts it (and the rest of its burst) as abandoned, not delivered.
        let driver = host.instances().await[0].stats.clone();
        assert!(driver.events_abandoned >= 1, "{driver:?}");
        let offered = host.bus().venue_stats("gate").offered - 2; // minus the two Ends
        assert_eq!(driver.events_out, offered, "{driver:?}");
        assert_eq!(
            driver.frames_in,
            driver.events_out + driver.events_abandoned + 2,
            "{driver:?}"
        );
        let report = host.shutdown("test").await;
        assert_clean(&report);
        drain(&mut ticker).await;
        drain(&mut trades).await;
    });
    sim_rt.block_on(sim.shutdown());
}

/// A stop while the simulator streams at its maximum rate and a consumer reads everything:
/// every connection resource reports `Stopped`, no task, connection or subscription is
/// left, and the simulator sees no connection after the stop.
#[test]
fn stop_at_full_speed_is_quick_and_final() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(2_000_000));
    // The consumer runs on a runtime of its own, so the host runtime's task count is the
    // host's alone.
    let consumer_rt = runtime();
    let rt = runtime();
    let (report, accepted, received) = rt.block_on(async {
        let host = gate_host("pipe-full", &sim, QueuePolicies::default()).await;
        let mut sub = host
            .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();
        let received = Arc::new(AtomicU64::new(0));
        let (first_tx, first_rx) = tokio::sync::oneshot::channel();
        let consumer = consumer_rt.spawn({
            let received = received.clone();
            async move {
                let mut first_tx = Some(first_tx);
                let mut ended = false;
                while let Some(item) = sub.recv().await {
                    match item {
                        StreamItem::Event(_) => {
                            if received.fetch_add(1, Ordering::Relaxed) == 10_000 {
                                if let Some(tx) = first_tx.take() {
                                    let _ = tx.send(());
                                }
                            }
                        }
                        StreamItem::End => ended = true,
                    }
                }
                ended
            }
        });
        timeout(HANG, first_rx)
            .await
            .expect("10,000 events in time")
            .unwrap();
        let accepted = sim.stats().snapshot().ws_accepted;
        let report = timeout(HANG, host.shutdown("test"))
            .await
            .expect("shutdown hung");
        let left = runtime_tasks_settle().await;
        eprintln!(
            "tasks after shutdown: {} in the report, {left} a moment later, then 0",
            report.after.tasks
        );
        let ended = timeout(HANG, consumer)
            .await
            .expect("consumer ended")
            .unwrap();
        assert!(ended, "the consumer saw the end of its stream");
        (report, accepted, received.load(Ordering::Relaxed))
    });
    assert_clean(&report);
    let conns: Vec<_> = report
        .stop
        .resources
        .iter()
        .filter(|r| r.kind == "connection")
        .collect();
    assert!(!conns.is_empty(), "{report:#?}");
    // How long the stop takes is the pipeline bench's to measure (docs/PERFORMANCE.md);
    // here every connection stopped on request, within its bounded close.
    assert!(
        conns.iter().all(|r| r.outcome == Outcome::Stopped),
        "{}",
        stop_lines(&report)
    );
    eprintln!(
        "received {received} events; stop {:.2} ms, shutdown {:.2} ms",
        report.stop.elapsed_ms, report.elapsed_ms
    );

    // The server saw the connection close. Then a probe client proves time passed — it reads
    // until the server's own clock is well past the host's first reconnect delay (100 ms) —
    // and the only connection accepted since the stop is the probe's.
    let host_closed = sim_rt.block_on(async {
        timeout(HANG, sim.stats().wait_until(|s| s.ws_live == 0))
            .await
            .expect("the host's connection closed");
        let stopped_ms = now_ms();
        let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url())
            .await
            .unwrap();
        let sub = serde_json::json!({"time": 0, "channel": "spot.book_ticker", "event": "subscribe", "payload": ["BTC_USDT"]});
        ws.send(Message::text(sub.to_string())).await.unwrap();
        timeout(HANG, async {
            while let Some(Ok(m)) = ws.next().await {
                let Message::Text(t) = m else { continue };
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["time_ms"].as_u64().unwrap_or(0) > stopped_ms + 500 {
                    return;
                }
            }
            panic!("probe connection ended");
        })
        .await
        .expect("the probe saw the server clock advance");
        let _ = ws.close(None).await;
        sim.stats().snapshot().ws_accepted
    });
    assert_eq!(
        host_closed,
        accepted + 1,
        "only the probe connected after the stop"
    );
    sim_rt.block_on(sim.shutdown());
}

fn now_ms() -> u64 {
    host::venue::now_ms()
}
