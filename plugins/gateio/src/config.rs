//! Instance settings parsed from `VenueConfig.settings_json`, with redacted credentials.

use std::fmt;

use plugin_api::PluginError;
use serde::Deserialize;

/// Default public and private websocket URL (spot v4).
pub const DEFAULT_WS_URL: &str = "wss://api.gateio.ws/ws/v4/";
/// Default REST base URL; request paths carry the `/api/v4` prefix.
pub const DEFAULT_REST_URL: &str = "https://api.gateio.ws";
/// Default per-request REST timeout.
pub const DEFAULT_REST_TIMEOUT_MS: u64 = 10_000;
/// Default depth of the REST snapshot (`limit`), matching the `100ms` update stream.
pub const DEFAULT_DEPTH_LIMIT: u32 = 100;

/// API key and secret. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API key (sent in the `KEY` header / WS `auth.KEY`).
    pub key: String,
    /// The API secret (HMAC key); never leaves the plugin.
    pub secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("key", &"<redacted>")
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The settings of one Gate.io instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Websocket URL for the public connection.
    pub ws_url: String,
    /// Websocket URL for the private connection.
    pub private_ws_url: String,
    /// REST base URL (without `/api/v4`).
    pub rest_url: String,
    /// Per-request REST timeout in milliseconds.
    pub rest_timeout_ms: u64,
    /// Credentials, when private streams and trading are enabled.
    pub credentials: Option<Credentials>,
    /// If not empty, the only normalized symbols `resolve` accepts (`BTC/USDT`).
    pub symbols: Vec<String>,
    /// `limit` of the REST order-book snapshot.
    pub depth_limit: u32,
    /// Interval of `spot.order_book_update` (`100ms` = 100 levels, `20ms` = 20 levels).
    pub depth_interval: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ws_url: DEFAULT_WS_URL.to_owned(),
            private_ws_url: DEFAULT_WS_URL.to_owned(),
            rest_url: DEFAULT_REST_URL.to_owned(),
            rest_timeout_ms: DEFAULT_REST_TIMEOUT_MS,
            credentials: None,
            symbols: Vec::new(),
            depth_limit: DEFAULT_DEPTH_LIMIT,
            depth_interval: "100ms".to_owned(),
        }
    }
}

/// The JSON shape; every key is optional and unknown keys are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    ws_url: Option<String>,
    private_ws_url: Option<String>,
    rest_url: Option<String>,
    rest_timeout_ms: Option<u64>,
    api_key: Option<String>,
    api_secret: Option<String>,
    symbols: Option<Vec<String>>,
    depth_limit: Option<u32>,
    depth_interval: Option<String>,
}

impl Settings {
    /// Parses the settings JSON (`{}` or empty for all defaults).
    ///
    /// Errors name the offending key and never contain credential values.
    pub fn from_json(json: &str) -> Result<Settings, PluginError> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let raw: RawSettings = serde_json::from_str(json).map_err(|e| {
            let text = e.to_string();
            // serde names unknown keys itself; for anything else keep only the position so
            // a misplaced secret can never be echoed.
            if text.starts_with("unknown field") {
                PluginError::config(format!("gateio settings: {text}"))
            } else {
                PluginError::config(format!(
                    "gateio settings: invalid value or JSON ({:?}) at line {} column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                ))
            }
        })?;
        let mut s = Settings::default();
        if let Some(v) = raw.ws_url {
            s.private_ws_url.clone_from(&v);
            s.ws_url = v;
        }
        if let Some(v) = raw.private_ws_url {
            s.private_ws_url = v;
        }
        if let Some(v) = raw.rest_url {
            s.rest_url = v.trim_end_matches('/').to_owned();
        }
        if let Some(v) = raw.rest_timeout_ms {
            s.rest_timeout_ms = v;
        }
        s.credentials = match (raw.api_key, raw.api_secret) {
            (Some(key), Some(secret)) if !key.is_empty() && !secret.is_empty() => {
                Some(Credentials { key, secret })
            }
            (None, None) => None,
            (Some(_), None) | (Some(_), Some(_)) => {
                return Err(PluginError::config(
                    "gateio settings: `api_secret` is missing or empty (needed with `api_key`)",
                ))
            }
            (None, Some(_)) => {
                return Err(PluginError::config(
                    "gateio settings: `api_key` is missing (needed with `api_secret`)",
                ))
            }
        };
        if let Some(symbols) = raw.symbols {
            for sym in &symbols {
                if crate::symbols::from_normalized(sym).is_none() {
                    return Err(PluginError::config(format!(
                        "gateio settings: `symbols` entry {sym:?} is not BASE/QUOTE"
                    )));
                }
            }
            s.symbols = symbols;
        }
        if let Some(v) = raw.depth_limit {
            if v == 0 || v > 1000 {
                return Err(PluginError::config(
                    "gateio settings: `depth_limit` must be 1..=1000",
                ));
            }
            s.depth_limit = v;
        }
        if let Some(v) = raw.depth_interval {
            if v != "100ms" && v != "20ms" {
                return Err(PluginError::config(
                    "gateio settings: `depth_interval` must be \"100ms\" or \"20ms\"",
                ));
            }
            s.depth_interval = v;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_from_empty_object() {
        assert_eq!(Settings::from_json("{}").unwrap(), Settings::default());
        assert_eq!(Settings::from_json("").unwrap(), Settings::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Settings::from_json(r#"{"ws_url":"wss://x","bogus":1}"#).unwrap_err();
        assert_eq!(e.kind, plugin_api::ErrorKind::Config);
        assert!(e.message.contains("bogus"), "{}", e.message);
    }

    #[test]
    fn credentials_never_leak() {
        let s = Settings::from_json(r#"{"api_key":"KEY123","api_secret":"SECRET456"}"#).unwrap();
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("KEY123") && !dbg.contains("SECRET456"),
            "{dbg}"
        );
        let e = Settings::from_json(r#"{"api_key":"KEY123"}"#).unwrap_err();
        assert!(!e.message.contains("KEY123"));
        let e = Settings::from_json(r#"{"api_key":"KEY123","api_secret":7}"#).unwrap_err();
        assert!(!e.message.contains("KEY123"), "{}", e.message);
        let e = Settings::from_json(r#"{"symbols":"SECRET456"}"#).unwrap_err();
        assert!(!e.message.contains("SECRET456"), "{}", e.message);
    }

    #[test]
    fn bad_symbol_and_interval() {
        assert!(Settings::from_json(r#"{"symbols":["BTCUSDT"]}"#).is_err());
        assert!(Settings::from_json(r#"{"depth_interval":"1000ms"}"#).is_err());
        let s = Settings::from_json(r#"{"symbols":["BTC/USDT"],"rest_url":"http://x/"}"#).unwrap();
        assert_eq!(s.rest_url, "http://x");
    }
}
