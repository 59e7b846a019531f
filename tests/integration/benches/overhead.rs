//! Lifecycle overhead of the release `host` binary: what the supervisor, shutdown
//! coordinator, watchers, health, metrics and timers cost while venues are idle and while
//! they stream.
//!
//! The Gate.io and MEXC simulators run in this process (so their data can be paused); the
//! host runs as a child process on the demo's configuration against them (both venues, two
//! markets each, book tickers, trades, depth and the private streams, with the watchers,
//! control socket and metrics endpoint).
//!
//! - **Idle**: once every venue has delivered data, the simulators stop sending data (the
//!   connections stay open and answer heartbeats). Over the window, the host process's
//!   voluntary context switches (a thread blocked and was woken) are counted per thread from
//!   `/proc/PID/task`, and compared with the heartbeat wake-ups the configuration implies:
//!   per connection one heartbeat sent and one answer read per heartbeat interval that the
//!   plugin declares (Gate.io 10 s, MEXC 20 s).
//! - **Load**: the simulators stream at `OVERHEAD_RATE` book updates per second each;
//!   `perf record` samples the host's user-space CPU, and each sample is attributed by the
//!   function it was in (its symbol) to lifecycle machinery or to everything else.
//!
//! ```text
//! cargo bench -p integration-tests --bench overhead
//! ```
//!
//! - `OVERHEAD_PARTS`: `idle`, `load` or both (default `idle,load`).
//! - `OVERHEAD_IDLE_SECS`: idle window (default 50, under the demo configuration's 60 s
//!   `[stale]` limit for book tickers and depth, past which a connection whose data stopped
//!   is replaced), counted in 10 s slices.
//! - `OVERHEAD_LOAD_SECS`: profiled window under load (default 20).
//! - `OVERHEAD_RATE`: book updates per second per simulator under load (default 10000).
//!
//! Needs `perf` for the load part (`perf_event_paranoid` 2 or lower suffices: only this
//! user's process and user-space samples). Prints a table and writes
//! `target/results/overhead.json` (see `xtask::results`).

use integration_tests::env_or;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::host_process::{
    metric, scrape, signal, thread_counters, HostFiles, HostProcess, ThreadCounters,
};
use xtask::results::Results;

/// Heartbeat interval each plugin declares for its connections, ms (`HEARTBEAT_MS` of the
/// Gate.io and MEXC descriptors).
const HEARTBEATS_MS: &[(&str, f64)] = &[("gate", 10_000.0), ("mexc", 20_000.0)];

/// Length of one idle slice.
const SLICE: Duration = Duration::from_secs(10);

/// Symbol prefixes of lifecycle machinery, with the group each counts under (an empty
/// group: the data path); the first match wins.
const LIFECYCLE: &[(&str, &str)] = &[
    ("host::host::consumers", ""), // the built-in counting consumer moves market data
    ("host::ops::tap", ""),        // `--print-events` moves market data
    ("host::stop::", "shutdown coordinator (host::stop)"),
    ("host::host::", "supervisor, registry, status (host::host)"),
    (
        "host::ops::",
        "operator: watchers, control, metrics, signals (host::ops)",
    ),
    ("host::venue::health", "health (host::venue::health)"),
    (
        "host::venue::lifecycle",
        "venue lifecycle (host::venue::lifecycle)",
    ),
    ("host::venue::timers", "plugin timers (host::venue::timers)"),
    (
        "host::venue::resources",
        "venue resources (host::venue::resources)",
    ),
    ("host::plugin::", "plugin loading (host::plugin)"),
    ("host::config::", "configuration (host::config)"),
    (
        "prometheus_client::",
        "metrics encoding (prometheus_client)",
    ),
    ("notify::", "file watching (notify)"),
    ("inotify::", "file watching (notify)"),
];

