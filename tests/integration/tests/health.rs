//! Health that tells the truth, end to end with the Gate.io plugin and its simulator: a
//! server whose data stops while it still answers is detected as stalled within the
//! configured time and reconnected; a venue nobody listens for is reported as never
//! connected in `ctl status`, the metrics, the report and the exit code; counters never go
//! backwards across a reload.

mod ops_support;

use std::time::Duration;

use host::ops::control::{request, Request};
use host::ops::status::VenueView;
use host::ops::Operator;
use integration_tests::{next_matching, run_host, runtime};
use ops_support::{
    metric, scrape, wait_exit, wait_for_line, wait_for_metrics_address, Setup, PATIENCE,
};
use plugin_api::{Event, GapReason, StreamKind};

/// The data pause tolerated in these tests (the default is a minute).
const STALE_MS: u64 = 1_000;

fn gate_venue(ws_url: &str, rest_url: &str) -> String {
    format!(
        "[venues.gate]\nplugin = \"gateio\"\nsymbols = [\"BTC/USDT\"]\nchannels = [\"book_ticker\"]\nsettings = {{ ws_url = \"{ws_url}\", private_ws_url = \"{ws_url}\", rest_url = \"{rest_url}\" }}\n"
    )
}

async fn venue(op: &Operator, name: &str) -> VenueView {
    op.status()
        .await
        .venues
        .into_iter()
        .find(|v| v.name == name)
        .expect("the venue is in the status")
}

#[test]
fn a_data_stall_is_detected_reconnected_and_counted_and_counters_survive_a_reload() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(integration_tests::gate_simulator(50));
    let s = Setup::new("health-stall");
    s.install("gateio_plugin", "gateio.so");
    let extra = format!(
        "[stale]\nbook_ticker_ms = {STALE_MS}\n{}",
        gate_venue(&sim.ws_url(), &format!("http://{}", sim.local_addr()))
    );
    s.write_config(&s.config_text(false, &extra));
    runtime().block_on(async {
        let op = s.start().await;
        let mut ticker = op
            .host()
            .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();
        next_matching(&mut ticker, |e| matches!(e, Event::BookTicker(_))).await;
        let before = venue(&op, "gate").await;
        assert_eq!(before.state, "running", "{before:?}");
        assert_eq!((before.connects, before.stalls), (1, 0), "{before:?}");

        // Data stops; acks and pongs still come. The stall ends the connection within
        // the threshold (the safety net is far longer) and a reconnect follows.
        let paused_at = std::time::Instant::now();
        sim.faults().set_data_paused(true);
        let gap = tokio::time::timeout(
            PATIENCE,
            next_matching(&mut ticker, |e| matches!(e, Event::Gap(_))),
        )
        .await
        .expect("a gap after the stall");
        let Event::Gap(gap) = gap else { unreachable!() };
        assert_eq!(gap.reason, GapReason::Reconnect);
        assert!(
            paused_at.elapsed() >= Duration::from_millis(STALE_MS / 2),
            "not before the threshold: {:?}",
            paused_at.elapsed()
        );
        let stalled = venue(&op, "gate").await;
        assert_eq!(stalled.state, "stalled", "{stalled:?}");
        assert!(stalled.stalls >= 1 && stalled.connects >= 2, "{stalled:?}");
        assert_eq!(stalled.lifecycle, "running");
        let text = host::ops::metrics::render(&op).await;
        assert_eq!(
            metric(&text, "host_venue_up{venue=\"gate\"} "),
            0.0,
            "{text}"
        );
        assert_eq!(
            metric(
                &text,
                "host_venue_health{venue=\"gate\",health=\"stalled\"} "
            ),
            1.0
        );
        assert!(metric(&text, "host_venue_stalls_total{venue=\"gate\"} ") >= 1.0);

        // Data again: the venue is running once a burst with data went through.
        sim.faults().set_data_paused(false);
        let running = async {
            loop {
                next_matching(&mut ticker, |e| matches!(e, Event::BookTicker(_))).await;
                let v = venue(&op, "gate").await;
                if v.state == "running" {
                    return v;
                }
            }
        };
        let running = tokio::time::timeout(PATIENCE, running)
            .await
            .expect("running again once data flows");
        assert!(running
            .last_data_age_ms
            .is_some_and(|age| age < PATIENCE.as_millis() as u64));

        // A reload starts a new build; the venue's counters carry on from where they were.
        let reload = op.reload_venue("gate").await.unwrap();
        assert_eq!(reload.instances, ["gate"]);
        let after = venue(&op, "gate").await;
        assert_eq!(after.starts, 2, "{after:?}");
        assert!(
            after.messages_in >= running.messages_in,
            "{running:?} -> {after:?}"
        );
        assert!(
            after.connects >= running.connects,
            "{running:?} -> {after:?}"
        );
        assert!(after.stalls >= running.stalls);
        drop(ticker);
        let report = op.shutdown("test").await;
        assert!(report.tasks_left.is_empty(), "{report:#?}");
    });
    sim_rt.block_on(sim.shutdown());
}

