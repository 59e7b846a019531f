//! Runs that look like success but are not say so: a consumer topic the plugin cannot
//! serve is refused with a reason and never counted as a subscription, and a run whose
//! configured venue never ran exits with code 3.

mod ops_support;

use integration_tests::run_host;
use ops_support::{wait_exit, wait_for_line, Setup, PATIENCE};
use plugin_api::StreamKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unserved_channels_and_unknown_symbols_are_refused_not_counted() {
    let s = Setup::new("ops-unserved");
    s.install("fixture_counter", "counter.so");
    s.write_config(&s.config_text(
        false,
        "[venues.demo]\nplugin = \"fixture\"\nsymbols = [\"TEST/USD\", \"NOPE/USD\"]\nchannels = [\"trades\", \"depth\"]\nsettings = { period_ms = 5, symbol = \"TEST/USD\" }\n",
    ));
    let op = s.start().await;
    let host = op.host();

    // The built-in consumer bound only what the plugin serves: trades of TEST/USD.
    let demo = op.status().await.venues.remove(0);
    assert_eq!(demo.subscriptions, 1, "{demo:?}");

    let unserved = host
        .bind("demo", "TEST/USD", StreamKind::Depth, |_| async {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        unserved.contains("does not serve depth") && unserved.contains("trades"),
        "{unserved}"
    );
    let unknown = host
        .bind("demo", "NOPE/USD", StreamKind::Trades, |_| async {})
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("no market `NOPE/USD`"), "{unknown}");
    assert_eq!(op.status().await.venues[0].subscriptions, 1);
    let report = op.shutdown("test").await;
    assert!(report.tasks_left.is_empty(), "{report:#?}");
}

#[test]
fn a_run_whose_venue_never_ran_exits_with_code_3() {
    let s = Setup::new("ops-never-ran");
    s.install("fixture_counter", "counter.so");
    s.write_config(&s.config_text(
        false,
        "[venues.demo]\nplugin = \"fixture\"\nchannels = [\"trades\"]\nsettings = { period_ms = 5, symbol = \"TEST/USD\" }\n[venues.ghost]\nplugin = \"nosuch\"\n",
    ));
    let report = s.dir.join("report.json");
    let (mut child, lines) = run_host(&[
        "--duration".as_ref(),
        "0.5".as_ref(),
        "--config".as_ref(),
        s.config.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    let line = wait_for_line(&lines, "never ran");
    assert!(line.contains("ghost") && !line.contains("demo"), "{line}");
    let status = wait_exit(&mut child, PATIENCE).expect("the host exits");
    assert_eq!(status.code(), Some(3));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let ghost = report["venues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "ghost")
        .unwrap();
    assert_eq!(ghost["state"], "waiting", "{report:#}");
}