/// The lifecycle group of a sampled function: by the path it starts with (past the `<` of
/// a trait impl), else by a lifecycle type of the host it was instantiated for (a runtime
/// or library function polling or dropping a lifecycle future); `Some("")` for the data path's own
/// types, `None` for anything else.
fn lifecycle_group(sym: &str) -> Option<&'static str> {
    let bare = sym.trim_start_matches('<');
    LIFECYCLE
        .iter()
        .find(|(p, _)| bare.starts_with(p))
        .or_else(|| {
            LIFECYCLE
                .iter()
                .find(|(p, _)| p.starts_with("host::") && sym.contains(p))
        })
        .map(|(_, group)| *group)
}

/// The runtime's timer wheel: it serves heartbeats, rate limits and timeouts of the data
/// path as well as lifecycle timers, so it is counted apart.
const TIMER_DRIVER: &str = "tokio::runtime::time::";

fn main() {
    let parts = std::env::var("OVERHEAD_PARTS").unwrap_or_else(|_| "idle,load".into());
    let idle = parts.contains("idle");
    let load = parts.contains("load");
    let idle_secs = env_or("OVERHEAD_IDLE_SECS", 50);
    let load_secs = env_or("OVERHEAD_LOAD_SECS", 20);
    let rate = env_or("OVERHEAD_RATE", 10_000) as u32;
    integration_tests::artifacts();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("venue-sims")
        .enable_all()
        .build()
        .expect("a runtime");
    let symbols = integration_tests::host_process::SYMBOLS;
    let gate = rt.block_on(integration_tests::simulator(
        venue_sim::Venue::Gateio,
        symbols,
        rate,
    ));
    let mexc = rt.block_on(integration_tests::simulator(
        venue_sim::Venue::Mexc,
        symbols,
        rate,
    ));
    let files = HostFiles::new("bench-overhead", gate.local_addr(), mexc.local_addr());
    let mut host = HostProcess::start(&files);
    host.wait_for_data(&["gate", "mexc"], 10.0);
    let mut results = Results::new(
        "overhead",
        "cargo bench -p integration-tests --bench overhead",
    );
    let mut rows: Vec<String> = Vec::new();
    println!("Lifecycle overhead of the release host binary, Gate.io and MEXC, two markets each\n");

    if idle {
        for sim in [&gate, &mexc] {
            sim.faults().set_data_paused(true);
        }
        settle(&host);
        let text = scrape(host.metrics).expect("metrics");
        let connections: f64 = HEARTBEATS_MS
            .iter()
            .map(|(v, _)| metric(&text, "host_venue_connects_total", v).unwrap_or(0.0))
            .sum();
        let implied: f64 = HEARTBEATS_MS
            .iter()
            .map(|(v, ms)| {
                2.0 * metric(&text, "host_venue_connects_total", v).unwrap_or(0.0) / (ms / 1e3)
            })
            .sum();
        let slices = (idle_secs / SLICE.as_secs()).max(1);
        println!(
            "idle: {connections} connections, data paused, {slices} slices of {} s",
            SLICE.as_secs()
        );
        let mut by_thread: BTreeMap<String, f64> = BTreeMap::new();
        for _ in 0..slices {
            let before = thread_counters(host.pid());
            let t0 = Instant::now();
            // The measured window: nothing in this process talks to the host meanwhile.
            std::thread::sleep(SLICE);
            let after = thread_counters(host.pid());
            let secs = t0.elapsed().as_secs_f64();
            let d = delta(&before, &after);
            let wakeups: u64 = d.values().map(|c| c.voluntary).sum();
            let cpu: u64 = d.values().map(|c| c.cpu_ns).sum();
            results
                .figure(
                    "idle.wakeups",
                    "idle: host wake-ups (voluntary context switches)",
                    "/s",
                )
                .push(wakeups as f64 / secs)
                .against("idle.heartbeats");
            results
                .figure("idle.cpu", "idle: host CPU", "ms/s")
                .push(cpu as f64 / 1e6 / secs);
            for c in d.values() {
                *by_thread.entry(c.name.clone()).or_default() +=
                    c.voluntary as f64 / (secs * slices as f64);
            }
            println!(
                "  slice: {:.2} wake-ups/s, {:.3} ms CPU/s",
                wakeups as f64 / secs,
                cpu as f64 / 1e6 / secs
            );
        }
        results
            .figure(
                "idle.heartbeats",
                "heartbeat wake-ups the configuration implies",
                "/s",
            )
            .push(implied);
        for (name, rate) in &by_thread {
            results
                .figure(
                    &format!("idle.thread.{name}"),
                    &format!("idle: wake-ups of threads `{name}`"),
                    "/s",
                )
                .push(*rate);
        }
        results.notes.push(format!(
            "idle: {connections} connections; implied heartbeat wake-ups {implied:.2}/s"
        ));
        let w = results.get("idle.wakeups").and_then(|f| f.spread());
        rows.push(format!(
            "| idle wake-ups, per second | {:.2} (heartbeats imply {implied:.2}) |",
            w.map_or(f64::NAN, |s| s.median)
        ));
        for (name, rate) in &by_thread {
            rows.push(format!(
                "| idle wake-ups of `{name}` threads | {rate:.2}/s |"
            ));
        }
        for sim in [&gate, &mexc] {
            sim.faults().set_data_paused(false);
        }
    }

    if load {
        host.wait_for_data(&["gate", "mexc"], 10.0);
        let text0 = scrape(host.metrics).expect("metrics");
        let before = thread_counters(host.pid());
        let t0 = Instant::now();
        let samples = perf_record(host.pid(), load_secs, &files.dir.join("perf.data"));
        let secs = t0.elapsed().as_secs_f64();
        let after = thread_counters(host.pid());
        let text1 = scrape(host.metrics).expect("metrics");
        let frames: f64 = ["gate", "mexc"]
            .iter()
            .map(|v| {
                metric(&text1, "host_venue_messages_in_total", v).unwrap_or(0.0)
                    - metric(&text0, "host_venue_messages_in_total", v).unwrap_or(0.0)
            })
            .sum::<f64>()
            / secs;
        let cpu_ms_s = delta(&before, &after)
            .values()
            .map(|c| c.cpu_ns)
            .sum::<u64>() as f64
            / 1e6
            / secs;
        let total: f64 = samples.iter().map(|(_, n)| n).sum();
        let mut groups: BTreeMap<&str, f64> = BTreeMap::new();
        let mut lifecycle_symbols: Vec<(f64, &str)> = Vec::new();
        let mut timer = 0.0;
        for (sym, n) in &samples {
            if let Some(group) = lifecycle_group(sym) {
                if !group.is_empty() {
                    *groups.entry(group).or_default() += n;
                    lifecycle_symbols.push((*n, sym));
                }
            } else if sym.starts_with(TIMER_DRIVER) {
                timer += n;
            }
        }
        let lifecycle: f64 = groups.values().sum();
        let share = |n: f64| if total > 0.0 { 100.0 * n / total } else { 0.0 };
        results
            .figure("load.frames", "load: frames read by the host", "frames/s")
            .push(frames);
        results
            .figure("load.cpu", "load: host CPU", "ms/s")
            .push(cpu_ms_s);
        results
            .figure("load.samples", "load: user-space samples of the host", "")
            .push(total);
        results
            .figure(
                "load.lifecycle",
                "load: lifecycle share of the host's user-space CPU",
                "%",
            )
            .push(share(lifecycle));
        results
            .figure(
                "load.timer",
                "load: runtime timer wheel (shared with the data path)",
                "%",
            )
            .push(share(timer));
        rows.push(format!(
            "| under load: {frames:.0} frames/s, host CPU {cpu_ms_s:.0} ms/s, {total:.0} samples | lifecycle {:.3}% of samples, timer wheel {:.3}% |",
            share(lifecycle),
            share(timer)
        ));
        for (group, n) in &groups {
            rows.push(format!("| {group} | {:.3}% |", share(*n)));
        }
        if let Some(idle_cpu) = results.get("idle.cpu").and_then(|f| f.spread()) {
            let bound = 100.0 * idle_cpu.median / cpu_ms_s;
            results
                .figure(
                    "load.idle_bound",
                    "idle CPU as a share of CPU under load (bound on periodic work)",
                    "%",
                )
                .push(bound);
            rows.push(format!(
                "| idle CPU / CPU under load (periodic work, heartbeats included) | {bound:.3}% |"
            ));
        }
        lifecycle_symbols.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (n, sym) in lifecycle_symbols.iter().take(15) {
            results.notes.push(format!("load: {:.4}% {sym}", share(*n)));
        }
        results.notes.push(format!(
            "load: {rate} book updates/s per simulator, {load_secs} s profiled"
        ));
    }

    signal(host.pid(), libc::SIGTERM);
    let _ = host.child.wait();
    rt.block_on(async {
        gate.shutdown().await;
        mexc.shutdown().await;
    });

    println!("\n| measure | value |\n| --- | --- |");
    for row in &rows {
        println!("{row}");
    }
    for note in &results.notes {
        println!("{note}");
    }
    match results.write() {
        Ok(path) => println!("results: {}", path.display()),
        Err(e) => eprintln!("results not written: {e}"),
    }
}

