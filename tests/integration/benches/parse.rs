//! Venue parsing per frame against its floor: for each hot frame kind of Gate.io (JSON) and
//! MEXC (protobuf), `on_frame` through the loaded release `.so`, the same code linked
//! statically (both through the same ABI-stable trait object and panic guard), and the
//! floor — the least any parser of that frame must do:
//!
//! - Gate.io: `serde_json` into a borrowed struct with the fields the plugin reads, then
//!   `Num::parse` of every decimal;
//! - MEXC: a bare `prost` decode of the same bytes into the official message types, then
//!   `Num::parse` of every decimal it yields.
//!
//! `cargo bench -p integration-tests --bench parse` prints a table and writes
//! `target/results/parse.json`. Rounds are interleaved (each round measures every side of
//! every frame kind, and keeps for each side the least of several short interleaved
//! measurements), ratios are taken round by round. `PARSE_ROUNDS` (default 7) and
//! `PARSE_SAMPLE_MS` (default 20, the length of one measurement) tune it; `PARSE_ONLY=PREFIX`
//! keeps the frame kinds whose id starts with it (e.g. `gateio.book_ticker`, for `perf`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use integration_tests::{env_or, plugin, temp_dir, workspace};
use plugin_api::{
    ConnId, FrameKind, Guarded, InFrame, Num, Venue, VenueAdapterBox, VenueAdapter_TO, VenueConfig,
};
use prost::Message;
use serde::Deserialize;
use xtask::results::Results;

/// One frame kind and how to measure its floor.
struct Case {
    /// Figure id prefix, e.g. `gateio.book_ticker`.
    id: &'static str,
    /// Row label.
    label: &'static str,
    kind: FrameKind,
    data: Vec<u8>,
    /// The floor: parse `data` as little as the plugin's output needs.
    floor: fn(&[u8]),
}

/// The `msg` of the first line of a fixture JSONL file, as compact JSON.
fn first_msg(file: &str) -> Vec<u8> {
    let path = workspace().join("tests/fixtures/venues").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    line["msg"].to_string().into_bytes()
}

fn fixture_bytes(file: &str) -> Vec<u8> {
    std::fs::read(workspace().join("tests/fixtures/venues").join(file)).unwrap()
}

// ---------------------------------------------------------------------------------------
// Gate.io floor: borrowed serde structs with the fields the plugin reads

#[derive(Deserialize)]
struct Envelope<'a, R> {
    #[serde(borrow)]
    channel: &'a str,
    #[serde(borrow)]
    event: &'a str,
    #[serde(default)]
    time: Option<u64>,
    #[serde(default)]
    time_ms: Option<u64>,
    result: R,
}

#[derive(Deserialize)]
struct Ticker<'a> {
    #[serde(default)]
    t: Option<u64>,
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
struct GateTrade<'a> {
    #[serde(borrow)]
    id: &'a serde_json::value::RawValue,
    #[serde(default)]
    create_time: Option<u64>,
    #[serde(borrow, default)]
    create_time_ms: Option<&'a serde_json::value::RawValue>,
    side: &'a str,
    currency_pair: &'a str,
    amount: &'a str,
    price: &'a str,
}

#[derive(Deserialize)]
struct Depth<'a> {
    #[serde(default)]
    t: Option<u64>,
    #[serde(default)]
    full: bool,
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

fn nums(texts: &[&str]) {
    for t in texts {
        black_box(Num::parse(t).unwrap());
    }
}

fn gate_envelope<'a, R: Deserialize<'a>>(data: &'a [u8]) -> Envelope<'a, R> {
    let env: Envelope<'a, R> = serde_json::from_slice(data).unwrap();
    black_box((env.channel, env.event, env.time, env.time_ms));
    env
}

fn gate_ticker_floor(data: &[u8]) {
    let r = gate_envelope::<Ticker<'_>>(data).result;
    black_box((r.t, r.u, r.s));
    nums(&[r.b, r.bq, r.a, r.aq]);
}

fn gate_trade_floor(data: &[u8]) {
    let r = gate_envelope::<GateTrade<'_>>(data).result;
    black_box((
        r.id,
        r.create_time,
        r.create_time_ms,
        r.side,
        r.currency_pair,
    ));
    nums(&[r.amount, r.price]);
}

fn gate_depth_floor(data: &[u8]) {
    let r = gate_envelope::<Depth<'_>>(data).result;
    black_box((r.t, r.full, r.s, r.first, r.last));
    for (p, q) in r.b.iter().chain(&r.a) {
        nums(&[p, q]);
    }
}

// ---------------------------------------------------------------------------------------
// MEXC floor: a bare prost decode into the official messages

fn mexc_floor(data: &[u8]) {
    use mexc_plugin::proto::{Body, PushDataV3ApiWrapper};
    let w = PushDataV3ApiWrapper::decode(data).unwrap();
    black_box((&w.channel, &w.symbol, w.send_time));
    match w.body.unwrap() {
        Body::PublicAggreBookTicker(b) => {
            nums(&[&b.bid_price, &b.bid_quantity, &b.ask_price, &b.ask_quantity]);
            black_box(&b.version);
        }
        Body::PublicAggreDeals(b) => {
            for d in &b.deals {
                nums(&[&d.price, &d.quantity]);
                black_box((d.trade_type, d.time, &d.trade_id));
            }
        }
        Body::PublicLimitDepths(b) => {
            for l in b.bids.iter().chain(&b.asks) {
                nums(&[&l.price, &l.quantity]);
            }
            black_box(&b.version);
        }
        _ => panic!("not a measured body"),
    }
}

// ---------------------------------------------------------------------------------------

/// Seconds per call of `f`, over `n` calls.
fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        f();
    }
    started.elapsed().as_secs_f64() / f64::from(n)
}

