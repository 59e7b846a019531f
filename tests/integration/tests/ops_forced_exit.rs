//! A second signal during a shutdown held up in plugin code forces exit, and the report it
//! writes counts what was really alive then (read without waiting for the stop).

mod ops_support;

use std::process::Command;
use std::time::Duration;

use integration_tests::run_host;
use ops_support::{wait_exit, wait_for_line, Setup};

fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args([name, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn a_forced_exit_reports_the_resources_still_alive() {
    let s = Setup::new("ops-forced-exit");
    s.install("fixture_counter", "counter.so");
    // Every tick blocks in plugin code for 2 s and the tick timer may take two minutes to
    // stop: the shutdown is held up until the second signal, which the host hears at once
    // (its signal thread does not wait for the blocked runtime worker).
    let text = format!(
        "plugins_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nenabled = false\n[metrics]\nenabled = false\n[shutdown]\noverall = 120000\n[venues.demo]\nplugin = \"fixture\"\nchannels = [\"trades\"]\nsettings = {{ period_ms = 1, block_ms = 2000, tick_stop_timeout_ms = 120000, symbol = \"TEST/USD\" }}\n",
        s.plugins.display()
    );
    s.write_config(&text);
    let report = s.dir.join("report.json");
    let (mut child, lines) = run_host(&[
        "--config".as_ref(),
        s.config.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    wait_for_line(&lines, "venue started");
    // The timer's first tick (after 1 ms) enters its blocking call.
    integration_tests::wait_for_a_blocked_call(child.id());
    signal(child.id(), "-TERM");
    wait_for_line(&lines, "a second signal forces exit");
    signal(child.id(), "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(60)).expect("the forced exit");
    assert_eq!(status.code(), Some(130), "{status:?}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["forced"], true, "{report:#}");
    assert_eq!(report["shutdown_reason"], "signal: SIGTERM", "{report:#}");
    let counts = &report["counts"];
    // The venue's resources were still being stopped (the timer in its plugin call, the
    // consumer's binding): live resource tasks the report must count (it used to say 0
    // resource tasks, 0 bindings and 0 connections whatever was alive).
    assert!(
        counts["resource_tasks"].as_u64().unwrap() >= 1,
        "{report:#}"
    );
    assert!(counts["tasks"].as_u64().unwrap() >= 1, "{report:#}");
    let venues = report["venues"].as_array().unwrap();
    assert_eq!(venues[0]["name"], "demo", "{report:#}");
    let state = venues[0]["state"].as_str().unwrap();
    assert!(
        state == "running" || state == "stopping",
        "the shutdown was under way: {report:#}"
    );
}
