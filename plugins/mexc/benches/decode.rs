//! Decode cost per frame kind (aggre bookTicker, aggre deals, limit depth, synced aggre depth),
//! calling the `Venue` impl statically (no FFI). In-run baseline: prost skipping every field
//! of the same bytes (`Skip`, a message with no fields), i.e. the bare wire walk.
//!
//! Run: `cargo bench -p mexc-plugin --bench decode`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use mexc_plugin::config::Settings;
use mexc_plugin::parse::decode;
use mexc_plugin::proto::{
    Body, PublicAggreDepthV3ApiItem, PublicAggreDepthsV3Api, PushDataV3ApiWrapper,
};
use mexc_plugin::Mexc;
use plugin_api::{ConnId, FrameKind, InFrame, Instrument, StreamKind, Topic, Venue};
use prost::Message;

const PB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/venues/mexc/samples/pb"
);
const SETTINGS: &str =
    r#"{"fetch_exchange_info":false,"symbols":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT"}]}"#;

/// A message without fields: decoding it walks and skips the whole frame.
#[derive(Clone, PartialEq, Message)]
struct Skip {}

fn binary(data: &[u8]) -> InFrame<'_> {
    InFrame {
        kind: FrameKind::Binary,
        data: data.into(),
    }
}

fn venue() -> Mexc {
    Mexc::new(Settings::parse(SETTINGS).unwrap()).unwrap()
}

/// An aggre depth push `from..=to` with 2 bids and 2 asks.
fn depth(from: u64, to: u64) -> Vec<u8> {
    let item = |p: &str, q: &str| PublicAggreDepthV3ApiItem {
        price: p.into(),
        quantity: q.into(),
    };
    PushDataV3ApiWrapper {
        channel: "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT".into(),
        body: Some(Body::PublicAggreDepths(PublicAggreDepthsV3Api {
            asks: vec![item("84270.01", "5.42169969"), item("84270.26", "0")],
            bids: vec![
                item("84270.00", "0.00638700"),
                item("84263.40", "2.07853100"),
            ],
            event_type: "spot@public.aggre.depth.v3.api.pb@100ms".into(),
            from_version: from.to_string(),
            to_version: to.to_string(),
            last_order_create_time: 1790281247239,
        })),
        symbol: Some("BTCUSDT".into()),
        symbol_id: None,
        create_time: None,
        send_time: Some(1790281247251),
    }
    .encode_to_vec()
}

fn synced_venue() -> Mexc {
    let mut v = venue();
    let topic = Topic {
        kind: StreamKind::Depth,
        instrument: Instrument::new("BTC/USDT", "BTCUSDT").unwrap(),
    };
    v.subscribe(ConnId(1), &[topic], 0).unwrap();
    let out = v.on_frame(ConnId(1), binary(&depth(1, 1)), 0).unwrap();
    let plugin_api::Action::Rest(req) = &out.actions[0] else {
        panic!("no snapshot request")
    };
    let response = plugin_api::RestResponse {
        tag: req.tag,
        status: 200,
        body: r#"{"lastUpdateId":1,"bids":[["1","1"]],"asks":[["2","1"]]}"#.into(),
        error: "".into(),
    };
    v.on_rest_response(response, 0).unwrap();
    assert_eq!(v.books().version("BTCUSDT"), Some(1));
    v
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mexc");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let symbols = venue().symbols().clone();
    for name in ["A_bookTicker_100ms", "A_deals_100ms", "A_limitDepth_5"] {
        let frame = std::fs::read(format!("{PB}/{name}.bin")).unwrap();
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{name}/baseline_prost_skip"), |b| {
            b.iter(|| Skip::decode(black_box(frame.as_slice())).unwrap())
        });
        g.bench_function(format!("{name}/decode"), |b| {
            b.iter(|| decode(black_box(&frame), &symbols, 1).unwrap())
        });
        let mut v = venue();
        g.bench_function(format!("{name}/on_frame"), |b| {
            b.iter(|| v.on_frame(ConnId(1), binary(black_box(&frame)), 1).unwrap())
        });
    }
    // Sequenced increments on a synced book, 1000 consecutive frames per batch.
    let frames: Vec<Vec<u8>> = (2..=1001).map(|i| depth(i, i)).collect();
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("aggre_depth/on_frame_synced_x1000", |b| {
        b.iter_batched(
            synced_venue,
            |mut v| {
                for f in &frames {
                    black_box(v.on_frame(ConnId(1), binary(f), 1).unwrap());
                }
                v
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// The benchmark group, with criterion's command-line options.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}

criterion_main!(benches);
