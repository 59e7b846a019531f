//! Renders synthetic book events as Binance raw payloads: a `bookTicker` after every book
//! change and a `trade` for every printed trade.

use tokio_tungstenite::tungstenite::Message;

use super::{stream, BOOK_TICKER, TRADE};
use crate::market::{
    write_fixed, write_i64, write_u64, Book, Symbol, PRICE_DECIMALS, QTY_DECIMALS,
};
use crate::synthetic::{Event, Render};
use crate::topics::{Frame, TopicTable};

struct SymTopics {
    /// `BTCUSDT`, as payloads spell it.
    name: String,
    ticker: u32,
    trade: u32,
}

/// Binance frame renderer (one per simulator).
pub(crate) struct BinanceRender {
    syms: Vec<SymTopics>,
}

impl BinanceRender {
    pub(crate) fn new(symbols: &[Symbol], table: &mut TopicTable) -> Self {
        let syms = symbols
            .iter()
            .map(|s| {
                let name = s.mexc();
                SymTopics {
                    ticker: table.register(&stream(&name, BOOK_TICKER), ""),
                    trade: table.register(&stream(&name, TRADE), ""),
                    name,
                }
            })
            .collect();
        Self { syms }
    }
}

fn text(out: Vec<u8>) -> Message {
    Message::text(String::from_utf8(out).unwrap_or_default())
}

/// Appends `,"<key>":"<value>"` with `value` a fixed-point decimal.
fn field(out: &mut Vec<u8>, key: &str, value: i64, decimals: u32) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":\"");
    write_fixed(out, value, decimals);
    out.push(b'"');
}

impl Render for BinanceRender {
    fn render(&mut self, ev: &Event, book: &Book, topics: &TopicTable, out: &mut Vec<Frame>) {
        let st = &self.syms[ev.sym];
        if let Some(t) = ev.trade.filter(|_| topics.has_subscribers(st.trade)) {
            let mut b = Vec::with_capacity(160);
            b.extend_from_slice(b"{\"e\":\"trade\",\"E\":");
            write_i64(&mut b, ev.ts_ms);
            b.extend_from_slice(b",\"s\":\"");
            b.extend_from_slice(st.name.as_bytes());
            b.extend_from_slice(b"\",\"t\":");
            write_u64(&mut b, t.id);
            field(&mut b, "p", t.price, PRICE_DECIMALS);
            field(&mut b, "q", t.qty, QTY_DECIMALS);
            b.extend_from_slice(b",\"T\":");
            write_i64(&mut b, ev.ts_ms);
            // `m`: the buyer was the maker, so the taker sold.
            let m: &[u8] = if t.taker_buy { b"false" } else { b"true" };
            b.extend_from_slice(b",\"m\":");
            b.extend_from_slice(m);
            b.extend_from_slice(b",\"M\":true}");
            out.push(Frame {
                topic: st.trade,
                msg: text(b),
            });
        }
        if !topics.has_subscribers(st.ticker) {
            return;
        }
        if let (Some((bp, bq)), Some((ap, aq))) = (book.best_bid(), book.best_ask()) {
            let mut b = Vec::with_capacity(128);
            b.extend_from_slice(b"{\"u\":");
            write_u64(&mut b, ev.last);
            b.extend_from_slice(b",\"s\":\"");
            b.extend_from_slice(st.name.as_bytes());
            b.push(b'"');
            field(&mut b, "b", bp, PRICE_DECIMALS);
            field(&mut b, "B", bq, QTY_DECIMALS);
            field(&mut b, "a", ap, PRICE_DECIMALS);
            field(&mut b, "A", aq, QTY_DECIMALS);
            b.push(b'}');
            out.push(Frame {
                topic: st.ticker,
                msg: text(b),
            });
        }
    }
}