fn on_frame(adapter: &mut VenueAdapterBox, kind: FrameKind, data: &[u8]) {
    let frame = InFrame {
        kind,
        data: data.into(),
    };
    let out = adapter.on_frame(ConnId(1), frame, 0).unwrap();
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    black_box(out);
}

fn linked<V: Venue>(venue: V) -> VenueAdapterBox {
    VenueAdapter_TO::from_value(Guarded::new(venue), TD_Opaque)
}

fn config() -> VenueConfig {
    VenueConfig {
        name: "bench".into(),
        settings_json: "{}".into(),
    }
}

/// MEXC settings naming the fixtures' symbol, so the plugin knows its metadata.
const MEXC_SETTINGS: &str =
    r#"{"fetch_exchange_info":false,"symbols":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT"}]}"#;

/// The adapters of one venue: through the `.so`, and linked statically.
struct Sides {
    so: VenueAdapterBox,
    linked: VenueAdapterBox,
}

const SIDES: [&str; 3] = ["so", "static", "floor"];

/// Short measurements per side and round; the round keeps the least.
const SPLITS: usize = 10;

fn main() {
    let rounds = env_or("PARSE_ROUNDS", 7).max(1) as usize;
    let sample = Duration::from_millis(env_or("PARSE_SAMPLE_MS", 20));
    let loader = host::Loader::new(temp_dir("bench-parse")).unwrap();
    let gate_lib = loader.load(&plugin("gateio_plugin")).unwrap();
    let mexc_lib = loader.load(&plugin("mexc_plugin")).unwrap();
    let mut gate = Sides {
        so: gate_lib.instantiate("bench", "{}").unwrap(),
        linked: linked(gateio_plugin::GateioVenue::from_config(&config()).unwrap()),
    };
    let mut mexc = Sides {
        so: mexc_lib.instantiate("bench", MEXC_SETTINGS).unwrap(),
        linked: linked(
            mexc_plugin::Mexc::new(mexc_plugin::config::Settings::parse(MEXC_SETTINGS).unwrap())
                .unwrap(),
        ),
    };
    let cases = [
        Case {
            id: "gateio.book_ticker",
            label: "Gate.io spot.book_ticker",
            kind: FrameKind::Text,
            data: first_msg("gateio/ws_book_ticker.jsonl"),
            floor: gate_ticker_floor,
        },
        Case {
            id: "gateio.trades",
            label: "Gate.io spot.trades",
            kind: FrameKind::Text,
            data: first_msg("gateio/ws_trades.jsonl"),
            floor: gate_trade_floor,
        },
        Case {
            id: "gateio.depth",
            label: "Gate.io spot.order_book_update (full, 3 levels)",
            kind: FrameKind::Text,
            data: first_msg("gateio/ws_order_book_update.jsonl"),
            floor: gate_depth_floor,
        },
        Case {
            id: "mexc.book_ticker",
            label: "MEXC aggre.bookTicker (protobuf)",
            kind: FrameKind::Binary,
            data: fixture_bytes("mexc/samples/pb/A_bookTicker_100ms.bin"),
            floor: mexc_floor,
        },
        Case {
            id: "mexc.deals",
            label: "MEXC aggre.deals (protobuf)",
            kind: FrameKind::Binary,
            data: fixture_bytes("mexc/samples/pb/A_deals_100ms.bin"),
            floor: mexc_floor,
        },
        Case {
            id: "mexc.depth",
            label: "MEXC limit.depth 5 levels (protobuf)",
            kind: FrameKind::Binary,
            data: fixture_bytes("mexc/samples/pb/A_limitDepth_5.bin"),
            floor: mexc_floor,
        },
    ];

    let only = std::env::var("PARSE_ONLY").unwrap_or_default();
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|c| c.id.starts_with(&only))
        .collect();

    let mut measure = |case: &Case, side: &str, n: u32| -> f64 {
        let sides = if case.id.starts_with("gateio") {
            &mut gate
        } else {
            &mut mexc
        };
        let data = case.data.as_slice();
        match side {
            "so" => per_call(n, || on_frame(&mut sides.so, case.kind, data)),
            "static" => per_call(n, || on_frame(&mut sides.linked, case.kind, data)),
            _ => per_call(n, || (case.floor)(black_box(data))),
        }
    };

    // Calls per measurement so one lasts about `sample`, from a warm-up of each side.
    let calls: Vec<u32> = cases
        .iter()
        .map(|case| {
            let slowest = SIDES
                .iter()
                .map(|side| {
                    measure(case, side, 2_000);
                    measure(case, side, 2_000)
                })
                .fold(0.0, f64::max);
            ((sample.as_secs_f64() / slowest) as u32).max(1_000)
        })
        .collect();

    // values[case][side][round], seconds per call. A round's value is the least of `SPLITS`
    // short measurements of that side, interleaved with the other sides': on a shared
    // machine the least is the one the other processes disturbed least.
    let mut values = vec![vec![Vec::new(); SIDES.len()]; cases.len()];
    for round in 0..rounds {
        for (c, case) in cases.iter().enumerate() {
            let mut least = [f64::INFINITY; SIDES.len()];
            for split in 0..SPLITS {
                // Rotate which side goes first, so none always runs right after another.
                for k in 0..SIDES.len() {
                    let s = (k + round + split) % SIDES.len();
                    least[s] = least[s].min(measure(case, SIDES[s], calls[c] / SPLITS as u32));
                }
            }
            for (s, v) in least.into_iter().enumerate() {
                values[c][s].push(v);
            }
        }
    }

    let mut results = Results::new("parse", "cargo bench -p integration-tests --bench parse");
    results.notes.push(format!(
        "{rounds} interleaved rounds; a round's value per side is the least of {SPLITS} interleaved measurements of {} ms of back-to-back calls on one thread",
        sample.as_millis() / SPLITS as u128
    ));
    println!(
        "| frame | bytes | through the .so | linked statically | floor | .so / floor | .so / static |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (c, case) in cases.iter().enumerate() {
        let ns = |s: usize| -> Vec<f64> { values[c][s].iter().map(|v| v * 1e9).collect() };
        let (so, stat, floor) = (ns(0), ns(1), ns(2));
        let floor_label = if case.id.starts_with("gateio") {
            "floor: serde_json borrowed struct + Num::parse"
        } else {
            "floor: bare prost decode + Num::parse"
        };
        let id = |side: &str| format!("{}.{side}", case.id);
        let fig = |r: &mut Results, side: &str, label: String, v: &[f64], base: Option<String>| {
            let f = r.figure(&id(side), &label, "ns");
            for x in v {
                f.push(*x);
            }
            if let Some(b) = base {
                f.against(&b);
            }
        };
        let label = case.label;
        fig(
            &mut results,
            "floor",
            format!("{label}: {floor_label}"),
            &floor,
            None,
        );
        fig(
            &mut results,
            "static",
            format!("{label}: on_frame linked statically"),
            &stat,
            Some(id("floor")),
        );
        fig(
            &mut results,
            "so",
            format!("{label}: on_frame through the .so"),
            &so,
            Some(id("floor")),
        );
        fig(
            &mut results,
            "so_vs_static",
            format!("{label}: on_frame through the .so, against linked statically"),
            &so,
            Some(id("static")),
        );
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            case.data.len(),
            spread(&so, "ns"),
            spread(&stat, "ns"),
            spread(&floor, "ns"),
            ratios(&so, &floor),
            ratios(&so, &stat),
        );
    }
    if only.is_empty() {
        let path = results.write().unwrap();
        println!("\nwritten to {}", path.display());
    }
}

/// `median (min–max) unit`.
fn spread(v: &[f64], unit: &str) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    format!(
        "{:.0} ({:.0}–{:.0}) {unit}",
        s[s.len() / 2],
        s[0],
        s[s.len() - 1]
    )
}

/// Round-by-round ratios `a / b`: `median (min–max)`.
fn ratios(a: &[f64], b: &[f64]) -> String {
    let mut r: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
    r.sort_by(f64::total_cmp);
    format!("{:.2} ({:.2}–{:.2})", r[r.len() / 2], r[0], r[r.len() - 1])
}
