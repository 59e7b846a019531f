//! A clean run says nothing alarming: the `host` binary runs the Gate.io and MEXC plugins
//! against their simulators (market data on both, book sync included), stops on its own,
//! exits 0 and logs not one WARN or ERROR line.

mod ops_support;

use integration_tests::{run_host, runtime, simulator, venue_table};
use ops_support::{wait_exit, Setup, PATIENCE};
use venue_sim::Venue;

/// What both venues stream.
const MARKETS: &str =
    "symbols = [\"BTC/USDT\", \"ETH/USDT\"]\nchannels = [\"book_ticker\", \"trades\", \"depth\"]\n";

#[test]
fn both_plugins_run_and_stop_without_a_warning() {
    let sim_rt = runtime();
    let gate = sim_rt.block_on(simulator(Venue::Gateio, &["BTC/USDT", "ETH/USDT"], 50));
    let mexc = sim_rt.block_on(simulator(Venue::Mexc, &["BTC/USDT", "ETH/USDT"], 50));
    let s = Setup::new("clean-run");
    s.install("gateio_plugin", "gateio.so");
    s.install("mexc_plugin", "mexc.so");
    let text = format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[control]\nenabled = false\n[metrics]\nenabled = false\n{}{}",
        s.plugins.display(),
        s.shadow.display(),
        venue_table("gate", "gateio", &gate, MARKETS),
        venue_table("mexc", "mexc", &mexc, MARKETS),
    );
    s.write_config(&text);
    let report = s.dir.join("report.json");
    let (mut child, lines) = run_host(&[
        "--duration".as_ref(),
        "3".as_ref(),
        "--config".as_ref(),
        s.config.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    let status = wait_exit(&mut child, PATIENCE).expect("the host exits by itself");
    let log: Vec<String> = lines.try_iter().collect();
    let alarming: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(
        alarming.is_empty(),
        "{}",
        alarming
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for v in report["venues"].as_array().unwrap() {
        assert_eq!(v["state"], "running", "{v:#}");
        assert!(
            v["messages_out"].as_u64().unwrap() > 0,
            "data flowed: {v:#}"
        );
        // Syncing a book discards the updates older than its snapshot, as the venues'
        // book recipes say; anything else rejected would be a parse or protocol fault.
        let rejects = v["rejects_by_reason"].as_object().unwrap();
        assert!(rejects.keys().all(|r| r == "stale"), "{v:#}");
    }
    assert_eq!(report["forced"], false);
    sim_rt.block_on(gate.shutdown());
    sim_rt.block_on(mexc.shutdown());
}
