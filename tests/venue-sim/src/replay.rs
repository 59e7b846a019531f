//! Replay of the real captured frames vendored in `tests/fixtures/venues`, grouped into one
//! stream per topic, in capture order, with timestamps shifted to now.
//!
//! # What is rewritten
//! * JSON frames (Gate, MEXC legacy JSON): only the integer digits of the values of the keys in
//!   [`TIMESTAMP_KEYS`] (numbers or numeric strings) whose integer part has 10 digits (seconds)
//!   or 13 digits (milliseconds). Each gets `+ delta` in its own unit, where `delta` is a whole
//!   number of seconds chosen so the stream's first frame is stamped "now". A fraction (as in
//!   `"create_time_ms":"1619093543708.2642"`) and every other byte stay as captured.
//! * Protobuf frames (MEXC): the same delta is added to `createTime`, `sendTime`,
//!   `lastOrderCreateTime`, deal `time` (ms) and kline `windowStart`/`windowEnd` (s); the frame
//!   is then re-encoded. All other fields are kept as decoded.

use std::collections::HashMap;

use bytes::Bytes;
use prost::Message as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Message;

use crate::config::Venue;
use crate::mexc::proto::push_data_v3_api_wrapper::Body;
use crate::mexc::proto::PushDataV3ApiWrapper;
use crate::topics::TopicTable;

/// Keys whose values are rewritten (see the module docs).
pub const TIMESTAMP_KEYS: &[&str] = &[
    "time",
    "time_ms",
    "t",
    "E",
    "T",
    "create_time",
    "create_time_ms",
    "current",
    "update",
];

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/venues/",
            $path
        ))
    };
}

/// Gate files replayed, in this order: (path under `gateio/captures`, contents).
const GATE_FILES: &[(&str, &str)] = &[
    (
        "cryptofeed_2021-04-22/ws_spot_order_book_update.jsonl",
        fixture!("gateio/captures/cryptofeed_2021-04-22/ws_spot_order_book_update.jsonl"),
    ),
    (
        "cryptofeed_2021-04-22/ws_spot_trades.jsonl",
        fixture!("gateio/captures/cryptofeed_2021-04-22/ws_spot_trades.jsonl"),
    ),
    (
        "cryptofeed_2021-04-22/ws_spot_tickers.jsonl",
        fixture!("gateio/captures/cryptofeed_2021-04-22/ws_spot_tickers.jsonl"),
    ),
    (
        "cryptofeed_2021-04-22/ws_spot_candlesticks.jsonl",
        fixture!("gateio/captures/cryptofeed_2021-04-22/ws_spot_candlesticks.jsonl"),
    ),
    (
        "crypto-msg-parser_2022/ws_spot_frames.jsonl",
        fixture!("gateio/captures/crypto-msg-parser_2022/ws_spot_frames.jsonl"),
    ),
    (
        "tardis-node_tests/ws_spot_frames.jsonl",
        fixture!("gateio/captures/tardis-node_tests/ws_spot_frames.jsonl"),
    ),
];

const GATE_REST_BOOKS: &str =
    fixture!("gateio/captures/cryptofeed_2021-04-22/rest_spot_order_book_with_id.jsonl");
const BINANCE_MARKET: &str = fixture!("binance/ws_market.jsonl");
const MEXC_PB: &str = fixture!("mexc/samples/ws_pb_frames.jsonl");
const MEXC_LEGACY: &str =
    fixture!("mexc/captures/hftbacktest_2025-01-12_legacy_json/ws_legacy_json_SOLUSDT.jsonl");

/// One captured frame, ready to be re-stamped.
#[derive(Debug)]
pub(crate) enum ReplayFrame {
    Json { bytes: Bytes, spans: Vec<TsSpan> },
    Proto(Box<PushDataV3ApiWrapper>),
}

/// The integer digits of one timestamp value inside a JSON frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TsSpan {
    /// Byte offset of the first digit.
    pub start: usize,
    /// Number of digits (10 = seconds, 13 = milliseconds).
    pub len: usize,
}

impl TsSpan {
    fn millis(&self) -> bool {
        self.len == 13
    }
}

