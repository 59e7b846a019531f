//! Instance settings parsed from `VenueConfig.settings_json` with the kit
//! ([`plugin_api::kit::settings`]): unknown keys refused, errors naming keys and never
//! values, credentials only in the `credentials` object.

use plugin_api::kit::{self, AllowedSymbols, Credentials};
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

/// The settings of one Gate.io instance; every key is optional.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Websocket URL for the public connection (and the private one, unless
    /// `private_ws_url` is given).
    pub ws_url: String,
    /// Websocket URL for the private connection.
    pub private_ws_url: Option<String>,
    /// REST base URL (without `/api/v4`).
    pub rest_url: String,
    /// Per-request REST timeout in milliseconds.
    pub rest_timeout_ms: u64,
    /// Credentials, when private streams and trading are enabled.
    pub credentials: Option<Credentials>,
    /// If not empty, the only normalized symbols `resolve` accepts (`BTC/USDT`).
    pub symbols: AllowedSymbols,
    /// `limit` of the REST order-book snapshot, 1..=1000.
    pub depth_limit: u32,
    /// Interval of `spot.order_book_update` (`100ms` = 100 levels, `20ms` = 20 levels).
    pub depth_interval: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ws_url: DEFAULT_WS_URL.to_owned(),
            private_ws_url: None,
            rest_url: DEFAULT_REST_URL.to_owned(),
            rest_timeout_ms: DEFAULT_REST_TIMEOUT_MS,
            credentials: None,
            symbols: AllowedSymbols::default(),
            depth_limit: DEFAULT_DEPTH_LIMIT,
            depth_interval: "100ms".to_owned(),
        }
    }
}

impl Settings {
    /// Parses the settings JSON (`{}` or empty for all defaults).
    pub fn from_json(json: &str) -> Result<Settings, PluginError> {
        let mut s: Settings = kit::settings::parse("gateio", json)?;
        s.rest_url = s.rest_url.trim_end_matches('/').to_owned();
        if s.depth_limit == 0 || s.depth_limit > 1000 {
            return Err(PluginError::config(
                "gateio settings: `depth_limit` must be 1..=1000",
            ));
        }
        if s.depth_interval != "100ms" && s.depth_interval != "20ms" {
            return Err(PluginError::config(
                "gateio settings: `depth_interval` must be \"100ms\" or \"20ms\"",
            ));
        }
        Ok(s)
    }

    /// The private connection's URL.
    pub fn private_ws_url(&self) -> &str {
        self.private_ws_url.as_deref().unwrap_or(&self.ws_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_gateio_rules() {
        assert_eq!(Settings::from_json("").unwrap(), Settings::default());
        let s = Settings::from_json(r#"{"ws_url":"wss://a","rest_url":"http://x/"}"#).unwrap();
        assert_eq!(
            (s.private_ws_url(), s.rest_url.as_str()),
            ("wss://a", "http://x")
        );
        let s = Settings::from_json(r#"{"ws_url":"wss://a","private_ws_url":"wss://b"}"#).unwrap();
        assert_eq!(s.private_ws_url(), "wss://b");
        assert!(Settings::from_json(r#"{"depth_interval":"1000ms"}"#).is_err());
        assert!(Settings::from_json(r#"{"depth_limit":0}"#).is_err());
        assert!(Settings::from_json(r#"{"symbols":["BTCUSDT"]}"#).is_err());
        let e = Settings::from_json(r#"{"api_key":"SECRET456"}"#).unwrap_err();
        assert!(e
            .message
            .starts_with("gateio settings: key `api_key` belongs in the `credentials` object"));
        assert!(!e.message.contains("SECRET456"));
    }
}
