//! Supervision: the relay fixture plugin set to panic on every N-th frame, against the
//! Gate.io simulator. Each fault restarts the instance after a backoff, and its consumers
//! see a gap, then data again; after `max_faults` within the window the instance stops for
//! good with the state `failed`, and its consumers see the end.

use std::time::Duration;

use host::{Host, HostOptions, RestartPolicy, State, StreamItem};
use integration_tests::{gate_simulator, plugin, runtime, temp_dir};
use plugin_api::{Event, GapReason, StreamKind};
use tokio::time::timeout;

/// Bound on every wait, against hangs only.
const HANG: Duration = Duration::from_secs(30);

/// Frames each build takes before it panics.
const PANIC_EVERY: u64 = 300;

#[test]
fn a_plugin_that_panics_is_restarted_then_given_up_on() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(20_000));
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("supervision")),
            restart: RestartPolicy {
                initial_backoff: Duration::from_millis(1),
                max_faults: 3,
                ..RestartPolicy::default()
            },
            ..HostOptions::default()
        })
        .unwrap();
        host.load_plugin(&plugin("fixture_relay")).await.unwrap();
        let settings = serde_json::json!({
            "ws_url": sim.ws_url(),
            "subscribe": r#"{"time":0,"channel":"spot.book_ticker","event":"subscribe","payload":["{symbol}"]}"#,
            "panic_every": PANIC_EVERY,
        });
        host.start_venue("relay", "relay", &settings.to_string())
            .await
            .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        host.bind("relay", "BTC/USDT", StreamKind::BookTicker, move |item| {
            let _ = tx.send(item);
            async {}
        })
        .await
        .unwrap();
        let mut sub = host
            .subscribe("relay", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();

        // What the subscription sees: runs of tickers separated by reload gaps, then the end.
        let mut runs = vec![0u64];
        let mut gaps = 0;
        loop {
            match timeout(HANG, sub.recv()).await.expect("the stream moves") {
                Some(StreamItem::Event(Event::BookTicker(t))) => {
                    assert!(t.update_id < PANIC_EVERY, "a frame past the panic: {t:?}");
                    *runs.last_mut().unwrap() += 1;
                }
                Some(StreamItem::Event(Event::Gap(g))) => {
                    assert_eq!(g.reason, GapReason::Reload, "{g:?}");
                    gaps += 1;
                    runs.push(0);
                }
                Some(StreamItem::Event(other)) => panic!("unexpected {other:?}"),
                Some(StreamItem::End) => break,
                None => panic!("no end marker"),
            }
        }
        // Two faults restarted the instance; the third (max_faults) stopped it for good.
        assert_eq!(gaps, 2, "{runs:?}");
        assert!(runs.iter().all(|&n| n > 0), "data between the gaps: {runs:?}");
        assert!(host.state_reached("relay", State::Failed).await);
        let status = host.instances().await;
        let relay = status.iter().find(|i| i.name == "relay").unwrap();
        assert_eq!(relay.faults, 3, "{relay:?}");
        let error = relay.stats.last_error.as_deref().unwrap_or_default();
        assert!(error.contains("relay panic on frame"), "{error}");

        // The bound handler lived through both restarts and saw the same gaps.
        let mut handler_gaps = 0;
        let mut ended = false;
        while let Some(item) = rx.recv().await {
            match item {
                StreamItem::Event(Event::Gap(_)) => handler_gaps += 1,
                StreamItem::End => ended = true,
                StreamItem::Event(_) => {}
            }
        }
        assert_eq!(handler_gaps, 2);
        assert!(!ended, "handlers stop before the streams end");

        let report = host.shutdown("test").await;
        assert!(report.tasks_left.is_empty(), "{report:#?}");
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
        assert!(report.images_still_mapped.is_empty(), "{report:#?}");
    });
    sim_rt.block_on(sim.shutdown());
}

/// A shutdown while an instance waits to restart after a fault ends its consumers' streams
/// (they were kept open for the restart that will now never come) and leaves no
/// subscription behind.
#[test]
fn a_shutdown_during_the_restart_backoff_ends_the_streams() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(2_000));
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("supervision-backoff")),
            restart: RestartPolicy {
                // Long enough that the shutdown comes first.
                initial_backoff: Duration::from_secs(600),
                ..RestartPolicy::default()
            },
            ..HostOptions::default()
        })
        .unwrap();
        host.load_plugin(&plugin("fixture_relay")).await.unwrap();
        let settings = serde_json::json!({
            "ws_url": sim.ws_url(),
            "subscribe": r#"{"time":0,"channel":"spot.book_ticker","event":"subscribe","payload":["{symbol}"]}"#,
            "panic_every": 5,
        });
        host.start_venue("relay", "relay", &settings.to_string())
            .await
            .unwrap();
        let mut sub = host
            .subscribe("relay", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();
        // The fault's gap: the instance now waits out its backoff.
        loop {
            match timeout(HANG, sub.recv()).await.expect("the stream moves") {
                Some(StreamItem::Event(Event::Gap(g))) => {
                    assert_eq!(g.reason, GapReason::Reload, "{g:?}");
                    break;
                }
                Some(StreamItem::Event(_)) => continue,
                other => panic!("the stream ended before the fault: {other:?}"),
            }
        }
        assert!(host.state_reached("relay", State::Restarting).await);

        let report = host.shutdown("test").await;
        assert_eq!(report.after.subscriptions, 0, "{report:#?}");
        assert!(report.tasks_left.is_empty(), "{report:#?}");
        let end = timeout(HANG, sub.recv()).await.expect("the stream ends");
        assert_eq!(end, Some(StreamItem::End));
    });
    sim_rt.block_on(sim.shutdown());
}
