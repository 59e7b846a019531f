//! Instance settings parsed from `VenueConfig.settings_json`, with redacted credentials.
//!
//! Credentials arrive only as the `credentials` object, `{"api_key": "...", "api_secret":
//! "..."}` (the contract of `plugin_api::VenueConfig`): the host puts its secrets-file table
//! there, or passes an inline `[venues.NAME.settings.credentials]` table as it is.

use std::fmt;

use plugin_api::PluginError;
use serde::Deserialize;
use serde_json::Value;

/// Default public and private websocket URL (spot v4).
pub const DEFAULT_WS_URL: &str = "wss://api.gateio.ws/ws/v4/";
/// Default REST base URL; request paths carry the `/api/v4` prefix.
pub const DEFAULT_REST_URL: &str = "https://api.gateio.ws";
/// Default per-request REST timeout.
pub const DEFAULT_REST_TIMEOUT_MS: u64 = 10_000;
/// Default depth of the REST snapshot (`limit`), matching the `100ms` update stream.
pub const DEFAULT_DEPTH_LIMIT: u32 = 100;

/// API key and secret, from the settings' `credentials` object. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API key (sent in the `KEY` header / WS `auth.KEY`).
    pub key: String,
    /// The API secret (HMAC key); never leaves the plugin.
    pub secret: String,
}

/// The keys of the `credentials` object.
const CREDENTIAL_KEYS: [&str; 2] = ["api_key", "api_secret"];

/// The error for a credential key written at the top level of the settings.
fn misplaced(key: &str) -> String {
    format!(
        "key `{key}` belongs in the `credentials` object: \
         {{\"credentials\": {{\"api_key\": \"...\", \"api_secret\": \"...\"}}}}"
    )
}

impl Credentials {
    /// Reads the `credentials` object: exactly `api_key` and `api_secret`, both non-empty
    /// strings. The error (without the `gateio settings:` prefix) names the key, never a
    /// value.
    fn from_value(value: &Value) -> Result<Credentials, String> {
        let Value::Object(map) = value else {
            return Err(
                "`credentials` must be an object with `api_key` and `api_secret`".to_owned(),
            );
        };
        if let Some(k) = map.keys().find(|k| !CREDENTIAL_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "unknown key `credentials.{}` (expected `api_key` and `api_secret`)",
                k.chars().take(64).collect::<String>()
            ));
        }
        let field = |name: &str| -> Result<String, String> {
            match map.get(name) {
                Some(Value::String(v)) if !v.is_empty() => Ok(v.clone()),
                Some(Value::String(_)) | None => Err(format!(
                    "`credentials.{name}` is missing or empty (`api_key` and `api_secret` go together)"
                )),
                Some(_) => Err(format!("`credentials.{name}` must be a string")),
            }
        };
        Ok(Credentials {
            key: field("api_key")?,
            secret: field("api_secret")?,
        })
    }
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
    credentials: Option<Value>,
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
            if let Some(key) = CREDENTIAL_KEYS
                .iter()
                .find(|k| text.starts_with(&format!("unknown field `{k}`")))
            {
                PluginError::config(format!("gateio settings: {}", misplaced(key)))
            } else if text.starts_with("unknown field") {
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
        s.credentials = match raw.credentials {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                Credentials::from_value(&v)
                    .map_err(|e| PluginError::config(format!("gateio settings: {e}")))?,
            ),
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
    fn credentials_come_from_the_credentials_object() {
        let s =
            Settings::from_json(r#"{"credentials":{"api_key":"KEY123","api_secret":"SECRET456"}}"#)
                .unwrap();
        let c = s.credentials.as_ref().unwrap();
        assert_eq!((c.key.as_str(), c.secret.as_str()), ("KEY123", "SECRET456"));
        assert_eq!(
            Settings::from_json(r#"{"credentials":null}"#).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn top_level_credential_keys_point_at_the_credentials_object() {
        for key in ["api_key", "api_secret"] {
            let e = Settings::from_json(&format!(r#"{{"{key}":"SECRET456"}}"#)).unwrap_err();
            assert_eq!(e.kind, plugin_api::ErrorKind::Config);
            assert!(
                e.message.contains(&format!("`{key}`")) && e.message.contains("`credentials`"),
                "{}",
                e.message
            );
            assert!(!e.message.contains("SECRET456"), "{}", e.message);
        }
    }

    #[test]
    fn bad_credentials_name_the_key_and_never_the_value() {
        let cases = [
            (
                r#"{"credentials":{"api_key":"KEY123"}}"#,
                "`credentials.api_secret`",
            ),
            (
                r#"{"credentials":{"api_secret":"SECRET456"}}"#,
                "`credentials.api_key`",
            ),
            (
                r#"{"credentials":{"api_key":"KEY123","api_secret":""}}"#,
                "`credentials.api_secret`",
            ),
            (
                r#"{"credentials":{"api_key":"KEY123","api_secret":7}}"#,
                "`credentials.api_secret` must be a string",
            ),
            (
                r#"{"credentials":{"api_key":"KEY123","api_secret":"SECRET456","passphrase":"x"}}"#,
                "`credentials.passphrase`",
            ),
            (
                r#"{"credentials":"SECRET456"}"#,
                "`credentials` must be an object",
            ),
        ];
        for (json, expected) in cases {
            let e = Settings::from_json(json).unwrap_err();
            assert_eq!(e.kind, plugin_api::ErrorKind::Config);
            assert!(e.message.contains(expected), "{json}: {}", e.message);
            assert!(
                !e.message.contains("KEY123") && !e.message.contains("SECRET456"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn credentials_never_leak() {
        let s =
            Settings::from_json(r#"{"credentials":{"api_key":"KEY123","api_secret":"SECRET456"}}"#)
                .unwrap();
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("KEY123") && !dbg.contains("SECRET456"),
            "{dbg}"
        );
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
