//! Pure parsing: one received websocket frame → a classified, normalized [`Parsed`] value.
//!
//! Nothing here holds state; the order-book sequencing lives in [`crate::book`].

use std::borrow::Cow;
use std::fmt;

use abi_stable::std_types::{RString, RVec};
use plugin_api::{
    Balance, BookTicker, DepthUpdate, Fill, Instrument, Level, Num, OrderStatus, OrderUpdate, Side,
    Stamp, Trade,
};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

mod hot;

/// What a frame turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<'a> {
    /// `spot.book_ticker` update.
    BookTicker(BookTicker),
    /// `spot.trades` update.
    Trade(Trade),
    /// `spot.order_book_update` update, not yet sequenced (`snapshot` is the `full` flag).
    Depth(DepthUpdate),
    /// `spot.orders` update (one or more orders).
    Orders(Vec<OrderUpdate>),
    /// `spot.usertrades` update.
    Fills(Vec<Fill>),
    /// `spot.balances` update.
    Balances(Vec<Balance>),
    /// A successful subscribe/unsubscribe acknowledgement.
    Ack {
        /// Channel acknowledged.
        channel: &'a str,
    },
    /// `spot.pong`.
    Pong,
    /// The venue reported an error (`error` object, or `status` other than success).
    VenueError {
        /// Channel concerned.
        channel: &'a str,
        /// Gate's error code (0 if none was given).
        code: i64,
        /// Gate's message.
        message: String,
    },
    /// A channel Gate documents but this plugin does not consume (tickers, candlesticks,
    /// limited-level snapshots, order book v2, margin/funding balances, websocket trading API).
    Unsupported {
        /// The channel.
        channel: &'a str,
    },
    /// A client request (subscribe/api with no `result`): never expected from the server.
    Request {
        /// The channel.
        channel: &'a str,
    },
}

/// Why a frame could not be classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not valid JSON, or a field is missing or has the wrong type or value.
    Malformed(String),
    /// A well-formed frame on a channel this plugin does not know.
    UnknownChannel(String),
}

impl ParseError {
    /// The stable reject reason (`malformed`, `unknown_channel`).
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::Malformed(_) => "malformed",
            ParseError::UnknownChannel(_) => "unknown_channel",
        }
    }

    /// Detail text for the reject, at most 200 bytes.
    pub fn detail(&self) -> String {
        let text = match self {
            ParseError::Malformed(d) => d.as_str(),
            ParseError::UnknownChannel(c) => c.as_str(),
        };
        truncate(text, 200).to_owned()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason(), self.detail())
    }
}

pub use plugin_api::kit::output::truncate;

fn malformed(what: impl fmt::Display) -> ParseError {
    ParseError::Malformed(truncate(&what.to_string(), 200).to_owned())
}

/// Channels Gate documents that this plugin deliberately does not consume.
const UNSUPPORTED: &[&str] = &[
    "spot.tickers",
    "spot.candlesticks",
    "spot.order_book",
    "spot.obu",
    "spot.trades_v2",
    "spot.orders_v2",
    "spot.usertrades_v2",
    "spot.margin_balances",
    "spot.funding_balances",
    "spot.cross_balances",
    "spot.cross_loan",
    "spot.priceorders",
    "spot.login",
    "spot.order_place",
    "spot.order_cancel",
    "spot.order_cancel_ids",
    "spot.order_cancel_cp",
    "spot.order_amend",
    "spot.order_status",
    "spot.order_list",
];

/// The envelope as `serde` derives it, `result` kept raw: the two-pass reference parse.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    channel: Option<&'a str>,
    #[serde(borrow, default)]
    event: Option<&'a str>,
    #[serde(default)]
    time: Option<u64>,
    #[serde(default)]
    time_ms: Option<u64>,
    #[serde(borrow, default)]
    error: Option<WsError<'a>>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    header: Option<ApiHeader<'a>>,
}

#[derive(Deserialize)]
struct WsError<'a> {
    #[serde(default)]
    code: i64,
    #[serde(borrow, default)]
    message: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ApiHeader<'a> {
    #[serde(borrow)]
    channel: &'a str,
}

