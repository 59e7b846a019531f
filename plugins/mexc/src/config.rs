//! The plugin's settings (`VenueConfig::settings_json`) and the credentials they carry.
//!
//! Parsing is key by key so that every error names the offending key and never echoes a
//! value (a misplaced secret must not end up in a log). Unknown keys are refused.
//!
//! Credentials arrive only as the `credentials` object, `{"api_key": "...", "api_secret":
//! "..."}` (the contract of `plugin_api::VenueConfig`): the host puts its secrets-file table
//! there, or passes an inline `[venues.NAME.settings.credentials]` table as it is.

use std::fmt;

use plugin_api::PluginError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Default market and user-data websocket base URL.
pub const DEFAULT_WS_URL: &str = "wss://wbs-api.mexc.com/ws";
/// Default REST base URL.
pub const DEFAULT_REST_URL: &str = "https://api.mexc.com";
/// Largest frame the plugin decodes; bigger ones are rejected as `oversize`.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

const KEYS: &[&str] = &[
    "ws_url",
    "rest_url",
    "credentials",
    "recv_window_ms",
    "symbols",
    "fetch_exchange_info",
    "interval",
    "depth",
    "depth_levels",
    "snapshot_limit",
    "max_frame_bytes",
    "listen_key_keepalive_ms",
];

/// The keys of the `credentials` object.
const CREDENTIAL_KEYS: [&str; 2] = ["api_key", "api_secret"];

/// A secret string whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; call only where it is used (signing, the key header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// API key and secret from the settings' `credentials` object, always both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Sent in the `X-MEXC-APIKEY` header.
    pub api_key: Secret,
    /// HMAC-SHA256 key.
    pub api_secret: Secret,
}

impl Credentials {
    /// Reads the `credentials` object: exactly `api_key` and `api_secret`, both non-empty
    /// strings. The error names the key, never a value.
    fn from_value(value: &Value) -> Result<Credentials, PluginError> {
        let Value::Object(map) = value else {
            return Err(PluginError::config(
                "`credentials` must be an object with `api_key` and `api_secret`",
            ));
        };
        if let Some(k) = map.keys().find(|k| !CREDENTIAL_KEYS.contains(&k.as_str())) {
            return Err(PluginError::config(format!(
                "unknown key `credentials.{}` (expected `api_key` and `api_secret`)",
                k.chars().take(64).collect::<String>()
            )));
        }
        let field = |name: &str| match map.get(name) {
            Some(Value::String(v)) if !v.is_empty() => Ok(Secret::new(v.as_str())),
            Some(Value::String(_)) | None => Err(PluginError::config(format!(
                "`credentials.{name}` is missing or empty (`api_key` and `api_secret` go together)"
            ))),
            Some(_) => Err(PluginError::config(format!(
                "`credentials.{name}` must be a string"
            ))),
        };
        Ok(Credentials {
            api_key: field("api_key")?,
            api_secret: field("api_secret")?,
        })
    }
}

/// Which websocket channel serves `StreamKind::Depth`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DepthMode {
    /// `spot@public.aggre.depth.v3.api.pb@<interval>@SYM`, synchronized with a REST snapshot.
    Incremental,
    /// `spot@public.limit.depth.v3.api.pb@SYM@<levels>`: every push is a top-N snapshot.
    Limit,
}

/// One configured instrument.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolSetting {
    /// MEXC spelling, `BTCUSDT`.
    pub symbol: String,
    /// Base asset, `BTC`.
    pub base: String,
    /// Quote asset, `USDT`.
    pub quote: String,
}

