//! Gate spot v4 websocket protocol: `{time, id, channel, event, payload, auth}` requests,
//! subscribe/unsubscribe acks and errors, `spot.ping`, and the authenticated private channels.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::sign;
use crate::config::Source;
use crate::http::App;
use crate::synthetic::now_ms;
use crate::topics::TopicSet;
use crate::trading::{Exchange, PrivateChange, PrivateEvent};
use crate::ws::{Reply, Session};

/// Public channels whose payload items are pairs (or obu stream names).
const PUBLIC: &[&str] = &[
    "spot.order_book_update",
    "spot.book_ticker",
    "spot.trades",
    "spot.tickers",
    "spot.candlesticks",
    "spot.order_book",
    "spot.obu",
];
/// Private channels, which need `auth`.
const PRIVATE: &[&str] = &["spot.orders", "spot.balances", "spot.usertrades"];

/// Error codes of the WS doc.
const INVALID_BODY: i64 = 1;
const INVALID_ARGUMENT: i64 = 2;
const AUTH_FAIL: i64 = 4;

/// A JSON object that keeps its keys in insertion order (the venue's order), without turning
/// on serde_json's `preserve_order` for the whole workspace.
#[derive(Default)]
struct Ordered(Vec<(&'static str, Value)>);

impl Ordered {
    fn insert(&mut self, k: &'static str, v: Value) {
        self.0.push((k, v));
    }

    fn message(&self) -> Message {
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&Value::from(*k).to_string());
            s.push(':');
            s.push_str(&v.to_string());
        }
        s.push('}');
        Message::text(s)
    }
}

/// One Gate websocket connection.
pub(crate) struct GateSession {
    topics: TopicSet,
    names: BTreeSet<String>,
    conn_id: String,
    exchange: Arc<Exchange>,
    /// Validate pairs against the configured symbols (every source but pure replay).
    check_pairs: bool,
    /// Private channel → (API key, payload items).
    private: BTreeMap<&'static str, (String, Vec<String>)>,
}

impl GateSession {
    pub(crate) fn new(app: &App) -> Self {
        Self {
            topics: TopicSet::new(app.topics.clone()),
            names: BTreeSet::new(),
            conn_id: format!("{:016x}", rand::random::<u64>()),
            exchange: app.exchange.clone(),
            check_pairs: app.cfg.source != Source::Replay,
            private: BTreeMap::new(),
        }
    }

    fn head(&self, id: Option<&Value>, channel: &str, event: &str) -> Ordered {
        let ms = now_ms();
        let mut m = Ordered::default();
        m.insert("time", json!(ms / 1000));
        m.insert("time_ms", json!(ms));
        if let Some(id) = id {
            m.insert("id", id.clone());
        }
        m.insert("conn_id", json!(self.conn_id));
        m.insert("channel", json!(channel));
        m.insert("event", json!(event));
        m
    }

    fn ack(
        &self,
        id: Option<&Value>,
        channel: &str,
        event: &str,
        payload: Option<&Value>,
    ) -> Message {
        let mut m = self.head(id, channel, event);
        if let Some(p) = payload {
            m.insert("payload", p.clone());
        }
        m.insert("error", Value::Null);
        m.insert("result", json!({"status": "success"}));
        m.message()
    }

    fn error(
        &self,
        id: Option<&Value>,
        channel: &str,
        event: &str,
        code: i64,
        message: &str,
    ) -> Message {
        let mut m = self.head(id, channel, event);
        m.insert("error", json!({"code": code, "message": message}));
        m.insert("result", json!({"status": "fail"}));
        m.message()
    }