#[derive(Deserialize)]
struct AckResult<'a> {
    #[serde(borrow, default)]
    status: Option<&'a str>,
}

/// A frame's envelope with its `result` as far as the parse that read it settled it.
struct Frame<'a> {
    channel: Option<&'a str>,
    event: Option<&'a str>,
    time: Option<u64>,
    time_ms: Option<u64>,
    error: Option<WsError<'a>>,
    result: Body<'a>,
    header: Option<ApiHeader<'a>>,
}

/// `result`: absent (or `null`), raw (to parse once the envelope is known), or already typed
/// by the one-pass reader of the hot market-data channels.
enum Body<'a> {
    Absent,
    Raw(&'a RawValue),
    BookTicker(RawBookTicker<'a>),
    Trade(RawTrade<'a>),
    Depth(RawDepth<'a>),
}

impl<'a> From<Envelope<'a>> for Frame<'a> {
    fn from(env: Envelope<'a>) -> Frame<'a> {
        Frame {
            channel: env.channel,
            event: env.event,
            time: env.time,
            time_ms: env.time_ms,
            error: env.error,
            result: env.result.map_or(Body::Absent, Body::Raw),
            header: env.header,
        }
    }
}

impl<'a> Body<'a> {
    fn is_absent(&self) -> bool {
        matches!(self, Body::Absent)
    }

    /// The raw result parsed as `T`, or `T` as the one pass typed it (`pick`).
    fn take<T: Deserialize<'a>>(self, pick: fn(Body<'a>) -> Option<T>) -> Result<T, ParseError> {
        match self {
            Body::Absent => Err(malformed("missing result")),
            Body::Raw(raw) => serde_json::from_str(raw.get()).map_err(malformed),
            // The hot reader types `result` only after it has seen this very channel, so a
            // mismatch cannot happen; it is still an error rather than a panic.
            typed => pick(typed).ok_or_else(|| malformed("result typed for another channel")),
        }
    }
}

/// Parses one text frame. `received_ns` goes into every event's [`Stamp`].
///
/// Book ticker, trade and depth updates are read in one pass over the bytes ([`hot`]);
/// anything else, or anything unusual about them, goes to [`parse_frame_two_pass`], and the
/// result is always the same as that reference's.
pub fn parse_frame(data: &[u8], received_ns: u64) -> Result<Parsed<'_>, ParseError> {
    match hot::frame(data) {
        Some(frame) => classify(frame, received_ns),
        None => parse_frame_two_pass(data, received_ns),
    }
}

/// The reference parse: the envelope with `result` raw, then `result` again once the
/// channel is known. Slower than [`parse_frame`] and defines its outcome.
pub fn parse_frame_two_pass(data: &[u8], received_ns: u64) -> Result<Parsed<'_>, ParseError> {
    let env: Envelope<'_> = serde_json::from_slice(data).map_err(malformed)?;
    classify(env.into(), received_ns)
}

