//! Settings parsing: `VenueConfig::settings_json` into the plugin's own struct, with errors
//! that name the key and never echo a value (a misplaced secret must not reach a log).
//!
//! Declare the settings as a struct with `#[serde(deny_unknown_fields, default)]` and parse
//! it with [`parse`]. Use [`Credentials`] for the `credentials` object (the contract of
//! [`VenueConfig`](crate::VenueConfig)) and [`AllowedSymbols`] for a `symbols` list.

use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::kit::is_normalized;
use crate::PluginError;

/// The keys of the `credentials` object.
const CREDENTIAL_KEYS: [&str; 2] = ["api_key", "api_secret"];

/// Marks an error message written by the kit itself: it names keys only, so it may be shown.
const SAFE: &str = "\u{1}kit: ";

/// Unknown keys are cut to this many characters in errors.
const KEY_SHOWN: usize = 64;

/// Parses the settings JSON of venue `venue` into `T`.
///
/// Empty or whitespace-only text reads as `{}`. Errors are [`ErrorKind::Config`](crate::ErrorKind::Config),
/// start with `<venue> settings:`, and never contain a value:
///
/// - an unknown key: ``unknown key `wsurl` (expected one of `ws_url`, `symbols`)``;
/// - `api_key` or `api_secret` at the top level: an error pointing at the `credentials`
///   object;
/// - a value of the wrong type or shape: the top-level key it is under and what was
///   expected;
/// - text that is not JSON: the line and column.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::settings;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, Default, Debug)]
/// #[serde(deny_unknown_fields, default)]
/// struct Settings {
///     ws_url: String,
///     depth: u32,
/// }
///
/// let s: Settings = settings::parse("binance", "")?;
/// assert_eq!(s.depth, 0);
/// let e = settings::parse::<Settings>("binance", r#"{"wsurl": "wss://x"}"#).unwrap_err();
/// assert_eq!(
///     e.message.as_str(),
///     "binance settings: unknown key `wsurl` (expected `ws_url` or `depth`)"
/// );
/// let e = settings::parse::<Settings>("binance", r#"{"depth": "SECRET"}"#).unwrap_err();
/// assert!(e.message.contains("`depth`") && !e.message.contains("SECRET"));
/// # Ok::<(), plugin_api::PluginError>(())
/// ```
pub fn parse<T: DeserializeOwned>(venue: &str, json: &str) -> Result<T, PluginError> {
    let fail = |detail: String| PluginError::config(format!("{venue} settings: {detail}"));
    let json = if json.trim().is_empty() { "{}" } else { json };
    let value: Value = serde_json::from_str(json).map_err(|e| {
        fail(format!(
            "not valid JSON ({:?}) at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(map) = value else {
        return Err(fail("must be a JSON object".to_owned()));
    };
    if let Some(key) = CREDENTIAL_KEYS.iter().find(|k| map.contains_key(**k)) {
        return Err(fail(misplaced(key)));
    }
    T::deserialize(Value::Object(map.clone())).map_err(|e| fail(explain::<T>(&map, &e)))
}

/// Checks that the URL under settings key `key` starts with one of `schemes`
/// (`["ws://", "wss://"]`); the `Config` error names the key and the schemes, never the value.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::settings::check_url;
///
/// assert!(check_url("example", "ws_url", "wss://ws.example.com", &["ws://", "wss://"]).is_ok());
/// let e = check_url("example", "ws_url", "http://x", &["ws://", "wss://"]).unwrap_err();
/// assert_eq!(
///     e.message.as_str(),
///     "example settings: `ws_url` must start with ws:// or wss://"
/// );
/// ```
pub fn check_url(venue: &str, key: &str, url: &str, schemes: &[&str]) -> Result<(), PluginError> {
    if schemes.iter().any(|s| url.starts_with(s)) {
        return Ok(());
    }
    Err(PluginError::config(format!(
        "{venue} settings: `{key}` must start with {}",
        schemes.join(" or ")
    )))
}

/// The error for a credential key written at the top level of the settings.
fn misplaced(key: &str) -> String {
    format!(
        "key `{key}` belongs in the `credentials` object: \
         {{\"credentials\": {{\"api_key\": \"...\", \"api_secret\": \"...\"}}}}"
    )
}

/// A safe explanation of `error`: the kit's own messages and unknown keys as they are,
/// anything else reduced to the top-level key it concerns and what was expected.
fn explain<T: DeserializeOwned>(map: &Map<String, Value>, error: &serde_json::Error) -> String {
    let text = error.to_string();
    if let Some(safe) = text.strip_prefix(SAFE) {
        return safe.to_owned();
    }
    // The top-level key whose value alone fails (the struct has defaults for the others).
    let culprit = map.iter().find_map(|(k, v)| {
        let mut one = Map::new();
        one.insert(k.clone(), v.clone());
        T::deserialize(Value::Object(one)).err().map(|_| k.as_str())
    });
    if let Some(rest) = text.strip_prefix("unknown field ") {
        let (key, expected) = rest.split_once(", ").unwrap_or((rest, ""));
        let key = shorten(key);
        let within = match culprit {
            Some(c) if format!("`{c}`") != key => format!(" in `{}`", shorten(c)),
            _ => String::new(),
        };
        return match expected {
            "" => format!("unknown key {key}{within}"),
            exp => format!("unknown key {key}{within} ({exp})"),
        };
    }
    if text.starts_with("missing field ") {
        return match culprit {
            Some(c) => format!("`{}`: {text}", shorten(c)),
            None => text,
        };
    }
    let expected = text
        .rsplit_once(", expected ")
        .map(|(_, exp)| format!(", expected {exp}"))
        .unwrap_or_default();
    match culprit {
        Some(c) => format!("invalid value at `{}`{expected}", shorten(c)),
        None => format!("invalid value{expected}"),
    }
}

fn shorten(key: &str) -> String {
    key.chars().take(KEY_SHOWN).collect()
}

/// An error message from the kit's own deserializers, shown as it is by [`parse`].
fn safe_error<E: de::Error>(message: impl fmt::Display) -> E {
    E::custom(format_args!("{SAFE}{message}"))
}

/// API key and secret, from the settings' `credentials` object.
///
/// Deserializes from an object holding exactly `api_key` and `api_secret`, both non-empty
/// strings; errors name the key (`credentials.api_secret`), never a value. `Debug` shows
/// neither. Declare it as `credentials: Option<Credentials>` so `null` or no key means none.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::{settings, Credentials};
/// use serde::Deserialize;
///
/// #[derive(Deserialize, Default)]
/// #[serde(deny_unknown_fields, default)]
/// struct Settings {
///     credentials: Option<Credentials>,
/// }
///
/// let s: Settings =
///     settings::parse("v", r#"{"credentials": {"api_key": "K", "api_secret": "S"}}"#)?;
/// let c = s.credentials.unwrap();
/// assert_eq!((c.api_key.as_str(), c.api_secret.as_str()), ("K", "S"));
/// assert!(!format!("{c:?}").contains('S'));
/// let e = settings::parse::<Settings>("v", r#"{"credentials": {"api_key": "K"}}"#);
/// let e = e.err().unwrap();
/// assert!(e.message.contains("`credentials.api_secret` is missing or empty"));
/// # Ok::<(), plugin_api::PluginError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API key.
    pub api_key: String,
    /// The API secret; it never leaves the plugin.
    pub api_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &"<redacted>")
            .field("api_secret", &"<redacted>")
            .finish()
    }
}