/// Waits until the host's delivered-event counters stop moving (the data in flight when the
/// simulators paused has been delivered).
fn settle(host: &HostProcess) {
    let total = || {
        let text = scrape(host.metrics).expect("metrics");
        ["gate", "mexc"]
            .iter()
            .map(|v| metric(&text, "host_venue_messages_out_total", v).unwrap_or(0.0))
            .sum::<f64>()
    };
    let mut last = total();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = total();
        if now == last {
            return;
        }
        last = now;
    }
}

/// Per thread, `after - before` (threads that started meanwhile count from zero).
fn delta(
    before: &BTreeMap<u32, ThreadCounters>,
    after: &BTreeMap<u32, ThreadCounters>,
) -> BTreeMap<u32, ThreadCounters> {
    after
        .iter()
        .map(|(tid, a)| {
            let b = before.get(tid).cloned().unwrap_or_default();
            let c = ThreadCounters {
                name: a.name.clone(),
                voluntary: a.voluntary.saturating_sub(b.voluntary),
                involuntary: a.involuntary.saturating_sub(b.involuntary),
                cpu_ns: a.cpu_ns.saturating_sub(b.cpu_ns),
            };
            (*tid, c)
        })
        .collect()
}

/// Samples process `pid`'s user-space CPU for `secs` with `perf record` and returns the
/// sample count of every symbol (functions of the plugins and of unknown code included, by
/// their names or `[unknown]`).
fn perf_record(pid: u32, secs: u64, file: &std::path::Path) -> Vec<(String, f64)> {
    let status = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock:u", "-F", "999", "-p"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(file)
        .args(["--", "sleep", &secs.to_string()])
        .status()
        .expect("running perf record (is perf installed?)");
    assert!(status.success(), "perf record failed: {status}");
    let out = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "sym",
            "-F",
            "sample,sym",
            "-q",
            "-i",
        ])
        .arg(file)
        .output()
        .expect("running perf report");
    assert!(out.status.success(), "perf report failed");
    // Lines of `COUNT  [.] SYMBOL`.
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((n, rest)) = line.trim().split_once(char::is_whitespace) else {
            continue;
        };
        let Some((_, sym)) = rest.trim_start().split_once(char::is_whitespace) else {
            continue;
        };
        let Ok(n) = n.parse::<f64>() else { continue };
        *counts.entry(sym.trim().to_owned()).or_default() += n;
    }
    counts.into_iter().collect()
}
