//! Renders synthetic book events as Gate `spot.order_book_update`, `spot.book_ticker` and
//! `spot.trades` pushes.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Message;

use crate::market::{
    write_fixed, write_i64, write_u64, Book, Symbol, PRICE_DECIMALS, QTY_DECIMALS,
};
use crate::synthetic::{Event, Render};
use crate::topics::{Frame, TopicTable};

/// Levels in a `full: true` order-book snapshot.
const FULL_LEVELS: usize = 100;

struct SymTopics {
    pair: String,
    obu: u32,
    ticker: u32,
    trades: u32,
    updates: u32,
}

/// Gate frame renderer (one per simulator).
pub(crate) struct GateRender {
    syms: Vec<SymTopics>,
    full_every: Option<u32>,
    /// Digits of the current batch's time: (ms, seconds digits, ms digits).
    clock: (i64, Vec<u8>, Vec<u8>),
}

impl GateRender {
    pub(crate) fn new(symbols: &[Symbol], table: &mut TopicTable, full_every: Option<u32>) -> Self {
        let syms = symbols
            .iter()
            .map(|s| {
                let pair = s.gate();
                SymTopics {
                    obu: table.register("spot.order_book_update", &pair),
                    ticker: table.register("spot.book_ticker", &pair),
                    trades: table.register("spot.trades", &pair),
                    pair,
                    updates: 0,
                }
            })
            .collect();
        Self {
            syms,
            full_every,
            clock: (i64::MIN, Vec::new(), Vec::new()),
        }
    }
}

fn levels(out: &mut Vec<u8>, levels: impl Iterator<Item = (i64, i64)>) {
    out.push(b'[');
    for (i, (p, q)) in levels.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"[\"");
        write_fixed(out, p, PRICE_DECIMALS);
        out.extend_from_slice(b"\",\"");
        // A removed level is "0", as the venue writes it.
        if q == 0 {
            out.push(b'0');
        } else {
            write_fixed(out, q, QTY_DECIMALS);
        }
        out.extend_from_slice(b"\"]");
    }
    out.push(b']');
}

fn text(buf: Vec<u8>) -> Message {
    // The renderer writes ASCII only.
    match String::from_utf8(buf) {
        Ok(s) => Message::text(s),
        Err(e) => Message::Binary(Bytes::from(e.into_bytes())),
    }
}

impl Render for GateRender {
    fn render(&mut self, ev: &Event, book: &Book, topics: &TopicTable, out: &mut Vec<Frame>) {
        if self.clock.0 != ev.ts_ms {
            // Events of one batch share a timestamp: format it once.
            self.clock.0 = ev.ts_ms;
            self.clock.1.clear();
            write_i64(&mut self.clock.1, ev.ts_ms / 1000);
            self.clock.2.clear();
            write_i64(&mut self.clock.2, ev.ts_ms);
        }
        let (secs, millis) = (&self.clock.1[..], &self.clock.2[..]);
        let st = &mut self.syms[ev.sym];
        st.updates = st.updates.wrapping_add(1);
        // Common head: {"time":S,"time_ms":MS,"channel":"
        let head = |b: &mut Vec<u8>, channel: &[u8]| {
            b.extend_from_slice(br#"{"time":"#);
            b.extend_from_slice(secs);
            b.extend_from_slice(br#","time_ms":"#);
            b.extend_from_slice(millis);
            b.extend_from_slice(br#","channel":""#);
            b.extend_from_slice(channel);
            b.extend_from_slice(br#"","event":"update","result":{"#);
        };
        if topics.has_subscribers(st.obu) {
            let full = self
                .full_every
                .is_some_and(|n| n > 0 && st.updates % n == 0);
            let mut b = Vec::with_capacity(if full { 8192 } else { 256 });
            head(&mut b, b"spot.order_book_update");
            b.extend_from_slice(br#""t":"#);
            b.extend_from_slice(millis);
            if full {
                b.extend_from_slice(br#","full":true,"l":""#);
                write_u64(&mut b, FULL_LEVELS as u64);
                b.push(b'"');
            }
            b.extend_from_slice(br#","e":"depthUpdate","E":"#);
            b.extend_from_slice(secs);
            b.extend_from_slice(br#","s":""#);
            b.extend_from_slice(st.pair.as_bytes());
            b.extend_from_slice(br#"","U":"#);
            write_u64(&mut b, ev.first);
            b.extend_from_slice(br#","u":"#);
            write_u64(&mut b, ev.last);
            b.extend_from_slice(br#","b":"#);
            if full {
                let (bids, asks) = book.top(FULL_LEVELS);
                levels(&mut b, bids.into_iter());
                b.extend_from_slice(br#","a":"#);
                levels(&mut b, asks.into_iter());
            } else {
                levels(
                    &mut b,
                    ev.changes.iter().filter(|c| c.0).map(|c| (c.1, c.2)),
                );
                b.extend_from_slice(br#","a":"#);
                levels(
                    &mut b,
                    ev.changes.iter().filter(|c| !c.0).map(|c| (c.1, c.2)),
                );
            }
            b.extend_from_slice(b"}}");
            out.push(Frame {
                topic: st.obu,
                msg: text(b),
            });
        }
        if topics.has_subscribers(st.ticker) {
            if let (Some((bp, bq)), Some((ap, aq))) = (book.best_bid(), book.best_ask()) {
                let mut b = Vec::with_capacity(256);
                head(&mut b, b"spot.book_ticker");
                b.extend_from_slice(br#""t":"#);
                b.extend_from_slice(millis);
                b.extend_from_slice(br#","u":"#);
                write_u64(&mut b, ev.last);
                b.extend_from_slice(br#","s":""#);
                b.extend_from_slice(st.pair.as_bytes());
                b.extend_from_slice(br#"","b":""#);
                write_fixed(&mut b, bp, PRICE_DECIMALS);
                b.extend_from_slice(br#"","B":""#);
                write_fixed(&mut b, bq, QTY_DECIMALS);
                b.extend_from_slice(br#"","a":""#);
                write_fixed(&mut b, ap, PRICE_DECIMALS);
                b.extend_from_slice(br#"","A":""#);
                write_fixed(&mut b, aq, QTY_DECIMALS);
                b.extend_from_slice(br#""}}"#);
                out.push(Frame {
                    topic: st.ticker,
                    msg: text(b),
                });
            }
        }
        if let Some(t) = ev.trade.filter(|_| topics.has_subscribers(st.trades)) {
            let mut b = Vec::with_capacity(256);
            head(&mut b, b"spot.trades");
            b.extend_from_slice(br#""id":"#);
            write_u64(&mut b, t.id);
            b.extend_from_slice(br#","create_time":"#);
            b.extend_from_slice(secs);
            b.extend_from_slice(br#","create_time_ms":""#);
            b.extend_from_slice(millis);
            b.extend_from_slice(if t.taker_buy {
                br#".000","side":"buy","currency_pair":""#.as_slice()
            } else {
                br#".000","side":"sell","currency_pair":""#.as_slice()
            });
            b.extend_from_slice(st.pair.as_bytes());
            b.extend_from_slice(br#"","amount":""#);
            write_fixed(&mut b, t.qty, QTY_DECIMALS);
            b.extend_from_slice(br#"","price":""#);
            write_fixed(&mut b, t.price, PRICE_DECIMALS);
            b.extend_from_slice(br#"","range":""#);
            write_u64(&mut b, ev.first);
            b.push(b'-');
            write_u64(&mut b, ev.last);
            b.extend_from_slice(br#""}}"#);
            out.push(Frame {
                topic: st.trades,
                msg: text(b),
            });
        }
    }
}
