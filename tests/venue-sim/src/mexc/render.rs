//! Renders synthetic book events as MEXC protobuf pushes: aggregated depth (313), deals (314),
//! book ticker (315) at 10 ms and 100 ms, and limit depth (303) at 5, 10 and 20 levels.

use bytes::Bytes;
use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;

use super::proto::push_data_v3_api_wrapper::Body;
use super::proto::*;
use crate::market::{fixed, Book, Symbol, PRICE_DECIMALS, QTY_DECIMALS};
use crate::synthetic::{Event, Render};
use crate::topics::{Frame, TopicTable};

const INTERVALS: [&str; 2] = ["10ms", "100ms"];
const LIMITS: [usize; 3] = [5, 10, 20];

struct SymTopics {
    name: String,
    /// `(topic, channel, interval)` per interval.
    depth: Vec<(u32, String, &'static str)>,
    deals: Vec<(u32, String, &'static str)>,
    ticker: Vec<(u32, String)>,
    limit: Vec<(u32, String, usize)>,
}

/// MEXC frame renderer (one per simulator).
pub(crate) struct MexcRender {
    syms: Vec<SymTopics>,
}

impl MexcRender {
    pub(crate) fn new(symbols: &[Symbol], table: &mut TopicTable) -> Self {
        let syms = symbols
            .iter()
            .map(|s| {
                let n = s.mexc();
                let mut reg = |c: String| (table.register(&c, ""), c);
                let depth = INTERVALS
                    .iter()
                    .map(|i| {
                        let (t, c) = reg(format!("spot@public.aggre.depth.v3.api.pb@{i}@{n}"));
                        (t, c, *i)
                    })
                    .collect();
                let deals = INTERVALS
                    .iter()
                    .map(|i| {
                        let (t, c) = reg(format!("spot@public.aggre.deals.v3.api.pb@{i}@{n}"));
                        (t, c, *i)
                    })
                    .collect();
                let ticker = INTERVALS
                    .iter()
                    .map(|i| reg(format!("spot@public.aggre.bookTicker.v3.api.pb@{i}@{n}")))
                    .collect();
                let limit = LIMITS
                    .iter()
                    .map(|l| {
                        let (t, c) = reg(format!("spot@public.limit.depth.v3.api.pb@{n}@{l}"));
                        (t, c, *l)
                    })
                    .collect();
                SymTopics {
                    name: n,
                    depth,
                    deals,
                    ticker,
                    limit,
                }
            })
            .collect();
        Self { syms }
    }
}

fn wrap(channel: &str, symbol: &str, ts: i64, body: Body) -> Message {
    let w = PushDataV3ApiWrapper {
        channel: channel.to_owned(),
        symbol: Some(symbol.to_owned()),
        symbol_id: None,
        create_time: None,
        send_time: Some(ts),
        body: Some(body),
    };
    Message::Binary(Bytes::from(w.encode_to_vec()))
}

fn p(v: i64) -> String {
    fixed(v, PRICE_DECIMALS)
}

/// A quantity; a removed level is "0", as the venue writes it.
fn q(v: i64) -> String {
    if v == 0 {
        "0".to_owned()
    } else {
        fixed(v, QTY_DECIMALS)
    }
}

impl Render for MexcRender {
    fn render(&mut self, ev: &Event, book: &Book, topics: &TopicTable, out: &mut Vec<Frame>) {
        let st = &self.syms[ev.sym];
        let ts = ev.ts_ms;
        for (topic, channel, interval) in &st.depth {
            if !topics.has_subscribers(*topic) {
                continue;
            }
            let item = |c: &(bool, i64, i64)| PublicAggreDepthV3ApiItem {
                price: p(c.1),
                quantity: q(c.2),
            };
            let body = PublicAggreDepthsV3Api {
                asks: ev.changes.iter().filter(|c| !c.0).map(item).collect(),
                bids: ev.changes.iter().filter(|c| c.0).map(item).collect(),
                event_type: format!("spot@public.aggre.depth.v3.api.pb@{interval}"),
                from_version: ev.first.to_string(),
                to_version: ev.last.to_string(),
                last_order_create_time: ts,
            };
            out.push(Frame {
                topic: *topic,
                msg: wrap(channel, &st.name, ts, Body::PublicAggreDepths(body)),
            });
        }
        if let Some(t) = ev.trade {
            for (topic, channel, interval) in &st.deals {
                if !topics.has_subscribers(*topic) {
                    continue;
                }
                let body = PublicAggreDealsV3Api {
                    deals: vec![PublicAggreDealsV3ApiItem {
                        price: p(t.price),
                        quantity: q(t.qty),
                        trade_type: if t.taker_buy { 1 } else { 2 },
                        time: ts,
                        trade_id: format!("{}X0", t.id),
                    }],
                    event_type: format!("spot@public.aggre.deals.v3.api.pb@{interval}"),
                };
                out.push(Frame {
                    topic: *topic,
                    msg: wrap(channel, &st.name, ts, Body::PublicAggreDeals(body)),
                });
            }
        }
        if let (Some((bp, bq)), Some((ap, aq))) = (book.best_bid(), book.best_ask()) {
            for (topic, channel) in &st.ticker {
                if !topics.has_subscribers(*topic) {
                    continue;
                }
                let body = PublicAggreBookTickerV3Api {
                    bid_price: p(bp),
                    bid_quantity: q(bq),
                    ask_price: p(ap),
                    ask_quantity: q(aq),
                    version: ev.last.to_string(),
                    last_order_create_time: ts,
                };
                out.push(Frame {
                    topic: *topic,
                    msg: wrap(channel, &st.name, ts, Body::PublicAggreBookTicker(body)),
                });
            }
        }
        for (topic, channel, n) in &st.limit {
            if !topics.has_subscribers(*topic) {
                continue;
            }
            let (bids, asks) = book.top(*n);
            let item = |(pr, qt): (i64, i64)| PublicLimitDepthV3ApiItem {
                price: p(pr),
                quantity: q(qt),
            };
            let body = PublicLimitDepthsV3Api {
                asks: asks.into_iter().map(item).collect(),
                bids: bids.into_iter().map(item).collect(),
                event_type: "spot@public.limit.depth.v3.api.pb".to_owned(),
                version: ev.last.to_string(),
                last_order_create_time: ts,
            };
            out.push(Frame {
                topic: *topic,
                msg: wrap(channel, &st.name, ts, Body::PublicLimitDepths(body)),
            });
        }
    }
}
