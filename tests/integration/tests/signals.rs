//! `host run` as a process: SIGTERM starts the shutdown and the report is written; a second
//! signal during a slow shutdown forces exit after writing what is known.

mod ops_support;

use std::process::{Child, Command};
use std::sync::mpsc;

use integration_tests::run_host;
use ops_support::Setup;

/// Starts `host run` and forwards its stderr lines to a channel (so the pipe never fills).
fn start(s: &Setup, settings: &str) -> (Child, mpsc::Receiver<String>, std::path::PathBuf) {
    s.install("fixture_counter", "counter.so");
    let text = format!(
        "plugins_dir = \"{}\"\n[control]\nenabled = false\n[metrics]\naddress = \"127.0.0.1:0\"\n[venues.demo]\nplugin = \"fixture\"\nsettings = {settings}\n",
        s.plugins.display()
    );
    s.write_config(&text);
    let report = s.dir.join("report.json");
    let (child, rx) = run_host(&[
        "--config".as_ref(),
        s.config.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    (child, rx, report)
}

fn wait_for(rx: &mpsc::Receiver<String>, needle: &str) {
    loop {
        let line = rx.recv().expect("host exited before printing the line");
        eprintln!("host: {line}");
        if line.contains(needle) {
            return;
        }
    }
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn sigterm_shuts_down_cleanly_and_writes_the_report() {
    let s = Setup::new("signal-term");
    let (mut child, rx, report) = start(&s, "{ period_ms = 2, symbol = \"TEST/USD\" }");
    wait_for(&rx, "venue started");
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["reason"], "signal: SIGTERM");
    assert_eq!(report["forced"], false);
    // The host's own tasks, counted exactly. The runtime's count is read the moment the
    // stop ends and can still include a task whose future has ended but which the runtime
    // has not released yet (see `integration_tests::runtime_tasks_settle`, which the
    // in-process tests use to check it reaches zero); a process cannot wait for that.
    assert_eq!(report["after"]["resource_tasks"], 0, "{report:#}");
    assert!(
        report["after"]["tasks"].as_u64().unwrap() <= 1,
        "{report:#}"
    );
    assert_eq!(report["after"]["subscriptions"], 0);
    assert_eq!(report["images_still_mapped"].as_array().unwrap().len(), 0);
    assert!(report["stop"]["resources"].as_array().unwrap().len() >= 3);
}

#[test]
fn a_second_signal_forces_exit_and_writes_what_is_known() {
    let s = Setup::new("signal-force");
    // Every tick blocks in plugin code, so the shutdown waits for the call before unloading.
    let (mut child, rx, report) = start(
        &s,
        "{ period_ms = 1, block_ms = 4000, symbol = \"TEST/USD\" }",
    );
    wait_for(&rx, "venue started");
    // The timer's first tick (after 1 ms) enters its 4 s blocking call.
    integration_tests::wait_for_a_blocked_call(child.id());
    signal(&child, "-TERM");
    wait_for(&rx, "a second signal forces exit");
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["forced"], true, "{report:#}");
}