/// Classifies a parsed envelope and normalizes its result.
fn classify(env: Frame<'_>, received_ns: u64) -> Result<Parsed<'_>, ParseError> {
    let Some(channel) = env.channel else {
        if let Some(h) = env.header {
            if UNSUPPORTED.contains(&h.channel) {
                return Ok(Parsed::Unsupported { channel: h.channel });
            }
            return Err(ParseError::UnknownChannel(h.channel.to_owned()));
        }
        return Err(malformed("frame has no channel"));
    };
    if channel == "spot.pong" {
        return Ok(Parsed::Pong);
    }
    if let Some(err) = env.error {
        return Ok(Parsed::VenueError {
            channel,
            code: err.code,
            message: truncate(&err.message, 200).to_owned(),
        });
    }
    let fallback_ms = env
        .time_ms
        .or_else(|| env.time.map(|t| t.saturating_mul(1000)))
        .unwrap_or(0);
    let result = env.result;
    match env.event {
        Some("subscribe") | Some("unsubscribe") | Some("api") | None if result.is_absent() => {
            return Ok(Parsed::Request { channel });
        }
        Some("subscribe") | Some("unsubscribe") => {
            let ack: AckResult<'_> = result.take(|_| None)?;
            return match ack.status {
                Some("success") => Ok(Parsed::Ack { channel }),
                other => Ok(Parsed::VenueError {
                    channel,
                    code: 0,
                    message: format!("status {}", other.unwrap_or("missing")),
                }),
            };
        }
        Some("update") | Some("all") | None => {}
        Some(other) => {
            if channel == "spot.ping" {
                return Ok(Parsed::Request { channel });
            }
            return Err(malformed(format_args!("unexpected event {other:?}")));
        }
    }
    let stamp = |venue_ts_ms: u64| Stamp {
        venue_ts_ms,
        received_ns,
    };
    match channel {
        "spot.book_ticker" => {
            let r = result.take(|b| match b {
                Body::BookTicker(r) => Some(r),
                _ => None,
            })?;
            Ok(Parsed::BookTicker(BookTicker {
                instrument: instrument(r.s)?,
                bid_price: num(r.b)?,
                bid_qty: num(r.bq)?,
                ask_price: num(r.a)?,
                ask_qty: num(r.aq)?,
                update_id: r.u,
                stamp: stamp(r.t.unwrap_or(fallback_ms)),
            }))
        }
        "spot.trades" => {
            let r = result.take(|b| match b {
                Body::Trade(r) => Some(r),
                _ => None,
            })?;
            let trade_ts_ms = r
                .create_time_ms
                .and_then(raw_ms)
                .or(r.create_time.map(|s| s.saturating_mul(1000)))
                .unwrap_or(0);
            Ok(Parsed::Trade(Trade {
                instrument: instrument(r.currency_pair)?,
                trade_id: raw_text(r.id).into(),
                price: num(r.price)?,
                qty: num(r.amount)?,
                side: side(r.side)?,
                trade_ts_ms,
                stamp: stamp(fallback_ms),
            }))
        }
        "spot.order_book_update" => {
            let r = result.take(|b| match b {
                Body::Depth(r) => Some(r),
                _ => None,
            })?;
            if r.first > r.last {
                return Err(malformed(format_args!("U {} > u {}", r.first, r.last)));
            }
            Ok(Parsed::Depth(DepthUpdate {
                instrument: instrument(r.s)?,
                snapshot: r.full,
                first_id: r.first,
                last_id: r.last,
                bids: r.b.0,
                asks: r.a.0,
                stamp: stamp(r.t.unwrap_or(fallback_ms)),
            }))
        }
        "spot.orders" => {
            let list: Vec<RawOrder<'_>> = result.take(|_| None)?;
            let orders = list
                .iter()
                .map(|o| order_update(o, fallback_ms, received_ns))
                .collect::<Result<_, _>>()?;
            Ok(Parsed::Orders(orders))
        }
        "spot.usertrades" => {
            let list: Vec<RawUserTrade<'_>> = result.take(|_| None)?;
            let fills = list
                .iter()
                .map(|t| fill(t, fallback_ms, received_ns))
                .collect::<Result<_, _>>()?;
            Ok(Parsed::Fills(fills))
        }
        "spot.balances" => {
            let list: Vec<RawBalance<'_>> = result.take(|_| None)?;
            let balances = list
                .iter()
                .map(|b| {
                    Ok(Balance {
                        asset: b.currency.as_ref().into(),
                        available: num(b.available)?,
                        locked: num(b.freeze.unwrap_or("0"))?,
                        stamp: stamp(b.timestamp_ms.and_then(raw_ms).unwrap_or(fallback_ms)),
                    })
                })
                .collect::<Result<_, ParseError>>()?;
            Ok(Parsed::Balances(balances))
        }
        c if UNSUPPORTED.contains(&c) => Ok(Parsed::Unsupported { channel }),
        c => Err(ParseError::UnknownChannel(truncate(c, 64).to_owned())),
    }
}

/// A venue pair → instrument, or a malformed error.
pub(crate) fn instrument(pair: &str) -> Result<Instrument, ParseError> {
    crate::PAIRS
        .from_venue(pair)
        .ok_or_else(|| malformed(format_args!("bad currency pair {pair:?}")))
}

/// An exact decimal, or a malformed error. Empty text (market order price) is zero.
pub(crate) fn num(text: &str) -> Result<Num, ParseError> {
    if text.is_empty() {
        return Ok(Num::ZERO);
    }
    Num::parse(text).map_err(malformed)
}

fn side(text: &str) -> Result<Side, ParseError> {
    match text {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        other => Err(malformed(format_args!("bad side {other:?}"))),
    }
}

/// A JSON value kept as its text, quotes included (ids and times come as strings or numbers).
#[derive(Clone, Copy)]
pub(crate) struct Raw<'a>(&'a str);

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw<'a>, D::Error> {
        <&'de RawValue>::deserialize(d).map(|raw| Raw(raw.get()))
    }
}

