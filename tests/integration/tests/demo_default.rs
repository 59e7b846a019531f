//! The demo's pieces, end to end and without cargo: the runner's own `demo::run` installs the
//! real plugin files (and only those), starts two `venue-sim` children with the demo's
//! arguments (captures first, then crossing prices) on free ports, waits for their
//! `listening on` lines, and runs a program on the embedded default configuration, with only
//! its ports and folders moved by `HOST_*` overrides, for 3 s. `host run` and the arbitrage
//! program each exit 0 by themselves, log no WARN or ERROR line, see data from both venues
//! and leave no task behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use integration_tests::{
    arbitrage_binary, host_binary, plugin, simulator_binary, temp_dir, workspace,
};
use xtask::demo::{Demo, SimulatorSpec};

/// What one demo run left: the program's log and its `--report` file.
struct Run {
    log: String,
    report: serde_json::Value,
}

/// Runs `binary args... --duration 3 --report FILE` through `demo::run` in a fresh folder,
/// the embedded default's venues pointed at the simulators it started; asserts it exited 0
/// without a WARN or ERROR line and that the plugins folder holds exactly the real plugins.
fn demo(name: &str, binary: PathBuf, args: &[&str]) -> Run {
    let dir = temp_dir(name);
    let plugins_dir = dir.join("plugins");
    std::fs::create_dir_all(&plugins_dir).unwrap();
    // A fixture left in the folder is not one of the demo's plugins: the runner removes it.
    std::fs::copy(plugin("fixture_counter"), plugins_dir.join("counter.so")).unwrap();
    let spec = |name: &str, venue: &str| SimulatorSpec {
        name: name.into(),
        venue: venue.into(),
        listen: "127.0.0.1:0".into(),
    };
    let run = Demo {
        plugins: vec![plugin("gateio_plugin"), plugin("mexc_plugin")],
        plugins_dir: plugins_dir.clone(),
        simulator: simulator_binary(),
        simulators: vec![spec("gate-sim", "gateio"), spec("mexc-sim", "mexc")],
        duration: Some(3.0),
    };
    let log = dir.join("program.log");
    let report = dir.join("report.json");
    let program = |addrs: &[String]| {
        let (gate, mexc) = (&addrs[0], &addrs[1]);
        let mut command = Command::new(binary);
        command
            .current_dir(workspace())
            .args(args)
            .args(["--duration", "3", "--report"])
            .arg(&report)
            .env_remove("RUST_LOG")
            .env("HOST_PLUGINS_DIR", &plugins_dir)
            .env("HOST_CONTROL__SOCKET", dir.join("host.sock"))
            .env("HOST_METRICS__ADDRESS", "127.0.0.1:0")
            .env(
                "HOST_VENUES__GATE__ENDPOINTS__WS_URL",
                format!("ws://{gate}/ws/v4/"),
            )
            .env(
                "HOST_VENUES__GATE__ENDPOINTS__REST_URL",
                format!("http://{gate}"),
            )
            .env(
                "HOST_VENUES__MEXC__ENDPOINTS__WS_URL",
                format!("ws://{mexc}/ws"),
            )
            .env(
                "HOST_VENUES__MEXC__ENDPOINTS__REST_URL",
                format!("http://{mexc}"),
            )
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        command
    };
    let (tx, rx) = mpsc::channel();
    let status = xtask::demo::run(&run, program, (&tx, &rx)).expect("the demo runs");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}\n{log}");
    let alarming: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(alarming.is_empty(), "{}", alarming.join("\n"));

    let mut installed: Vec<String> = std::fs::read_dir(&plugins_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    installed.sort();
    assert_eq!(installed, ["libgateio_plugin.so", "libmexc_plugin.so"]);
    let report = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(Path::new(&dir));
    Run { log, report }
}

#[test]
fn host_run_on_the_embedded_default_sees_both_demo_simulators() {
    let Run { report, .. } = demo("demo-host", host_binary(), &["run"]);
    assert_eq!(report["tasks_left"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["forced"], false);
    let venues = report["venues"].as_array().unwrap();
    let names: Vec<&str> = venues.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["gate", "mexc"], "the embedded default's venues");
    for v in venues {
        assert_eq!(v["state"], "running", "{v:#}");
        assert!(
            v["messages_out"].as_u64().unwrap() > 0,
            "data flowed: {v:#}"
        );
        // Book syncs drop what their snapshot already holds, and ask again when the stream
        // moved on (the switch from captures to synthetic data is such a move); anything
        // else would be a parse or protocol fault.
        let rejects = v["rejects_by_reason"].as_object().unwrap();
        assert!(
            rejects
                .keys()
                .all(|r| r == "stale" || r == "stale_snapshot"),
            "{v:#}"
        );
    }
}

#[test]
fn the_arbitrage_program_on_the_embedded_default_quotes_both_demo_simulators() {
    let Run { log, report } = demo("demo-arbitrage", arbitrage_binary(), &[]);
    for venue in ["gate ", "mexc "] {
        assert!(
            log.lines()
                .any(|l| l.starts_with(venue) && l.contains(" up ")),
            "{venue}never up:\n{log}"
        );
    }
    assert!(
        report["program"]["evaluations"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    assert_eq!(report["shutdown"]["tasks_left"], serde_json::json!([]));
    assert_eq!(report["shutdown"]["forced"], false);
}
