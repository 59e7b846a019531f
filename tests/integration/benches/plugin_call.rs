//! Host → plugin call cost through a loaded `.so` against the same code linked statically
//! (both through the same ABI-stable trait object), per frame kind of both venues; and
//! load, unload and reload times of the fixture plugin and of the Gate.io plugin.
//!
//! `cargo bench -p integration-tests --bench plugin_call` (prints tables; figures go to
//! docs/PERFORMANCE.md). Medians of interleaved rounds, so both sides see the same machine.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use host::{Host, HostOptions, Loader};
use integration_tests::{plugin, runtime, temp_dir, workspace};
use plugin_api::{
    ConnId, FrameKind, Guarded, InFrame, Venue, VenueAdapterBox, VenueAdapter_TO, VenueConfig,
};

const CALLS: u32 = 50_000;
const ROUNDS: usize = 7;

fn per_call(adapter: &mut VenueAdapterBox, kind: FrameKind, data: &[u8]) -> Duration {
    let frame = InFrame {
        kind,
        data: data.into(),
    };
    let started = Instant::now();
    for _ in 0..CALLS {
        black_box(adapter.on_frame(ConnId(1), frame, 0));
    }
    started.elapsed() / CALLS
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn linked<V: Venue>(venue: V) -> VenueAdapterBox {
    VenueAdapter_TO::from_value(Guarded::new(venue), TD_Opaque)
}

/// The `msg` of the first line of a fixture JSONL file.
fn first_msg(file: &str) -> Vec<u8> {
    let path = workspace().join("tests/fixtures/venues").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    line["msg"].to_string().into_bytes()
}

fn fixture_bytes(file: &str) -> Vec<u8> {
    std::fs::read(workspace().join("tests/fixtures/venues").join(file)).unwrap()
}

struct Case {
    name: &'static str,
    kind: FrameKind,
    data: Vec<u8>,
}

fn compare(venue: &str, dynamic: &mut VenueAdapterBox, stat: &mut VenueAdapterBox, cases: &[Case]) {
    for case in cases {
        let (mut d, mut s) = (Vec::new(), Vec::new());
        per_call(dynamic, case.kind, &case.data);
        per_call(stat, case.kind, &case.data);
        for _ in 0..ROUNDS {
            d.push(per_call(dynamic, case.kind, &case.data));
            s.push(per_call(stat, case.kind, &case.data));
        }
        let (d, s) = (median(d), median(s));
        println!(
            "| {venue} | {} ({} B) | {:.0} ns | {:.0} ns | {:.3} |",
            case.name,
            case.data.len(),
            d.as_secs_f64() * 1e9,
            s.as_secs_f64() * 1e9,
            d.as_secs_f64() / s.as_secs_f64()
        );
    }
}

fn config() -> VenueConfig {
    VenueConfig {
        name: "bench".into(),
        settings_json: "{}".into(),
    }
}

fn main() {
    let loader = Loader::new(temp_dir("bench-call")).unwrap();
    println!("| venue | frame | through the .so | linked statically | ratio |");
    println!("|---|---|---|---|---|");

    let gate = loader.load(&plugin("gateio_plugin")).unwrap();
    let mut dynamic = gate.instantiate("bench", "{}").unwrap();
    let mut stat = linked(gateio_plugin::GateioVenue::from_config(&config()).unwrap());
    let cases = [
        Case {
            name: "spot.book_ticker",
            kind: FrameKind::Text,
            data: first_msg("gateio/ws_book_ticker.jsonl"),
        },
        Case {
            name: "spot.trades",
            kind: FrameKind::Text,
            data: first_msg("gateio/ws_trades.jsonl"),
        },
        Case {
            name: "spot.order_book_update (full)",
            kind: FrameKind::Text,
            data: first_msg("gateio/ws_order_book_update.jsonl"),
        },
    ];
    compare("gateio", &mut dynamic, &mut stat, &cases);
    drop(dynamic);
    drop(gate);

    let mexc = loader.load(&plugin("mexc_plugin")).unwrap();
    let mut dynamic = mexc.instantiate("bench", "{}").unwrap();
    let mut stat =
        linked(mexc_plugin::Mexc::new(mexc_plugin::config::Settings::default()).unwrap());
    let cases = [
        Case {
            name: "aggre bookTicker (pb)",
            kind: FrameKind::Binary,
            data: fixture_bytes("mexc/samples/pb/A_bookTicker_100ms.bin"),
        },
        Case {
            name: "aggre deals (pb)",
            kind: FrameKind::Binary,
            data: fixture_bytes("mexc/samples/pb/A_deals_100ms.bin"),
        },
        Case {
            name: "limit depth 5 (pb)",
            kind: FrameKind::Binary,
            data: fixture_bytes("mexc/samples/pb/A_limitDepth_5.bin"),
        },
    ];
    compare("mexc", &mut dynamic, &mut stat, &cases);
    drop(dynamic);
    drop(mexc);

    let rt = runtime();
    rt.block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("bench-reload")),
            ..HostOptions::default()
        })
        .unwrap();
        println!();
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
