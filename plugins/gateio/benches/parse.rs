//! Parse cost per frame kind, calling the Venue impl statically (no FFI), with two in-run
//! baselines over the same bytes: a bare `serde_json` scan (`IgnoredAny`), and a bare
//! one-pass parse into borrowed structs plus `Num::parse` of every number (the floor a
//! frame parser can approach).
//!
//! Run: `cargo bench -p gateio-plugin --bench parse`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use gateio_plugin::config::Settings;
use gateio_plugin::parse::{parse_frame, parse_frame_two_pass};
use gateio_plugin::GateioVenue;
use plugin_api::{ConnId, FrameKind, InFrame, Num, Venue};
use serde::Deserialize;

/// The doc's `spot.book_ticker` push (206 bytes).
const BOOK_TICKER: &str = r#"{"time":1606293275,"time_ms":1606293275723,"channel":"spot.book_ticker","event":"update","result":{"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09"}}"#;
/// The doc's `spot.trades` push.
const TRADE: &str = r#"{"time":1606292218,"time_ms":1606292218231,"channel":"spot.trades","event":"update","result":{"id":309143071,"id_market":5736713,"create_time":1606292218,"create_time_ms":"1606292218213.4578","side":"sell","currency_pair":"GT_USDT","amount":"16.4700000000","price":"0.4705000000","range":"2390902-2390902"}}"#;

/// A real `spot.order_book_update` increment (2 bids, 2 asks) with ids `{U}`/`{u}`.
fn depth(first: u64, last: u64) -> String {
    format!(
        r#"{{"time":1631836142,"channel":"spot.order_book_update","event":"update","result":{{"t":1631836142325,"e":"depthUpdate","E":1631836142,"s":"BTC_USDT","U":{first},"u":{last},"b":[["47737.89","0.002"],["47741.35","0"]],"a":[["47813.04","0.0355"],["47978.86","0"]]}}}}"#
    )
}

/// The envelope of the bare borrowed baseline: the fields the plugin reads, result typed.
#[derive(Deserialize)]
struct Bare<'a, R> {
    #[serde(borrow)]
    channel: &'a str,
    #[serde(borrow)]
    event: &'a str,
    time: u64,
    #[serde(default)]
    time_ms: Option<u64>,
    result: R,
}

#[derive(Deserialize)]
struct BareTicker<'a> {
    t: u64,
    u: u64,
    s: &'a str,
    b: &'a str,
    #[serde(rename = "B")]
    bq: &'a str,
    a: &'a str,
    #[serde(rename = "A")]
    aq: &'a str,
}

#[derive(Deserialize)]
struct BareTrade<'a> {
    #[serde(borrow)]
    id: &'a serde_json::value::RawValue,
    create_time_ms: &'a str,
    side: &'a str,
    currency_pair: &'a str,
    amount: &'a str,
    price: &'a str,
}

#[derive(Deserialize)]
struct BareDepth<'a> {
    t: u64,
    s: &'a str,
    #[serde(rename = "U")]
    first: u64,
    #[serde(rename = "u")]
    last: u64,
    #[serde(borrow)]
    b: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    a: Vec<(&'a str, &'a str)>,
}

fn n(text: &str) -> Num {
    Num::parse(text).unwrap()
}

/// The bare borrowed parse of one frame kind: one serde pass, then every number exactly.
fn bare(name: &str, frame: &[u8]) -> u64 {
    match name {
        "book_ticker" => {
            let f: Bare<'_, BareTicker<'_>> = serde_json::from_slice(frame).unwrap();
            let r = f.result;
            black_box((n(r.b), n(r.bq), n(r.a), n(r.aq), r.s, f.channel, f.event));
            r.t ^ r.u ^ f.time ^ f.time_ms.unwrap_or(0)
        }
        "trades" => {
            let f: Bare<'_, BareTrade<'_>> = serde_json::from_slice(frame).unwrap();
            let r = f.result;
            black_box((
                n(r.price),
                n(r.amount),
                r.side,
                r.currency_pair,
                r.id,
                f.channel,
            ));
            r.create_time_ms.len() as u64 ^ f.time ^ f.time_ms.unwrap_or(0)
        }
        _ => {
            let f: Bare<'_, BareDepth<'_>> = serde_json::from_slice(frame).unwrap();
            let r = f.result;
            for (p, q) in r.b.iter().chain(&r.a) {
                black_box((n(p), n(q)));
            }
            black_box((r.s, f.channel, f.event));
            r.t ^ r.first ^ r.last ^ f.time
        }
    }
}

fn text(data: &[u8]) -> InFrame<'_> {
    InFrame {
        kind: FrameKind::Text,
        data: data.into(),
    }
}

fn synced_venue() -> GateioVenue {
    let mut v = GateioVenue::new(Settings::default());
    let full = depth(0, 0).replace(r#""e":"depthUpdate""#, r#""full":true,"e":"depthUpdate""#);
    let out = v.on_frame(ConnId(1), text(full.as_bytes()), 0).unwrap();
    assert!(!out.events.is_empty());
    v
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("gateio");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let depth_frame = depth(4622074361, 4622074364);
    for (name, frame) in [
        ("book_ticker", BOOK_TICKER),
        ("trades", TRADE),
        ("order_book_update", depth_frame.as_str()),
    ] {
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{name}/baseline_serde_ignored_any"), |b| {
            b.iter(|| {
                serde_json::from_slice::<serde::de::IgnoredAny>(black_box(frame.as_bytes()))
                    .unwrap()
            })
        });
        g.bench_function(format!("{name}/baseline_borrowed_structs_and_nums"), |b| {
            b.iter(|| bare(name, black_box(frame.as_bytes())))
        });
        g.bench_function(format!("{name}/parse_frame_two_pass"), |b| {
            b.iter(|| parse_frame_two_pass(black_box(frame.as_bytes()), 1).unwrap())
        });
        g.bench_function(format!("{name}/parse_frame"), |b| {
            b.iter(|| parse_frame(black_box(frame.as_bytes()), 1).unwrap())
        });
        if name != "order_book_update" {
            let mut v = GateioVenue::new(Settings::default());
            g.bench_function(format!("{name}/on_frame"), |b| {
                b.iter(|| {
                    v.on_frame(ConnId(1), text(black_box(frame.as_bytes())), 1)
                        .unwrap()
                })
            });
        }
    }
    // Sequenced increments applied to a synced local book, 1000 consecutive frames per batch.
    let frames: Vec<String> = (1..=1000).map(|i| depth(i, i)).collect();
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("order_book_update/on_frame_synced_x1000", |b| {
        b.iter_batched(
            synced_venue,
            |mut v| {
                for f in &frames {
                    black_box(v.on_frame(ConnId(1), text(f.as_bytes()), 1).unwrap());
                }
                v
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// The criterion group (the macro's function carries no docs of its own).
mod group {
    #![allow(missing_docs, unreachable_pub)]
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