/// The text of a JSON string or number without quotes (ids come as either).
pub(crate) fn raw_text(raw: Raw<'_>) -> &str {
    let t = raw.0;
    t.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t)
}

/// Milliseconds from `1606292218213.4578`, `"1606292218213"` or `1548000000123`.
pub(crate) fn raw_ms(raw: Raw<'_>) -> Option<u64> {
    let t = raw_text(raw);
    let int = t.split('.').next().unwrap_or(t);
    int.parse().ok()
}

#[derive(Deserialize)]
struct RawBookTicker<'a> {
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
struct RawTrade<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(default)]
    create_time: Option<u64>,
    #[serde(borrow, default)]
    create_time_ms: Option<Raw<'a>>,
    side: &'a str,
    currency_pair: &'a str,
    amount: &'a str,
    price: &'a str,
}

#[derive(Deserialize)]
struct RawDepth<'a> {
    #[serde(default)]
    t: Option<u64>,
    #[serde(default)]
    full: bool,
    s: &'a str,
    #[serde(rename = "U")]
    first: u64,
    #[serde(rename = "u")]
    last: u64,
    #[serde(default)]
    b: Levels,
    #[serde(default)]
    a: Levels,
}

/// `[["price","qty"], ...]` parsed straight into exact levels, without an intermediate Vec.
#[derive(Default)]
pub(crate) struct Levels(pub(crate) RVec<Level>);

impl<'de> Deserialize<'de> for Levels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Levels, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Levels;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of [price, amount] string pairs")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Levels, A::Error> {
                let mut out = RVec::with_capacity(seq.size_hint().unwrap_or(8).min(1024));
                while let Some((p, q)) = seq.next_element::<(&'de str, &'de str)>()? {
                    let price = Num::parse(p).map_err(de::Error::custom)?;
                    let qty = Num::parse(q).map_err(de::Error::custom)?;
                    out.push(Level { price, qty });
                }
                Ok(Levels(out))
            }
        }
        d.deserialize_seq(V)
    }
}

/// An order as both `spot.orders` and the REST order endpoints send it.
#[derive(Deserialize)]
pub(crate) struct RawOrder<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    currency_pair: &'a str,
    side: &'a str,
    amount: &'a str,
    #[serde(default)]
    price: Option<&'a str>,
    #[serde(default)]
    left: Option<&'a str>,
    #[serde(default)]
    event: Option<&'a str>,
    #[serde(default)]
    status: Option<&'a str>,
    #[serde(default)]
    finish_as: Option<&'a str>,
    #[serde(borrow, default)]
    update_time_ms: Option<Raw<'a>>,
    #[serde(borrow, default)]
    create_time_ms: Option<Raw<'a>>,
}

/// The client order id from Gate's `text` (`t-abc` → `abc`); other texts (`apiv4`, `web`) → "".
pub(crate) fn client_id(text: Option<&str>) -> &str {
    text.and_then(|t| t.strip_prefix("t-")).unwrap_or("")
}

