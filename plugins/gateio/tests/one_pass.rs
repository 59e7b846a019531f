//! The one-pass `parse_frame` agrees exactly with the two-pass reference on every fixture
//! frame, on mutated frames, and with the envelope's and result's keys in any order.

mod common;

use common::*;
use gateio_plugin::parse::{parse_frame, parse_frame_two_pass, ParseError, Parsed};
use proptest::prelude::*;
use serde_json::Value;

const FILES: &[&str] = &[
    "ws_book_ticker.jsonl",
    "ws_candlesticks.jsonl",
    "ws_control.jsonl",
    "ws_obu.jsonl",
    "ws_order_book.jsonl",
    "ws_order_book_update.jsonl",
    "ws_tickers.jsonl",
    "ws_trades.jsonl",
    "samples/ws_requests.jsonl",
    "samples/doc_ws_examples.jsonl",
    "captures/crypto-msg-parser_2022/ws_spot_frames.jsonl",
    "captures/tardis-node_tests/ws_spot_frames.jsonl",
    "captures/cryptofeed_2021-04-22/ws_spot_order_book_update.jsonl",
    "captures/cryptofeed_2021-04-22/ws_spot_trades.jsonl",
    "captures/cryptofeed_2021-04-22/ws_spot_tickers.jsonl",
    "captures/cryptofeed_2021-04-22/ws_spot_candlesticks.jsonl",
];

/// Every frame of the fixtures, as parsed JSON.
fn frames() -> &'static [Value] {
    static FRAMES: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    FRAMES.get_or_init(|| {
        let mut v = Vec::new();
        for f in FILES {
            for line in jsonl(f) {
                let frame = ["msg", "json", "raw"]
                    .iter()
                    .find_map(|k| line.get(*k).cloned())
                    .unwrap_or(line);
                v.push(frame);
            }
        }
        v
    })
}

/// An order for an object's keys.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// As stored (sorted).
    Stored,
    Reversed,
    RotateLeft(usize),
    ResultFirst,
}

impl Order {
    fn apply(self, entries: &mut [(&String, &Value)]) {
        match self {
            Order::Stored => {}
            Order::Reversed => entries.reverse(),
            Order::RotateLeft(k) => {
                if !entries.is_empty() {
                    let n = entries.len();
                    entries.rotate_left(k % n)
                }
            }
            Order::ResultFirst => entries.sort_by_key(|(k, _)| k.as_str() != "result"),
        }
    }
}

/// The key orders tried: as stored, reversed, each rotation, and `result` first.
const ORDERS: [Order; 10] = [
    Order::Stored,
    Order::Reversed,
    Order::RotateLeft(1),
    Order::RotateLeft(2),
    Order::RotateLeft(3),
    Order::RotateLeft(4),
    Order::RotateLeft(5),
    Order::RotateLeft(6),
    Order::RotateLeft(7),
    Order::ResultFirst,
];

/// `value` as JSON text with each object's keys (at every depth) in `order`.
fn write(value: &Value, order: Order) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            order.apply(&mut entries);
            let fields: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), write(v, order)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| write(v, order)).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// Same outcome; errors compare by reason only (their text carries byte positions).
fn same(a: &Result<Parsed<'_>, ParseError>, b: &Result<Parsed<'_>, ParseError>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => a.reason() == b.reason(),
        _ => false,
    }
}

#[test]
fn one_pass_equals_two_pass_on_every_fixture_frame() {
    let mut n = 0;
    for f in frames() {
        let text = f.to_string();
        assert_eq!(
            parse_frame(text.as_bytes(), 5),
            parse_frame_two_pass(text.as_bytes(), 5),
            "{text}"
        );
        n += 1;
    }
    assert!(n > 500, "only {n} frames");
}

