//! The Gate.io plugin loaded from its `.so`, driven by the host over real loopback sockets
//! against the Gate.io simulator: market data, a dropped connection with resubscribe and
//! book resync, a signed order with its private updates, stop, unload and reload.

use std::net::SocketAddr;

use host::{Host, HostOptions};
use integration_tests::{
    balances_after_a_failed_account_read, next_matching, order_round_trip, plugin, reload_in_place,
    runtime, runtime_tasks_settle, temp_dir, unknown_outcome_round_trip,
};
use plugin_api::{Event, GapReason, StreamKind};
use venue_sim::{Kick, SimConfig, SimHandle, Simulator, Venue};

async fn simulator() -> SimHandle {
    let mut config = SimConfig::new(Venue::Gateio);
    config.rate = 200;
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Simulator::start(config, bind).await.unwrap()
}

fn settings(sim: &SimHandle) -> String {
    serde_json::json!({
        "ws_url": sim.ws_url(),
        "private_ws_url": sim.ws_url(),
        "rest_url": format!("http://{}", sim.local_addr()),
        "credentials": {"api_key": "test-key", "api_secret": "test-secret"},
    })
    .to_string()
}

#[test]
fn gateio_through_the_host_against_the_simulator() {
    // The simulator gets a runtime of its own, so the host's task counts are the host's.
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator());
    runtime().block_on(run(&sim));
    sim_rt.block_on(sim.shutdown());
}

async fn run(sim: &SimHandle) {
    let host = Host::new(HostOptions {
        shadow_dir: Some(temp_dir("gateio-e2e")),
        ..HostOptions::default()
    })
    .unwrap();
    host.load_plugin(&plugin("gateio_plugin")).await.unwrap();
    host.start_venue("gate", "gateio", &settings(sim))
        .await
        .unwrap();

    let mut ticker = host
        .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
        .unwrap();
    let mut depth = host
        .subscribe("gate", "BTC/USDT", StreamKind::Depth)
        .unwrap();
    let mut orders = host.subscribe("gate", "", StreamKind::Orders).unwrap();
    let first = next_matching(&mut ticker, |e| matches!(e, Event::BookTicker(_))).await;
    let Event::BookTicker(t) = first else {
        unreachable!()
    };
    assert_eq!(t.instrument.symbol.as_str(), "BTC/USDT");
    assert_eq!(t.instrument.venue_symbol.as_str(), "BTC_USDT");
    assert!(t.bid_price < t.ask_price, "{t:?}");
    // The book is synced from the REST snapshot before increments flow.
    next_matching(&mut depth, |e| matches!(e, Event::Depth(d) if d.snapshot)).await;
    next_matching(&mut depth, |e| matches!(e, Event::Depth(d) if !d.snapshot)).await;

    // A dropped connection: a gap, a resubscribe, a resynced book, data again.
    let accepted = sim.stats().snapshot().ws_accepted;
    sim.faults().kick_all(Kick::TcpDrop);
    next_matching(
        &mut depth,
        |e| matches!(e, Event::Gap(g) if g.reason == GapReason::Reconnect),
    )
    .await;
    next_matching(&mut depth, |e| matches!(e, Event::Depth(d) if d.snapshot)).await;
    next_matching(&mut ticker, |e| matches!(e, Event::BookTicker(_))).await;
    assert!(sim.stats().snapshot().ws_accepted > accepted);

    // A resting order is opened then cancelled, a crossing one fills; the private stream
    // reports each step.
    order_round_trip(&host, "gate", "BTC_USDT", &mut orders).await;

    // Reload the plugin file in place: consumers see a reload gap, then data again.
    reload_in_place(&host, "gateio", &mut ticker).await;

    let report = host.shutdown("test").await;
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    runtime_tasks_settle().await;
    assert_eq!(report.after.connections, 0);
    assert_eq!(report.after.subscriptions, 0);
    assert!(report.images_still_mapped.is_empty());
    assert!(report.unloaded.iter().all(|u| u.unmapped));
    // The connections were ordered: private before public before the REST client.
    let position = |n: &str| {
        report
            .stop
            .resources
            .iter()
            .position(|r| r.name == n)
            .unwrap()
    };
    assert!(position("private") < position("rest"));
    assert!(position("public") < position("rest"));
}

/// Orders whose answers are lost (a 503 before or after the venue acted) and a refused
/// cancel still end in a state the caller sees: the plugin looks them up.
#[test]
fn gateio_orders_whose_answer_is_lost_still_end() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator());
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("gateio-unknown")),
            ..HostOptions::default()
        })
        .unwrap();
        host.load_plugin(&plugin("gateio_plugin")).await.unwrap();
        host.start_venue("gate", "gateio", &settings(&sim))
            .await
            .unwrap();
        let mut orders = host.subscribe("gate", "", StreamKind::Orders).unwrap();
        unknown_outcome_round_trip(
            &host,
            "gate",
            "BTC_USDT",
            &sim,
            |cid| format!("GET /api/v4/spot/orders/t-{cid}"),
            &mut orders,
        )
        .await;
        let report = host.shutdown("test").await;
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    });
    sim_rt.block_on(sim.shutdown());
}

/// A reconnect whose account read meets an outage: the plugin reads the account again until
/// Gate answers, so consumers waiting for fresh balances get them without another reconnect.
#[test]
fn gateio_account_is_read_again_after_a_failed_read() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator());
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("gateio-reread")),
            ..HostOptions::default()
        })
        .unwrap();
        host.load_plugin(&plugin("gateio_plugin")).await.unwrap();
        host.start_venue("gate", "gateio", &settings(&sim))
            .await
            .unwrap();
        let mut balances = host.subscribe("gate", "", StreamKind::Balances).unwrap();
        balances_after_a_failed_account_read(
            &sim,
            "GET /api/v4/spot/accounts",
            "spot.balances",
            &mut balances,
        )
        .await;
        let report = host.shutdown("test").await;
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    });
    sim_rt.block_on(sim.shutdown());
}
