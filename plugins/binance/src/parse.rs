//! One received text frame → an event, nothing (an answer to a request), a reconnect (the
//! server's shutdown notice) or a reject saying why it is unusable.

use std::borrow::Cow;

use plugin_api::kit::output::{decimal, required};
use plugin_api::kit::Symbols;
use plugin_api::{Action, BookTicker, ConnId, Event, Output, Reject, Side, Stamp, Trade};
use serde::Deserialize;
use serde_json::value::RawValue;

/// What tells frames apart: the combined-stream wrapper, answers and errors, the event
/// type (a book ticker has none, but an update id `u`).
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
    u: Option<u64>,
}

/// The fields of a trade (`e` is `trade`) and of a book ticker (no `e`).
#[derive(Deserialize)]
#[allow(non_snake_case)] // the venue's field names
struct Fields<'a> {
    e: Option<&'a str>,
    E: Option<u64>,
    s: Option<&'a str>,
    t: Option<u64>,
    p: Option<&'a str>,
    q: Option<&'a str>,
    T: Option<u64>,
    m: Option<bool>,
    u: Option<u64>,
    b: Option<&'a str>,
    B: Option<&'a str>,
    a: Option<&'a str>,
    A: Option<&'a str>,
}

/// Parses `data` into `out`.
pub(crate) fn frame(data: &[u8], symbols: &Symbols, conn: ConnId, ns: u64, out: &mut Output) {
    let f: Envelope<'_> = match serde_json::from_slice(data) {
        Ok(f) => f,
        Err(e) => return out.reject("malformed", e.to_string()),
    };
    if let Some(inner) = f.data {
        // A combined-stream frame, `{"stream":"btcusdt@trade","data":{...}}`.
        return frame(inner.get().as_bytes(), symbols, conn, ns, out);
    }
    // Errors: `{"code":2,"msg":..,"id":1}` as documented, `{"error":{..},"id":1}` as logged.
    if let Some(err) = f.error.as_deref().or(f.code.map(|_| &f)) {
        let (code, msg) = (err.code.unwrap_or(-1), err.msg.as_deref().unwrap_or(""));
        let detail = format!("code {code}: {msg} (request id {:?})", f.id);
        return out.reject("venue_error", detail);
    }
    match f.e {
        // The server is about to close: move to a new connection now (consumers see a gap).
        Some("serverShutdown") => out.action(Action::Reconnect(conn)),
        Some("trade") => out.event_or_reject(event(data, symbols, ns)),
        None if f.u.is_some() => out.event_or_reject(event(data, symbols, ns)),
        None if f.id.is_some() => {} // the answer to one of our requests
        None => out.reject(
            "unknown_message",
            "not an event, a book ticker or an answer",
        ),
        Some(other) => out.reject("unsupported_event", other),
    }
}

/// A trade or a book ticker, from the frame `data` received at `ns`.
fn event(data: &[u8], symbols: &Symbols, ns: u64) -> Result<Event, Reject> {
    let f: Fields<'_> =
        serde_json::from_slice(data).map_err(|e| Reject::new("malformed", e.to_string()))?;
    let instrument = symbols.instrument(required(f.s, "s")?)?;
    let stamp = Stamp {
        venue_ts_ms: f.E.unwrap_or(0),
        received_ns: ns,
    };
    if f.e.is_none() {
        return Ok(Event::BookTicker(BookTicker {
            instrument,
            bid_price: decimal(f.b, "b")?,
            bid_qty: decimal(f.B, "B")?,
            ask_price: decimal(f.a, "a")?,
            ask_qty: decimal(f.A, "A")?,
            update_id: required(f.u, "u")?,
            stamp,
        }));
    }
    Ok(Event::Trade(Trade {
        instrument,
        trade_id: required(f.t, "t")?.to_string().into(),
        price: decimal(f.p, "p")?,
        qty: decimal(f.q, "q")?,
        // `m`: the buyer made the market, so the taker sold.
        side: if required(f.m, "m")? {
            Side::Sell
        } else {
            Side::Buy
        },
        trade_ts_ms: required(f.T, "T")?,
        stamp,
    }))
}
