//! Load, unload and reload times of the fixture plugin and of the Gate.io plugin. (The cost
//! of one `on_frame` call through a loaded `.so` against the same code linked statically is
//! measured per frame kind by `--bench parse`.)
//!
//! `cargo bench -p integration-tests --bench plugin_call` (prints a table; figures go to
//! docs/PERFORMANCE.md).

use std::path::Path;
use std::time::{Duration, Instant};

use host::{Host, HostOptions};
use integration_tests::{plugin, runtime, temp_dir};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = runtime();
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
        times(&host, "fixture", &v1, &v2, r#"{"period_ms": 5}"#, "fixture (1 timer)").await;
        // No consumers: the venue opens no connection, so the reload excludes connecting.
        let g = plugin("gateio_plugin");
        times(&host, "gateio", &g, &g, "{}", "gateio (11 resources)").await;
        let _ = host.shutdown("bench").await;
    });
}

async fn times(host: &Host, venue: &str, a: &Path, b: &Path, settings: &str, label: &str) {
    let (mut load, mut unload, mut reload) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..30 {
        let t = Instant::now();
        host.load_plugin(a).await.unwrap();
        load.push(t.elapsed());
        let t = Instant::now();
        host.unload_plugin(venue).await.unwrap();
        unload.push(t.elapsed());
    }
    host.load_plugin(a).await.unwrap();
    host.start_venue(venue, venue, settings).await.unwrap();
    for i in 0..30 {
        let file = if i % 2 == 0 { b } else { a };
        let t = Instant::now();
        let _ = host.reload_plugin(venue, file).await.unwrap();
        reload.push(t.elapsed());
    }
    host.remove_venue(venue).await.unwrap();
    host.unload_plugin(venue).await.unwrap();
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!(
        "| {label} | {} | {} | {} |",
        ms(median(load)),
        ms(median(unload)),
        ms(median(reload))
    );
}
