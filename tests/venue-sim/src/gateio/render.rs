//! Renders synthetic book events as Gate `spot.order_book_update`, `spot.book_ticker` and
//! `spot.trades` pushes.

use std::io::Write;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Message;

use crate::market::{write_fixed, Book, Symbol, PRICE_DECIMALS, QTY_DECIMALS};
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
        Self { syms, full_every }
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
        write_fixed(out, q, QTY_DECIMALS);
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
        let st = &mut self.syms[ev.sym];
        st.updates = st.updates.wrapping_add(1);
        let ms = ev.ts_ms;
        let s = ms / 1000;
        if topics.has_subscribers(st.obu) {
            let full = self.full_every.is_some_and(|n| n > 0 && st.updates % n == 0);
            let mut b = Vec::with_capacity(if full { 4096 } else { 256 });
            let _ = write!(
                b,
                r#"{{"time":{s},"time_ms":{ms},"channel":"spot.order_book_update","event":"update","result":{{"t":{ms},"#
            );
            if full {
                let _ = write!(b, r#""full":true,"l":"{FULL_LEVELS}","#);
            }
            let _ = write!(
                b,
                r#""e":"depthUpdate","E":{s},"s":"{}","U":{},"u":{},"b":"#,
                st.pair, ev.first, ev.last
            );
            if full {
                let (bids, asks) = book.top(FULL_LEVELS);
                levels(&mut b, bids.into_iter());
                b.extend_from_slice(br#","a":"#);
                levels(&mut b, asks.into_iter());
            } else {
                levels(&mut b, ev.changes.iter().filter(|c| c.0).map(|c| (c.1, c.2)));
                b.extend_from_slice(br#","a":"#);
                levels(&mut b, ev.changes.iter().filter(|c| !c.0).map(|c| (c.1, c.2)));
            }
            b.extend_from_slice(b"}}");
            out.push(Frame { topic: st.obu, msg: text(b) });
        }
        if topics.has_subscribers(st.ticker) {
            if let (Some((bp, bq)), Some((ap, aq))) = (book.best_bid(), book.best_ask()) {
                let mut b = Vec::with_capacity(256);
                let _ = write!(
                    b,
                    r#"{{"time":{s},"time_ms":{ms},"channel":"spot.book_ticker","event":"update","result":{{"t":{ms},"u":{},"s":"{}","b":""#,
                    ev.last, st.pair
                );
                write_fixed(&mut b, bp, PRICE_DECIMALS);
                b.extend_from_slice(br#"","B":""#);
                write_fixed(&mut b, bq, QTY_DECIMALS);
                b.extend_from_slice(br#"","a":""#);
                write_fixed(&mut b, ap, PRICE_DECIMALS);
                b.extend_from_slice(br#"","A":""#);
                write_fixed(&mut b, aq, QTY_DECIMALS);
                b.extend_from_slice(br#""}}"#);
                out.push(Frame { topic: st.ticker, msg: text(b) });
            }
        }
        if let Some(t) = ev.trade.filter(|_| topics.has_subscribers(st.trades)) {
            let mut b = Vec::with_capacity(256);
            let side = if t.taker_buy { "buy" } else { "sell" };
            let _ = write!(
                b,
                r#"{{"time":{s},"time_ms":{ms},"channel":"spot.trades","event":"update","result":{{"id":{},"create_time":{s},"create_time_ms":"{ms}.000","side":"{side}","currency_pair":"{}","amount":""#,
                t.id, st.pair
            );
            write_fixed(&mut b, t.qty, QTY_DECIMALS);
            b.extend_from_slice(br#"","price":""#);
            write_fixed(&mut b, t.price, PRICE_DECIMALS);
            let _ = write!(b, r#"","range":"{}-{}"}}}}"#, ev.first, ev.last);
            out.push(Frame { topic: st.trades, msg: text(b) });
        }
    }
}
