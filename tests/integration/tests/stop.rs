//! Stopping real venues through the one stop pipeline: the Gate.io plugin against its
//! simulator, with REST failing or not; what goes out on the wire during a stop; a host
//! dropped without `shutdown`; and a report whose task count is exact every time.

use std::time::Duration;

use host::stop::Outcome;
use host::{Host, HostOptions, ShutdownReport};
use integration_tests::{plugin, runtime, temp_dir};
use plugin_api::StreamKind;
use tokio::time::timeout;
use venue_sim::{SimHandle, Venue};

/// Bound on every wait, against hangs only.
const HANG: Duration = Duration::from_secs(30);

/// The Gate.io simulator with two markets.
async fn simulator(rate: u32) -> SimHandle {
    integration_tests::simulator(Venue::Gateio, &["BTC/USDT", "ETH/USDT"], rate).await
}

/// Public market data from `sim`, REST at `rest_url`.
fn settings(sim: &SimHandle, rest_url: &str) -> String {
    serde_json::json!({ "ws_url": sim.ws_url(), "rest_url": rest_url }).to_string()
}

/// A host running the Gate.io venue `gate` on `sim`, with a handler bound (as the built-in
/// consumer does) to book tickers, trades and depth of both markets.
async fn gate_host(tag: &str, sim: &SimHandle, rest_url: &str) -> Host {
    let host = Host::new(HostOptions {
        shadow_dir: Some(temp_dir(tag)),
        ..HostOptions::default()
    })
    .unwrap();
    host.load_plugin(&plugin("gateio_plugin")).await.unwrap();
    host.start_venue("gate", "gateio", &settings(sim, rest_url))
        .await
        .unwrap();
    for symbol in ["BTC/USDT", "ETH/USDT"] {
        for kind in [
            StreamKind::BookTicker,
            StreamKind::Trades,
            StreamKind::Depth,
        ] {
            host.bind("gate", symbol, kind, |_| async {}).await.unwrap();
        }
    }
    host
}

/// Every resource stopped on request (none forced, none failed) and nothing left.
fn assert_clean(report: &ShutdownReport) {
    let unclean: Vec<_> = report
        .stop
        .resources
        .iter()
        .filter(|r| r.outcome != Outcome::Stopped)
        .collect();
    assert!(unclean.is_empty(), "{unclean:#?}");
    assert!(report.tasks_left.is_empty(), "{report:#?}");
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    assert_eq!(report.after.connections, 0, "{report:#?}");
    assert_eq!(report.after.bindings, 0, "{report:#?}");
}

/// A REST endpoint answering 404 to every book snapshot makes the plugin ask again and
/// again until its rate limit makes requests wait: the stop ends those waits at once
/// instead of being forced after the REST client's timeout.
#[test]
fn a_failing_rest_endpoint_does_not_hold_up_the_stop() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator(500));
    runtime().block_on(async {
        // The plugin's paths start with `/api/v4`; with the simulator's REST base (which
        // ends in it already) every path 404s.
        let wrong = sim.rest_url();
        let host = gate_host("stop-rest-404", &sim, &wrong).await;
        // The public limit is 200 requests per 10 s: past it, requests wait for the limit.
        let stats = sim.stats().clone();
        timeout(HANG, stats.wait_until(|s| s.rest_requests > 200))
            .await
            .expect("the plugin retries its snapshots");
        let report = host.shutdown("test").await;
        assert_clean(&report);
    });
    sim_rt.block_on(sim.shutdown());
}

/// The same venue with REST answering: a clean stop too.
#[test]
fn a_streaming_venue_with_working_rest_stops_clean() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator(500));
    runtime().block_on(async {
        let rest = format!("http://{}", sim.local_addr());
        let host = gate_host("stop-rest-ok", &sim, &rest).await;
        let stats = sim.stats().clone();
        timeout(HANG, stats.wait_until(|s| s.frames_sent > 500))
            .await
            .expect("data flows");
        let report = host.shutdown("test").await;
        assert_clean(&report);
    });
    sim_rt.block_on(sim.shutdown());
}

/// Consumers leaving during a stop (the handler bindings stop first) change no
/// subscription on the wire: the only thing the venue sees is the close.
#[test]
fn a_stop_sends_no_unsubscribe() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator(200));
    runtime().block_on(async {
        let rest = format!("http://{}", sim.local_addr());
        let host = gate_host("stop-no-unsub", &sim, &rest).await;
        let stats = sim.stats().clone();
        // Every topic subscribed on the wire: each subscribe frame the host sends is in.
        let subscribed = timeout(HANG, stats.wait_until(every_topic_subscribed))
            .await
            .unwrap_or_else(|_| panic!("not every topic subscribed: {:?}", stats.snapshot()));
        let _ = host.stop_venue("gate").await.unwrap();
        let after = timeout(HANG, stats.wait_until(|s| s.ws_live == 0))
            .await
            .expect("the connection closes");
        assert_eq!(
            after.ws_requests, subscribed.ws_requests,
            "frames sent by the host during the stop"
        );
        let _ = host.shutdown("test").await;
    });
    sim_rt.block_on(sim.shutdown());
}

