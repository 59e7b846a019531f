//! Captures: a recorded session as JSONL, one step per line, replayed in order by
//! [`crate::Harness::replay`].
//!
//! Every line is a JSON object with an `op`:
//!
//! | `op` | keys | does |
//! |---|---|---|
//! | `start` | | calls `start` (replay calls it first anyway if nobody did) |
//! | `open` | `conn` | opens the declared connection `conn` (a new id) |
//! | `subscribe`, `unsubscribe` | `conn`, `topics`: `[{"kind": "trades", "symbol": "BTC/USDT"}]` | one call with every topic; `symbol` normalized, `""` for none |
//! | `frame` | `conn`, one of `text` (string), `json` (any JSON, sent as its compact text), `hex` (binary); optional `label` | feeds a received frame |
//! | `rest` | `status`, `body` (string) or `json`; optional `method`, `path`, `query`, `error` | answers the oldest pending request with that method and path (and query, if given), or the oldest of all without them |
//! | `timer` | `name` | fires an armed timer |
//! | `heartbeat` | `conn` | asks for the heartbeat frame |
//! | `disconnect`, `reconnect` | `conn` | the socket drops / is back (same id, topics subscribed again) |
//! | `clock` | `advance_ms` or `set_ms` | moves the clock |
//! | `stop` | | calls `stop` |
//! | `comment` | `text` | nothing: notes such as provenance |
//!
//! `conn` names a connection by its declared name; the latest one opened under that name
//! is meant. Label the venue's answers to subscribe requests `"label": "ack"`: the
//! conformance suite checks those are consumed without rejects or errors.

use std::path::Path;

use plugin_api::{FrameKind, StreamKind};
use serde_json::{Map, Value};

use crate::error::CaptureError;

/// One step of a capture.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// Call `start`.
    Start,
    /// Open a connection by declared name.
    Open {
        /// The declared connection name.
        conn: String,
    },
    /// Subscribe topics, `(kind, normalized symbol)`, on a connection in one call.
    Subscribe {
        /// The declared connection name.
        conn: String,
        /// The topics.
        topics: Vec<(StreamKind, String)>,
    },
    /// Unsubscribe topics on a connection in one call.
    Unsubscribe {
        /// The declared connection name.
        conn: String,
        /// The topics.
        topics: Vec<(StreamKind, String)>,
    },
    /// A received frame.
    Frame {
        /// The declared connection name.
        conn: String,
        /// Text or binary.
        kind: FrameKind,
        /// The payload.
        data: Vec<u8>,
        /// A label (`ack`, ...).
        label: Option<String>,
    },
    /// The answer to a pending REST request.
    Rest {
        /// The method to match, if given.
        method: Option<String>,
        /// The path to match, if given.
        path: Option<String>,
        /// The query to match, if given.
        query: Option<String>,
        /// HTTP status (0: failed before any answer).
        status: u16,
        /// Body.
        body: String,
        /// Transport error text (with status 0).
        error: String,
    },
    /// Fire an armed timer.
    Timer {
        /// The timer's name.
        name: String,
    },
    /// Ask for a connection's heartbeat frame.
    Heartbeat {
        /// The declared connection name.
        conn: String,
    },
    /// A connection's socket dropped.
    Disconnect {
        /// The declared connection name.
        conn: String,
    },
    /// A connection's socket is back.
    Reconnect {
        /// The declared connection name.
        conn: String,
    },
    /// Move the clock forward.
    Advance {
        /// Milliseconds.
        ms: u64,
    },
    /// Set the clock.
    SetClock {
        /// Milliseconds since the Unix epoch.
        ms: u64,
    },
    /// Call `stop`.
    Stop,
}

/// One step and the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based line number in the capture.
    pub line: usize,
    /// What to do.
    pub op: Op,
}

/// A recorded session, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    name: String,
    steps: Vec<Step>,
}

