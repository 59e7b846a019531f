//! The overall shutdown deadline bounds the whole process: the operator's own tasks (the
//! metrics endpoint, the control socket and their connections) are stopped within it, so a
//! client that never finishes its request cannot hold a shutdown.

mod ops_support;

use std::time::Duration;

use integration_tests::run_host;
use ops_support::{read_response, wait_exit, wait_for_line, Setup};
use tokio::io::{AsyncWriteExt, BufReader};

/// A safety net against a hang. A stalled client used to hold the shutdown until hyper's
/// 30 s header timeout; a shutdown that works takes well under a second.
const HANG: Duration = Duration::from_secs(20);

/// A request that never ends: no blank line after the headers.
const PARTIAL_REQUEST: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n";

fn config(s: &Setup, extra: &str) -> String {
    format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nenabled = false\n[metrics]\naddress = \"127.0.0.1:0\"\n[venues.demo]\nplugin = \"fixture\"\nchannels = [\"trades\"]\nsettings = {{ period_ms = 2, symbol = \"TEST/USD\" }}\n{extra}",
        s.plugins.display(),
        s.shadow.display()
    )
}

/// Opens a connection to the metrics endpoint and sends half of a first request (on a
/// fresh connection hyper waits for the rest of it, even in a graceful shutdown), then has
/// a whole request answered on a second connection: accepted after the first, it proves
/// the first one is being served. Returns the first socket, to be held open.
async fn stalled_client(address: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut stalled = tokio::net::TcpStream::connect(address).await.unwrap();
    stalled.write_all(PARTIAL_REQUEST).await.unwrap();
    let probe = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut probe = BufReader::new(probe);
    probe
        .get_mut()
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_response(&mut probe).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains("host_live_tasks"), "{body}");
    stalled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_metrics_client_does_not_hold_the_shutdown() {
    let s = Setup::new("ops-stalled-metrics");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config(&s, ""));
    let op = s.start().await;
    let address = op.metrics_address().expect("metrics endpoint listening");
    let _client = stalled_client(address).await;
    assert!(op.live_tasks() >= 2, "listener and the stalled connection");

    let report = tokio::time::timeout(HANG, op.shutdown("test"))
        .await
        .expect("the shutdown returned although a metrics client stalled");

    assert_eq!(op.live_tasks(), 0, "the operator's tasks are all gone");
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    assert!(report.tasks_left.is_empty(), "{report:#?}");
    assert_eq!(report.after.subscriptions, 0);
}

#[test]
fn host_run_with_a_duration_exits_despite_a_stalled_metrics_client() {
    let s = Setup::new("ops-stalled-process");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config(&s, ""));
    let report = s.dir.join("report.json");
    let (mut child, lines) = run_host(&[
        "--duration".as_ref(),
        "2".as_ref(),
        "--config".as_ref(),
        s.config.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    let line = wait_for_line(&lines, "metrics: http://");
    let address: std::net::SocketAddr = line
        .trim_start_matches("metrics: http://")
        .trim_end_matches("/metrics")
        .parse()
        .unwrap();
    let runtime = integration_tests::runtime();
    let client = runtime.block_on(stalled_client(address));

    // `--duration` elapses by itself; the stalled client stays connected throughout.
    wait_for_line(&lines, "shutting down (duration elapsed)");
    let status = wait_exit(&mut child, HANG);
    drop(client);
    let status = status.expect("host run exited although a metrics client stalled");
    assert!(status.success(), "{status:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["reason"], "duration elapsed");
    assert_eq!(report["after"]["resource_tasks"], 0, "{report:#}");
}
