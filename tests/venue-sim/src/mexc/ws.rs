//! MEXC spot v3 websocket protocol: JSON `SUBSCRIPTION`/`UNSUBSCRIPTION`/`PING` requests and
//! acks, the 30-subscription limit, the no-subscription and idle disconnects, and private
//! protobuf pushes on listen-key connections.
// Handlers return the venue's error response as `Err` for early exits; boxing it would only
// add noise on a cold path.
#![allow(clippy::result_large_err)]

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use hyper::{Response, StatusCode};
use prost::Message as _;
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::proto::push_data_v3_api_wrapper::Body;
use super::proto::{
    PrivateAccountV3Api, PrivateDealsV3Api, PrivateOrdersV3Api, PushDataV3ApiWrapper,
};
use super::{PRIVATE_ACCOUNT, PRIVATE_DEALS, PRIVATE_ORDERS};
use crate::config::MexcLimits;
use crate::http::{App, Body as HttpBody};
use crate::topics::TopicSet;
use crate::trading::{Exchange, OrderKind, OrderStatus, PrivateChange, PrivateEvent, Side};
use crate::ws::{Reply, Session};

/// One MEXC websocket connection.
pub(crate) struct MexcSession {
    topics: TopicSet,
    /// Subscribed channel names (public and private).
    names: BTreeSet<String>,
    limits: MexcLimits,
    /// API key owning the listen key, on user-data connections.
    private_key: Option<String>,
    exchange: Arc<Exchange>,
    empty_since: Instant,
    last_activity: Instant,
}

impl MexcSession {
    /// A session for `/ws` (public) or `/ws?listenKey=..` (user data); an unknown listen key
    /// is refused with HTTP 401 before the upgrade.
    pub(crate) fn new(app: &App, listen_key: Option<&str>) -> Result<Self, Response<HttpBody>> {
        let private_key = match listen_key {
            None => None,
            Some(lk) => match app.listen_keys.lock().unwrap().get(lk) {
                Some(k) => Some(k.clone()),
                None => {
                    return Err(super::rest::error(
                        StatusCode::UNAUTHORIZED,
                        730100,
                        "listenKey does not exist",
                    ));
                }
            },
        };
        let now = Instant::now();
        Ok(Self {
            topics: TopicSet::new(app.topics.clone()),
            names: BTreeSet::new(),
            limits: app.cfg.mexc_limits.clone(),
            private_key,
            exchange: app.exchange.clone(),
            empty_since: now,
            last_activity: now,
        })
    }

    /// `{"id":ID,"code":0,"msg":MSG}`, keys in the venue's order.
    fn reply(id: i64, msg: &str) -> Message {
        Message::text(format!(
            r#"{{"id":{id},"code":0,"msg":{}}}"#,
            Value::from(msg)
        ))
    }

    fn is_private(c: &str) -> bool {
        c == PRIVATE_ORDERS || c == PRIVATE_DEALS || c == PRIVATE_ACCOUNT
    }

    fn push(&self, channel: &str, symbol: Option<String>, ts: i64, body: Body) -> Message {
        let w = PushDataV3ApiWrapper {
            channel: channel.to_owned(),
            symbol,
            symbol_id: None,
            create_time: None,
            send_time: Some(ts),
            body: Some(body),
        };
        Message::Binary(Bytes::from(w.encode_to_vec()))
    }
}

impl Session for MexcSession {
    fn on_text(&mut self, text: &str, reply: &mut Reply) {
        let req: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let id = req.get("id").and_then(Value::as_i64).unwrap_or(0);
        let method = req.get("method").and_then(Value::as_str).unwrap_or("");
        let params: Vec<String> = req
            .get("params")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        match method {
            "PING" => reply.out.push(Self::reply(id, "PONG")),
            "SUBSCRIPTION" => {
                let mut ok = Vec::new();
                let mut bad = Vec::new();
                for c in params {
                    if self.names.contains(&c) {
                        ok.push(c);
                        continue;
                    }
                    if self.names.len() >= self.limits.max_subscriptions {
                        bad.push(c);
                        continue;
                    }
                    if Self::is_private(&c) && self.private_key.is_some() {
                        self.names.insert(c.clone());
                        ok.push(c);
                    } else if let Some(t) = self.topics.table().lookup(&c, "") {
                        self.topics.insert(t);
                        reply.started.push(t);
                        self.names.insert(c.clone());
                        ok.push(c);
                    } else {
                        bad.push(c);
                    }
                }
                if !ok.is_empty() {
                    reply.out.push(Self::reply(id, &ok.join(",")));
                }
                if !bad.is_empty() {
                    let msg = format!(
                        "Not Subscribed successfully! [{}].  Reason： Blocked! ",
                        bad.join(",")
                    );
                    reply.out.push(Self::reply(id, &msg));
                }
            }
            "UNSUBSCRIPTION" => {
                for c in &params {
                    self.names.remove(c);
                    if let Some(t) = self.topics.table().lookup(c, "") {
                        self.topics.remove(t);
                    }
                }
                reply.out.push(Self::reply(id, &params.join(",")));
            }
            _ => reply.out.push(Self::reply(id, "Wrong request format")),
        }
        if self.names.is_empty() {
            // The no-subscription clock restarts when the last subscription goes.
            if !reply.out.is_empty() && method == "UNSUBSCRIPTION" {
                self.empty_since = Instant::now();
            }
        }
    }

