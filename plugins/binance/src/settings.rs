//! The plugin's settings (`VenueConfig::settings_json`): every key optional, unknown keys
//! refused, errors name the key and never echo a value.

use plugin_api::PluginError;
use serde_json::{Map, Value};

use crate::symbols;

/// The public market-data endpoint; live `SUBSCRIBE` requests choose the streams.
pub const DEFAULT_WS_URL: &str = "wss://stream.binance.com:9443/ws";

/// Parsed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Websocket URL (`ws_url`).
    pub ws_url: String,
    /// If not empty, the only normalized symbols `resolve` accepts (`symbols`).
    pub symbols: Vec<String>,
}

fn bad(key: &str, expected: &str) -> PluginError {
    PluginError::config(format!("binance settings: `{key}` must be {expected}"))
}

impl Settings {
    /// Parses `json`, a JSON object.
    pub fn from_json(json: &str) -> Result<Settings, PluginError> {
        let map: Map<String, Value> = serde_json::from_str(json)
            .map_err(|_| PluginError::config("binance settings must be a JSON object"))?;
        let mut s = Settings {
            ws_url: DEFAULT_WS_URL.to_owned(),
            symbols: Vec::new(),
        };
        for (key, value) in map {
            match key.as_str() {
                "ws_url" => match value.as_str() {
                    Some(url) if url.starts_with("ws://") || url.starts_with("wss://") => {
                        s.ws_url = url.to_owned()
                    }
                    _ => return Err(bad(&key, "a ws:// or wss:// URL")),
                },
                "symbols" => {
                    let list: Vec<String> = serde_json::from_value(value)
                        .map_err(|_| bad(&key, "a list of strings"))?;
                    if list.iter().any(|s| symbols::from_normalized(s).is_none()) {
                        return Err(bad(&key, "a list of BASE/QUOTE symbols such as BTC/USDT"));
                    }
                    s.symbols = list;
                }
                "credentials" => {
                    return Err(PluginError::config(
                        "binance settings: `credentials` given, but this plugin serves public market data only",
                    ))
                }
                other => {
                    return Err(PluginError::config(format!(
                        "binance settings: unknown key `{other}` (known: ws_url, symbols)"
                    )))
                }
            }
        }
        Ok(s)
    }
}