#[test]
fn keys_in_any_order_parse_identically() {
    let mut typed = 0;
    for f in frames() {
        let reference = f.to_string();
        let want = parse_frame(reference.as_bytes(), 5);
        if matches!(
            want,
            Ok(Parsed::BookTicker(_) | Parsed::Trade(_) | Parsed::Depth(_))
        ) {
            typed += 1;
        }
        for order in ORDERS {
            let text = write(f, order);
            let got = parse_frame(text.as_bytes(), 5);
            assert!(same(&got, &want), "{text}\n{got:?}\n{want:?}");
            assert_eq!(got, parse_frame_two_pass(text.as_bytes(), 5), "{text}");
        }
    }
    assert!(typed > 300, "only {typed} market data frames");
}

#[test]
fn result_before_channel_and_event() {
    let wire = r#"{"time":1606293275,"time_ms":1606293275723,"channel":"spot.book_ticker","event":"update","result":{"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09"}}"#;
    let reordered = r#"{"result":{"A":"0.09","a":"19179.38","B":"0.0003341504","b":"19177.79","s":"BTC_USDT","u":48733182,"t":1606293275123},"event":"update","time_ms":1606293275723,"channel":"spot.book_ticker","time":1606293275}"#;
    let a = parse_frame(wire.as_bytes(), 9).unwrap();
    assert!(matches!(a, Parsed::BookTicker(_)));
    assert_eq!(parse_frame(reordered.as_bytes(), 9).unwrap(), a);
    // A subscribe acknowledgement whose event comes after its result is still an ack,
    // not a book ticker.
    let ack = r#"{"channel":"spot.book_ticker","result":{"status":"success"},"event":"subscribe"}"#;
    assert_eq!(
        parse_frame(ack.as_bytes(), 9).unwrap(),
        Parsed::Ack {
            channel: "spot.book_ticker"
        }
    );
}

#[test]
fn unusual_frames_take_the_reference_path() {
    for text in [
        // Repeated keys, a top-level array, a null result, escapes, a trailing byte.
        r#"{"channel":"spot.trades","channel":"spot.trades","event":"update","result":{}}"#,
        r#"["spot.pong"]"#,
        r#"{"channel":"spot.book_ticker","event":"update","result":null}"#,
        r#"{"chan\u006eel":"spot.book_ticker","event":"update","result":{"u":1,"s":"BTC_USDT","b":"1","B":"1","a":"2","A":"1"}}"#,
        r#"{"channel":"spot.book_ticker","event":"update","result":{"u":1,"s":"BTC_USDT","b":"1","B":"1","a":"2","A":"1"}} x"#,
        r#"{"channel":"spot.book_ticker","event":"update","error":{"code":1,"message":"m"},"result":{"u":1}}"#,
        r#"{"channel":"spot.order_book_update","event":"update","result":{"s":"BTC_USDT","U":5,"u":4}}"#,
    ] {
        assert_eq!(
            parse_frame(text.as_bytes(), 1),
            parse_frame_two_pass(text.as_bytes(), 1),
            "{text}"
        );
    }
    // Invalid UTF-8 inside a string the typed result would skip.
    let mut bytes = br#"{"channel":"spot.trades","event":"update","result":{"id":1,"side":"buy","currency_pair":"A_B","amount":"1","price":"1","x":"?"}}"#.to_vec();
    let at = bytes.iter().position(|&b| b == b'?').unwrap();
    bytes[at] = 0xff;
    assert_eq!(parse_frame(&bytes, 1), parse_frame_two_pass(&bytes, 1));
}