/// Normalizes an order from the websocket or a REST answer.
pub(crate) fn order_update(
    o: &RawOrder<'_>,
    fallback_ms: u64,
    received_ns: u64,
) -> Result<OrderUpdate, ParseError> {
    let qty = num(o.amount)?;
    let left = num(o.left.unwrap_or(o.amount))?;
    let filled = Num::from(qty.to_decimal() - left.to_decimal());
    let finish = o.finish_as.unwrap_or("");
    let status = match (o.status, o.event, finish) {
        (_, _, "filled") => OrderStatus::Filled,
        (Some("open"), _, _) | (None, Some("put" | "update"), _) => OrderStatus::Open,
        (_, _, "open") => OrderStatus::Open,
        _ if left.is_zero() => OrderStatus::Filled,
        _ => OrderStatus::Cancelled,
    };
    let ts = o
        .update_time_ms
        .and_then(raw_ms)
        .or_else(|| o.create_time_ms.and_then(raw_ms))
        .unwrap_or(fallback_ms);
    Ok(OrderUpdate {
        instrument: instrument(o.currency_pair)?,
        order_id: raw_text(o.id).into(),
        client_id: client_id(o.text.as_deref()).into(),
        side: side(o.side)?,
        price: num(o.price.unwrap_or(""))?,
        qty,
        filled_qty: filled,
        status,
        stamp: Stamp {
            venue_ts_ms: ts,
            received_ns,
        },
    })
}

/// A fill as `spot.usertrades` and `GET /spot/my_trades` send it.
#[derive(Deserialize)]
pub(crate) struct RawUserTrade<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    order_id: Raw<'a>,
    currency_pair: &'a str,
    #[serde(default)]
    create_time: Option<u64>,
    #[serde(borrow, default)]
    create_time_ms: Option<Raw<'a>>,
    side: &'a str,
    amount: &'a str,
    price: &'a str,
    #[serde(default)]
    fee: Option<&'a str>,
    #[serde(borrow, default)]
    fee_currency: Option<Cow<'a, str>>,
}

/// Normalizes a fill. Without `fee_currency`, Gate charges the asset received: base for a
/// buy, quote for a sell.
pub(crate) fn fill(
    t: &RawUserTrade<'_>,
    fallback_ms: u64,
    received_ns: u64,
) -> Result<Fill, ParseError> {
    let inst = instrument(t.currency_pair)?;
    let side = side(t.side)?;
    let fee_asset: RString = match t.fee_currency.as_deref() {
        Some(c) => c.into(),
        None => {
            let pair = t.currency_pair;
            let (base, quote) = pair.split_once('_').unwrap_or((pair, ""));
            match side {
                Side::Buy => base.into(),
                Side::Sell => quote.into(),
            }
        }
    };
    let trade_ts_ms = t
        .create_time_ms
        .and_then(raw_ms)
        .or(t.create_time.map(|s| s.saturating_mul(1000)))
        .unwrap_or(0);
    Ok(Fill {
        instrument: inst,
        order_id: raw_text(t.order_id).into(),
        trade_id: raw_text(t.id).into(),
        side,
        price: num(t.price)?,
        qty: num(t.amount)?,
        fee: num(t.fee.unwrap_or("0"))?,
        fee_asset,
        trade_ts_ms,
        stamp: Stamp {
            venue_ts_ms: fallback_ms,
            received_ns,
        },
    })
}

