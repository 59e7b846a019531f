//! The real cryptofeed capture (REST snapshots + `spot.order_book_update`) replays into the
//! same books as an independent reference; a dropped update yields a gap and a resync.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::*;
use gateio_plugin::book::SUPERSEDED;
use gateio_plugin::GateioVenue;
use plugin_api::{ConnId, Decimal, Event, GapReason, Instrument, Output, StreamKind, Topic, Venue};
use serde_json::Value;

const DIR: &str = "captures/cryptofeed_2021-04-22/";

/// The tiny reference: absolute levels, zero deletes.
#[derive(Default, Clone, PartialEq, Debug)]
struct RefBook {
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str_exact(v.as_str().unwrap()).unwrap()
}

impl RefBook {
    fn apply(&mut self, side: &str, levels: &Value) {
        let map = if side == "b" || side == "bids" {
            &mut self.bids
        } else {
            &mut self.asks
        };
        for l in levels.as_array().unwrap() {
            let (p, q) = (dec(&l[0]), dec(&l[1]));
            if q.is_zero() {
                map.remove(&p);
            } else {
                map.insert(p, q);
            }
        }
    }
    fn from_snapshot(body: &Value) -> RefBook {
        let mut b = RefBook::default();
        b.apply("bids", &body["bids"]);
        b.apply("asks", &body["asks"]);
        b
    }
    fn to_snapshot_body(&self, id: u64) -> String {
        let side = |m: &BTreeMap<Decimal, Decimal>, rev: bool| {
            let mut v: Vec<Value> = m
                .iter()
                .map(|(p, q)| serde_json::json!([p.to_string(), q.to_string()]))
                .collect();
            if rev {
                v.reverse();
            }
            v
        };
        serde_json::json!({"id": id, "current": 1, "update": 1,
            "bids": side(&self.bids, true), "asks": side(&self.asks, false)})
        .to_string()
    }
}

fn plugin_book(v: &GateioVenue, pair: &str) -> Option<RefBook> {
    let b = v.book(pair)?;
    Some(RefBook {
        bids: b
            .bids()
            .into_iter()
            .map(|(p, q)| (p.to_decimal(), q.to_decimal()))
            .collect(),
        asks: b
            .asks()
            .into_iter()
            .map(|(p, q)| (p.to_decimal(), q.to_decimal()))
            .collect(),
    })
}

/// A consumer rebuilding the book from the plugin's Depth events alone.
fn consume(events: &[Event], books: &mut HashMap<String, RefBook>) {
    for e in events {
        if let Event::Depth(d) = e {
            let b = books
                .entry(d.instrument.venue_symbol.to_string())
                .or_default();
            if d.snapshot {
                *b = RefBook::default();
            }
            for (levels, map) in [(&d.bids, &mut b.bids), (&d.asks, &mut b.asks)] {
                for l in levels.iter() {
                    if l.qty.is_zero() {
                        map.remove(&l.price.to_decimal());
                    } else {
                        map.insert(l.price.to_decimal(), l.qty.to_decimal());
                    }
                }
            }
        }
    }
}

enum Item {
    Ws(Value),
    Rest(String, Value),
}

fn load() -> Vec<(f64, Item)> {
    let mut items = Vec::new();
    for v in jsonl(&format!("{DIR}ws_spot_order_book_update.jsonl")) {
        if v["dir"] == "in" && v["raw"]["event"] == "update" {
            items.push((v["local_ts"].as_f64().unwrap(), Item::Ws(v["raw"].clone())));
        }
    }
    for v in jsonl(&format!("{DIR}rest_spot_order_book_with_id.jsonl")) {
        let url = v["url"].as_str().unwrap();
        let pair = url
            .split("currency_pair=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        items.push((
            v["local_ts"].as_f64().unwrap(),
            Item::Rest(pair.to_owned(), v["body"].clone()),
        ));
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    items
}

