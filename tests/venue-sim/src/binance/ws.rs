//! Binance websocket connections: the stream names a URL starts with, live `SUBSCRIBE`,
//! `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY` and `GET_PROPERTY` requests with their
//! answers and errors, and the connection rules: a server ping every interval and a close
//! when one goes unanswered, at most N incoming messages per second, at most 1024 streams,
//! a maximum lifetime.
//!
//! Answers are `{"result":..,"id":..}`; errors take the documented `{"code":..,"msg":..}`
//! with the request's `id` added when the request had a usable one. Two behaviours are
//! assumptions (the document does not say): a request naming a stream that does not exist,
//! or that would take a connection over its stream limit, is refused as a whole (`code` 2,
//! `Invalid request: invalid stream` as clients have logged it from the live venue, and
//! `Invalid request: too many streams`); a connection over the message limit is closed with
//! a close frame (code 1008, policy).
// `new` returns the HTTP refusal as `Err`, like the MEXC session; boxing it would only add
// noise on a cold path.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeSet, VecDeque};

use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::config::{BinanceLimits, Source};
use crate::http::{json, param_in, App, Body as HttpBody};
use crate::topics::TopicSet;
use crate::trading::PrivateEvent;
use crate::ws::{Reply, Session};

/// One Binance websocket connection.
pub(crate) struct BinanceSession {
    topics: TopicSet,
    /// Subscribed stream names.
    names: BTreeSet<String>,
    /// Data frames wrapped as `{"stream":..,"data":..}` (`/stream`, or `SET_PROPERTY`).
    combined: bool,
    limits: BinanceLimits,
    /// Lower-case names of the served symbols (`btcusdt`); `None` serves every replayed one.
    symbols: Option<Vec<String>>,
    /// Streams named in the URL, subscribed when the websocket opens.
    initial: Vec<String>,
    /// When the last incoming messages arrived, within the last second.
    incoming: VecDeque<Instant>,
    /// When the oldest ping still unanswered was sent.
    unanswered_since: Option<Instant>,
    opened_at: Instant,
}

/// A refusal: the documented `code` and `msg`.
struct Refusal(i64, String);

fn invalid(msg: &str) -> Refusal {
    Refusal(2, format!("Invalid request: {msg}"))
}

impl BinanceSession {
    /// A session for `path` (`/ws`, `/ws/<stream>`, `/stream`) and `query`
    /// (`streams=<a>/<b>`); a URL naming an unknown stream, or too many, is refused with
    /// HTTP 400 before the upgrade.
    pub(crate) fn new(app: &App, path: &str, query: &str) -> Result<Self, Response<HttpBody>> {
        let (combined, initial): (bool, Vec<String>) = match path {
            "/stream" | "/stream/" => {
                let streams = param_in(query, "streams").unwrap_or("");
                (
                    true,
                    streams
                        .split('/')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                )
            }
            _ => match path.strip_prefix("/ws/") {
                Some(s) if !s.is_empty() => (false, vec![s.to_owned()]),
                _ => (false, Vec::new()),
            },
        };
        let symbols = (app.cfg.source != Source::Replay).then(|| {
            app.market
                .symbols
                .iter()
                .map(|s| s.mexc().to_ascii_lowercase())
                .collect()
        });
        let session = Self {
            topics: TopicSet::new(app.topics.clone()),
            names: BTreeSet::new(),
            combined,
            limits: app.cfg.binance_limits.clone(),
            symbols,
            initial,
            incoming: VecDeque::new(),
            unanswered_since: None,
            opened_at: Instant::now(),
        };
        if let Err(Refusal(code, msg)) = session.check(&session.initial) {
            let body = format!(r#"{{"code":{code},"msg":{}}}"#, Value::from(msg));
            return Err(json(StatusCode::BAD_REQUEST, body));
        }
        Ok(session)
    }

    /// The topic of a served stream.
    fn topic(&self, stream: &str) -> Option<u32> {
        let symbol = stream.split('@').next().unwrap_or("");
        let served = self
            .symbols
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == symbol));
        self.topics.table().lookup(stream, "").filter(|_| served)
    }

    /// Whether every stream of `streams` exists and the connection can take them all.
    fn check(&self, streams: &[String]) -> Result<(), Refusal> {
        if streams.iter().any(|s| self.topic(s).is_none()) {
            return Err(invalid("invalid stream"));
        }
        let new: BTreeSet<&String> = streams
            .iter()
            .filter(|s| !self.names.contains(*s))
            .collect();
        if self.names.len() + new.len() > self.limits.max_streams {
            return Err(invalid("too many streams"));
        }
        Ok(())
    }

    fn add(&mut self, streams: Vec<String>, reply: &mut Reply) {
        for s in streams {
            if let Some(t) = self.topic(&s) {
                if self.topics.insert(t) {
                    reply.started.push(t);
                }
                self.names.insert(s);
            }
        }
    }

    /// Answers one request: `Ok(result)` or the refusal.
    fn answer(&mut self, req: &Value, text: &str, reply: &mut Reply) -> Result<Value, Refusal> {
        let method = match req.get("method") {
            Some(Value::String(m)) => m.as_str(),
            Some(_) => return Err(invalid("method must be a string")),
            None => {
                let column = text.len();
                return Err(invalid(&format!(
                    "missing field `method` at line 1 column {column}"
                )));
            }
        };
        let params = match req.get("params") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(invalid("params must be an array")),
        };
        let streams = || -> Result<Vec<String>, Refusal> {
            params
                .iter()
                .map(|p| {
                    p.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid("invalid stream"))
                })
                .collect()
        };
        match method {
            "SUBSCRIBE" => {
                let streams = streams()?;
                self.check(&streams)?;
                self.add(streams, reply);
                Ok(Value::Null)
            }
            "UNSUBSCRIBE" => {
                for s in streams()? {
                    if let Some(t) = self.topic(&s) {
                        self.topics.remove(t);
                    }
                    self.names.remove(&s);
                }
                Ok(Value::Null)
            }
            "LIST_SUBSCRIPTIONS" if params.is_empty() => {
                Ok(Value::from(self.names.iter().cloned().collect::<Vec<_>>()))
            }
            "LIST_SUBSCRIPTIONS" => Err(invalid("too many parameters")),
            "SET_PROPERTY" | "GET_PROPERTY" => {
                let Some(name) = params.first().and_then(Value::as_str) else {
                    return Err(invalid("property name must be a string"));
                };
                if name != "combined" {
                    return Err(Refusal(0, "Unknown property".into()));
                }
                if method == "GET_PROPERTY" {
                    return match params.len() {
                        1 => Ok(Value::Bool(self.combined)),
                        _ => Err(invalid("too many parameters")),
                    };
                }
                match params.get(1..) {
                    Some([Value::Bool(b)]) => {
                        self.combined = *b;
                        Ok(Value::Null)
                    }
                    Some([_]) => Err(Refusal(1, "Invalid value type: expected Boolean".into())),
                    _ => Err(invalid("too many parameters")),
                }
            }
            other => Err(invalid(&format!(
                "unknown variant {other}, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, \
                 `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` at line 1 column 28"
            ))),
        }
    }
}

