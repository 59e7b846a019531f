//! The MEXC plugin loaded from its `.so`, driven by the host over real loopback sockets
//! against the MEXC simulator: 40 subscriptions spread over two connections (the venue
//! allows 30 per connection), depth sync with an injected gap, the listen key created, kept
//! alive and deleted at stop, a signed order with its private updates, stop and unload.

use std::net::SocketAddr;

use host::{Host, HostOptions};
use integration_tests::{
    balances_after_a_failed_account_read, next_matching, order_round_trip, plugin, reload_in_place,
    runtime, runtime_tasks_settle, temp_dir, unknown_outcome_round_trip,
};
use plugin_api::{Event, GapReason, StreamKind};
use venue_sim::{SimConfig, SimHandle, Simulator, Symbol, Venue};

/// BTC/USDT plus 19 more markets: 20 symbols × 2 kinds = 40 subscriptions.
fn symbols() -> Vec<String> {
    let mut v = vec!["BTC/USDT".to_owned()];
    v.extend((1..20).map(|i| format!("C{i:02}/USDT")));
    v
}

async fn simulator() -> SimHandle {
    let mut config = SimConfig::new(Venue::Mexc);
    config.rate = 400;
    config.symbols = symbols().iter().filter_map(|s| Symbol::parse(s)).collect();
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Simulator::start(config, bind).await.unwrap()
}

fn route(sim: &SimHandle, r: &str) -> u64 {
    sim.stats()
        .snapshot()
        .rest_by_route
        .get(r)
        .copied()
        .unwrap_or(0)
}

#[test]
fn mexc_through_the_host_against_the_simulator() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator());
    runtime().block_on(run(&sim));
    // Each instance deleted its listen key when it stopped (the REST client stops after the
    // private stream and the keep-alive timer): the one replaced by the reload, then the
    // one stopped by the shutdown.
    assert_eq!(route(&sim, "DELETE /api/v3/userDataStream"), 2);
    sim_rt.block_on(sim.shutdown());
}

async fn run(sim: &SimHandle) {
    let host = Host::new(HostOptions {
        shadow_dir: Some(temp_dir("mexc-e2e")),
        ..HostOptions::default()
    })
    .unwrap();
    host.load_plugin(&plugin("mexc_plugin")).await.unwrap();
    let settings = serde_json::json!({
        "ws_url": sim.ws_url(),
        "rest_url": format!("http://{}", sim.local_addr()),
        "credentials": {"api_key": "test-key", "api_secret": "test-secret"},
        "listen_key_keepalive_ms": 200,
    });
    host.start_venue("mexc", "mexc", &settings.to_string())
        .await
        .unwrap();

    let mut subs = Vec::new();
    for s in symbols() {
        for kind in [StreamKind::BookTicker, StreamKind::Trades] {
            subs.push(host.subscribe("mexc", &s, kind).unwrap());
        }
    }
    // Two public connections carry the 40 subscriptions, none more than 30.
    let snap = sim
        .stats()
        .wait_until(|s| {
            let public: Vec<usize> = s
                .subscriptions
                .values()
                .filter(|c| c.iter().any(|ch| ch.contains("public")))
                .map(Vec::len)
                .collect();
            public.iter().sum::<usize>() == 40
        })
        .await;
    let public: Vec<usize> = snap
        .subscriptions
        .values()
        .filter(|c| c.iter().any(|ch| ch.contains("public")))
        .map(Vec::len)
        .collect();
    assert_eq!(public.len(), 2, "{public:?}");
    assert!(public.iter().all(|&n| n <= 30), "{public:?}");
    next_matching(&mut subs[0], |e| matches!(e, Event::BookTicker(_))).await;

    // The listen key: created at start, kept alive by the timer resource.
    sim.stats()
        .wait_until(|s| {
            s.rest_by_route
                .get("PUT /api/v3/userDataStream")
                .copied()
                .unwrap_or(0)
                >= 2
        })
        .await;
    assert_eq!(route(sim, "POST /api/v3/userDataStream"), 1);

    // Depth synced from the REST snapshot; a skipped version resyncs.
    let mut depth = host
        .subscribe("mexc", "BTC/USDT", StreamKind::Depth)
        .unwrap();
    next_matching(&mut depth, |e| matches!(e, Event::Depth(d) if d.snapshot)).await;
    next_matching(&mut depth, |e| matches!(e, Event::Depth(d) if !d.snapshot)).await;
    sim.faults().skip_sequence(1);
    next_matching(
        &mut depth,
        |e| matches!(e, Event::Gap(g) if g.reason == GapReason::SequenceGap),
    )
    .await;
    next_matching(&mut depth, |e| matches!(e, Event::Depth(d) if d.snapshot)).await;

    let mut orders = host.subscribe("mexc", "", StreamKind::Orders).unwrap();
    // A resting order is opened then cancelled, a crossing one fills; the private stream
    // reports each step.
    order_round_trip(&host, "mexc", "BTCUSDT", &mut orders).await;

    // Reload the plugin file in place: consumers see a reload gap, then data again.
    reload_in_place(&host, "mexc", &mut subs[0]).await;

    let report = host.shutdown("test").await;
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    runtime_tasks_settle().await;
    assert_eq!(report.after.connections, 0);
    assert!(report.images_still_mapped.is_empty());
    assert!(report.unloaded.iter().all(|u| u.unmapped));
    let position = |n: &str| {
        report
            .stop
            .resources
            .iter()
            .position(|r| r.name == n)
            .unwrap()
    };
    assert!(position("listen-key-keepalive") < position("rest"));
    assert!(position("private") < position("rest"));
}