/// Find the timestamp values of [`TIMESTAMP_KEYS`] in a compact JSON frame.
pub fn timestamp_spans(json: &[u8]) -> Vec<TsSpan> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < json.len() {
        if json[i] != b'"' || (i > 0 && json[i - 1] == b'\\') {
            i += 1;
            continue;
        }
        let Some(end) = json[i + 1..]
            .iter()
            .position(|b| *b == b'"')
            .map(|p| i + 1 + p)
        else {
            break;
        };
        let key = &json[i + 1..end];
        let is_key = json.get(end + 1) == Some(&b':');
        if is_key && TIMESTAMP_KEYS.iter().any(|k| k.as_bytes() == key) {
            let mut v = end + 2;
            if json.get(v) == Some(&b'"') {
                v += 1;
            }
            let digits = json[v..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 10 || digits == 13 {
                spans.push(TsSpan {
                    start: v,
                    len: digits,
                });
            }
            i = v + digits;
        } else {
            i = end + 1;
        }
    }
    spans
}

/// `json` with every span shifted by `delta_ms` (a whole number of seconds).
pub fn shift_json(json: &[u8], spans: &[TsSpan], delta_ms: i64) -> Vec<u8> {
    let mut out = json.to_vec();
    for s in spans.iter().rev() {
        let text = std::str::from_utf8(&json[s.start..s.start + s.len]).unwrap_or("0");
        let old: i64 = text.parse().unwrap_or(0);
        let new = if s.millis() {
            old + delta_ms
        } else {
            old + delta_ms / 1000
        };
        let new = new.to_string();
        out.splice(s.start..s.start + s.len, new.bytes());
    }
    out
}

fn first_ms(spans: &[TsSpan], json: &[u8]) -> Option<i64> {
    let s = spans.first()?;
    let v: i64 = std::str::from_utf8(&json[s.start..s.start + s.len])
        .ok()?
        .parse()
        .ok()?;
    Some(if s.millis() { v } else { v * 1000 })
}

/// Keys of JSON frames whose values are update or trade ids (numbers or numeric strings).
const ID_KEYS: &[&str] = &["u", "U", "id", "lastUpdateId", "r"];

/// The largest id under [`ID_KEYS`] anywhere in `v`.
fn max_json_id(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                let own = if ID_KEYS.contains(&k.as_str()) {
                    match x {
                        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
                        serde_json::Value::String(s) => s.parse().unwrap_or(0),
                        _ => 0,
                    }
                } else {
                    0
                };
                own.max(max_json_id(x))
            })
            .max()
            .unwrap_or(0),
        serde_json::Value::Array(a) => a.iter().map(max_json_id).max().unwrap_or(0),
        _ => 0,
    }
}

/// The largest version of a MEXC push (trade ids are strings of another space).
fn max_proto_id(m: &PushDataV3ApiWrapper) -> u64 {
    let n = |s: &str| s.parse::<u64>().unwrap_or(0);
    match m.body.as_ref() {
        Some(Body::PublicAggreDepths(b)) => n(&b.from_version).max(n(&b.to_version)),
        Some(Body::PublicAggreBookTicker(b)) => n(&b.version),
        Some(Body::PublicLimitDepths(b)) => n(&b.version),
        _ => 0,
    }
}

/// All replay streams of one venue, indexed by topic id.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    streams: HashMap<u32, Vec<ReplayFrame>>,
    base_ms: HashMap<u32, i64>,
    /// Gate: captured REST order books by pair.
    rest_books: HashMap<String, (Bytes, Vec<TsSpan>)>,
    /// The largest update or version id (and Gate trade id) in any captured frame or snapshot.
    max_id: u64,
}

#[derive(Deserialize)]
struct CfLine<'a> {
    dir: Option<&'a str>,
    #[serde(borrow)]
    raw: &'a RawValue,
}

#[derive(Deserialize)]
struct GateFrameKeys {
    channel: String,
    event: Option<String>,
    result: Option<serde_json::Value>,
}

impl Replay {
    pub(crate) fn build(venue: Venue, table: &mut TopicTable) -> Self {
        let mut r = Self::default();
        match venue {
            Venue::Gateio => r.load_gate(table),
            Venue::Mexc => r.load_mexc(table),
            Venue::Binance => r.load_binance(table),
        }
        r
    }

