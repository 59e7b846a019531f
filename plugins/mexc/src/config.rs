//! The plugin's settings (`VenueConfig::settings_json`), parsed with the kit
//! ([`plugin_api::kit::settings`]): unknown keys refused, errors naming keys and never
//! values, credentials only in the `credentials` object ([`Credentials`]).

use plugin_api::kit::{self, Credentials};
use plugin_api::PluginError;
use serde::Deserialize;

/// Default market and user-data websocket base URL.
pub const DEFAULT_WS_URL: &str = "wss://wbs-api.mexc.com/ws";
/// Default REST base URL.
pub const DEFAULT_REST_URL: &str = "https://api.mexc.com";
/// Largest frame the plugin decodes; bigger ones are rejected as `oversize`.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

/// Which websocket channel serves `StreamKind::Depth`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// Parsed settings with defaults applied; every key is optional.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
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
    /// Parses the settings JSON (`{}` or empty for all defaults) and checks MEXC's ranges.
    pub fn parse(json: &str) -> Result<Settings, PluginError> {
        let mut s: Settings = kit::settings::parse("mexc", json)?;
        s.rest_url = s.rest_url.trim_end_matches('/').to_owned();
        let bad = |rule: &str| Err(PluginError::config(format!("mexc settings: {rule}")));
        if !(1..=60_000).contains(&s.recv_window_ms) {
            return bad("`recv_window_ms` must be 1..=60000");
        }
        if s.interval != "100ms" && s.interval != "10ms" {
            return bad("`interval` must be \"100ms\" or \"10ms\"");
        }
        if ![5, 10, 20].contains(&s.depth_levels) {
            return bad("`depth_levels` must be 5, 10 or 20");
        }
        if !(1..=5_000).contains(&s.snapshot_limit) {
            return bad("`snapshot_limit` must be 1..=5000");
        }
        if !(1..=crate::listen_key::KEEPALIVE_MS).contains(&s.listen_key_keepalive_ms) {
            return bad("`listen_key_keepalive_ms` must be 1..=1800000 (the key lives 60 min)");
        }
        if s.max_frame_bytes < 1024 {
            return bad("`max_frame_bytes` must be at least 1024");
        }
        Ok(s)
    }
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
        assert_eq!(s.credentials.as_ref().unwrap().api_secret, "s");
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
