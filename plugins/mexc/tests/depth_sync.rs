//! Depth synchronization through the `Venue` interface: aggre depth pushes (encoded with the
//! plugin's own prost structs) plus REST snapshots, checked by building the book from the
//! emitted events.

use std::collections::BTreeMap;

use abi_stable::std_types::RSlice;
use mexc_plugin::config::Settings;
use mexc_plugin::proto::{
    Body, PublicAggreDepthV3ApiItem, PublicAggreDepthsV3Api, PushDataV3ApiWrapper,
};
use mexc_plugin::Mexc;
use plugin_api::{
    Action, ConnId, Event, FrameKind, GapReason, InFrame, Instrument, Num, Output, RestRequest,
    RestResponse, StreamKind, Topic, Venue,
};
use prost::Message;

const CONN: ConnId = ConnId(7);

fn venue() -> Mexc {
    let mut v = Mexc::new(Settings::parse(r#"{"fetch_exchange_info":false}"#).unwrap()).unwrap();
    v.on_connected(CONN, "public").unwrap();
    let topic = Topic {
        kind: StreamKind::Depth,
        instrument: Instrument::new("BTC/USDT", "").unwrap(),
    };
    let frames = v.subscribe(CONN, &[topic], 0).unwrap();
    let text = std::str::from_utf8(&frames[0].data).unwrap().to_owned();
    assert_eq!(
        text,
        r#"{"method":"SUBSCRIPTION","params":["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"]}"#
    );
    v
}

fn items(levels: &[(&str, &str)]) -> Vec<PublicAggreDepthV3ApiItem> {
    levels
        .iter()
        .map(|(p, q)| PublicAggreDepthV3ApiItem {
            price: (*p).to_owned(),
            quantity: (*q).to_owned(),
        })
        .collect()
}

fn push(v: &mut Mexc, from: u64, to: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> Output {
    let wrapper = PushDataV3ApiWrapper {
        channel: "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT".to_owned(),
        body: Some(Body::PublicAggreDepths(PublicAggreDepthsV3Api {
            asks: items(asks),
            bids: items(bids),
            event_type: "spot@public.aggre.depth.v3.api.pb@100ms".to_owned(),
            from_version: from.to_string(),
            to_version: to.to_string(),
            last_order_create_time: 0,
        })),
        symbol: Some("BTCUSDT".to_owned()),
        symbol_id: None,
        create_time: None,
        send_time: Some(1_790_000_000_000 + to as i64),
    };
    let bytes = wrapper.encode_to_vec();
    let frame = InFrame {
        kind: FrameKind::Binary,
        data: RSlice::from_slice(&bytes),
    };
    v.on_frame(CONN, frame, 42).unwrap()
}

/// The one snapshot request in `out`.
fn snapshot_request(out: &Output) -> RestRequest {
    let requests: Vec<&RestRequest> = out
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Rest(r) if r.path == "/api/v3/depth" => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 1, "{:?}", out.actions);
    let r = requests[0].clone();
    assert_eq!(
        (r.method.as_str(), r.query.as_str()),
        ("GET", "symbol=BTCUSDT&limit=5000")
    );
    assert!(!r.signed);
    r
}

fn answer(v: &mut Mexc, req: &RestRequest, body: &str) -> Output {
    let response = RestResponse {
        tag: req.tag,
        status: 200,
        body: body.into(),
        error: "".into(),
    };
    v.on_rest_response(response, 99).unwrap()
}

/// A consumer's book built from Depth events.
#[derive(Default, Debug)]
struct Book {
    bids: BTreeMap<Num, Num>,
    asks: BTreeMap<Num, Num>,
    last_id: u64,
}

impl Book {
    fn apply(&mut self, events: &[Event]) {
        for e in events {
            let Event::Depth(u) = e else { continue };
            if u.snapshot {
                self.bids.clear();
                self.asks.clear();
            } else {
                assert!(u.first_id <= self.last_id + 1, "applied across a gap");
            }
            for (side, levels) in [(&mut self.bids, &u.bids), (&mut self.asks, &u.asks)] {
                for l in levels.iter() {
                    if l.qty.is_zero() {
                        side.remove(&l.price);
                    } else {
                        side.insert(l.price, l.qty);
                    }
                }
            }
            self.last_id = u.last_id;
        }
    }

    fn side(map: &BTreeMap<Num, Num>) -> Vec<(String, String)> {
        map.iter()
            .map(|(p, q)| (p.to_string(), q.to_string()))
            .collect()
    }
}

fn n(text: &str) -> (String, String) {
    let (p, q) = text.split_once(':').unwrap();
    (p.to_owned(), q.to_owned())
}

const SNAPSHOT_101: &str = r#"{"lastUpdateId":101,"bids":[["100.00","1.0"],["99.50","2.0"]],"asks":[["100.50","1.5"],["101.00","3.0"]]}"#;

#[test]
fn snapshot_and_contiguous_increments_build_the_book() {
    let mut v = venue();
    let out = push(&mut v, 100, 102, &[("100.00", "1.25")], &[]);
    assert!(out.events.is_empty(), "buffered until the snapshot");
    let req = snapshot_request(&out);
    let out = push(&mut v, 103, 103, &[("99.50", "0")], &[("100.50", "0.5")]);
    assert!(
        out.events.is_empty() && out.actions.is_empty(),
        "one snapshot request only"
    );

    let out = answer(&mut v, &req, SNAPSHOT_101);
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    let kinds: Vec<(bool, u64, u64)> = out
        .events
        .iter()
        .map(|e| match e {
            Event::Depth(u) => (u.snapshot, u.first_id, u.last_id),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [(true, 101, 101), (false, 100, 102), (false, 103, 103)]
    );
    let mut book = Book::default();
    book.apply(&out.events);

    let out = push(&mut v, 104, 105, &[("98.00", "4")], &[("101.00", "0")]);
    assert_eq!(out.events.len(), 1);
    book.apply(&out.events);
    assert_eq!(v.books().version("BTCUSDT"), Some(105));
    assert_eq!(book.last_id, 105);
    assert_eq!(Book::side(&book.bids), [n("98:4"), n("100:1.25")]);
    assert_eq!(Book::side(&book.asks), [n("100.5:0.5")]);
}

#[test]
fn skipped_version_emits_gap_and_requests_a_new_snapshot() {
    let mut v = venue();
    let req = snapshot_request(&push(&mut v, 101, 102, &[], &[]));
    answer(&mut v, &req, SNAPSHOT_101);
    assert_eq!(v.books().version("BTCUSDT"), Some(102));

    let out = push(&mut v, 104, 105, &[("1", "1")], &[]);
    let [Event::Gap(g)] = out.events.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(
        (g.reason, g.kind, g.last_id),
        (GapReason::SequenceGap, StreamKind::Depth, 102)
    );
    assert_eq!(g.instrument.symbol.as_str(), "BTC/USDT");
    let req = snapshot_request(&out);
    assert_eq!(v.books().version("BTCUSDT"), None);

    // The next snapshot resynchronizes; the buffered push 104..105 is replayed after it.
    let out = answer(&mut v, &req, r#"{"lastUpdateId":104,"bids":[],"asks":[]}"#);
    assert!(matches!(&out.events[0], Event::Depth(u) if u.snapshot && u.last_id == 104));
    assert!(matches!(&out.events[1], Event::Depth(u) if !u.snapshot && u.last_id == 105));
    assert_eq!(v.books().version("BTCUSDT"), Some(105));
}

#[test]
fn stale_pushes_are_dropped() {
    let mut v = venue();
    let req = snapshot_request(&push(&mut v, 90, 95, &[], &[]));
    let out = answer(&mut v, &req, SNAPSHOT_101);
    // 90..95 is older than the snapshot: only the snapshot is emitted.
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.rejects[0].reason.as_str(), "stale");
    for (from, to) in [(100, 101), (101, 101), (50, 60)] {
        let out = push(&mut v, from, to, &[("1", "1")], &[]);
        assert!(out.events.is_empty(), "{from}..{to}: {out:?}");
        assert_eq!(out.rejects[0].reason.as_str(), "stale");
    }
    assert_eq!(v.books().version("BTCUSDT"), Some(101));
    assert_eq!(push(&mut v, 102, 102, &[], &[]).events.len(), 1);
}

#[test]
fn snapshot_older_than_the_first_push_is_taken_again() {
    let mut v = venue();
    let req = snapshot_request(&push(&mut v, 200, 201, &[], &[]));
    let out = answer(&mut v, &req, SNAPSHOT_101);
    assert!(out.events.is_empty());
    let req = snapshot_request(&out);
    let out = answer(&mut v, &req, r#"{"lastUpdateId":200,"bids":[],"asks":[]}"#);
    assert_eq!(out.events.len(), 2);
    assert_eq!(v.books().version("BTCUSDT"), Some(201));
}

#[test]
fn failed_snapshot_is_retried_on_the_next_push() {
    let mut v = venue();
    let req = snapshot_request(&push(&mut v, 100, 101, &[], &[]));
    let response = RestResponse {
        tag: req.tag,
        status: 429,
        body: r#"{"code":429,"msg":"Too many requests"}"#.into(),
        error: "".into(),
    };
    let out = v.on_rest_response(response, 1).unwrap();
    assert_eq!(out.rejects[0].reason.as_str(), "rest_error");
    snapshot_request(&push(&mut v, 102, 102, &[], &[]));
}

#[test]
fn disconnect_emits_reconnect_gap_and_resyncs() {
    let mut v = venue();
    let req = snapshot_request(&push(&mut v, 101, 102, &[], &[]));
    answer(&mut v, &req, SNAPSHOT_101);
    let out = v.on_disconnected(CONN).unwrap();
    let [Event::Gap(g)] = out.events.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!((g.reason, g.last_id), (GapReason::Reconnect, 102));
    // After reconnect and resubscribe the first push asks for a new snapshot.
    v.on_connected(CONN, "public").unwrap();
    snapshot_request(&push(&mut v, 300, 301, &[], &[]));
}

#[test]
fn limit_depth_mode_subscribes_the_limit_channel() {
    let mut v =
        Mexc::new(Settings::parse(r#"{"depth":"limit","depth_levels":20}"#).unwrap()).unwrap();
    let topic = Topic {
        kind: StreamKind::Depth,
        instrument: Instrument::new("ETH/USDT", "ETHUSDT").unwrap(),
    };
    let frames = v.subscribe(CONN, &[topic], 0).unwrap();
    assert_eq!(
        std::str::from_utf8(&frames[0].data).unwrap(),
        r#"{"method":"SUBSCRIPTION","params":["spot@public.limit.depth.v3.api.pb@ETHUSDT@20"]}"#
    );
    assert_eq!(
        v.symbols().by_venue("ETHUSDT").unwrap().symbol.as_str(),
        "ETH/USDT"
    );
}