    fn check_auth(&self, req: &Value, channel: &str, event: &str) -> Result<String, &'static str> {
        let auth = req.get("auth").ok_or("auth required")?;
        if auth.get("method").and_then(Value::as_str) != Some("api_key") {
            return Err("invalid auth method");
        }
        let key = auth
            .get("KEY")
            .and_then(Value::as_str)
            .ok_or("missing KEY")?;
        let sig = auth
            .get("SIGN")
            .and_then(Value::as_str)
            .ok_or("missing SIGN")?;
        let time = req
            .get("time")
            .and_then(Value::as_i64)
            .ok_or("missing time")?;
        let secret = self.exchange.secret(key).ok_or("invalid key")?;
        if (now_ms() / 1000 - time).abs() > sign::MAX_SKEW_SECS {
            return Err("request expired");
        }
        if !sign::verify(secret, &sign::ws_payload(channel, event, time), sig) {
            return Err("invalid signature");
        }
        Ok(key.to_owned())
    }

    fn subscribe_public(
        &mut self,
        id: Option<&Value>,
        channel: &str,
        payload: &[String],
        reply: &mut Reply,
    ) -> Result<(), Message> {
        if self.check_pairs
            && matches!(
                channel,
                "spot.order_book_update" | "spot.book_ticker" | "spot.trades"
            )
        {
            let pairs: &[String] = if channel == "spot.order_book_update" {
                &payload[..payload.len().min(1)]
            } else {
                payload
            };
            let market = self.exchange.market();
            if let Some(bad) = pairs.iter().find(|p| market.find(p).is_none()) {
                return Err(self.error(
                    id,
                    channel,
                    "subscribe",
                    INVALID_ARGUMENT,
                    &format!("unknown currency pair: {bad}"),
                ));
            }
        }
        for item in payload {
            if let Some(t) = self.topics.table().lookup(channel, item) {
                if !self.topics.insert(t) {
                    if channel == "spot.obu" {
                        return Err(self.error(
                            id,
                            channel,
                            "subscribe",
                            INVALID_ARGUMENT,
                            &format!("Alert sub {item}"),
                        ));
                    }
                } else {
                    reply.started.push(t);
                }
            }
        }
        self.names
            .insert(format!("{channel}:{}", payload.join(",")));
        Ok(())
    }

    fn unsubscribe_public(&mut self, channel: &str, payload: &[String]) {
        for item in payload {
            if let Some(t) = self.topics.table().lookup(channel, item) {
                self.topics.remove(t);
            }
        }
        let prefix = format!("{channel}:");
        self.names.retain(|n| {
            !(n.starts_with(&prefix)
                && n[prefix.len()..]
                    .split(',')
                    .any(|i| payload.iter().any(|p| p == i)))
        });
    }

    fn push(&self, channel: &str, result: Value) -> Message {
        let ms = now_ms();
        Message::text(
            json!({"time": ms / 1000, "time_ms": ms, "channel": channel, "event": "update", "result": result})
                .to_string(),
        )
    }

    fn wants(&self, channel: &'static str, key: &str, pair: Option<&str>) -> bool {
        self.private.get(channel).is_some_and(|(k, items)| {
            k == key
                && (pair.is_none()
                    || items.is_empty()
                    || items
                        .iter()
                        .any(|i| i == "!all" || Some(i.as_str()) == pair))
        })
    }
}