fn pairs() -> Vec<String> {
    jsonl(&format!("{DIR}rest_spot_order_book_with_id.jsonl"))
        .iter()
        .map(|v| {
            let url = v["url"].as_str().unwrap();
            url.split("currency_pair=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

struct Harness {
    venue: GateioVenue,
    conn: ConnId,
    /// Pair → tag of the snapshot request the plugin made and we have not answered.
    asked: HashMap<String, u64>,
    /// Snapshots recorded but not yet asked for.
    recorded: HashMap<String, Value>,
    /// Reference state: (snapshot id, book) once the snapshot is delivered.
    reference: HashMap<String, (u64, RefBook)>,
    /// All updates seen per pair, for rebuilding the reference at snapshot time.
    seen: HashMap<String, Vec<Value>>,
    consumer: HashMap<String, RefBook>,
    events: Vec<Event>,
    compared: usize,
    superseded: usize,
}

impl Harness {
    fn new() -> Harness {
        let mut venue = venue();
        let conn = ConnId(7);
        venue.on_connected(conn, "public").unwrap();
        let topics: Vec<Topic> = pairs()
            .iter()
            .map(|p| Topic {
                kind: StreamKind::Depth,
                instrument: Instrument::new("", p).unwrap(),
            })
            .collect();
        let frames = venue.subscribe(conn, &topics, 0).unwrap();
        assert_eq!(frames.len(), 10);
        Harness {
            venue,
            conn,
            asked: HashMap::new(),
            recorded: HashMap::new(),
            reference: HashMap::new(),
            seen: HashMap::new(),
            consumer: HashMap::new(),
            events: Vec::new(),
            compared: 0,
            superseded: 0,
        }
    }

    fn absorb(&mut self, out: Output) {
        for r in rest_requests(&out) {
            assert_eq!(r.path.as_str(), "/api/v4/spot/order_book");
            let pair = r
                .query
                .split('&')
                .next()
                .unwrap()
                .trim_start_matches("currency_pair=");
            assert!(r.query.ends_with("&limit=100&with_id=true"), "{}", r.query);
            self.asked.insert(pair.to_owned(), r.tag);
        }
        consume(&out.events, &mut self.consumer);
        self.events.extend(out.events);
    }

    fn answer(&mut self, pair: &str, body: &Value) {
        let tag = self.asked.remove(pair).expect("asked");
        let out = respond(&mut self.venue, tag, 200, &body.to_string());
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
        self.absorb(out);
        let id = body["id"].as_u64().unwrap();
        let mut r = RefBook::from_snapshot(body);
        for u in self.seen.get(pair).into_iter().flatten() {
            if u["u"].as_u64().unwrap() > id {
                r.apply("b", &u["b"]);
                r.apply("a", &u["a"]);
            }
        }
        self.reference.insert(pair.to_owned(), (id, r));
        self.compare(pair);
    }

    fn compare(&mut self, pair: &str) {
        if let Some((_, r)) = self.reference.get(pair) {
            let mine = plugin_book(&self.venue, pair).expect("plugin book in sync");
            assert_eq!(&mine, r, "{pair}");
            assert_eq!(
                self.consumer.get(pair),
                Some(r),
                "{pair}: events rebuild the book"
            );
            self.compared += 1;
        }
    }

    fn update(&mut self, raw: &Value) {
        let res = &raw["result"];
        let pair = res["s"].as_str().unwrap().to_owned();
        self.seen.entry(pair.clone()).or_default().push(res.clone());
        let out = frame(&mut self.venue, self.conn, &raw.to_string(), 1);
        // Updates the snapshot already holds may still arrive after it: counted, not applied.
        assert!(
            out.rejects.iter().all(|r| r.reason.as_str() == SUPERSEDED),
            "{:?}",
            out.rejects
        );
        self.superseded += out.rejects.len();
        self.absorb(out);
        if let Some((id, r)) = self.reference.get_mut(&pair) {
            if res["u"].as_u64().unwrap() > *id {
                r.apply("b", &res["b"]);
                r.apply("a", &res["a"]);
            }
        }
        self.compare(&pair);
        if let Some(body) = self.recorded.remove(&pair) {
            if self.asked.contains_key(&pair) {
                self.answer(&pair, &body);
            } else {
                self.recorded.insert(pair, body);
            }
        }
    }

    fn snapshot(&mut self, pair: &str, body: Value) {
        if self.asked.contains_key(pair) {
            self.answer(pair, &body);
        } else {
            self.recorded.insert(pair.to_owned(), body);
        }
    }
}

#[test]
fn capture_replays_into_reference_books() {
    let mut h = Harness::new();
    for (_, item) in load() {
        match item {
            Item::Ws(raw) => h.update(&raw),
            Item::Rest(pair, body) => h.snapshot(&pair, body),
        }
    }
    for pair in pairs() {
        assert!(h.reference.contains_key(&pair), "{pair} never synced");
        assert!(h.venue.book(&pair).is_some(), "{pair}");
    }
    assert!(h.events.iter().all(|e| !matches!(e, Event::Gap(_))));
    assert!(h.compared > 150, "compared only {}", h.compared);
    assert!(
        h.superseded > 0,
        "the capture has late updates older than the snapshot"
    );
    // Every Depth increment after sync carries its U/u range and the venue time.
    let incs = h
        .events
        .iter()
        .filter(|e| matches!(e, Event::Depth(d) if !d.snapshot))
        .count();
    assert!(incs > 100);
}

#[test]
fn dropped_update_yields_gap_and_resync() {
    let mut h = Harness::new();
    let items = load();
    let target = "DIS_USDT";
    let mut dropped = false;
    let mut after_gap = 0;
    for (_, item) in items {
        match item {
            Item::Ws(raw) => {
                let s = raw["result"]["s"].as_str().unwrap();
                if s == target && !dropped && h.reference.contains_key(target) {
                    // Drop this update: the plugin never sees it, the reference does.
                    dropped = true;
                    let res = raw["result"].clone();
                    let (id, r) = h.reference.get_mut(target).unwrap();
                    r.apply("b", &res["b"]);
                    r.apply("a", &res["a"]);
                    let _ = id;
                    h.seen.entry(target.to_owned()).or_default().push(res);
                    continue;
                }
                if s == target && dropped && after_gap == 0 {
                    let before = h.events.len();
                    let res = raw["result"].clone();
                    h.seen
                        .entry(target.to_owned())
                        .or_default()
                        .push(res.clone());
                    let out = frame(&mut h.venue, h.conn, &raw.to_string(), 1);
                    let gap = out.events.iter().find_map(|e| match e {
                        Event::Gap(g) => Some(g.clone()),
                        _ => None,
                    });
                    let g = gap.expect("gap event");
                    assert_eq!(
                        (g.reason, g.kind),
                        (GapReason::SequenceGap, StreamKind::Depth)
                    );
                    assert_eq!(g.instrument.venue_symbol.as_str(), target);
                    let reqs = rest_requests(&out);
                    assert_eq!(reqs.len(), 1, "one new snapshot request");
                    assert!(reqs[0].query.starts_with("currency_pair=DIS_USDT&"));
                    h.absorb(out);
                    assert!(h.events.len() > before);
                    assert!(
                        h.venue.book(target).is_none(),
                        "unsynced until the snapshot"
                    );
                    // The venue answers with the true book at the current id.
                    let (_, r) = h.reference.get_mut(target).unwrap();
                    r.apply("b", &res["b"]);
                    r.apply("a", &res["a"]);
                    let body: Value =
                        serde_json::from_str(&r.to_snapshot_body(res["u"].as_u64().unwrap()))
                            .unwrap();
                    h.seen.remove(target);
                    h.answer(target, &body);
                    after_gap = 1;
                    continue;
                }
                if s == target && after_gap > 0 {
                    after_gap += 1;
                }
                h.update(&raw);
            }
            Item::Rest(pair, body) => h.snapshot(&pair, body),
        }
    }
    assert!(
        dropped && after_gap > 2,
        "gap scenario exercised ({after_gap})"
    );
}

#[test]
fn disconnect_resets_books_and_full_message_replaces() {
    let mut h = Harness::new();
    for (_, item) in load() {
        match item {
            Item::Ws(raw) => h.update(&raw),
            Item::Rest(pair, body) => h.snapshot(&pair, body),
        }
    }
    assert!(h.venue.book("HAI_ETH").is_some());
    h.venue.on_disconnected(h.conn).unwrap();
    assert!(h.venue.book("HAI_ETH").is_none());
    let full = r#"{"time":1,"channel":"spot.order_book_update","event":"update","result":{"t":5,"full":true,"s":"HAI_ETH","U":1,"u":9,"b":[["1.5","2"]],"a":[["1.6","3"]]}}"#;
    let out = frame(&mut h.venue, ConnId(8), full, 1);
    assert!(matches!(&out.events[0], Event::Depth(d) if d.snapshot && d.last_id == 9));
    let b = h.venue.book("HAI_ETH").unwrap();
    assert_eq!((b.bids().len(), b.asks().len(), b.last_id()), (1, 1, 9));
    // An older increment is counted as out of order, a later one applies.
    let old = full
        .replace(r#""full":true,"#, "")
        .replace(r#""U":1,"u":9"#, r#""U":3,"u":4"#);
    assert_eq!(
        frame(&mut h.venue, ConnId(8), &old, 1).rejects[0]
            .reason
            .as_str(),
        SUPERSEDED
    );
    let next = full
        .replace(r#""full":true,"#, "")
        .replace(r#""U":1,"u":9"#, r#""U":10,"u":10"#);
    let out = frame(&mut h.venue, ConnId(8), &next, 1);
    assert!(matches!(&out.events[0], Event::Depth(d) if !d.snapshot && d.first_id == 10));
    let replay = frame(&mut h.venue, ConnId(8), &next, 1);
    assert_eq!(replay.rejects[0].reason.as_str(), "out_of_order");
    assert!(replay.events.is_empty());
}