/// A request `id` the venue accepts: a 64-bit integer, an alphanumeric string of at most
/// 36 characters, or `null`.
fn valid_id(id: &Value) -> bool {
    match id {
        Value::Null => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        Value::String(s) => s.len() <= 36 && s.bytes().all(|b| b.is_ascii_alphanumeric()),
        _ => false,
    }
}

impl Session for BinanceSession {
    fn on_text(&mut self, text: &str, reply: &mut Reply) {
        let (result, id) = match serde_json::from_str::<Value>(text) {
            Err(e) => (Err(Refusal(3, format!("Invalid JSON: {e}"))), None),
            Ok(req) => match req.get("id") {
                Some(id) if valid_id(id) => (self.answer(&req, text, reply), Some(id.clone())),
                _ => (Err(invalid("request ID must be an unsigned integer")), None),
            },
        };
        let id_field = id.map(|id| format!(r#","id":{id}"#)).unwrap_or_default();
        let out = match result {
            Ok(v) => format!(r#"{{"result":{v}{id_field}}}"#),
            Err(Refusal(code, msg)) => {
                format!(r#"{{"code":{code},"msg":{}{id_field}}}"#, Value::from(msg))
            }
        };
        reply.out.push(Message::text(out));
    }

    fn topics(&self) -> &TopicSet {
        &self.topics
    }

    fn on_private(&mut self, _ev: &PrivateEvent, _out: &mut Vec<Message>) {}

    fn subscription_names(&self) -> Vec<String> {
        self.names.iter().cloned().collect()
    }

    fn deadline(&self) -> Option<Instant> {
        let end = self.opened_at + self.limits.lifetime;
        Some(match self.unanswered_since {
            Some(t) => end.min(t + self.limits.pong_timeout),
            None => end,
        })
    }

    fn binary(&self) -> bool {
        false
    }

    fn opened(&mut self, reply: &mut Reply) {
        let initial = std::mem::take(&mut self.initial);
        self.add(initial, reply);
    }

    fn incoming(&mut self, now: Instant, msg: &Message) -> bool {
        if matches!(msg, Message::Pong(_)) {
            self.unanswered_since = None;
        }
        while self
            .incoming
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.incoming.pop_front();
        }
        self.incoming.push_back(now);
        self.incoming.len() <= self.limits.max_incoming_per_sec
    }

    fn ping_every(&self) -> Option<Duration> {
        Some(self.limits.ping_interval)
    }

    fn pinged(&mut self, now: Instant) {
        self.unanswered_since.get_or_insert(now);
    }

    fn wrap(&self, topic: u32, msg: &Message) -> Option<Message> {
        if !self.combined {
            return None;
        }
        let (stream, _) = self.topics.table().name(topic)?;
        let data = msg.to_text().ok()?;
        let stream = Value::from(stream.as_str());
        Some(Message::text(format!(
            r#"{{"stream":{stream},"data":{data}}}"#
        )))
    }
}