impl Capture {
    /// Reads a capture file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Capture, CaptureError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CaptureError::Io {
            name: name.clone(),
            source,
        })?;
        Capture::parse(&name, &text)
    }

    /// Parses capture text; `name` is used in errors.
    pub fn parse(name: &str, text: &str) -> Result<Capture, CaptureError> {
        let mut steps = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let fail = |reason: String| CaptureError::Line {
                name: name.to_owned(),
                line,
                reason,
            };
            let value: Value =
                serde_json::from_str(raw).map_err(|e| fail(format!("not JSON: {e}")))?;
            let Value::Object(map) = value else {
                return Err(fail("a line must be a JSON object with an `op`".into()));
            };
            if let Some(op) = parse_op(&map).map_err(fail)? {
                steps.push(Step { line, op });
            }
        }
        Ok(Capture {
            name: name.to_owned(),
            steps,
        })
    }

    /// A capture built from steps (line numbers are their positions).
    pub fn from_ops(name: &str, ops: Vec<Op>) -> Capture {
        let steps = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| Step { line: i + 1, op })
            .collect();
        Capture {
            name: name.to_owned(),
            steps,
        }
    }

    /// The capture's name (its file).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// This capture without its `stop` steps (to keep driving the instance afterwards).
    pub fn without_stop(&self) -> Capture {
        Capture {
            name: self.name.clone(),
            steps: self
                .steps
                .iter()
                .filter(|s| s.op != Op::Stop)
                .cloned()
                .collect(),
        }
    }

    /// The normalized symbols the capture subscribes, in first-seen order.
    pub fn symbols(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for step in &self.steps {
            if let Op::Subscribe { topics, .. } = &step.op {
                for (_, s) in topics {
                    if !s.is_empty() && !out.contains(s) {
                        out.push(s.clone());
                    }
                }
            }
        }
        out
    }
}

fn string(map: &Map<String, Value>, key: &str) -> Result<String, String> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("`{key}` must be a string")),
        None => Err(format!("`{key}` is missing")),
    }
}

fn opt_string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => string(map, key).map(Some),
    }
}

fn number(map: &Map<String, Value>, key: &str) -> Result<u64, String> {
    map.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("`{key}` must be a non-negative integer"))
}

fn topics(map: &Map<String, Value>) -> Result<Vec<(StreamKind, String)>, String> {
    let Some(Value::Array(items)) = map.get("topics") else {
        return Err("`topics` must be an array of {\"kind\", \"symbol\"}".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(t) = item else {
                return Err(format!("`topics[{i}]` must be an object"));
            };
            let kind = string(t, "kind").map_err(|e| format!("`topics[{i}]`: {e}"))?;
            let kind = StreamKind::from_name(&kind).ok_or_else(|| {
                let names: Vec<_> = StreamKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "`topics[{i}].kind`: unknown kind `{kind}` (one of {})",
                    names.join(", ")
                )
            })?;
            let symbol = opt_string(t, "symbol")
                .map_err(|e| format!("`topics[{i}]`: {e}"))?
                .unwrap_or_default();
            Ok((kind, symbol))
        })
        .collect()
}

fn frame(map: &Map<String, Value>) -> Result<Op, String> {
    let conn = string(map, "conn")?;
    let label = opt_string(map, "label")?;
    let given: Vec<&str> = ["text", "json", "hex"]
        .into_iter()
        .filter(|k| map.contains_key(*k))
        .collect();
    let (kind, data) = match given.as_slice() {
        ["text"] => (FrameKind::Text, string(map, "text")?.into_bytes()),
        ["json"] => (FrameKind::Text, map["json"].to_string().into_bytes()),
        ["hex"] => {
            let hex_text = string(map, "hex")?;
            let data = hex::decode(hex_text.trim()).map_err(|e| format!("`hex`: {e}"))?;
            (FrameKind::Binary, data)
        }
        _ => return Err("a frame needs exactly one of `text`, `json`, `hex`".into()),
    };
    Ok(Op::Frame {
        conn,
        kind,
        data,
        label,
    })
}

fn rest(map: &Map<String, Value>) -> Result<Op, String> {
    let status = number(map, "status")?;
    let status = u16::try_from(status).map_err(|_| "`status` must fit in u16".to_owned())?;
    let body = match (map.get("body"), map.get("json")) {
        (Some(_), Some(_)) => return Err("give `body` or `json`, not both".into()),
        (Some(_), None) => string(map, "body")?,
        (None, Some(json)) => json.to_string(),
        (None, None) => String::new(),
    };
    Ok(Op::Rest {
        method: opt_string(map, "method")?,
        path: opt_string(map, "path")?,
        query: opt_string(map, "query")?,
        status,
        body,
        error: opt_string(map, "error")?.unwrap_or_default(),
    })
}

/// Every key a line may have; `src` is free text for provenance.
const KEYS: [&str; 17] = [
    "op",
    "conn",
    "topics",
    "text",
    "json",
    "hex",
    "label",
    "method",
    "path",
    "query",
    "status",
    "body",
    "error",
    "name",
    "advance_ms",
    "set_ms",
    "src",
];