#[derive(Deserialize)]
struct RawBalance<'a> {
    #[serde(borrow)]
    currency: Cow<'a, str>,
    available: &'a str,
    #[serde(default)]
    freeze: Option<&'a str>,
    #[serde(borrow, default)]
    timestamp_ms: Option<Raw<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICKER: &str = r#"{"time":1606293275,"time_ms":1606293275723,"channel":"spot.book_ticker","event":"update","result":{"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09"}}"#;

    fn body(text: &str) -> Option<&'static str> {
        hot::frame(text.as_bytes()).map(|f| match f.result {
            Body::Absent => "absent",
            Body::Raw(_) => "raw",
            Body::BookTicker(_) => "book_ticker",
            Body::Trade(_) => "trade",
            Body::Depth(_) => "depth",
        })
    }

    #[test]
    fn wire_order_market_data_is_typed_in_one_pass() {
        assert_eq!(body(TICKER), Some("book_ticker"));
        let trade = TICKER
            .replace("spot.book_ticker", "spot.trades")
            .replace(r#""t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09""#,
                r#""id":1,"side":"buy","currency_pair":"GT_USDT","amount":"1","price":"2""#);
        assert_eq!(body(&trade), Some("trade"));
        let depth = r#"{"time":1,"channel":"spot.order_book_update","event":"update","result":{"t":1,"s":"BTC_USDT","U":1,"u":2,"b":[["1","2"]],"a":[]}}"#;
        assert_eq!(body(depth), Some("depth"));
        let spaced = " {\"channel\" : \"spot.trades\",\n\"event\":\"all\", \"result\":{\"id\":\"7\",\"side\":\"sell\",\"currency_pair\":\"A_B\",\"amount\":\"1\",\"price\":\"2\",\"x\":[]}} ";
        assert_eq!(body(spaced), None, "an array in a skipped field");
        assert_eq!(body(&spaced.replace("[]", "-1.5e+3")), Some("trade"));
    }

    #[test]
    fn everything_else_is_left_to_the_reference() {
        for text in [
            // `result` before `event`, acks, pongs, other channels.
            r#"{"channel":"spot.book_ticker","result":{"u":1},"event":"update"}"#,
            r#"{"channel":"spot.trades","event":"subscribe","result":{"status":"success"}}"#,
            r#"{"channel":"spot.pong","result":null}"#,
            r#"{"channel":"spot.orders","event":"update","result":[]}"#,
            // A repeated key, an escape, an integer that is not one, a leading zero.
            r#"{"event":"a","event":"a"}"#,
            r#"{"channel":"spot.book_ticker","event":"upd\u0061te","result":{}}"#,
            r#"{"time":1.0,"channel":"spot.book_ticker","event":"update","result":{}}"#,
            r#"{"time":01,"channel":"spot.book_ticker","event":"update","result":{}}"#,
        ] {
            assert_eq!(body(text), None, "{text}");
        }
        // A result missing a required field, trailing bytes, not UTF-8.
        assert_eq!(body(&TICKER.replace(r#""u":48733182,"#, "")), None);
        assert_eq!(body(&format!("{TICKER} x")), None);
        assert_eq!(hot::frame(b"{\"channel\":\"\xff\"}").map(|_| ()), None);
    }

    /// A `spot.usertrades` item as the simulator sends it for a fill of a resting sell.
    const MAKER_SELL: &str = r#"{"id":1000003,"user_id":1,"order_id":"1000002","currency_pair":"BTC_USDT","create_time":1790000000,"create_time_ms":"1790000000123.000","side":"sell","amount":"0.1","role":"maker","price":"60010.5","fee":"6.00105","fee_currency":"USDT","point_fee":"0","gt_fee":"0","text":"t-maker"}"#;

    #[test]
    fn a_fill_carries_its_fee_and_the_fee_currency() {
        let t: RawUserTrade<'_> = serde_json::from_str(MAKER_SELL).unwrap();
        let f = fill(&t, 0, 1).unwrap();
        assert_eq!(
            (f.side, f.price, f.qty, f.fee),
            (
                Side::Sell,
                num("60010.5").unwrap(),
                num("0.1").unwrap(),
                num("6.00105").unwrap()
            )
        );
        assert_eq!(f.fee_asset.as_str(), "USDT");
        assert_eq!(f.trade_ts_ms, 1_790_000_000_123, "the venue's trade time");
        assert_eq!(
            f.stamp.venue_ts_ms, 0,
            "the message time, given by the caller"
        );
        // The venue's `fee_currency` is taken as given, even when it is not the asset the side
        // receives; without it, that asset is assumed (base for a buy).
        let other = MAKER_SELL.replace(r#""fee_currency":"USDT""#, r#""fee_currency":"GT""#);
        let t: RawUserTrade<'_> = serde_json::from_str(&other).unwrap();
        assert_eq!(fill(&t, 0, 1).unwrap().fee_asset.as_str(), "GT");
        let bare = MAKER_SELL
            .replace(r#","fee_currency":"USDT""#, "")
            .replace(r#""side":"sell""#, r#""side":"buy""#);
        let t: RawUserTrade<'_> = serde_json::from_str(&bare).unwrap();
        let f = fill(&t, 0, 1).unwrap();
        assert_eq!(
            (f.fee, f.fee_asset.as_str()),
            (num("6.00105").unwrap(), "BTC")
        );
    }
}