    fn topics(&self) -> &TopicSet {
        &self.topics
    }

    fn on_private(&mut self, ev: &PrivateEvent, out: &mut Vec<Message>) {
        if self.private_key.as_deref() != Some(&*ev.key) {
            return;
        }
        let market = self.exchange.market();
        match &ev.change {
            PrivateChange::Order(o) if self.names.contains(PRIVATE_ORDERS) => {
                let sym = market.symbols[o.symbol].mexc();
                let status = match o.status {
                    OrderStatus::Open if o.filled.is_zero() => 1,
                    OrderStatus::Open => 3,
                    OrderStatus::Filled => 2,
                    OrderStatus::Cancelled => 4,
                };
                let body = PrivateOrdersV3Api {
                    id: o.id.to_string(),
                    client_id: o.client_id.clone(),
                    price: o.price.normalize().to_string(),
                    quantity: o.qty.normalize().to_string(),
                    amount: (o.qty * o.price).normalize().to_string(),
                    avg_price: o.avg_price().to_string(),
                    order_type: match o.kind {
                        OrderKind::Limit => 1,
                        OrderKind::Market => 5,
                    },
                    trade_type: match o.side {
                        Side::Buy => 1,
                        Side::Sell => 2,
                    },
                    is_maker: o.maker,
                    remain_amount: (o.left() * o.price).normalize().to_string(),
                    remain_quantity: o.left().normalize().to_string(),
                    last_deal_quantity: None,
                    cumulative_quantity: o.filled.normalize().to_string(),
                    cumulative_amount: o.filled_quote.normalize().to_string(),
                    status,
                    create_time: o.create_ms,
                    ..Default::default()
                };
                out.push(self.push(
                    PRIVATE_ORDERS,
                    Some(sym),
                    ev.ts_ms,
                    Body::PrivateOrders(body),
                ));
            }
            PrivateChange::Fill(f) if self.names.contains(PRIVATE_DEALS) => {
                let s = &market.symbols[f.order.symbol];
                let body = PrivateDealsV3Api {
                    price: f.price.normalize().to_string(),
                    quantity: f.qty.normalize().to_string(),
                    amount: (f.price * f.qty).normalize().to_string(),
                    trade_type: match f.order.side {
                        Side::Buy => 1,
                        Side::Sell => 2,
                    },
                    is_maker: f.maker,
                    is_self_trade: false,
                    trade_id: f.trade_id.to_string(),
                    client_order_id: f.order.client_id.clone(),
                    order_id: f.order.id.to_string(),
                    fee_amount: f.fee.normalize().to_string(),
                    fee_currency: f.fee_asset.clone(),
                    time: f.ts_ms,
                };
                out.push(self.push(
                    PRIVATE_DEALS,
                    Some(s.mexc()),
                    ev.ts_ms,
                    Body::PrivateDeals(body),
                ));
            }
            PrivateChange::Balance {
                asset,
                balance,
                available_change,
                locked_change,
            } if self.names.contains(PRIVATE_ACCOUNT) => {
                let body = PrivateAccountV3Api {
                    vcoin_name: asset.clone(),
                    coin_id: asset.clone(),
                    balance_amount: balance.available.normalize().to_string(),
                    balance_amount_change: available_change.normalize().to_string(),
                    frozen_amount: balance.locked.normalize().to_string(),
                    frozen_amount_change: locked_change.normalize().to_string(),
                    r#type: "ENTRUST".to_owned(),
                    time: ev.ts_ms,
                };
                out.push(self.push(PRIVATE_ACCOUNT, None, ev.ts_ms, Body::PrivateAccount(body)));
            }
            _ => {}
        }
    }

    fn subscription_names(&self) -> Vec<String> {
        self.names.iter().cloned().collect()
    }

    fn deadline(&self) -> Option<Instant> {
        Some(if self.names.is_empty() {
            self.empty_since + self.limits.no_subscription_timeout
        } else {
            self.last_activity + self.limits.idle_timeout
        })
    }

    fn activity(&mut self, now: Instant) {
        self.last_activity = now;
    }

    fn binary(&self) -> bool {
        true
    }
}
