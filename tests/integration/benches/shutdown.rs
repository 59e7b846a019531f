//! Shutdown distribution: the release `host` binary started, streaming and stopped by a
//! signal many times, as a user runs it.
//!
//! The Gate.io and MEXC simulators run as child processes for the whole benchmark; every run
//! starts a fresh `host run` on the demo's configuration against them (both venues, two
//! markets each, book tickers, trades, depth and the private streams, with the watchers,
//! control socket and metrics endpoint), waits until its metrics show every venue up with
//! data delivered, sends SIGTERM (every fourth run SIGINT) and waits for the process to exit.
//! Per run it records the shutdown time of the host's report, the time from the signal to
//! the process's exit as seen here, the resources forced, the tasks left, and whether
//! anything was left behind: tasks (the report's), a child process, the metrics port still
//! bound, the control socket or the shadow folder's contents still on disk, or an exit code
//! other than 0.
//!
//! ```text
//! cargo bench -p integration-tests --bench shutdown
//! ```
//!
//! - `SHUTDOWN_RUNS`: runs (default 1000); progress is printed every 50.
//!
//! Prints a table and writes `target/results/shutdown.json` (see `xtask::results`).

use std::time::Instant;

use integration_tests::host_process::{
    become_subreaper, children, not_empty, signal, still_bound, HostFiles, HostProcess, SimProcess,
};
use xtask::results::Results;

/// Events every venue must have delivered before the signal.
const EVENTS_BEFORE_STOP: f64 = 10.0;

/// A run whose signal → exit takes longer is printed with the host's lines, timed.
const SLOW_MS: f64 = 50.0;

/// What one run measured.
#[derive(Debug)]
struct Run {
    signal: &'static str,
    /// The report's `elapsed_ms`.
    report_ms: f64,
    /// Signal sent → process reaped, ms.
    exit_ms: f64,
    resources: usize,
    forced: usize,
    tasks_left: usize,
    /// What was left behind, empty for a clean run.
    left: Vec<String>,
}

