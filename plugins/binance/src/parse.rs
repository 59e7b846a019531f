//! Pure frame parsing: one received text frame → an event, an answer to a request, the
//! server's shutdown notice, or why it is unusable.

use std::borrow::Cow;

use plugin_api::{BookTicker, Event, Instrument, Num, Side, Stamp, Trade};
use serde::Deserialize;
use serde_json::value::RawValue;

/// What a usable frame is.
// Returned once per frame and moved straight into the output: a box would allocate per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A book ticker or a trade.
    Event(Event),
    /// The answer to one of our requests (`{"result":null,"id":1}`): nothing to deliver.
    Answer,
    /// `serverShutdown`: the server is about to close the connection.
    Shutdown,
}

/// Why a frame is unusable: a stable reason and a detail for the log.
pub type Rejected = (&'static str, String);

/// What tells frames apart: the combined-stream wrapper, answers, errors, the event type.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    id: Option<u64>,
    code: Option<i64>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error: Option<Box<Envelope<'a>>>,
    e: Option<&'a str>,
    #[serde(rename = "E")]
    event_ms: Option<u64>,
    u: Option<u64>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)] // the venue's field names
struct TradeMsg<'a> {
    s: &'a str,
    t: u64,
    p: &'a str,
    q: &'a str,
    T: u64,
    m: bool,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct TickerMsg<'a> {
    s: &'a str,
    u: u64,
    b: &'a str,
    B: &'a str,
    a: &'a str,
    A: &'a str,
}

fn num(v: &str, field: &str) -> Result<Num, Rejected> {
    Num::parse(v).map_err(|e| ("malformed", format!("`{field}`: {e}")))
}

/// Parses `data`; `instrument` maps a payload symbol (`BNBUSDT`) to its instrument.
pub fn parse(
    data: &[u8],
    instrument: &dyn Fn(&str) -> Option<Instrument>,
    received_ns: u64,
) -> Result<Parsed, Rejected> {
    let json = |e: serde_json::Error| ("malformed", e.to_string());
    let f: Envelope<'_> = serde_json::from_slice(data).map_err(json)?;
    if let Some(inner) = f.data {
        // A combined-stream frame, `{"stream":"btcusdt@trade","data":{...}}`.
        return parse(inner.get().as_bytes(), instrument, received_ns);
    }
    // Errors: `{"code":2,"msg":..,"id":1}` as documented, `{"error":{..},"id":1}` as logged.
    if let Some(err) = f.error.as_deref().or(f.code.map(|_| &f)) {
        let (code, msg) = (err.code.unwrap_or(-1), err.msg.as_deref().unwrap_or(""));
        return Err((
            "venue_error",
            format!("code {code}: {msg} (request id {:?})", f.id),
        ));
    }
    if f.id.is_some() {
        return Ok(Parsed::Answer);
    }
    let symbol =
        |s: &str| instrument(s).ok_or_else(|| ("unknown_symbol", s.chars().take(32).collect()));
    let stamp = Stamp {
        venue_ts_ms: f.event_ms.unwrap_or(0),
        received_ns,
    };
    match f.e {
        Some("trade") => {
            let t: TradeMsg<'_> = serde_json::from_slice(data).map_err(json)?;
            Ok(Parsed::Event(Event::Trade(Trade {
                instrument: symbol(t.s)?,
                trade_id: t.t.to_string().into(),
                price: num(t.p, "p")?,
                qty: num(t.q, "q")?,
                // `m`: the buyer made the market, so the taker sold.
                side: if t.m { Side::Sell } else { Side::Buy },
                trade_ts_ms: t.T,
                stamp,
            })))
        }
        Some("serverShutdown") => Ok(Parsed::Shutdown),
        Some(other) => Err(("unsupported_event", other.chars().take(32).collect())),
        None if f.u.is_some() => {
            let t: TickerMsg<'_> = serde_json::from_slice(data).map_err(json)?;
            Ok(Parsed::Event(Event::BookTicker(BookTicker {
                instrument: symbol(t.s)?,
                bid_price: num(t.b, "b")?,
                bid_qty: num(t.B, "B")?,
                ask_price: num(t.a, "a")?,
                ask_qty: num(t.A, "A")?,
                update_id: t.u,
                stamp,
            })))
        }
        None => Err((
            "unknown_message",
            "neither an event, a book ticker nor an answer".into(),
        )),
    }
}
