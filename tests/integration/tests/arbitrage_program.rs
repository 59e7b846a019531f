//! The arbitrage program end to end: its binary against both venue simulators through the
//! real plugins, with credentials from a secrets file. It stops by itself, exits 0, logs no
//! WARN or ERROR, evaluated quotes of both venues, and left no task behind.

mod ops_support;

use std::process::{Command, Stdio};

use integration_tests::{arbitrage_binary, runtime, simulator, venue_table};
use ops_support::{wait_exit, Setup, PATIENCE};
use venue_sim::Venue;

#[test]
fn the_program_runs_both_venues_and_stops_clean() {
    let sim_rt = runtime();
    let gate = sim_rt.block_on(simulator(Venue::Gateio, &["BTC/USDT", "ETH/USDT"], 100));
    let mexc = sim_rt.block_on(simulator(Venue::Mexc, &["BTC/USDT", "ETH/USDT"], 100));
    let s = Setup::new("arbitrage-program");
    s.install("gateio_plugin", "gateio.so");
    s.install("mexc_plugin", "mexc.so");
    let secrets = s.dir.join("secrets.toml");
    std::fs::write(
        &secrets,
        "[venues.gate]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n[venues.mexc]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n",
    )
    .unwrap();
    s.write_config(&format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\nsecrets_file = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nenabled = false\n[metrics]\nenabled = false\n{}{}",
        s.plugins.display(),
        s.shadow.display(),
        secrets.display(),
        venue_table("gate", "gateio", &gate, ""),
        venue_table("mexc", "mexc", &mexc, ""),
    ));
    let report = s.dir.join("report.json");
    let mut child = Command::new(arbitrage_binary())
        .arg("--config")
        .arg(&s.config)
        .args(["--duration", "3", "--report"])
        .arg(&report)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let status = wait_exit(&mut child, PATIENCE).expect("the program stops by itself");
    let log = log.join().unwrap();
    let alarming: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(alarming.is_empty(), "{alarming:#?}");
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    assert!(
        log.iter()
            .any(|l| l.starts_with("gate ") && l.contains(" up ")),
        "{log:#?}"
    );
    assert!(log
        .iter()
        .any(|l| l.starts_with("mexc ") && l.contains(" up ")));

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(
        report["program"]["evaluations"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    assert_eq!(report["shutdown"]["tasks_left"], serde_json::json!([]));
    assert_eq!(report["shutdown"]["after"]["resource_tasks"], 0);
    assert_eq!(report["shutdown"]["forced"], false);
    sim_rt.block_on(gate.shutdown());
    sim_rt.block_on(mexc.shutdown());
}
