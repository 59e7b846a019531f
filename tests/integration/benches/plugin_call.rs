//! Load, unload and reload times of the fixture plugin and of the Gate.io plugin, 30 of
//! each. (The cost of one `on_frame` call through a loaded `.so` against the same code
//! linked statically is measured per frame kind by `--bench parse`.)
//!
//! `cargo bench -p integration-tests --bench plugin_call` (prints a table and writes the
//! `plugin_call` results that docs/PERFORMANCE.md is rendered from).

use std::path::Path;
use std::time::Instant;

use host::{Host, HostOptions};
use integration_tests::{bench_command, plugin, runtime, temp_dir};
use xtask::results::Results;

/// Samples of each operation per plugin.
const SAMPLES: usize = 30;

fn main() {
    let rt = runtime();
    let mut res = Results::new("plugin_call", &bench_command("plugin_call", "PLUGIN_CALL_"));
    rt.block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("bench-reload")),
            ..HostOptions::default()
        })
        .unwrap();
        println!("| plugin | load | unload | reload, one running instance (validate + stop + unload + load + start) |");
        println!("|---|---|---|---|");
        let v1 = plugin("fixture_counter");
        let v2 = plugin("fixture_counter_v2");
        let fixture = ("fixture", "fixture (1 timer)");
        times(&host, fixture, &v1, &v2, r#"{"period_ms": 5}"#, &mut res).await;
        // No consumers: the venue opens no connection, so the reload excludes connecting.
        let g = plugin("gateio_plugin");
        let gate = ("gateio", "Gate.io (11 resources, no connection)");
        times(&host, gate, &g, &g, "{}", &mut res).await;
        let _ = host.shutdown("bench").await;
    });
    for (v, p) in [
        ("fixture", &plugin("fixture_counter")),
        ("gateio", &plugin("gateio_plugin")),
    ] {
        let size = std::fs::metadata(p).map_or(0, |m| m.len());
        res.notes.push(format!("{v}: {:.2} MB", size as f64 / 1e6));
    }
    match res.write() {
        Ok(path) => println!("\nresults: {}", path.display()),
        Err(e) => eprintln!("writing results: {e}"),
    }
}

async fn times(
    host: &Host,
    (venue, label): (&str, &str),
    a: &Path,
    b: &Path,
    settings: &str,
    res: &mut Results,
) {
    let (mut load, mut unload, mut reload) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let t = Instant::now();
        host.load_plugin(a).await.unwrap();
        load.push(t.elapsed());
        let t = Instant::now();
        host.unload_plugin(venue).await.unwrap();
        unload.push(t.elapsed());
    }
    host.load_plugin(a).await.unwrap();
    host.start_venue(venue, venue, settings).await.unwrap();
    for i in 0..SAMPLES {
        let file = if i % 2 == 0 { b } else { a };
        let t = Instant::now();
        let _ = host.reload_plugin(venue, file).await.unwrap();
        reload.push(t.elapsed());
    }
    host.remove_venue(venue).await.unwrap();
    host.unload_plugin(venue).await.unwrap();
    let mut medians = Vec::new();
    for (what, samples) in [("load", &load), ("unload", &unload), ("reload", &reload)] {
        let f = res.figure(
            &format!("{venue}.{what}"),
            &format!("{label}: {what}"),
            "ms",
        );
        for d in samples {
            f.push(d.as_secs_f64() * 1e3);
        }
        medians.push(f.spread().map_or(f64::NAN, |s| s.median));
    }
    println!(
        "| {label} | {:.2} ms | {:.2} ms | {:.2} ms |",
        medians[0], medians[1], medians[2]
    );
}
