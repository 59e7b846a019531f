//! Websocket request frames: subscribe/unsubscribe (with private-channel auth) and ping.

use plugin_api::OutFrame;
use serde::Serialize;

use crate::sign;
use plugin_api::kit::Credentials;

/// The error `code` with which Gate refuses a private channel's `auth` ("Authentication
/// fail"): the key or the secret is wrong.
pub const AUTH_FAIL: i64 = 4;

#[derive(Serialize)]
struct Auth<'a> {
    method: &'a str,
    #[serde(rename = "KEY")]
    key: &'a str,
    #[serde(rename = "SIGN")]
    sign: String,
}

#[derive(Serialize)]
struct Request<'a> {
    time: u64,
    id: u64,
    channel: &'a str,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a [&'a str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<Auth<'a>>,
}

/// A subscribe or unsubscribe request (`event`), signed when `credentials` are given.
///
/// `payload: None` omits the field (as `spot.balances` expects).
pub fn channel_request(
    channel: &str,
    event: &str,
    payload: Option<&[&str]>,
    id: u64,
    time_s: u64,
    credentials: Option<&Credentials>,
) -> OutFrame {
    let auth = credentials.map(|c| Auth {
        method: "api_key",
        key: &c.api_key,
        sign: sign::ws_sign(&c.api_secret, channel, event, time_s),
    });
    let req = Request {
        time: time_s,
        id,
        channel,
        event,
        payload,
        auth,
    };
    OutFrame::text(serde_json::to_string(&req).unwrap_or_default())
}

/// The application ping: `{"time":<s>,"channel":"spot.ping"}`.
pub fn ping(time_s: u64) -> OutFrame {
    OutFrame::text(format!("{{\"time\":{time_s},\"channel\":\"spot.ping\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: &OutFrame) -> &str {
        std::str::from_utf8(f.data.as_slice()).unwrap()
    }

    #[test]
    fn public_subscribe_matches_doc_shape() {
        let f = channel_request(
            "spot.order_book_update",
            "subscribe",
            Some(&["BTC_USDT", "100ms"]),
            7,
            1606294781,
            None,
        );
        assert_eq!(
            text(&f),
            r#"{"time":1606294781,"id":7,"channel":"spot.order_book_update","event":"subscribe","payload":["BTC_USDT","100ms"]}"#
        );
        assert_eq!(
            text(&ping(1545404023)),
            r#"{"time":1545404023,"channel":"spot.ping"}"#
        );
    }

    #[test]
    fn private_subscribe_is_signed() {
        let c = Credentials {
            api_key: "k".into(),
            api_secret: "secret".into(),
        };
        let f = channel_request("spot.balances", "subscribe", None, 1, 1611541000, Some(&c));
        let v: serde_json::Value = serde_json::from_str(text(&f)).unwrap();
        assert_eq!(v["auth"]["KEY"], "k");
        assert_eq!(v["auth"]["method"], "api_key");
        assert_eq!(
            v["auth"]["SIGN"],
            sign::ws_sign("secret", "spot.balances", "subscribe", 1611541000)
        );
        assert!(v.get("payload").is_none());
    }
}