/// Edges of the hot reader's subset of JSON: each frame is either read by it or left to the
/// reference, and the outcome is the reference's either way.
#[test]
fn hot_reader_edges_agree_with_the_reference() {
    let ticker = r#"{"time":1,"channel":"spot.book_ticker","event":"update","result":{"t":2,"u":3,"s":"BTC_USDT","b":"1.5","B":"2","a":"1.6","A":"0.10"}}"#;
    let trade = r#"{"channel":"spot.trades","event":"update","result":{"id":"9","create_time":1,"create_time_ms":1.5,"side":"buy","currency_pair":"BTC_USDT","amount":"1","price":"2"}}"#;
    let depth = r#"{"channel":"spot.order_book_update","event":"update","result":{"t":1,"full":false,"s":"BTC_USDT","U":1,"u":2,"b":[["1","2"],["3","0"]],"a":[]}}"#;
    let mut texts: Vec<String> = Vec::new();
    for base in [ticker, trade, depth] {
        texts.push(base.to_owned());
        // Whitespace everywhere JSON allows it.
        texts.push(
            base.replace(':', " :\t")
                .replace(',', "\r\n, ")
                .replace('{', "{ ")
                .replace('}', " } "),
        );
        // Skipped keys of every scalar kind, valid or not.
        for extra in [
            r#""x":null"#,
            r#""x":true"#,
            r#""x":false"#,
            r#""x":-0.5e-7"#,
            r#""x":1E+2"#,
            r#""x":"é""#,
            r#""x":{}"#,
            r#""x":[1]"#,
            r#""x":01"#,
            r#""x":1."#,
            r#""x":-"#,
            r#""x":nul"#,
            r#""x":"a\nb""#,
        ] {
            texts.push(base.replacen("\"result\":{", &format!("{extra},\"result\":{{{extra},"), 1));
        }
    }
    for (from, to) in [
        (r#""u":3"#, r#""u":18446744073709551616"#),
        (r#""u":3"#, r#""u":18446744073709551615"#),
        (r#""u":3"#, r#""u":-3"#),
        (r#""u":3"#, r#""u":3.0"#),
        (r#""u":3"#, r#""u":"3""#),
        (r#""b":"1.5""#, r#""b":"1e5""#),
        (r#""b":"1.5""#, r#""b":"""#),
        (r#""s":"BTC_USDT""#, r#""s":"BTCUSDT""#),
        (r#""event":"update""#, r#""event":"all""#),
        (r#""event":"update""#, r#""event":null"#),
        (r#""time":1"#, r#""time":null"#),
        (r#""id":"9""#, r#""id":9"#),
        (r#""id":"9""#, r#""id":[9]"#),
        (r#""create_time_ms":1.5"#, r#""create_time_ms":"1.5""#),
        (r#""create_time_ms":1.5"#, r#""create_time_ms":null"#),
        (r#""side":"buy""#, r#""side":"hold""#),
        (r#""full":false"#, r#""full":true"#),
        (r#""full":false"#, r#""full":0"#),
        (r#""U":1"#, r#""U":3"#),
        (r#"["3","0"]"#, r#"["3","0","1"]"#),
        (r#"["3","0"]"#, r#"["3","x"]"#),
        (r#""a":[]"#, r#""a":[[]]"#),
        (r#""a":[]"#, r#""a":[["1","2"],]"#),
    ] {
        for base in [ticker, trade, depth] {
            if base.contains(from) {
                texts.push(base.replace(from, to));
            }
        }
    }
    for text in &texts {
        assert_eq!(
            parse_frame(text.as_bytes(), 4),
            parse_frame_two_pass(text.as_bytes(), 4),
            "{text}"
        );
    }
    // The bases themselves are market data, so the hot path was exercised.
    for base in [ticker, trade, depth] {
        assert!(matches!(
            parse_frame(base.as_bytes(), 4),
            Ok(Parsed::BookTicker(_) | Parsed::Trade(_) | Parsed::Depth(_))
        ));
    }
}

proptest! {
    // `PROPTEST_CASES=n` runs a longer search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_frames_parse_as_the_reference(
        idx in 0usize..10_000,
        order in 0usize..10,
        ops in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
    ) {
        let f = &frames()[idx % frames().len()];
        let text = write(f, ORDERS[order % ORDERS.len()]);
        let data = common::mutate(text.as_bytes(), &ops);
        prop_assert_eq!(parse_frame(&data, 3), parse_frame_two_pass(&data, 3));
    }
}