fn main() {
    let runs: usize = std::env::var("SHUTDOWN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // Build the plugins, host and simulator before anything runs.
    integration_tests::artifacts();
    become_subreaper();
    let gate = SimProcess::start("gateio", &[]);
    let mexc = SimProcess::start("mexc", &[]);
    let sims = [gate.child.id(), mexc.child.id()];
    let files = HostFiles::new("bench-shutdown", gate.addr, mexc.addr);
    println!(
        "Shutdown distribution: {runs} runs of the release host binary, Gate.io and MEXC simulators \
         as child processes, SIGTERM (SIGINT every fourth run) once every venue delivers data\n"
    );
    let started = Instant::now();
    let mut done: Vec<Run> = Vec::with_capacity(runs);
    for i in 0..runs {
        let sig = if i % 4 == 3 {
            (libc::SIGINT, "SIGINT")
        } else {
            (libc::SIGTERM, "SIGTERM")
        };
        let run = one_run(&files, &sims, sig);
        if !run.left.is_empty() || run.exit_ms > SLOW_MS {
            println!(
                "run {}: {} report {:.1} ms, exit {:.1} ms, forced {}/{}, tasks left {}, left: {:?}",
                i + 1,
                run.signal,
                run.report_ms,
                run.exit_ms,
                run.forced,
                run.resources,
                run.tasks_left,
                run.left
            );
        }
        done.push(run);
        if (i + 1) % 50 == 0 || i + 1 == runs {
            let report: Vec<f64> = done.iter().map(|r| r.report_ms).collect();
            let exit: Vec<f64> = done.iter().map(|r| r.exit_ms).collect();
            println!(
                "{:>5}/{runs} runs ({:.0} s): shutdown p50 {:.1} p99 {:.1} ms, exit p50 {:.1} p99 {:.1} ms, runs with something left {}",
                i + 1,
                started.elapsed().as_secs_f64(),
                percentile(&report, 50.0),
                percentile(&report, 99.0),
                percentile(&exit, 50.0),
                percentile(&exit, 99.0),
                done.iter().filter(|r| !r.left.is_empty()).count()
            );
        }
    }
    gate.stop();
    mexc.stop();
    report(&done);
}

/// Starts a host, waits for data on both venues, signals it and checks what it left.
fn one_run(files: &HostFiles, sims: &[u32], (sig, name): (libc::c_int, &'static str)) -> Run {
    let mut host = HostProcess::start(files);
    host.wait_for_data(&["gate", "mexc"], EVENTS_BEFORE_STOP);
    let pid = host.pid();
    let sent = Instant::now();
    signal(pid, sig);
    let status = host.child.wait().expect("waiting for the host");
    let exit_ms = sent.elapsed().as_secs_f64() * 1e3;
    let lines = host.drain_lines();

    let mut left = Vec::new();
    if !status.success() {
        left.push(format!("exit status {status}"));
    }
    let orphans: Vec<u32> = children(std::process::id())
        .into_iter()
        .filter(|p| !sims.contains(p))
        .collect();
    if !orphans.is_empty() {
        left.push(format!("processes {orphans:?}"));
        for p in orphans {
            signal(p, libc::SIGKILL);
        }
    }
    if still_bound(host.metrics) {
        left.push(format!("metrics port {} still bound", host.metrics));
    }
    if files.socket.exists() {
        left.push("control socket file".into());
        let _ = std::fs::remove_file(&files.socket);
    }
    if not_empty(&files.shadow) {
        left.push("shadow folder contents".into());
        for e in std::fs::read_dir(&files.shadow)
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let report: serde_json::Value = match std::fs::read_to_string(&files.report) {
        Ok(text) => serde_json::from_str(&text).expect("a JSON report"),
        Err(e) => {
            left.push(format!("no report: {e}; stderr: {lines:?}"));
            serde_json::Value::Null
        }
    };
    let resources = report["stop"]["resources"]
        .as_array()
        .map_or(&[][..], |r| r.as_slice());
    let forced = resources
        .iter()
        .filter(|r| r["outcome"] != "stopped")
        .count();
    let tasks_left: usize = report["tasks_left"].as_array().map_or(0, |t| {
        t.iter().filter_map(|e| e[1].as_u64()).sum::<u64>() as usize
    });
    if tasks_left > 0 {
        left.push(format!("tasks {}", report["tasks_left"]));
    }
    if forced > 0 {
        left.push(format!("{forced} resource(s) forced"));
    }
    let after = &report["after"];
    for key in ["resource_tasks", "subscriptions", "connections", "bindings"] {
        if after[key].as_u64().unwrap_or(0) > 0 {
            left.push(format!("{key} {}", after[key]));
        }
    }
    if report["images_still_mapped"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        left.push(format!("images {}", report["images_still_mapped"]));
    }
    if report["forced"] == true {
        left.push("forced".into());
    }
    if !left.is_empty() || exit_ms > SLOW_MS {
        for (at, line) in lines.iter().filter(|(at, _)| *at >= sent) {
            let ms = at.saturating_duration_since(sent).as_secs_f64() * 1e3;
            println!("  host +{ms:.1} ms: {line}");
        }
    }
    Run {
        signal: name,
        report_ms: report["elapsed_ms"].as_f64().unwrap_or(f64::NAN),
        exit_ms,
        resources: resources.len(),
        forced,
        tasks_left,
        left,
    }
}

/// The value below which `p` % of `values` lie (nearest rank).
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn report(done: &[Run]) {
    let mut results = Results::new(
        "shutdown",
        "cargo bench -p integration-tests --bench shutdown",
    );
    let report: Vec<f64> = done.iter().map(|r| r.report_ms).collect();
    let exit: Vec<f64> = done.iter().map(|r| r.exit_ms).collect();
    let left = done.iter().filter(|r| !r.left.is_empty()).count();
    let sigint = done.iter().filter(|r| r.signal == "SIGINT").count();

    println!(
        "\n| measure ({} runs) | p50 | p95 | p99 | max |",
        done.len()
    );
    println!("| --- | --- | --- | --- | --- |");
    for (id, label, values) in [
        ("report", "shutdown time (host's report)", &report),
        ("exit", "signal → process exit", &exit),
    ] {
        println!(
            "| {label} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            percentile(values, 50.0),
            percentile(values, 95.0),
            percentile(values, 99.0),
            percentile(values, 100.0)
        );
        let f = results.figure(&format!("{id}.run"), &format!("{label}, per run"), "ms");
        for v in values.iter() {
            f.push(*v);
        }
        for p in [95.0, 99.0] {
            results
                .figure(&format!("{id}.p{p}"), &format!("{label}, p{p}"), "ms")
                .push(percentile(values, p));
        }
        results
            .figure(&format!("{id}.max"), &format!("{label}, max"), "ms")
            .push(percentile(values, 100.0));
    }
    let forced: usize = done.iter().map(|r| r.forced).sum();
    let tasks: usize = done.iter().map(|r| r.tasks_left).sum();
    println!(
        "\nruns with anything left: {left} of {}; resources forced: {forced}; tasks left: {tasks}; \
         resources stopped per run: {}; SIGINT runs: {sigint}",
        done.len(),
        done.first().map_or(0, |r| r.resources)
    );
    results
        .figure("left.runs", "runs with anything left", "runs")
        .push(left as f64);
    results
        .figure("left.forced", "resources forced, all runs", "")
        .push(forced as f64);
    results
        .figure("left.tasks", "tasks left, all runs", "")
        .push(tasks as f64);
    results.figure("runs", "runs", "").push(done.len() as f64);
    results
        .figure("resources", "resources stopped per run", "")
        .push(done.first().map_or(0.0, |r| r.resources as f64));
    results.notes.push(format!(
        "{} runs, {sigint} of them with SIGINT, the others SIGTERM",
        done.len()
    ));
    for (i, r) in done.iter().enumerate().filter(|(_, r)| !r.left.is_empty()) {
        results
            .notes
            .push(format!("run {}: {} left {:?}", i + 1, r.signal, r.left));
    }
    match results.write() {
        Ok(path) => println!("results: {}", path.display()),
        Err(e) => eprintln!("results not written: {e}"),
    }
}