#[test]
fn a_venue_nobody_listens_for_is_reported_as_never_connected_everywhere() {
    let s = Setup::new("health-never");
    s.install("gateio_plugin", "gateio.so");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let socket = s.dir.join("host.sock");
    let text = format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nsocket = \"{}\"\n[metrics]\naddress = \"127.0.0.1:0\"\n{}",
        s.plugins.display(),
        s.shadow.display(),
        socket.display(),
        gate_venue(&format!("ws://{closed}/ws/v4/"), &format!("http://{closed}")),
    );
    s.write_config(&text);
    let report = s.dir.join("report.json");
    let (mut child, lines) = run_host(&[
        "--duration".as_ref(),
        "30".as_ref(),
        "--config".as_ref(),
        s.config.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    let address = wait_for_metrics_address(&lines);
    // The first failed attempt is a warning, with the error.
    let warning = wait_for_line(&lines, "connect failed");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        warning.contains("never_connected") && warning.contains("refused"),
        "{warning}"
    );

    runtime().block_on(async {
        let status = request(&socket, &Request::Status).await.unwrap();
        let gate = &status["result"]["venues"][0];
        assert_eq!(gate["name"], "gate");
        let state = gate["state"].as_str().unwrap();
        assert!(
            ["connecting", "backing_off", "breaker_open"].contains(&state),
            "{gate}"
        );
        assert_eq!(gate["lifecycle"], "running");
        assert_eq!(gate["connects"], 0, "{gate}");
        assert!(gate["connect_failures"].as_u64().unwrap() >= 1, "{gate}");
        assert!(
            gate["last_error"].as_str().unwrap().contains("connect"),
            "{gate}"
        );
        assert!(gate["last_data_age_ms"].is_null());

        let text = scrape(address).await;
        assert_eq!(metric(&text, "host_venue_up{venue=\"gate\"} "), 0.0);
        assert_eq!(
            metric(&text, "host_venue_connects_total{venue=\"gate\"} "),
            0.0
        );
        assert!(metric(&text, "host_venue_connect_failures_total{venue=\"gate\"} ") >= 1.0);
        assert_eq!(
            metric(
                &text,
                "host_venue_health{venue=\"gate\",health=\"running\"} "
            ),
            0.0
        );
        request(&socket, &Request::Shutdown).await.unwrap();
    });

    let status = wait_exit(&mut child, PATIENCE).expect("the host exits");
    assert_eq!(status.code(), Some(3), "a run whose venue never connected");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let gate = &report["venues"][0];
    assert_eq!(gate["connects"], 0, "{report:#}");
    assert!(gate["connect_failures"].as_u64().unwrap() >= 1);
    assert!(gate["last_error"].as_str().unwrap().contains("connect"));
    assert_eq!(report["reason"], "control: shutdown");
}
