//! The relay fixture plugin (`fixture-relay`, one book ticker per frame, no parsing) loaded
//! from its `.so` against the Gate.io simulator: its events reach a consumer with the
//! frame count as update id, and after a shutdown in the middle of the stream no task or
//! connection is left and the queue accounts for every item it was offered. The pipeline
//! bench's "host overhead" row relies on this behaviour.

use std::time::Duration;

use host::stop::Outcome;
use host::{Host, HostOptions, StreamItem, Subscription};
use integration_tests::{gate_simulator, plugin, runtime, runtime_tasks_settle, temp_dir};
use plugin_api::{Event, StreamKind};
use tokio::time::timeout;

/// Bound on every wait, against hangs only.
const HANG: Duration = Duration::from_secs(20);

/// Events the consumer must see before the shutdown starts.
const EVENTS: u64 = 2_000;

/// What the consumer saw: data events, whether its stream ended, and its subscription (for
/// the queue counters).
struct Seen {
    events: u64,
    ended: bool,
    sub: Subscription,
}

/// Reads `sub` to its end, checking every book ticker is the relay's: the subscribed
/// instrument, zero prices, a receive stamp, and update ids (frame counts) that only grow.
/// Signals `first` once `EVENTS` have arrived.
async fn consume(mut sub: Subscription, first: tokio::sync::oneshot::Sender<()>) -> Seen {
    let mut first = Some(first);
    let (mut events, mut ended, mut last_id) = (0u64, false, 0u64);
    while let Some(item) = sub.recv().await {
        match item {
            StreamItem::Event(Event::BookTicker(t)) => {
                assert_eq!(t.instrument.symbol.as_str(), "BTC/USDT");
                assert_eq!(t.instrument.venue_symbol.as_str(), "BTC_USDT");
                assert!(t.bid_price.is_zero() && t.ask_qty.is_zero(), "{t:?}");
                assert!(t.stamp.received_ns > 0, "{t:?}");
                assert!(t.update_id > last_id, "{} after {last_id}", t.update_id);
                last_id = t.update_id;
                events += 1;
                if events == EVENTS {
                    if let Some(tx) = first.take() {
                        let _ = tx.send(());
                    }
                }
            }
            StreamItem::Event(other) => panic!("unexpected event {other:?}"),
            StreamItem::End => ended = true,
        }
    }
    Seen { events, ended, sub }
}

#[test]
fn relay_delivers_a_ticker_per_frame_and_shuts_down_clean() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(50_000));
    // The consumer runs on a runtime of its own, so the host runtime's tasks are the host's.
    let consumer_rt = runtime();
    let rt = runtime();
    rt.block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("relay")),
            ..HostOptions::default()
        })
        .unwrap();
        let info = host.load_plugin(&plugin("fixture_relay")).await.unwrap();
        assert_eq!(info.venue, "relay");
        let settings = serde_json::json!({
            "ws_url": sim.ws_url(),
            "subscribe": r#"{"time":0,"channel":"spot.book_ticker","event":"subscribe","payload":["{symbol}"]}"#,
            "symbol": "BTC/USDT",
        })
        .to_string();
        host.start_venue("relay", "relay", &settings).await.unwrap();
        let sub = host
            .subscribe("relay", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();
        let (first_tx, first_rx) = tokio::sync::oneshot::channel();
        let consumer = consumer_rt.spawn(consume(sub, first_tx));
        timeout(HANG, first_rx)
            .await
            .expect("relay events in time")
            .expect("the consumer ended early");

        // Stop while the simulator still streams, then read the driver's counters.
        let stop = timeout(HANG, host.stop_venue("relay"))
            .await
            .expect("stop hung")
            .unwrap();
        for r in &stop.resources {
            assert_eq!(r.outcome, Outcome::Stopped, "{r:?}");
        }
        let driver = host.instances().await[0].stats.clone();
        let report = timeout(HANG, host.shutdown("test"))
            .await
            .expect("shutdown hung");
        assert!(!report.forced, "{report:#?}");
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
        assert_eq!(report.after.connections, 0, "{report:#?}");
        assert!(report.unloaded.iter().all(|u| u.unmapped), "{report:#?}");
        runtime_tasks_settle().await;

        let seen = timeout(HANG, consumer)
            .await
            .expect("the consumer saw its stream end")
            .unwrap();
        assert!(seen.ended, "the consumer saw End");
        assert!(seen.events >= EVENTS);

        // One event per frame, whatever its content (the subscribe ack included).
        assert_eq!(driver.rejected, 0, "{driver:?}");
        assert_eq!(driver.events_out, driver.frames_in, "{driver:?}");
        // The queue: every event plus the End offered, each delivered or dropped by reason.
        let q = seen.sub.stats();
        assert_eq!(q.depth, 0, "{q:?}");
        assert_eq!(q.offered, q.delivered + q.dropped(), "{q:?}");
        assert_eq!(q.offered, driver.events_out + 1, "{q:?} {driver:?}");
        assert_eq!(q.delivered, seen.events + 1, "{q:?}");
        drop(seen);
        let venue = host.bus().venue_stats("relay");
        assert_eq!(venue.depth, 0, "{venue:?}");
        assert_eq!(
            venue.offered,
            venue.delivered + venue.dropped(),
            "{venue:?}"
        );
        assert_eq!(venue.offered, q.offered, "{venue:?}");
    });
    sim_rt.block_on(sim.shutdown());
}