impl<'de> Deserialize<'de> for Credentials {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CredentialsVisitor)
    }
}

struct CredentialsVisitor;

impl CredentialsVisitor {
    fn not_object<E: de::Error>() -> E {
        safe_error("`credentials` must be an object with `api_key` and `api_secret`")
    }
}

impl<'de> Visitor<'de> for CredentialsVisitor {
    type Value = Credentials;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with `api_key` and `api_secret`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Credentials, A::Error> {
        let (mut api_key, mut api_secret) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "api_key" => &mut api_key,
                "api_secret" => &mut api_secret,
                other => {
                    return Err(safe_error(format_args!(
                        "unknown key `credentials.{}` (expected `api_key` and `api_secret`)",
                        shorten(other)
                    )))
                }
            };
            match map.next_value::<Value>()? {
                Value::String(s) => *slot = Some(s),
                _ => {
                    return Err(safe_error(format_args!(
                        "`credentials.{key}` must be a string"
                    )))
                }
            }
        }
        let field = |name: &str, v: Option<String>| match v {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(safe_error(format_args!(
                "`credentials.{name}` is missing or empty (`api_key` and `api_secret` go together)"
            ))),
        };
        Ok(Credentials {
            api_key: field("api_key", api_key)?,
            api_secret: field("api_secret", api_secret)?,
        })
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Credentials, E> {
        Err(Self::not_object())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Credentials, E> {
        Err(Self::not_object())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Credentials, E> {
        Err(Self::not_object())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Credentials, E> {
        Err(Self::not_object())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Credentials, E> {
        Err(Self::not_object())
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Credentials, A::Error> {
        Err(Self::not_object())
    }
}

/// A `symbols` setting: the normalized symbols (`BTC/USDT`) an instance may serve; empty
/// allows every symbol.
///
/// Deserializes from an array of strings, each `BASE/QUOTE` in upper case; an entry that is
/// not is refused naming its index (`symbols[2]`), not its text.
///
/// # Examples
///
/// ```
/// use plugin_api::kit::AllowedSymbols;
///
/// let only: AllowedSymbols = serde_json::from_str(r#"["BTC/USDT"]"#).unwrap();
/// assert!(only.allows("BTC/USDT") && !only.allows("ETH/USDT"));
/// assert!(AllowedSymbols::default().allows("ETH/USDT"));
/// assert!(serde_json::from_str::<AllowedSymbols>(r#"["BTCUSDT"]"#).is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedSymbols(Vec<String>);

impl AllowedSymbols {
    /// Every symbol allowed (the empty list).
    pub const ALL: AllowedSymbols = AllowedSymbols(Vec::new());

    /// A list from normalized symbols; `None` if one is not `BASE/QUOTE`.
    pub fn new<S: Into<String>>(symbols: impl IntoIterator<Item = S>) -> Option<AllowedSymbols> {
        let list: Vec<String> = symbols.into_iter().map(Into::into).collect();
        list.iter()
            .all(|s| is_normalized(s))
            .then_some(AllowedSymbols(list))
    }

    /// True when `symbol` may be served: the list is empty or holds it.
    pub fn allows(&self, symbol: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|s| s == symbol)
    }

    /// True when every symbol is allowed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The listed symbols.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AllowedSymbols {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let list = Vec::<String>::deserialize(deserializer)?;
        match list.iter().position(|s| !is_normalized(s)) {
            Some(i) => Err(safe_error(format_args!(
                "`symbols[{i}]` is not BASE/QUOTE in upper case (like `BTC/USDT`)"
            ))),
            None => Ok(AllowedSymbols(list)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Settings {
        ws_url: String,
        symbols: AllowedSymbols,
        credentials: Option<Credentials>,
        depth: Depth,
    }

    #[derive(Deserialize, Debug, PartialEq, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Depth {
        levels: u32,
    }

    impl Default for Settings {
        fn default() -> Self {
            Settings {
                ws_url: "wss://default".into(),
                symbols: AllowedSymbols::default(),
                credentials: None,
                depth: Depth::default(),
            }
        }
    }

    fn error(json: &str) -> String {
        let e = parse::<Settings>("binance", json).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        let m = e.message.to_string();
        assert!(m.starts_with("binance settings: "), "{m}");
        assert!(!m.contains("SECRET") && !m.contains("KEY1"), "{m}");
        m
    }

    #[test]
    fn empty_text_is_all_defaults() {
        for json in ["", "  \n", "{}"] {
            assert_eq!(parse::<Settings>("b", json).unwrap(), Settings::default());
        }
        let s: Settings = parse("b", r#"{"credentials":null,"depth":{"levels":5}}"#).unwrap();
        assert_eq!((s.credentials, s.depth.levels), (None, 5));
    }

    #[test]
    fn unknown_keys_are_named_with_the_expected_ones() {
        assert_eq!(
            error(r#"{"wsurl":"SECRET"}"#),
            "binance settings: unknown key `wsurl` (expected one of `ws_url`, `symbols`, `credentials`, `depth`)"
        );
        assert_eq!(
            error(r#"{"depth":{"level":1}}"#),
            "binance settings: unknown key `level` in `depth` (expected `levels`)"
        );
    }

    #[test]
    fn credential_keys_at_the_top_point_at_the_credentials_object() {
        for key in ["api_key", "api_secret"] {
            let m = error(&format!(r#"{{"{key}":"SECRET"}}"#));
            assert!(
                m.contains(&format!("key `{key}` belongs in the `credentials` object")),
                "{m}"
            );
        }
    }

    #[test]
    fn bad_credentials_name_the_key_never_the_value() {
        let cases = [
            (
                r#"{"api_key":"KEY1"}"#,
                "`credentials.api_secret` is missing",
            ),
            (
                r#"{"api_secret":"SECRET"}"#,
                "`credentials.api_key` is missing",
            ),
            (
                r#"{"api_key":"KEY1","api_secret":""}"#,
                "`credentials.api_secret` is missing or empty",
            ),
            (
                r#"{"api_key":"KEY1","api_secret":7}"#,
                "`credentials.api_secret` must be a string",
            ),
            (
                r#"{"api_key":"KEY1","api_secret":"SECRET","passphrase":"x"}"#,
                "unknown key `credentials.passphrase`",
            ),
            (r#""SECRET""#, "`credentials` must be an object"),
            (r#"["SECRET"]"#, "`credentials` must be an object"),
        ];
        for (creds, expected) in cases {
            let m = error(&format!(r#"{{"credentials":{creds}}}"#));
            assert!(m.contains(expected), "{creds}: {m}");
        }
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let s: Settings = parse(
            "b",
            r#"{"credentials":{"api_key":"KEY1","api_secret":"SECRET"}}"#,
        )
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("KEY1") && !dbg.contains("SECRET"), "{dbg}");
        let c = s.credentials.unwrap();
        assert_eq!(
            (c.api_key.as_str(), c.api_secret.as_str()),
            ("KEY1", "SECRET")
        );
    }

    #[test]
    fn wrong_types_give_the_key_and_no_value() {
        let m = error(r#"{"ws_url":1,"symbols":"SECRET"}"#);
        assert!(m.contains("`ws_url`") || m.contains("`symbols`"), "{m}");
        let m = error(r#"{"depth":{"levels":"SECRET"}}"#);
        assert!(m.contains("invalid value at `depth`, expected u32"), "{m}");
        let m = error(r#"{"ws_url": SECRET}"#);
        assert!(
            m.contains("not valid JSON") && m.contains("line 1 column"),
            "{m}"
        );
        assert!(error("[1]").contains("must be a JSON object"));
    }

    #[test]
    fn symbols_must_be_base_slash_quote() {
        let m = error(r#"{"symbols":["BTC/USDT","SECRET"]}"#);
        assert!(m.contains("`symbols[1]` is not BASE/QUOTE"), "{m}");
        let s: Settings = parse("b", r#"{"symbols":["BTC/USDT"]}"#).unwrap();
        assert!(s.symbols.allows("BTC/USDT") && !s.symbols.allows("ETH/USDT"));
        assert_eq!(s.symbols.as_slice(), ["BTC/USDT"]);
        assert!(AllowedSymbols::new(["btc/usdt"]).is_none());
    }
}
