//! The messages on the bus, for prost: declared field by field from `host/proto/bus.proto`
//! (the contract for clients in other languages), with the conversions from and to the
//! plugin API's events. Decimals travel as their exact text.

#![allow(missing_docs)] // one-to-one with host/proto/bus.proto, which documents each field

use abi_stable::std_types::{RString, RVec};
use plugin_api as api;
use plugin_api::{Num, StreamKind};

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Stamp {
    #[prost(uint64, tag = "1")]
    pub venue_ts_ms: u64,
    #[prost(uint64, tag = "2")]
    pub received_ns: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Instrument {
    #[prost(string, tag = "1")]
    pub symbol: String,
    #[prost(string, tag = "2")]
    pub venue_symbol: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BookTicker {
    #[prost(message, optional, tag = "1")]
    pub instrument: Option<Instrument>,
    #[prost(string, tag = "2")]
    pub bid_price: String,
    #[prost(string, tag = "3")]
    pub bid_qty: String,
    #[prost(string, tag = "4")]
    pub ask_price: String,
    #[prost(string, tag = "5")]
    pub ask_qty: String,
    #[prost(uint64, tag = "6")]
    pub update_id: u64,
    #[prost(message, optional, tag = "7")]
    pub stamp: Option<Stamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Trade {
    #[prost(message, optional, tag = "1")]
    pub instrument: Option<Instrument>,
    #[prost(string, tag = "2")]
    pub trade_id: String,
    #[prost(string, tag = "3")]
    pub price: String,
    #[prost(string, tag = "4")]
    pub qty: String,
    #[prost(int32, tag = "5")]
    pub side: i32,
    #[prost(uint64, tag = "6")]
    pub trade_ts_ms: u64,
    #[prost(message, optional, tag = "7")]
    pub stamp: Option<Stamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Level {
    #[prost(string, tag = "1")]
    pub price: String,
    #[prost(string, tag = "2")]
    pub qty: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Depth {
    #[prost(message, optional, tag = "1")]
    pub instrument: Option<Instrument>,
    #[prost(bool, tag = "2")]
    pub snapshot: bool,
    #[prost(uint64, tag = "3")]
    pub first_id: u64,
    #[prost(uint64, tag = "4")]
    pub last_id: u64,
    #[prost(message, repeated, tag = "5")]
    pub bids: Vec<Level>,
    #[prost(message, repeated, tag = "6")]
    pub asks: Vec<Level>,
    #[prost(message, optional, tag = "7")]
    pub stamp: Option<Stamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderUpdate {
    #[prost(message, optional, tag = "1")]
    pub instrument: Option<Instrument>,
    #[prost(string, tag = "2")]
    pub order_id: String,
    #[prost(string, tag = "3")]
    pub client_id: String,
    #[prost(int32, tag = "4")]
    pub side: i32,
    #[prost(string, tag = "5")]
    pub price: String,
    #[prost(string, tag = "6")]
    pub qty: String,
    #[prost(string, tag = "7")]
    pub filled_qty: String,
    #[prost(int32, tag = "8")]
    pub status: i32,
    #[prost(message, optional, tag = "9")]
    pub stamp: Option<Stamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Fill {
    #[prost(message, optional, tag = "1")]
    pub instrument: Option<Instrument>,
    #[prost(string, tag = "2")]
    pub order_id: String,
    #[prost(string, tag = "3")]
    pub trade_id: String,
    #[prost(int32, tag = "4")]
    pub side: i32,
    #[prost(string, tag = "5")]
    pub price: String,
    #[prost(string, tag = "6")]
    pub qty: String,
    #[prost(string, tag = "7")]
    pub fee: String,
    #[prost(string, tag = "8")]
    pub fee_asset: String,
    #[prost(uint64, tag = "9")]
    pub trade_ts_ms: u64,
    #[prost(message, optional, tag = "10")]
    pub stamp: Option<Stamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Balance {
    #[prost(string, tag = "1")]
    pub asset: String,
    #[prost(string, tag = "2")]
    pub available: String,
    #[prost(string, tag = "3")]
    pub locked: String,
    #[prost(message, optional, tag = "4")]
    pub stamp: Option<Stamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Gap {
    #[prost(message, optional, tag = "1")]
    pub instrument: Option<Instrument>,
    #[prost(string, tag = "2")]
    pub kind: String,
    #[prost(int32, tag = "3")]
    pub reason: i32,
    #[prost(uint64, tag = "4")]
    pub last_id: u64,
    #[prost(message, optional, tag = "5")]
    pub stamp: Option<Stamp>,
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct End {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Envelope {
    #[prost(uint64, tag = "1")]
    pub seq: u64,
    #[prost(string, tag = "2")]
    pub epoch: String,
    #[prost(uint64, tag = "3")]
    pub published_ns: u64,
    #[prost(oneof = "Body", tags = "10, 11, 12, 13, 14, 15, 16, 17")]
    pub body: Option<Body>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Body {
    #[prost(message, tag = "10")]
    BookTicker(BookTicker),
    #[prost(message, tag = "11")]
    Trade(Trade),
    #[prost(message, tag = "12")]
    Depth(Depth),
    #[prost(message, tag = "13")]
    Order(OrderUpdate),
    #[prost(message, tag = "14")]
    Fill(Fill),
    #[prost(message, tag = "15")]
    Balance(Balance),
    #[prost(message, tag = "16")]
    Gap(Gap),
    #[prost(message, tag = "17")]
    End(End),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NewOrder {
    #[prost(message, optional, tag = "1")]
    pub instrument: Option<Instrument>,
    #[prost(int32, tag = "2")]
    pub side: i32,
    #[prost(int32, tag = "3")]
    pub order_type: i32,
    #[prost(string, tag = "4")]
    pub price: String,
    #[prost(string, tag = "5")]
    pub qty: String,
    #[prost(string, tag = "6")]
    pub quote_qty: String,
    #[prost(string, tag = "7")]
    pub client_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PlacedOrder {
    #[prost(message, optional, tag = "1")]
    pub order: Option<NewOrder>,
    #[prost(uint64, tag = "2")]
    pub placed_ms: u64,
    #[prost(bool, tag = "3")]
    pub settled: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CancelOrder {
    #[prost(message, optional, tag = "1")]
    pub instrument: Option<Instrument>,
    #[prost(string, tag = "2")]
    pub order_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Topic {
    #[prost(string, tag = "1")]
    pub symbol: String,
    #[prost(string, tag = "2")]
    pub kind: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    #[prost(oneof = "Op", tags = "1, 2, 3, 4, 5")]
    pub op: Option<Op>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Op {
    #[prost(message, tag = "1")]
    Place(NewOrder),
    #[prost(message, tag = "2")]
    Cancel(CancelOrder),
    #[prost(string, tag = "3")]
    Instrument(String),
    #[prost(message, tag = "4")]
    Check(Topic),
    #[prost(bool, tag = "5")]
    Health(bool),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Reply {
    #[prost(oneof = "Outcome", tags = "1, 2, 3, 4, 5, 6")]
    pub outcome: Option<Outcome>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Outcome {
    #[prost(uint64, tag = "1")]
    Tag(u64),
    #[prost(string, tag = "2")]
    Error(String),
    #[prost(message, tag = "3")]
    Instrument(Instrument),
    #[prost(bool, tag = "4")]
    Ok(bool),
    #[prost(bool, tag = "5")]
    Duplicate(bool),
    #[prost(string, tag = "6")]
    HealthJson(String),
}

/// A message that decoded but does not make a valid event (a decimal that is no decimal, a
/// symbol too long, an unknown kind); the text says which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad {0} on the bus")]
pub struct BadField(pub &'static str);

fn text(n: Num) -> String {
    n.to_string()
}

fn num(s: &str, field: &'static str) -> Result<Num, BadField> {
    if s.is_empty() {
        return Ok(Num::ZERO);
    }
    Num::parse(s).map_err(|_| BadField(field))
}

fn stamp(s: api::Stamp) -> Option<Stamp> {
    Some(Stamp {
        venue_ts_ms: s.venue_ts_ms,
        received_ns: s.received_ns,
    })
}

fn from_stamp(s: Option<Stamp>) -> api::Stamp {
    let s = s.unwrap_or_default();
    api::Stamp {
        venue_ts_ms: s.venue_ts_ms,
        received_ns: s.received_ns,
    }
}

/// The wire form of an instrument.
pub fn instrument(i: &api::Instrument) -> Option<Instrument> {
    Some(Instrument {
        symbol: i.symbol.as_str().to_owned(),
        venue_symbol: i.venue_symbol.as_str().to_owned(),
    })
}

/// The instrument of a wire message (empty when absent).
pub fn from_instrument(i: Option<&Instrument>) -> Result<api::Instrument, BadField> {
    match i {
        None => Ok(api::Instrument::default()),
        Some(i) => api::Instrument::new(&i.symbol, &i.venue_symbol).ok_or(BadField("instrument")),
    }
}

fn side(s: api::Side) -> i32 {
    match s {
        api::Side::Buy => 0,
        api::Side::Sell => 1,
    }
}

fn from_side(s: i32) -> Result<api::Side, BadField> {
    match s {
        0 => Ok(api::Side::Buy),
        1 => Ok(api::Side::Sell),
        _ => Err(BadField("side")),
    }
}

fn status(s: api::OrderStatus) -> i32 {
    match s {
        api::OrderStatus::Open => 0,
        api::OrderStatus::Filled => 1,
        api::OrderStatus::Cancelled => 2,
        api::OrderStatus::Rejected => 3,
        api::OrderStatus::Unknown => 4,
    }
}

fn from_status(s: i32) -> Result<api::OrderStatus, BadField> {
    Ok(match s {
        0 => api::OrderStatus::Open,
        1 => api::OrderStatus::Filled,
        2 => api::OrderStatus::Cancelled,
        3 => api::OrderStatus::Rejected,
        4 => api::OrderStatus::Unknown,
        _ => return Err(BadField("order status")),
    })
}

fn reason(r: api::GapReason) -> i32 {
    match r {
        api::GapReason::Reconnect => 0,
        api::GapReason::SequenceGap => 1,
        api::GapReason::Reload => 2,
    }
}

fn from_reason(r: i32) -> Result<api::GapReason, BadField> {
    Ok(match r {
        0 => api::GapReason::Reconnect,
        1 => api::GapReason::SequenceGap,
        2 => api::GapReason::Reload,
        _ => return Err(BadField("gap reason")),
    })
}

fn levels(levels: &[api::Level]) -> Vec<Level> {
    levels
        .iter()
        .map(|l| Level {
            price: text(l.price),
            qty: text(l.qty),
        })
        .collect()
}

fn from_levels(levels: &[Level]) -> Result<RVec<api::Level>, BadField> {
    levels
        .iter()
        .map(|l| {
            Ok(api::Level {
                price: num(&l.price, "level price")?,
                qty: num(&l.qty, "level qty")?,
            })
        })
        .collect()
}

/// The wire body of an event.
pub fn body(event: &api::Event) -> Body {
    match event {
        api::Event::BookTicker(t) => Body::BookTicker(BookTicker {
            instrument: instrument(&t.instrument),
            bid_price: text(t.bid_price),
            bid_qty: text(t.bid_qty),
            ask_price: text(t.ask_price),
            ask_qty: text(t.ask_qty),
            update_id: t.update_id,
            stamp: stamp(t.stamp),
        }),
        api::Event::Trade(t) => Body::Trade(Trade {
            instrument: instrument(&t.instrument),
            trade_id: t.trade_id.to_string(),
            price: text(t.price),
            qty: text(t.qty),
            side: side(t.side),
            trade_ts_ms: t.trade_ts_ms,
            stamp: stamp(t.stamp),
        }),
        api::Event::Depth(d) => Body::Depth(Depth {
            instrument: instrument(&d.instrument),
            snapshot: d.snapshot,
            first_id: d.first_id,
            last_id: d.last_id,
            bids: levels(&d.bids),
            asks: levels(&d.asks),
            stamp: stamp(d.stamp),
        }),
        api::Event::Order(o) => Body::Order(OrderUpdate {
            instrument: instrument(&o.instrument),
            order_id: o.order_id.to_string(),
            client_id: o.client_id.to_string(),
            side: side(o.side),
            price: text(o.price),
            qty: text(o.qty),
            filled_qty: text(o.filled_qty),
            status: status(o.status),
            stamp: stamp(o.stamp),
        }),
        api::Event::Fill(f) => Body::Fill(Fill {
            instrument: instrument(&f.instrument),
            order_id: f.order_id.to_string(),
            trade_id: f.trade_id.to_string(),
            side: side(f.side),
            price: text(f.price),
            qty: text(f.qty),
            fee: text(f.fee),
            fee_asset: f.fee_asset.to_string(),
            trade_ts_ms: f.trade_ts_ms,
            stamp: stamp(f.stamp),
        }),
        api::Event::Balance(b) => Body::Balance(Balance {
            asset: b.asset.to_string(),
            available: text(b.available),
            locked: text(b.locked),
            stamp: stamp(b.stamp),
        }),
        api::Event::Gap(g) => Body::Gap(Gap {
            instrument: instrument(&g.instrument),
            kind: g.kind.name().to_owned(),
            reason: reason(g.reason),
            last_id: g.last_id,
            stamp: stamp(g.stamp),
        }),
    }
}

/// The event a wire body carries; `Ok(None)` for an end marker.
pub fn event(body: &Body) -> Result<Option<api::Event>, BadField> {
    let i = from_instrument;
    Ok(Some(match body {
        Body::BookTicker(t) => api::Event::BookTicker(api::BookTicker {
            instrument: i(t.instrument.as_ref())?,
            bid_price: num(&t.bid_price, "bid price")?,
            bid_qty: num(&t.bid_qty, "bid qty")?,
            ask_price: num(&t.ask_price, "ask price")?,
            ask_qty: num(&t.ask_qty, "ask qty")?,
            update_id: t.update_id,
            stamp: from_stamp(t.stamp),
        }),
        Body::Trade(t) => api::Event::Trade(api::Trade {
            instrument: i(t.instrument.as_ref())?,
            trade_id: RString::from(t.trade_id.as_str()),
            price: num(&t.price, "price")?,
            qty: num(&t.qty, "qty")?,
            side: from_side(t.side)?,
            trade_ts_ms: t.trade_ts_ms,
            stamp: from_stamp(t.stamp),
        }),
        Body::Depth(d) => api::Event::Depth(api::DepthUpdate {
            instrument: i(d.instrument.as_ref())?,
            snapshot: d.snapshot,
            first_id: d.first_id,
            last_id: d.last_id,
            bids: from_levels(&d.bids)?,
            asks: from_levels(&d.asks)?,
            stamp: from_stamp(d.stamp),
        }),
        Body::Order(o) => api::Event::Order(api::OrderUpdate {
            instrument: i(o.instrument.as_ref())?,
            order_id: RString::from(o.order_id.as_str()),
            client_id: RString::from(o.client_id.as_str()),
            side: from_side(o.side)?,
            price: num(&o.price, "price")?,
            qty: num(&o.qty, "qty")?,
            filled_qty: num(&o.filled_qty, "filled qty")?,
            status: from_status(o.status)?,
            stamp: from_stamp(o.stamp),
        }),
        Body::Fill(f) => api::Event::Fill(api::Fill {
            instrument: i(f.instrument.as_ref())?,
            order_id: RString::from(f.order_id.as_str()),
            trade_id: RString::from(f.trade_id.as_str()),
            side: from_side(f.side)?,
            price: num(&f.price, "price")?,
            qty: num(&f.qty, "qty")?,
            fee: num(&f.fee, "fee")?,
            fee_asset: RString::from(f.fee_asset.as_str()),
            trade_ts_ms: f.trade_ts_ms,
            stamp: from_stamp(f.stamp),
        }),
        Body::Balance(b) => api::Event::Balance(api::Balance {
            asset: RString::from(b.asset.as_str()),
            available: num(&b.available, "available")?,
            locked: num(&b.locked, "locked")?,
            stamp: from_stamp(b.stamp),
        }),
        Body::Gap(g) => api::Event::Gap(api::Gap {
            instrument: i(g.instrument.as_ref())?,
            kind: StreamKind::from_name(&g.kind).ok_or(BadField("gap kind"))?,
            reason: from_reason(g.reason)?,
            last_id: g.last_id,
            stamp: from_stamp(g.stamp),
        }),
        Body::End(_) => return Ok(None),
    }))
}

/// The wire form of an order.
pub fn new_order(o: &api::NewOrder) -> NewOrder {
    NewOrder {
        instrument: instrument(&o.instrument),
        side: side(o.side),
        order_type: match o.order_type {
            api::OrderType::Limit => 0,
            api::OrderType::Market => 1,
        },
        price: text(o.price),
        qty: text(o.qty),
        quote_qty: text(o.quote_qty),
        client_id: o.client_id.to_string(),
    }
}

/// The order a wire message asks for.
pub fn from_new_order(o: &NewOrder) -> Result<api::NewOrder, BadField> {
    Ok(api::NewOrder {
        instrument: from_instrument(o.instrument.as_ref())?,
        side: from_side(o.side)?,
        order_type: match o.order_type {
            0 => api::OrderType::Limit,
            1 => api::OrderType::Market,
            _ => return Err(BadField("order type")),
        },
        price: num(&o.price, "price")?,
        qty: num(&o.qty, "qty")?,
        quote_qty: num(&o.quote_qty, "quote qty")?,
        client_id: RString::from(o.client_id.as_str()),
    })
}

/// The wire form of a cancel.
pub fn cancel_order(c: &api::CancelOrder) -> CancelOrder {
    CancelOrder {
        instrument: instrument(&c.instrument),
        order_id: c.order_id.to_string(),
    }
}

/// The cancel a wire message asks for.
pub fn from_cancel_order(c: &CancelOrder) -> Result<api::CancelOrder, BadField> {
    Ok(api::CancelOrder {
        instrument: from_instrument(c.instrument.as_ref())?,
        order_id: RString::from(c.order_id.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn round_trip(sent: api::Event) {
        let envelope = Envelope {
            seq: 7,
            epoch: "h1".into(),
            published_ns: 1,
            body: Some(body(&sent)),
        };
        let bytes = envelope.encode_to_vec();
        let back = Envelope::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.seq, 7);
        assert_eq!(event(&back.body.unwrap()).unwrap(), Some(sent));
    }

    fn btc() -> api::Instrument {
        api::Instrument::new("BTC/USDT", "BTC_USDT").unwrap()
    }

    fn n(s: &str) -> Num {
        Num::parse(s).unwrap()
    }

    #[test]
    fn every_event_survives_the_wire_exactly() {
        let stamp = api::Stamp {
            venue_ts_ms: 1_700_000_000_000,
            received_ns: 1_700_000_000_000_000_123,
        };
        round_trip(api::Event::BookTicker(api::BookTicker {
            instrument: btc(),
            bid_price: n("84270.01"),
            bid_qty: n("0.00638700"),
            ask_price: n("84270.02"),
            ask_qty: n("1"),
            update_id: 42,
            stamp,
        }));
        round_trip(api::Event::Trade(api::Trade {
            instrument: btc(),
            trade_id: "t1".into(),
            price: n("1.5"),
            qty: n("2"),
            side: api::Side::Sell,
            trade_ts_ms: 5,
            stamp,
        }));
        round_trip(api::Event::Depth(api::DepthUpdate {
            instrument: btc(),
            snapshot: true,
            first_id: 1,
            last_id: 9,
            bids: vec![api::Level {
                price: n("1"),
                qty: n("0"),
            }]
            .into(),
            asks: RVec::new(),
            stamp,
        }));
        round_trip(api::Event::Order(api::OrderUpdate {
            instrument: btc(),
            order_id: "o1".into(),
            client_id: "c1".into(),
            side: api::Side::Buy,
            price: n("3"),
            qty: n("4"),
            filled_qty: n("0.5"),
            status: api::OrderStatus::Unknown,
            stamp,
        }));
        round_trip(api::Event::Fill(api::Fill {
            instrument: btc(),
            order_id: "o1".into(),
            trade_id: "f1".into(),
            side: api::Side::Buy,
            price: n("3"),
            qty: n("0.5"),
            fee: n("0.001"),
            fee_asset: "BTC".into(),
            trade_ts_ms: 6,
            stamp,
        }));
        round_trip(api::Event::Balance(api::Balance {
            asset: "USDT".into(),
            available: n("1000"),
            locked: n("0"),
            stamp,
        }));
        round_trip(api::Event::Gap(api::Gap {
            instrument: btc(),
            kind: StreamKind::Depth,
            reason: api::GapReason::SequenceGap,
            last_id: 8,
            stamp,
        }));
    }

    #[test]
    fn a_field_that_is_no_decimal_is_named() {
        let bad = Body::Balance(Balance {
            asset: "USDT".into(),
            available: "1e3".into(),
            locked: String::new(),
            stamp: None,
        });
        assert_eq!(event(&bad), Err(BadField("available")));
        assert_eq!(event(&Body::End(End {})), Ok(None));
    }

    #[test]
    fn orders_survive_the_wire() {
        let order = api::NewOrder {
            instrument: btc(),
            side: api::Side::Sell,
            order_type: api::OrderType::Market,
            price: Num::ZERO,
            qty: n("0.25"),
            quote_qty: Num::ZERO,
            client_id: "arb-1-a".into(),
        };
        assert_eq!(from_new_order(&new_order(&order)).unwrap(), order);
        let cancel = api::CancelOrder {
            instrument: btc(),
            order_id: "9".into(),
        };
        assert_eq!(from_cancel_order(&cancel_order(&cancel)).unwrap(), cancel);
    }
}
