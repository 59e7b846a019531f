//! A configuration change a plugin refuses never hurts a running venue (issue #13, finding
//! 10): the new settings are checked before anything is stopped, so the running build keeps
//! its connection, counters and consumers, and the rest of the change is not applied either.

mod ops_support;

use host::ops::{ConfigOutcome, OpsEvent};
use host::{State, StreamItem, Subscription};
use integration_tests::gate_simulator;
use ops_support::{wait_for, Setup, PATIENCE};
use plugin_api::{Event, GapReason, StreamKind};
use tokio::sync::broadcast;

/// The relay venue `r` on the simulator at `ws_url`, serving `symbol`, and the fixture
/// venue `c` unless `with_c` is false.
fn venues(ws_url: &str, symbol: &str, subscribe_time: u32, with_c: bool) -> String {
    let subscribe = format!(
        r#"{{"time":{subscribe_time},"channel":"spot.book_ticker","event":"subscribe","payload":["{{symbol}}"]}}"#
    );
    let c = match with_c {
        true => "[venues.c]\nplugin = \"fixture\"\nsettings = { period_ms = 5 }\n",
        false => "",
    };
    format!(
        r#"
[venues.r]
plugin = "relay"
symbols = ["BTC/USDT"]
channels = ["book_ticker"]
settings = {{ ws_url = "{ws_url}", symbol = "{symbol}", subscribe = '{subscribe}' }}
{c}"#
    )
}

/// The next configuration outcome.
async fn outcome(events: &mut broadcast::Receiver<OpsEvent>, what: &str) -> ConfigOutcome {
    wait_for(events, what, |e| match e {
        OpsEvent::Config(o) => Some(o.clone()),
        _ => None,
    })
    .await
}

/// The update id of the next book ticker on `sub`: the relay counts the frames of its build
/// there, so it restarts from 1 with every new build. Panics on a gap or the end.
async fn next_update_id(sub: &mut Subscription) -> u64 {
    loop {
        match sub.recv().await {
            Some(StreamItem::Event(Event::BookTicker(t))) => return t.update_id,
            Some(StreamItem::Event(Event::Gap(g))) => panic!("the running build was hurt: {g:?}"),
            Some(StreamItem::Event(_)) => continue,
            other => panic!("the running build was stopped: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_settings_leave_the_running_venue_its_connection_and_counters() {
    let sim = gate_simulator(500).await;
    let s = Setup::new("ops-refused-settings");
    s.install("fixture_relay", "relay.so");
    s.install("fixture_counter", "counter.so");
    s.write_config(&s.config_text(false, &venues(&sim.ws_url(), "BTC/USDT", 0, true)));
    let op = s.start().await;
    let host = op.host().clone();
    let mut events = op.events();
    let mut sub = host
        .subscribe("r", "BTC/USDT", StreamKind::BookTicker)
        .unwrap();
    let first = next_update_id(&mut sub).await;
    let stats = sim.stats();
    assert_eq!(stats.snapshot().ws_accepted, 1);
    let status = |name: &str| {
        let host = host.clone();
        let name = name.to_owned();
        async move {
            host.instances()
                .await
                .into_iter()
                .find(|i| i.name == *name)
                .unwrap()
        }
    };
    let before = status("r").await;
    assert_eq!((before.state, before.connections), (State::Running, 1));

    // Change r to a symbol the relay refuses and remove c: rejected as a whole before any
    // step, so c is not stopped and r is not restarted.
    s.write_config(&s.config_text(false, &venues(&sim.ws_url(), "BTCUSDT", 0, false)));
    let refused = outcome(&mut events, "the refused change").await;
    let ConfigOutcome::Rejected { error } = &refused else {
        panic!("{refused:?}")
    };
    assert!(
        error.contains("venues.r.settings")
            && error.contains("relay")
            && error.contains("BASE/QUOTE"),
        "{error}"
    );
    assert_eq!(host.state("c").await, Some(State::Running), "c not removed");
    // The same build goes on: its frame count carries on from before the change, on the same
    // connection, with counters that only grew.
    let mut last = first;
    while last < before.stats.frames_in + 10 {
        let id = next_update_id(&mut sub).await;
        assert!(id > last, "update ids restarted: {id} after {last}");
        last = id;
    }
    let after = status("r").await;
    assert_eq!((after.state, after.connections), (State::Running, 1));
    assert!(after.stats.frames_in > before.stats.frames_in, "{after:?}");
    assert!(
        after.stats.events_out > before.stats.events_out,
        "{after:?}"
    );
    assert_eq!(
        (after.stats.starts, after.stats.connects),
        (before.stats.starts, before.stats.connects),
        "one build, one connection: {after:?}"
    );
    // The check's refusal is not counted as an error of the running build.
    assert_eq!(
        (after.stats.call_errors, &after.stats.last_error),
        (before.stats.call_errors, &before.stats.last_error)
    );
    let sim_now = stats.snapshot();
    assert_eq!(
        (sim_now.ws_accepted, sim_now.ws_live),
        (1, 1),
        "no new connection: {sim_now:?}"
    );
    assert_eq!(op.config().venues["r"].settings["symbol"], "BTC/USDT");
    assert_eq!(op.counters().config_rejected, 1);

    // The control: an accepted change of r does restart it (what the assertions above
    // would have caught), in place: its stream gets a reload gap and goes on, from a new
    // connection and the frame count from the start.
    s.write_config(&s.config_text(false, &venues(&sim.ws_url(), "BTC/USDT", 1, true)));
    let applied = outcome(&mut events, "the accepted change").await;
    let ConfigOutcome::Applied { diff, .. } = &applied else {
        panic!("{applied:?}")
    };
    assert_eq!(diff.to_change, ["r"]);
    let gap = tokio::time::timeout(PATIENCE, async {
        loop {
            match sub.recv().await {
                Some(StreamItem::Event(Event::Gap(g))) => return g,
                Some(StreamItem::End) | None => {
                    panic!("the stream ended: r was not restarted in place")
                }
                Some(_) => continue,
            }
        }
    })
    .await
    .expect("the reload gap of r's restart");
    assert_eq!(gap.reason, GapReason::Reload);
    let restarted = next_update_id(&mut sub).await;
    assert!(restarted < last, "a new build counts from 1: {restarted}");
    assert_eq!(stats.snapshot().ws_accepted, 2);
    let _ = op.shutdown("test").await;
    sim.shutdown().await;
}