impl Session for GateSession {
    fn on_text(&mut self, text: &str, reply: &mut Reply) {
        let req: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                reply.out.push(self.error(
                    None,
                    "",
                    "",
                    INVALID_BODY,
                    "Invalid request body format",
                ));
                return;
            }
        };
        let id = req.get("id");
        let Some(channel) = req.get("channel").and_then(Value::as_str) else {
            reply
                .out
                .push(self.error(id, "", "", INVALID_BODY, "Invalid request body format"));
            return;
        };
        let event = req.get("event").and_then(Value::as_str).unwrap_or("");
        if channel == "spot.ping" {
            let mut m = self.head(id, "spot.pong", "");
            m.insert("error", Value::Null);
            m.insert("result", Value::Null);
            reply.out.push(m.message());
            return;
        }
        let payload_v = req.get("payload");
        let payload: Option<Vec<String>> = match payload_v {
            None => Some(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
            Some(_) => None,
        };
        let Some(payload) = payload else {
            reply.out.push(self.error(
                id,
                channel,
                event,
                INVALID_ARGUMENT,
                "Invalid argument provided",
            ));
            return;
        };
        if event != "subscribe" && event != "unsubscribe" {
            reply.out.push(self.error(
                id,
                channel,
                event,
                INVALID_ARGUMENT,
                &format!("unknown event {event}"),
            ));
            return;
        }
        if let Some(ch) = PRIVATE.iter().find(|c| **c == channel) {
            let key = match self.check_auth(&req, channel, event) {
                Ok(k) => k,
                Err(_) => {
                    reply.out.push(self.error(
                        id,
                        channel,
                        event,
                        AUTH_FAIL,
                        "Authentication fail",
                    ));
                    return;
                }
            };
            let name = format!("{channel}:{}", payload.join(","));
            if event == "subscribe" {
                self.private.insert(ch, (key, payload));
                self.names.insert(name);
            } else {
                self.private.remove(ch);
                let prefix = format!("{channel}:");
                self.names.retain(|n| !n.starts_with(&prefix));
            }
            reply.out.push(self.ack(id, channel, event, None));
            return;
        }
        if !PUBLIC.contains(&channel) {
            reply.out.push(self.error(
                id,
                channel,
                event,
                INVALID_ARGUMENT,
                &format!("unknown channel {channel}"),
            ));
            return;
        }
        if payload.is_empty() {
            reply.out.push(self.error(
                id,
                channel,
                event,
                INVALID_ARGUMENT,
                "Invalid argument provided",
            ));
            return;
        }
        if event == "subscribe" {
            match self.subscribe_public(id, channel, &payload, reply) {
                Ok(()) => reply.out.push(self.ack(id, channel, event, payload_v)),
                Err(e) => reply.out.push(e),
            }
        } else {
            self.unsubscribe_public(channel, &payload);
            reply.out.push(self.ack(id, channel, event, payload_v));
        }
    }

    fn topics(&self) -> &TopicSet {
        &self.topics
    }

    fn on_private(&mut self, ev: &PrivateEvent, out: &mut Vec<Message>) {
        let market = self.exchange.market();
        match &ev.change {
            PrivateChange::Order(o) => {
                let sym = &market.symbols[o.symbol];
                if self.wants("spot.orders", &ev.key, Some(&sym.gate())) {
                    let mut j = super::order_json(o, sym);
                    let event = match o.status {
                        crate::trading::OrderStatus::Open if o.filled.is_zero() => "put",
                        crate::trading::OrderStatus::Open => "update",
                        _ => "finish",
                    };
                    j["event"] = json!(event);
                    out.push(self.push("spot.orders", json!([j])));
                }
            }
            PrivateChange::Fill(f) => {
                let sym = &market.symbols[f.order.symbol];
                if self.wants("spot.usertrades", &ev.key, Some(&sym.gate())) {
                    let r = json!([{
                        "id": f.trade_id,
                        "user_id": 1,
                        "order_id": f.order.id.to_string(),
                        "currency_pair": sym.gate(),
                        "create_time": f.ts_ms / 1000,
                        "create_time_ms": format!("{}.000", f.ts_ms),
                        "side": super::side_str(f.order.side),
                        "amount": f.qty.normalize().to_string(),
                        "role": if f.maker { "maker" } else { "taker" },
                        "price": f.price.normalize().to_string(),
                        "fee": f.fee.normalize().to_string(),
                        "fee_currency": f.fee_asset,
                        "point_fee": "0",
                        "gt_fee": "0",
                        "text": f.order.client_id,
                    }]);
                    out.push(self.push("spot.usertrades", r));
                }
            }
            PrivateChange::Balance {
                asset,
                balance,
                available_change,
                locked_change,
            } => {
                if self.wants("spot.balances", &ev.key, None) {
                    let r = json!([{
                        "timestamp": (ev.ts_ms / 1000).to_string(),
                        "timestamp_ms": ev.ts_ms.to_string(),
                        "user": "1",
                        "currency": asset,
                        "change": available_change.normalize().to_string(),
                        "total": (balance.available + balance.locked).normalize().to_string(),
                        "available": balance.available.normalize().to_string(),
                        "freeze": balance.locked.normalize().to_string(),
                        "freeze_change": locked_change.normalize().to_string(),
                        "change_type": "order",
                    }]);
                    out.push(self.push("spot.balances", r));
                }
            }
        }
    }

    fn subscription_names(&self) -> Vec<String> {
        self.names.iter().cloned().collect()
    }

    fn binary(&self) -> bool {
        false
    }
}