    /// The largest update or version id in the captures: synthetic data that follows
    /// them ([`crate::Source::ReplayThenSynthetic`]) numbers its updates above it.
    pub(crate) fn max_id(&self) -> u64 {
        self.max_id
    }

    fn note_json_ids(&mut self, raw: &str) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) {
            self.max_id = self.max_id.max(max_json_id(&v));
        }
    }

    fn push_json(&mut self, topic: u32, raw: &str) {
        self.note_json_ids(raw);
        let bytes = Bytes::copy_from_slice(raw.as_bytes());
        let spans = timestamp_spans(&bytes);
        if let Some(ms) = first_ms(&spans, &bytes) {
            self.base_ms.entry(topic).or_insert(ms);
        }
        self.streams
            .entry(topic)
            .or_default()
            .push(ReplayFrame::Json { bytes, spans });
    }

    fn load_gate(&mut self, table: &mut TopicTable) {
        for (_, text) in GATE_FILES {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let raw: &RawValue = match serde_json::from_str::<CfLine<'_>>(line) {
                    Ok(cf) if cf.dir == Some("in") => cf.raw,
                    Ok(_) => continue,
                    Err(_) => match serde_json::from_str(line) {
                        Ok(r) => r,
                        Err(_) => continue,
                    },
                };
                let Ok(keys) = serde_json::from_str::<GateFrameKeys>(raw.get()) else {
                    continue;
                };
                if keys.event.as_deref() != Some("update") {
                    continue;
                }
                let Some(key) = keys.result.as_ref().and_then(gate_key) else {
                    continue;
                };
                let topic = table.register(&keys.channel, &key);
                self.push_json(topic, raw.get());
            }
        }
        #[derive(Deserialize)]
        struct RestLine<'a> {
            url: String,
            #[serde(borrow)]
            body: &'a RawValue,
        }
        for line in GATE_REST_BOOKS.lines() {
            let Ok(l) = serde_json::from_str::<RestLine<'_>>(line) else {
                continue;
            };
            let Some(pair) = l
                .url
                .split(['?', '&'])
                .find_map(|kv| kv.strip_prefix("currency_pair="))
            else {
                continue;
            };
            self.note_json_ids(l.body.get());
            let bytes = Bytes::copy_from_slice(l.body.get().as_bytes());
            let spans = timestamp_spans(&bytes);
            self.rest_books.insert(pair.to_owned(), (bytes, spans));
        }
    }

    fn load_mexc(&mut self, table: &mut TopicTable) {
        #[derive(Deserialize)]
        struct PbLine {
            hex: String,
        }
        for line in MEXC_PB.lines() {
            let Ok(l) = serde_json::from_str::<PbLine>(line) else {
                continue;
            };
            let Ok(bytes) = hex::decode(&l.hex) else {
                continue;
            };
            let Ok(msg) = PushDataV3ApiWrapper::decode(bytes.as_slice()) else {
                continue;
            };
            let topic = table.register(&msg.channel, "");
            self.max_id = self.max_id.max(max_proto_id(&msg));
            if let Some(ms) = msg.send_time.or(msg.create_time) {
                self.base_ms.entry(topic).or_insert(ms);
            }
            self.streams
                .entry(topic)
                .or_default()
                .push(ReplayFrame::Proto(Box::new(msg)));
        }
        #[derive(Deserialize)]
        struct LegacyLine<'a> {
            #[serde(borrow)]
            raw: &'a RawValue,
        }
        #[derive(Deserialize)]
        struct LegacyKeys {
            c: String,
        }
        for line in MEXC_LEGACY.lines() {
            let Ok(l) = serde_json::from_str::<LegacyLine<'_>>(line) else {
                continue;
            };
            let Ok(k) = serde_json::from_str::<LegacyKeys>(l.raw.get()) else {
                continue;
            };
            let topic = table.register(&k.c, "");
            self.push_json(topic, l.raw.get());
        }
    }

    /// Binance: every documented raw payload of a stream (`stream` set, `src` `doc`), one
    /// stream per name. A stream whose frames carry no time (book tickers) is replayed as
    /// it is.
    fn load_binance(&mut self, table: &mut TopicTable) {
        #[derive(Deserialize)]
        struct Line<'a> {
            src: &'a str,
            stream: Option<&'a str>,
            #[serde(borrow)]
            msg: &'a RawValue,
        }
        for line in BINANCE_MARKET.lines() {
            let Ok(l) = serde_json::from_str::<Line<'_>>(line) else {
                continue;
            };
            let Some(stream) = l.stream.filter(|_| l.src == "doc") else {
                continue;
            };
            let topic = table.register(stream, "");
            self.push_json(topic, l.msg.get());
            self.base_ms.entry(topic).or_insert(0);
        }
    }

    pub(crate) fn frames(&self, topic: u32) -> &[ReplayFrame] {
        self.streams.get(&topic).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The shift (whole seconds, in ms) that stamps the topic's first frame at `now_ms`.
    pub(crate) fn delta_ms(&self, topic: u32, now_ms: i64) -> Option<i64> {
        let base = *self.base_ms.get(&topic)?;
        Some((now_ms - base).div_euclid(1000) * 1000)
    }

    pub(crate) fn render(&self, topic: u32, idx: usize, delta_ms: i64) -> Message {
        match &self.frames(topic)[idx] {
            ReplayFrame::Json { bytes, spans } => {
                let out = shift_json(bytes, spans, delta_ms);
                Message::text(String::from_utf8(out).unwrap_or_default())
            }
            ReplayFrame::Proto(msg) => {
                let mut m = (**msg).clone();
                shift_proto(&mut m, delta_ms);
                Message::Binary(Bytes::from(m.encode_to_vec()))
            }
        }
    }

    /// Gate: the captured REST book of `pair`, re-stamped.
    pub(crate) fn rest_book(&self, pair: &str, now_ms: i64) -> Option<Vec<u8>> {
        let (bytes, spans) = self.rest_books.get(pair)?;
        // Captured snapshots carry no timestamps today; shift any that appear by "now".
        let delta = first_ms(spans, bytes).map(|b| (now_ms - b).div_euclid(1000) * 1000);
        Some(shift_json(bytes, spans, delta.unwrap_or(0)))
    }
}