/// Orders whose answers are lost (a 503 before or after the venue acted) and a refused
/// cancel still end in a state the caller sees: the plugin looks them up.
#[test]
fn mexc_orders_whose_answer_is_lost_still_end() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator());
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("mexc-unknown")),
            ..HostOptions::default()
        })
        .unwrap();
        host.load_plugin(&plugin("mexc_plugin")).await.unwrap();
        let settings = serde_json::json!({
            "ws_url": sim.ws_url(),
            "rest_url": format!("http://{}", sim.local_addr()),
            "credentials": {"api_key": "test-key", "api_secret": "test-secret"},
        })
        .to_string();
        host.start_venue("mexc", "mexc", &settings).await.unwrap();
        let mut orders = host.subscribe("mexc", "", StreamKind::Orders).unwrap();
        unknown_outcome_round_trip(
            &host,
            "mexc",
            "BTCUSDT",
            &sim,
            |_| "GET /api/v3/order".to_owned(),
            &mut orders,
        )
        .await;
        let report = host.shutdown("test").await;
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    });
    sim_rt.block_on(sim.shutdown());
}

/// A reconnect whose balance read meets an outage: the plugin reads the account again until
/// MEXC answers, so consumers waiting for fresh balances get them without another reconnect.
#[test]
fn mexc_account_is_read_again_after_a_failed_read() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator());
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("mexc-reread")),
            ..HostOptions::default()
        })
        .unwrap();
        host.load_plugin(&plugin("mexc_plugin")).await.unwrap();
        let settings = serde_json::json!({
            "ws_url": sim.ws_url(),
            "rest_url": format!("http://{}", sim.local_addr()),
            "credentials": {"api_key": "test-key", "api_secret": "test-secret"},
        })
        .to_string();
        host.start_venue("mexc", "mexc", &settings).await.unwrap();
        let mut balances = host.subscribe("mexc", "", StreamKind::Balances).unwrap();
        balances_after_a_failed_account_read(
            &sim,
            "GET /api/v3/account",
            "spot@private.account",
            &mut balances,
        )
        .await;
        let report = host.shutdown("test").await;
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    });
    sim_rt.block_on(sim.shutdown());
}
