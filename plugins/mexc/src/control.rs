//! JSON control frames: the requests the plugin sends (`SUBSCRIPTION`, `UNSUBSCRIPTION`,
//! `PING`) and the classification of the text frames MEXC answers with.

use plugin_api::OutFrame;
use serde_json::Value;

/// Most channels one request carries (MEXC allows 30 subscriptions per connection).
pub const MAX_PARAMS_PER_REQUEST: usize = 30;

/// A request method.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Method {
    /// `SUBSCRIPTION`.
    Subscription,
    /// `UNSUBSCRIPTION`.
    Unsubscription,
    /// `PING`.
    Ping,
}

impl Method {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Subscription => "SUBSCRIPTION",
            Method::Unsubscription => "UNSUBSCRIPTION",
            Method::Ping => "PING",
        }
    }

    fn from_wire(text: &str) -> Option<Method> {
        match text {
            "SUBSCRIPTION" => Some(Method::Subscription),
            "UNSUBSCRIPTION" => Some(Method::Unsubscription),
            "PING" => Some(Method::Ping),
            _ => None,
        }
    }
}

/// What a text frame is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Control {
    /// `{"id":0,"code":0,"msg":"<channel>"}`: a (un)subscription of `channel` succeeded.
    /// Whether it answers a subscribe or an unsubscribe is known only from what was sent.
    Ack {
        /// The echoed channel.
        channel: String,
    },
    /// `{"id":0,"code":0,"msg":"PONG"}`.
    Pong,
    /// A non-zero `code`, or a `msg` that reports a refused subscription.
    Failed {
        /// The venue's code.
        code: i64,
        /// The venue's message (truncated).
        msg: String,
    },
    /// A client request (`{"method":..,"params":[..]}`), as found in captures of both directions.
    Request {
        /// Method.
        method: Method,
        /// Channels.
        params: Vec<String>,
    },
    /// A pre-protobuf JSON push `{"c":<channel>,"d":{..},"s":..,"t":..}`; MEXC retired these
    /// channels, so the plugin never parses them as data.
    Legacy {
        /// The legacy channel.
        channel: String,
    },
}

/// Why a text frame could not be classified.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ControlError {
    /// Not JSON.
    Malformed(String),
    /// JSON of an unknown shape.
    Unknown(String),
}

/// Classifies one text frame.
pub fn classify(text: &[u8]) -> Result<Control, ControlError> {
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| ControlError::Malformed(format!("not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ControlError::Unknown("not a JSON object".to_owned()));
    };
    if let (Some(Value::String(channel)), Some(_)) = (map.get("c"), map.get("d")) {
        return Ok(Control::Legacy {
            channel: crate::rest::short(channel).to_owned(),
        });
    }
    if let Some(Value::String(method)) = map.get("method") {
        let method = Method::from_wire(method).ok_or_else(|| {
            ControlError::Unknown(format!("method {}", crate::rest::short(method)))
        })?;
        let params = match map.get("params") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        return Ok(Control::Request { method, params });
    }
    let code = map.get("code").and_then(Value::as_i64);
    let msg = map.get("msg").and_then(Value::as_str);
    match (code, msg) {
        (Some(0), Some("PONG")) => Ok(Control::Pong),
        (Some(0), Some(msg)) if msg.starts_with("spot@") && !msg.contains(' ') => {
            Ok(Control::Ack {
                channel: msg.to_owned(),
            })
        }
        (Some(code), Some(msg)) => Ok(Control::Failed {
            code,
            msg: crate::rest::short(msg).to_owned(),
        }),
        (Some(code), None) => Ok(Control::Failed {
            code,
            msg: String::new(),
        }),
        _ => Err(ControlError::Unknown(format!(
            "keys {:?}",
            map.keys().take(8).collect::<Vec<_>>()
        ))),
    }
}

/// `{"method":"SUBSCRIPTION"|"UNSUBSCRIPTION","params":[..]}` frames, at most
/// [`MAX_PARAMS_PER_REQUEST`] channels each.
pub fn request_frames(method: Method, channels: &[String]) -> Vec<OutFrame> {
    channels
        .chunks(MAX_PARAMS_PER_REQUEST)
        .map(|chunk| {
            let body = serde_json::json!({ "method": method.as_str(), "params": chunk });
            OutFrame::text(body.to_string())
        })
        .collect()
}

/// `{"method":"PING"}`.
pub fn ping_frame() -> OutFrame {
    OutFrame::text(r#"{"method":"PING"}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_acks_pong_failures() {
        let ack = br#"{"id":0,"code":0,"msg":"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"}"#;
        assert!(matches!(classify(ack), Ok(Control::Ack { .. })));
        assert_eq!(
            classify(br#"{"id":0,"code":0,"msg":"PONG"}"#),
            Ok(Control::Pong)
        );
        let refused =
            br#"{"id":0,"code":0,"msg":"Not Subscribed successfully! [spot@x]. Reason: Blocked!"}"#;
        assert!(matches!(
            classify(refused),
            Ok(Control::Failed { code: 0, .. })
        ));
        assert!(matches!(classify(b"nope"), Err(ControlError::Malformed(_))));
        assert!(matches!(classify(b"[1]"), Err(ControlError::Unknown(_))));
        assert!(matches!(
            classify(br#"{"a":1}"#),
            Err(ControlError::Unknown(_))
        ));
    }

    #[test]
    fn builds_requests() {
        let channels: Vec<String> = (0..31).map(|i| format!("c{i}")).collect();
        let frames = request_frames(Method::Subscription, &channels);
        assert_eq!(frames.len(), 2);
        let first = std::str::from_utf8(&frames[0].data).unwrap();
        assert!(
            first.starts_with(r#"{"method":"SUBSCRIPTION","params":["c0","#),
            "{first}"
        );
        assert_eq!(&*ping_frame().data, br#"{"method":"PING"}"#);
    }
}
