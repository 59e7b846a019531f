//! The Binance plugin loaded from its `.so`, driven by the host over real loopback sockets
//! against the Binance simulator: book tickers and trades for two symbols (the documented
//! payload first, then synthetic ones), the server's pings answered by the host over several
//! intervals, a dropped connection reconnected and resubscribed (a gap, then data), and a
//! drop-in reload of the plugin file. The same code linked into the test binary serves the
//! venue as a built-in plugin.

use std::net::SocketAddr;
use std::time::Duration;

use binance_plugin::Binance;
use host::plugin::Builtin;
use host::{Host, HostOptions, Subscription};
use integration_tests::{
    next_matching, plugin, reload_in_place, runtime, runtime_tasks_settle, temp_dir,
};
use plugin_api::{Event, GapReason, StreamKind};
use venue_sim::{Kick, SimConfig, SimHandle, Simulator, Source, Symbol, Venue};

const SYMBOLS: [&str; 2] = ["BNB/USDT", "BTC/USDT"];

async fn simulator() -> SimHandle {
    let mut config = SimConfig::new(Venue::Binance);
    config.source = Source::ReplayThenSynthetic;
    config.rate = 200;
    config.symbols = SYMBOLS.iter().filter_map(|s| Symbol::parse(s)).collect();
    // Short enough to see several pings in a test, long enough that one pong a second
    // plus the plugin's 4 frames a second stay within the venue's 5 messages a second.
    config.binance_limits.ping_interval = Duration::from_secs(1);
    config.binance_limits.pong_timeout = Duration::from_secs(2);
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Simulator::start(config, bind).await.unwrap()
}

/// Waits for `cond` on the simulator's counters; a bound only against a hang.
async fn wait_for(
    sim: &SimHandle,
    cond: impl FnMut(&venue_sim::StatsSnapshot) -> bool,
) -> venue_sim::StatsSnapshot {
    tokio::time::timeout(Duration::from_secs(30), sim.stats().wait_until(cond))
        .await
        .expect("the simulator's counters never got there")
}

/// Streams on the simulator's live connections, counted over all of them.
fn live_streams(sim: &SimHandle) -> usize {
    sim.stats()
        .snapshot()
        .subscriptions
        .values()
        .map(Vec::len)
        .sum()
}

#[test]
fn binance_through_the_host_against_the_simulator() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator());
    runtime().block_on(run(&sim));
    sim_rt.block_on(sim.shutdown());
}

async fn run(sim: &SimHandle) {
    let host = Host::new(HostOptions {
        shadow_dir: Some(temp_dir("binance-e2e")),
        ..HostOptions::default()
    })
    .unwrap();
    host.load_plugin(&plugin("binance_plugin")).await.unwrap();
    let settings = serde_json::json!({"ws_url": sim.ws_url()}).to_string();
    host.start_venue("binance", "binance", &settings)
        .await
        .unwrap();

    let mut tickers: Vec<Subscription> = Vec::new();
    let mut trades: Vec<Subscription> = Vec::new();
    for s in SYMBOLS {
        tickers.push(
            host.subscribe("binance", s, StreamKind::BookTicker)
                .unwrap(),
        );
        trades.push(host.subscribe("binance", s, StreamKind::Trades).unwrap());
    }
    // BNB/USDT's stream starts with the documented book ticker, then synthetic ones.
    let Event::BookTicker(first) = next_matching(&mut tickers[0], |_| true).await else {
        panic!("expected a book ticker first");
    };
    assert_eq!(first.update_id, 400_900_217);
    assert_eq!(first.instrument.symbol.as_str(), "BNB/USDT");
    for (i, s) in SYMBOLS.iter().enumerate() {
        let e = next_matching(
            &mut tickers[i],
            |e| matches!(e, Event::BookTicker(t) if t.update_id != 400_900_217),
        )
        .await;
        assert_eq!(e.instrument().unwrap().symbol.as_str(), *s);
        let Event::Trade(t) = next_matching(&mut trades[i], |e| matches!(e, Event::Trade(_))).await
        else {
            unreachable!()
        };
        assert_eq!(
            t.instrument.venue_symbol.as_str(),
            s.replace('/', "").to_lowercase()
        );
        assert!(t.trade_ts_ms > 0 && t.stamp.venue_ts_ms > 0);
    }
    let snap = sim.stats().snapshot();
    assert_eq!((snap.ws_accepted, live_streams(sim)), (1, 4), "{snap:?}");

    // The host answers the server's pings: the connection outlives the pong timeout.
    wait_for(sim, |s| s.pongs_received >= 3).await;
    let snap = sim.stats().snapshot();
    assert_eq!((snap.ws_accepted, snap.ws_live), (1, 1), "{snap:?}");
    next_matching(&mut trades[1], |e| matches!(e, Event::Trade(_))).await;

    // A dropped connection: a gap, a new connection with every stream again in one
    // request, data again.
    let requests = sim.stats().snapshot().ws_requests;
    sim.faults().kick_all(Kick::TcpDrop);
    for sub in tickers.iter_mut().chain(trades.iter_mut()) {
        next_matching(
            sub,
            |e| matches!(e, Event::Gap(g) if g.reason == GapReason::Reconnect),
        )
        .await;
    }
    next_matching(&mut tickers[1], |e| matches!(e, Event::BookTicker(_))).await;
    next_matching(&mut trades[0], |e| matches!(e, Event::Trade(_))).await;
    let snap = wait_for(sim, |s| {
        s.ws_live == 1 && s.subscriptions.values().map(Vec::len).sum::<usize>() == 4
    })
    .await;
    assert_eq!(snap.ws_accepted, 2);
    assert_eq!(snap.ws_requests, requests + 1, "{snap:?}");

    // Reload the plugin file in place: consumers see a reload gap, then data again.
    reload_in_place(&host, "binance", &mut tickers[1]).await;

    let report = host.shutdown("test").await;
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    runtime_tasks_settle().await;
    assert_eq!(report.after.connections, 0);
    assert!(report.images_still_mapped.is_empty());
    assert!(report.unloaded.iter().all(|u| u.unmapped));
}

#[test]
fn binance_linked_as_a_builtin_streams_and_stops_clean() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(simulator());
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("binance-builtin")),
            ..HostOptions::default()
        })
        .unwrap();
        let builtin = Builtin::new("binance", env!("CARGO_PKG_VERSION"), Binance::from_config);
        host.add_builtin(builtin).await.unwrap();
        let settings = serde_json::json!({"ws_url": sim.ws_url()}).to_string();
        host.start_venue("binance", "binance", &settings)
            .await
            .unwrap();
        let mut sub = host
            .subscribe("binance", "BTC/USDT", StreamKind::Trades)
            .unwrap();
        next_matching(&mut sub, |e| matches!(e, Event::Trade(_))).await;
        let report = host.shutdown("test").await;
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
        assert_eq!(report.after.connections, 0, "{report:#?}");
        assert!(report.tasks_left.is_empty(), "{report:#?}");
    });
    sim_rt.block_on(sim.shutdown());
}
