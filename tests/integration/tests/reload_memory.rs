//! Memory over many drop-in reloads, measured from outside the process: the `host` binary
//! runs the Gate.io venue (two markets, book tickers, trades and depth) against the
//! simulator, and its plugin file is replaced again and again by atomic rename. After a
//! warm-up, the resident set must not grow by more than 1 MiB: nothing of a replaced build
//! is kept.
//!
//! The normal run does 60 reloads; the full 300 are
//! `cargo test -p integration-tests --test reload_memory -- --ignored`.

use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Duration;

use integration_tests::{plugin, run_host, runtime, temp_dir};
use venue_sim::Venue;

/// Bound on every wait, against hangs only.
const HANG: Duration = Duration::from_secs(60);

/// Reloads before the first sample: the allocator settles on its working set.
const WARM_UP: usize = 20;

/// The most the resident set may grow over the measured reloads.
const BOUND_KIB: u64 = 1024;

#[test]
fn drop_in_reloads_of_a_streaming_venue_keep_memory_flat() {
    reloads_keep_memory_flat(60);
}

#[test]
#[ignore = "long soak; run with `cargo test -p integration-tests --test reload_memory -- --ignored`"]
fn three_hundred_drop_in_reloads_keep_memory_flat() {
    reloads_keep_memory_flat(300);
}

fn reloads_keep_memory_flat(reloads: usize) {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(integration_tests::simulator(
        Venue::Gateio,
        &["BTC/USDT", "ETH/USDT"],
        200,
    ));
    let dir = temp_dir("reload-memory");
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Two files of the same build that differ by trailing padding, so each drop-in is a
    // changed file (an identical one is not reloaded).
    let built = plugin("gateio_plugin");
    let padded = dir.join("gateio-padded.so");
    let mut bytes = std::fs::read(&built).unwrap();
    bytes.extend_from_slice(&[0; 8]);
    std::fs::write(&padded, bytes).unwrap();
    let target = plugins.join("gateio.so");
    install(&built, &target);
    let config = dir.join("host.toml");
    std::fs::write(
        &config,
        format!(
            "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = true\nconfig = false\ndebounce_ms = 20\n[control]\nenabled = false\n[metrics]\nenabled = false\n[venues.gate]\nplugin = \"gateio\"\nsymbols = [\"BTC/USDT\", \"ETH/USDT\"]\nchannels = [\"book_ticker\", \"trades\", \"depth\"]\nendpoints = {{ ws_url = \"{}\", rest_url = \"http://{}\" }}\n",
            plugins.display(),
            dir.join("shadow").display(),
            sim.ws_url(),
            sim.local_addr(),
        ),
    )
    .unwrap();
    let (mut child, lines) = run_host(&["--config".as_ref(), config.as_os_str()]);
    wait_for(&lines, "venue started");
    let reload = |n: usize| {
        let file = if n.is_multiple_of(2) { &padded } else { &built };
        install(file, &target);
        wait_for(&lines, "plugin reloaded");
    };
    for n in 0..WARM_UP {
        reload(n);
    }
    let before = rss_kib(&child);
    let anon_before = status_kib(&child, "RssAnon:");
    for n in 0..reloads {
        reload(WARM_UP + n);
    }
    let after = rss_kib(&child);
    let anon_after = status_kib(&child, "RssAnon:");
    eprintln!(
        "rss after {WARM_UP} reloads: {before} KiB (anon {anon_before}); after {reloads} more: {after} KiB (anon {anon_after})"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    wait_for(&lines, "shutdown in");
    assert!(child.wait().unwrap().success());
    sim_rt.block_on(sim.shutdown());
    assert!(
        after <= before + BOUND_KIB,
        "RSS grew by {} KiB over {reloads} reloads ({before} -> {after} KiB)",
        after.saturating_sub(before)
    );
}

/// Installs `source` as `dest` by atomic rename of a fresh copy.
fn install(source: &Path, dest: &Path) {
    let temp = dest.with_file_name(".gateio.so.tmp");
    std::fs::copy(source, &temp).unwrap();
    std::fs::rename(&temp, dest).unwrap();
}

/// Waits for a line containing `needle`; fails on a warning or error line meanwhile.
fn wait_for(lines: &mpsc::Receiver<String>, needle: &str) {
    loop {
        let line = lines
            .recv_timeout(HANG)
            .unwrap_or_else(|_| panic!("no `{needle}` line"));
        assert!(
            !line.contains(" WARN ") && !line.contains(" ERROR "),
            "a clean run logs no warning: {line}"
        );
        if line.contains(needle) {
            return;
        }
    }
}

/// The resident set of `child`, KiB, from `/proc`.
fn rss_kib(child: &Child) -> u64 {
    status_kib(child, "VmRSS:")
}

/// A KiB field of `/proc/PID/status`.
fn status_kib(child: &Child, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/PID/status"))
}
