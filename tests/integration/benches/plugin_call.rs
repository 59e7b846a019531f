//! Host → plugin call cost through a loaded `.so` against the same code linked statically
//! (both through the same ABI-stable trait object), and load / unload / reload times.
//!
//! `cargo bench -p integration-tests --bench plugin_call` (prints a table; figures go to
//! docs/PERFORMANCE.md). Medians of interleaved rounds, so both sides see the same machine.

use std::hint::black_box;
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use host::{Host, HostOptions, Loader};
use integration_tests::{plugin, runtime, temp_dir};
use plugin_api::{
    ConnId, FrameKind, Guarded, InFrame, VenueAdapterBox, VenueAdapter_TO, VenueConfig,
};

const FRAME: &str = r#"{"time":1606293275,"time_ms":1606293275723,"channel":"spot.book_ticker","event":"update","result":{"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09"}}"#;
const CALLS: u32 = 100_000;
const ROUNDS: usize = 7;

fn per_call(adapter: &mut VenueAdapterBox) -> Duration {
    let frame = InFrame {
        kind: FrameKind::Text,
        data: FRAME.as_bytes().into(),
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

fn main() {
    let loader = Loader::new(temp_dir("bench-call")).unwrap();
    let library = loader.load(&plugin("gateio_plugin")).unwrap();
    let mut dynamic = library.instantiate("gateio", "{}").unwrap();
    let config = VenueConfig {
        name: "gateio".into(),
        settings_json: "{}".into(),
    };
    let venue = gateio_plugin::GateioVenue::from_config(&config).unwrap();
    let mut linked: VenueAdapterBox = VenueAdapter_TO::from_value(Guarded::new(venue), TD_Opaque);
    let (mut d, mut s) = (Vec::new(), Vec::new());
    per_call(&mut dynamic);
    per_call(&mut linked);
    for _ in 0..ROUNDS {
        d.push(per_call(&mut dynamic));
        s.push(per_call(&mut linked));
    }
    let (d, s) = (median(d), median(s));
    println!("on_frame(book_ticker) through the .so: {d:?}/call; linked statically: {s:?}/call; ratio {:.3}", d.as_secs_f64() / s.as_secs_f64());
    drop(dynamic);
    drop(library);

    let rt = runtime();
    rt.block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(temp_dir("bench-reload")),
            ..HostOptions::default()
        })
        .unwrap();
        let v1 = plugin("fixture_counter");
        let v2 = plugin("fixture_counter_v2");
        let (mut load, mut unload, mut reload) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..30 {
            let t = Instant::now();
            host.load_plugin(&v1).await.unwrap();
            load.push(t.elapsed());
            let t = Instant::now();
            host.unload_plugin("fixture").await.unwrap();
            unload.push(t.elapsed());
        }
        host.load_plugin(&v1).await.unwrap();
        host.start_venue("a", "fixture", r#"{"period_ms": 5}"#).await.unwrap();
        for i in 0..30 {
            let file = if i % 2 == 0 { &v2 } else { &v1 };
            let t = Instant::now();
            host.reload_plugin("fixture", file).await.unwrap();
            reload.push(t.elapsed());
        }
        host.shutdown("bench").await;
        println!(
            "fixture plugin: load {:?}, unload {:?}, reload with one running instance (validate + stop + unload + start) {:?} (medians of 30)",
            median(load),
            median(unload),
            median(reload)
        );
    });
}