/// One line's step; `None` for comments.
fn parse_op(map: &Map<String, Value>) -> Result<Option<Op>, String> {
    let op = string(map, "op")?;
    if op != "comment" {
        if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!("unknown key `{k}` (keys: {})", KEYS.join(", ")));
        }
    }
    let conn = || string(map, "conn");
    Ok(Some(match op.as_str() {
        "comment" => return Ok(None),
        "start" => Op::Start,
        "stop" => Op::Stop,
        "open" => Op::Open { conn: conn()? },
        "subscribe" => Op::Subscribe {
            conn: conn()?,
            topics: topics(map)?,
        },
        "unsubscribe" => Op::Unsubscribe {
            conn: conn()?,
            topics: topics(map)?,
        },
        "frame" => frame(map)?,
        "rest" => rest(map)?,
        "timer" => Op::Timer {
            name: string(map, "name")?,
        },
        "heartbeat" => Op::Heartbeat { conn: conn()? },
        "disconnect" => Op::Disconnect { conn: conn()? },
        "reconnect" => Op::Reconnect { conn: conn()? },
        "clock" => match (map.contains_key("advance_ms"), map.contains_key("set_ms")) {
            (true, false) => Op::Advance {
                ms: number(map, "advance_ms")?,
            },
            (false, true) => Op::SetClock {
                ms: number(map, "set_ms")?,
            },
            _ => return Err("`clock` needs exactly one of `advance_ms`, `set_ms`".into()),
        },
        other => {
            return Err(format!(
                "unknown op `{other}` (start, open, subscribe, unsubscribe, frame, rest, timer, \
                 heartbeat, disconnect, reconnect, clock, stop, comment)"
            ))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_op() {
        let text = r#"{"op":"comment","text":"from the docs"}
{"op":"start"}
{"op":"open","conn":"public"}
{"op":"subscribe","conn":"public","topics":[{"kind":"trades","symbol":"BTC/USDT"},{"kind":"orders"}]}
{"op":"frame","conn":"public","json":{"a":1},"label":"ack"}
{"op":"frame","conn":"public","hex":"0a0b"}

{"op":"rest","method":"GET","path":"/x","status":200,"json":{"id":1}}
{"op":"timer","name":"t"}
{"op":"clock","advance_ms":5}
{"op":"stop"}"#;
        let c = Capture::parse("c.jsonl", text).unwrap();
        assert_eq!(c.steps().len(), 9);
        assert_eq!(c.steps()[0].line, 2);
        assert_eq!(
            c.steps()[2].op,
            Op::Subscribe {
                conn: "public".into(),
                topics: vec![
                    (StreamKind::Trades, "BTC/USDT".into()),
                    (StreamKind::Orders, String::new())
                ]
            }
        );
        let Op::Frame { data, label, .. } = &c.steps()[3].op else {
            panic!()
        };
        assert_eq!(
            (data.as_slice(), label.as_deref()),
            (&b"{\"a\":1}"[..], Some("ack"))
        );
        let Op::Frame { kind, data, .. } = &c.steps()[4].op else {
            panic!()
        };
        assert_eq!(
            (*kind, data.as_slice()),
            (FrameKind::Binary, &[10u8, 11][..])
        );
        assert_eq!(c.symbols(), vec!["BTC/USDT".to_owned()]);
        assert_eq!(c.without_stop().steps().len(), 8);
    }

    #[test]
    fn errors_name_the_capture_line_and_key() {
        let cases = [
            (
                "{\"op\":\"frame\",\"conn\":\"p\"}",
                "line 1: a frame needs exactly one",
            ),
            (
                "{\"op\":\"frame\",\"conn\":\"p\",\"hex\":\"zz\"}",
                "line 1: `hex`",
            ),
            ("{\"op\":\"open\"}", "line 1: `conn` is missing"),
            ("\n{\"op\":\"jump\"}", "line 2: unknown op `jump`"),
            (
                "{\"op\":\"subscribe\",\"conn\":\"p\",\"topics\":[{\"kind\":\"candles\"}]}",
                "`topics[0].kind`: unknown kind `candles`",
            ),
            ("[1]", "must be a JSON object"),
            ("{\"op\":\"rest\",\"status\":-1}", "`status` must be"),
            (
                "{\"op\":\"open\",\"conn\":\"p\",\"lable\":1}",
                "unknown key `lable`",
            ),
        ];
        for (text, want) in cases {
            let err = Capture::parse("c.jsonl", text).unwrap_err().to_string();
            assert!(err.starts_with("c.jsonl line"), "{err}");
            assert!(err.contains(want), "{err} should contain {want}");
        }
    }
}