/// Parsed settings with defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Websocket base URL (also for `?listenKey=`).
    pub ws_url: String,
    /// REST base URL.
    pub rest_url: String,
    /// Credentials, when trading and private streams are wanted.
    pub credentials: Option<Credentials>,
    /// `recvWindow` added to signed requests (1..=60000 ms).
    pub recv_window_ms: u64,
    /// Configured instruments (they win over exchangeInfo).
    pub symbols: Vec<SymbolSetting>,
    /// Request `GET /api/v3/exchangeInfo` at start to learn the other instruments.
    pub fetch_exchange_info: bool,
    /// Aggregation interval of the aggre channels: `100ms` or `10ms`.
    pub interval: String,
    /// Which channel serves depth.
    pub depth: DepthMode,
    /// Levels of the limit depth channel: 5, 10 or 20.
    pub depth_levels: u32,
    /// `limit` of the REST depth snapshot (1..=5000).
    pub snapshot_limit: u32,
    /// Frames larger than this are rejected without decoding.
    pub max_frame_bytes: usize,
    /// How often the listen key is kept alive (the venue's key lives 60 min; default 30 min).
    pub listen_key_keepalive_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ws_url: DEFAULT_WS_URL.to_owned(),
            rest_url: DEFAULT_REST_URL.to_owned(),
            credentials: None,
            recv_window_ms: 5_000,
            symbols: Vec::new(),
            fetch_exchange_info: true,
            interval: "100ms".to_owned(),
            depth: DepthMode::Incremental,
            depth_levels: 20,
            snapshot_limit: 5_000,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            listen_key_keepalive_ms: crate::listen_key::KEEPALIVE_MS,
        }
    }
}

impl Settings {
    /// Parses the settings JSON (`{}` or empty for all defaults).
    pub fn parse(json: &str) -> Result<Settings, PluginError> {
        let mut s = Settings::default();
        if json.trim().is_empty() {
            return Ok(s);
        }
        let value: Value = serde_json::from_str(json).map_err(|e| {
            PluginError::config(format!(
                "settings are not valid JSON: line {}, column {}",
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(map) = value else {
            return Err(PluginError::config("settings must be a JSON object"));
        };
        if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            if CREDENTIAL_KEYS.contains(&key.as_str()) {
                return Err(PluginError::config(format!(
                    "settings key `{key}` belongs in the `credentials` object: \
                     {{\"credentials\": {{\"api_key\": \"...\", \"api_secret\": \"...\"}}}}"
                )));
            }
            return Err(PluginError::config(format!(
                "unknown settings key `{}`",
                key.chars().take(64).collect::<String>()
            )));
        }
        if let Some(v) = get::<String>(&map, "ws_url", "a string")? {
            s.ws_url = v;
        }
        if let Some(v) = get::<String>(&map, "rest_url", "a string")? {
            s.rest_url = v.trim_end_matches('/').to_owned();
        }
        s.credentials = match map.get("credentials") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Credentials::from_value(v)?),
        };
        if let Some(v) = get::<u64>(&map, "recv_window_ms", "an integer")? {
            if !(1..=60_000).contains(&v) {
                return Err(PluginError::config("`recv_window_ms` must be 1..=60000"));
            }
            s.recv_window_ms = v;
        }
        if let Some(v) = map.get("symbols") {
            s.symbols = serde_json::from_value(v.clone()).map_err(|e| {
                PluginError::config(format!("`symbols`: {}", short(&e.to_string())))
            })?;
        }
        if let Some(v) = get::<bool>(&map, "fetch_exchange_info", "a boolean")? {
            s.fetch_exchange_info = v;
        }
        if let Some(v) = get::<String>(&map, "interval", "a string")? {
            if v != "100ms" && v != "10ms" {
                return Err(PluginError::config(
                    "`interval` must be \"100ms\" or \"10ms\"",
                ));
            }
            s.interval = v;
        }
        if let Some(v) = get::<String>(&map, "depth", "a string")? {
            s.depth = match v.as_str() {
                "incremental" => DepthMode::Incremental,
                "limit" => DepthMode::Limit,
                _ => {
                    return Err(PluginError::config(
                        "`depth` must be \"incremental\" or \"limit\"",
                    ))
                }
            };
        }
        if let Some(v) = get::<u32>(&map, "depth_levels", "an integer")? {
            if ![5, 10, 20].contains(&v) {
                return Err(PluginError::config("`depth_levels` must be 5, 10 or 20"));
            }
            s.depth_levels = v;
        }
        if let Some(v) = get::<u32>(&map, "snapshot_limit", "an integer")? {
            if !(1..=5_000).contains(&v) {
                return Err(PluginError::config("`snapshot_limit` must be 1..=5000"));
            }
            s.snapshot_limit = v;
        }
        if let Some(v) = get::<u64>(&map, "listen_key_keepalive_ms", "an integer")? {
            if !(1..=crate::listen_key::KEEPALIVE_MS).contains(&v) {
                return Err(PluginError::config(
                    "`listen_key_keepalive_ms` must be 1..=1800000 (the key lives 60 min)",
                ));
            }
            s.listen_key_keepalive_ms = v;
        }
        if let Some(v) = get::<usize>(&map, "max_frame_bytes", "an integer")? {
            if v < 1024 {
                return Err(PluginError::config(
                    "`max_frame_bytes` must be at least 1024",
                ));
            }
            s.max_frame_bytes = v;
        }
        Ok(s)
    }
}

/// Reads one key; the error names the key and the expected type, never the value.
fn get<T: DeserializeOwned>(
    map: &Map<String, Value>,
    key: &str,
    expected: &str,
) -> Result<Option<T>, PluginError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|_| PluginError::config(format!("`{key}` must be {expected}"))),
    }
}

fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_full_settings() {
        assert_eq!(Settings::parse("{}").unwrap(), Settings::default());
        let s = Settings::parse(
            r#"{"ws_url":"ws://127.0.0.1:9/ws","rest_url":"http://127.0.0.1:9/",
                "credentials":{"api_key":"k","api_secret":"s"},"recv_window_ms":6000,"interval":"10ms","depth":"limit",
                "depth_levels":5,"symbols":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT"}]}"#,
        )
        .unwrap();
        assert_eq!(s.rest_url, "http://127.0.0.1:9");
        assert_eq!(s.depth, DepthMode::Limit);
        assert_eq!(s.symbols[0].base, "BTC");
        assert_eq!(s.credentials.as_ref().unwrap().api_secret.expose(), "s");
    }

    #[test]
    fn errors_name_the_key_and_hide_values() {
        let e = Settings::parse(r#"{"credentials":{"api_key":"k","api_secret":"s"},"colour":1}"#)
            .unwrap_err();
        assert!(e.message.contains("`colour`"), "{}", e.message);
        let e = Settings::parse(r#"{"recv_window_ms":"TOPSECRET"}"#).unwrap_err();
        assert!(e.message.contains("recv_window_ms"));
        assert!(!e.message.contains("TOPSECRET"));
        let e = Settings::parse(r#"{"credentials":{"api_key":"TOPSECRET"}}"#).unwrap_err();
        assert!(
            e.message.contains("`credentials.api_secret`"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("TOPSECRET"));
        let e = Settings::parse(r#"{"symbols":[{"symbol":"X","base":"A","quote":"B","x":1}]}"#)
            .unwrap_err();
        assert!(e.message.contains("symbols"));
    }

    #[test]
    fn debug_redacts_credentials() {
        let s = Settings::parse(r#"{"credentials":{"api_key":"KEY123","api_secret":"SECRET456"}}"#)
            .unwrap();
        let text = format!("{s:?}");
        assert!(
            !text.contains("KEY123") && !text.contains("SECRET456"),
            "{text}"
        );
    }

    #[test]
    fn top_level_credential_keys_point_at_the_credentials_object() {
        for key in ["api_key", "api_secret"] {
            let e = Settings::parse(&format!(r#"{{"{key}":"SECRET456"}}"#)).unwrap_err();
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
            let e = Settings::parse(json).unwrap_err();
            assert_eq!(e.kind, plugin_api::ErrorKind::Config);
            assert!(e.message.contains(expected), "{json}: {}", e.message);
            assert!(
                !e.message.contains("KEY123") && !e.message.contains("SECRET456"),
                "{}",
                e.message
            );
        }
        assert_eq!(
            Settings::parse(r#"{"credentials":null}"#).unwrap(),
            Settings::default()
        );
    }
}