/// The topic key of a Gate push: the pair (or `ob.PAIR.LEVEL` for `spot.obu`).
fn gate_key(result: &serde_json::Value) -> Option<String> {
    if let Some(s) = result.get("s").and_then(|v| v.as_str()) {
        return Some(s.to_owned());
    }
    if let Some(s) = result.get("currency_pair").and_then(|v| v.as_str()) {
        return Some(s.to_owned());
    }
    // Candlesticks: "n" is "<interval>_<PAIR>".
    let n = result.get("n")?.as_str()?;
    n.split_once('_').map(|(_, pair)| pair.to_owned())
}

/// Add `delta_ms` to every timestamp field of a MEXC push (see the module docs).
pub(crate) fn shift_proto(m: &mut PushDataV3ApiWrapper, delta_ms: i64) {
    let ms = |v: &mut i64| {
        if *v != 0 {
            *v += delta_ms;
        }
    };
    if let Some(t) = m.create_time.as_mut() {
        ms(t);
    }
    if let Some(t) = m.send_time.as_mut() {
        ms(t);
    }
    match m.body.as_mut() {
        Some(Body::PublicAggreDeals(d)) => d.deals.iter_mut().for_each(|x| ms(&mut x.time)),
        Some(Body::PublicDeals(d)) => d.deals.iter_mut().for_each(|x| ms(&mut x.time)),
        Some(Body::PublicAggreBookTicker(b)) => ms(&mut b.last_order_create_time),
        Some(Body::PublicLimitDepths(b)) => ms(&mut b.last_order_create_time),
        Some(Body::PublicAggreDepths(b)) => ms(&mut b.last_order_create_time),
        Some(Body::PublicBookTickerBatch(b)) => ms(&mut b.last_order_create_time),
        Some(Body::PublicSpotKline(k)) => {
            let secs = delta_ms / 1000;
            if k.window_start != 0 {
                k.window_start += secs;
            }
            if k.window_end != 0 {
                k.window_end += secs;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_captured_ids_are_found() {
        let build = |venue| Replay::build(venue, &mut TopicTable::default()).max_id();
        // Gate: the `spot.obu` capture's `u`; MEXC: the limit-depth frame's `version`.
        assert_eq!(build(Venue::Gateio), 25_847_129_996);
        assert_eq!(build(Venue::Mexc), 82_164_155_643);
    }
}
