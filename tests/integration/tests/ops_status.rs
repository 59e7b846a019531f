//! `status` (in process and over the control socket) and `/metrics` answer while a stop is
//! held up by a hung resource; the `[restart]` section drives the supervisor, and status
//! and metrics show the faults and the `failed` state.

mod ops_support;

use std::time::Duration;

use host::ops::control::{request, Request};
use host::ops::status::{Status, VenueView};
use host::ops::Operator;
use host::stop::Outcome;
use ops_support::{metric, scrape, Setup};
use plugin_api::StreamKind;

/// A safety net against a hang; nothing here is expected to take more than moments.
const HANG: Duration = Duration::from_secs(20);

fn config(s: &Setup, venue: &str, extra: &str) -> String {
    format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nsocket = \"{}\"\n[metrics]\naddress = \"127.0.0.1:0\"\n[venues.demo]\nplugin = \"fixture\"\nsettings = {venue}\n{extra}",
        s.plugins.display(),
        s.shadow.display(),
        s.dir.join("run/host.sock").display(),
    )
}

fn venue<'a>(status: &'a Status, name: &str) -> &'a VenueView {
    status
        .venues
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no venue `{name}` in {status:#?}"))
}

async fn status(op: &Operator) -> Status {
    tokio::time::timeout(HANG, op.status())
        .await
        .expect("status answered")
}

/// Asks for the status until venue `name` is in `state` (each answer must come at once).
async fn wait_for_state(op: &Operator, name: &str, state: &str) -> Status {
    tokio::time::timeout(HANG, async {
        loop {
            let status = status(op).await;
            if venue(&status, name).state == state {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("venue `{name}` never became `{state}`"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_status_answers_during_a_stop_held_up_by_a_hung_resource() {
    let s = Setup::new("ops-status-stopping");
    s.install("fixture_counter", "counter.so");
    // A handler stop waits up to `processing` for the handler: long enough that only the
    // test's release ends it.
    s.write_config(&config(
        &s,
        "{ period_ms = 2, symbol = \"TEST/USD\" }",
        "[shutdown]\noverall = 120000\nprocessing = 120000\n",
    ));
    let op = s.start().await;
    let socket = op.control_socket().expect("control socket").to_owned();
    let metrics = op.metrics_address().expect("metrics endpoint");

    // A handler that hangs on its first item and ignores cancellation until released.
    let (release, released) = tokio::sync::watch::channel(false);
    let (entered_tx, entered) = tokio::sync::oneshot::channel::<()>();
    let mut entered_tx = Some(entered_tx);
    op.host()
        .bind("demo", "TEST/USD", StreamKind::Trades, move |_| {
            if let Some(tx) = entered_tx.take() {
                let _ = tx.send(());
            }
            let mut released = released.clone();
            async move {
                let _ = released.wait_for(|r| *r).await;
            }
        })
        .await
        .unwrap();
    entered.await.unwrap();

    let stop = tokio::spawn({
        let op = op.clone();
        async move { op.stop_venue("demo").await }
    });

    // In process: the status answers and shows the stop under way.
    let st = wait_for_state(&op, "demo", "stopping").await;
    assert!(!stop.is_finished(), "the stop is still held up");
    assert_eq!(st.plugins.len(), 1, "{st:#?}");
    assert!(st.counts.resource_tasks > 0, "{st:#?}");

    // Over the control socket, as `host ctl status` asks.
    let reply = tokio::time::timeout(HANG, request(&socket, &Request::Status))
        .await
        .expect("the control socket answered during the stop")
        .unwrap();
    assert_eq!(reply["ok"], true, "{reply}");
    let venues = reply["result"]["venues"].as_array().unwrap();
    assert_eq!(venues[0]["name"], "demo", "{reply}");
    assert_eq!(venues[0]["state"], "stopping", "{reply}");

    // And the metrics endpoint.
    let text = tokio::time::timeout(HANG, scrape(metrics))
        .await
        .expect("/metrics answered during the stop");
    assert_eq!(
        metric(&text, "host_venue_state{venue=\"demo\",state=\"stopping\"}"),
        1.0
    );
    assert_eq!(metric(&text, "host_venue_up{venue=\"demo\"}"), 0.0);
    assert!(!stop.is_finished(), "the stop is still held up");

    release.send(true).unwrap();
    let report = tokio::time::timeout(HANG, stop)
        .await
        .expect("the stop ended once the handler returned")
        .unwrap()
        .unwrap();
    let handlers = report
        .resources
        .iter()
        .find(|r| r.name == "handlers")
        .unwrap();
    assert_eq!(handlers.outcome, Outcome::Stopped, "{report:#?}");
    assert_eq!(venue(&status(&op).await, "demo").state, "stopped");

    let report = op.shutdown("test").await;
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    assert_eq!(op.live_tasks(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restart_section_limits_faults_and_status_shows_them() {
    let s = Setup::new("ops-status-restart");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config(
        &s,
        "{ period_ms = 2, panic_after = 2, symbol = \"TEST/USD\" }",
        "[restart]\nmax_faults = 2\ninitial_backoff = 1\nmax_backoff = 5\nwindow = 600000\n",
    ));
    let op = s.start().await;
    assert_eq!(op.config().restart.max_faults, 2);

    // Faults once, is restarted, faults again: that is `max_faults`, so it failed for good.
    let st = wait_for_state(&op, "demo", "failed").await;
    let demo = venue(&st, "demo");
    assert_eq!(demo.faults, 2, "{st:#?}");
    assert!(
        demo.last_error
            .as_deref()
            .is_some_and(|e| e.contains("fixture panic")),
        "{st:#?}"
    );
    let text = scrape(op.metrics_address().unwrap()).await;
    assert_eq!(metric(&text, "host_venue_faults{venue=\"demo\"}"), 2.0);
    assert_eq!(
        metric(&text, "host_venue_state{venue=\"demo\",state=\"failed\"}"),
        1.0
    );
    assert_eq!(metric(&text, "host_venue_up{venue=\"demo\"}"), 0.0);

    // A failed venue runs again on an explicit start.
    op.start_venue("demo").await.unwrap();

    let report = op.shutdown("test").await;
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
}