/// The simulator lists book tickers, trades and depth of both markets as subscribed.
fn every_topic_subscribed(s: &venue_sim::StatsSnapshot) -> bool {
    let all: Vec<&String> = s.subscriptions.values().flatten().collect();
    ["spot.book_ticker", "spot.trades", "spot.order_book_update"]
        .iter()
        .all(|channel| {
            ["BTC_USDT", "ETH_USDT"].iter().all(|pair| {
                // One subscribe frame may carry both markets (`channel:A,B`).
                all.iter()
                    .any(|e| e.starts_with(&format!("{channel}:")) && e.contains(pair))
            })
        })
}

/// A host dropped without `shutdown` leaves nothing running: its connections close and
/// its tasks end instead of reconnecting forever.
#[test]
fn a_host_dropped_without_shutdown_stops_everything() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator(200));
    let rt = runtime();
    rt.block_on(async {
        let rest = format!("http://{}", sim.local_addr());
        let host = gate_host("stop-dropped", &sim, &rest).await;
        let stats = sim.stats().clone();
        timeout(
            HANG,
            stats.wait_until(|s| s.ws_live > 0 && s.frames_sent > 100),
        )
        .await
        .expect("data flows");
        drop(host);
        timeout(HANG, stats.wait_until(|s| s.ws_live == 0))
            .await
            .expect("the connection closes once the host is dropped");
        // Every task of the host ends (a reconnecting one never would).
        integration_tests::runtime_tasks_settle().await;
    });
    sim_rt.block_on(sim.shutdown());
}

/// The report's task counts are exact on every run, not most runs: the host's own count
/// is zero and the runtime's agrees, with nothing named as left.
#[test]
fn the_shutdown_report_counts_tasks_exactly_every_time() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator(1_000));
    for round in 0..8 {
        runtime().block_on(async {
            let rest = format!("http://{}", sim.local_addr());
            let host = gate_host(&format!("stop-exact-{round}"), &sim, &rest).await;
            let stats = sim.stats().clone();
            let sent = stats.snapshot().frames_sent;
            timeout(
                HANG,
                stats.wait_until(|s| s.frames_sent > sent + 50 * round),
            )
            .await
            .expect("data flows");
            let report = host.shutdown("test").await;
            assert_clean(&report);
            // Only this test's own task is alive on the runtime.
            assert_eq!(report.after.tasks, 0, "round {round}: {report:#?}");
        });
    }
    sim_rt.block_on(sim.shutdown());
}

/// The MEXC plugin (public and private streams, a listen key kept alive over REST) stops
/// clean too, with its REST endpoint answering or failing every request.
#[test]
fn mexc_stops_clean_with_rest_answering_or_failing() {
    for rest_works in [true, false] {
        let sim_rt = runtime();
        let sim = sim_rt.block_on(integration_tests::simulator(
            Venue::Mexc,
            &["BTC/USDT"],
            500,
        ));
        runtime().block_on(async {
            let host = Host::new(HostOptions {
                shadow_dir: Some(temp_dir("stop-mexc")),
                ..HostOptions::default()
            })
            .unwrap();
            host.load_plugin(&plugin("mexc_plugin")).await.unwrap();
            let base = format!("http://{}", sim.local_addr());
            let rest = match rest_works {
                true => base,
                false => format!("{base}/missing"),
            };
            let settings = serde_json::json!({
                "ws_url": sim.ws_url(),
                "rest_url": rest,
                "credentials": {"api_key": "test-key", "api_secret": "test-secret"},
                "listen_key_keepalive_ms": 50,
            });
            host.start_venue("mexc", "mexc", &settings.to_string())
                .await
                .unwrap();
            for kind in [
                StreamKind::BookTicker,
                StreamKind::Trades,
                StreamKind::Depth,
            ] {
                host.bind("mexc", "BTC/USDT", kind, |_| async {})
                    .await
                    .unwrap();
            }
            host.bind("mexc", "", StreamKind::Orders, |_| async {})
                .await
                .unwrap();
            let stats = sim.stats().clone();
            timeout(
                HANG,
                stats.wait_until(|s| s.frames_sent > 200 && s.rest_requests > 3),
            )
            .await
            .expect("data flows and REST is used");
            let report = host.shutdown("test").await;
            assert_clean(&report);
        });
        sim_rt.block_on(sim.shutdown());
    }
}
