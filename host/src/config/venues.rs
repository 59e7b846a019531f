//! The `[venues.NAME]` tables, the secrets file holding their credentials, and the settings
//! JSON handed to a plugin (settings, endpoints and credentials merged).

use std::collections::BTreeMap;
use std::path::Path;

use figment::providers::{Format, Toml};
use figment::Figment;
use plugin_api::StreamKind;
use serde::{Deserialize, Serialize};

use super::{describe, source_name, ConfigError, HostConfig};

/// A stream kind as written in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Best bid and offer.
    BookTicker,
    /// Public trades.
    Trades,
    /// Order-book depth.
    Depth,
    /// The account's orders.
    Orders,
    /// The account's fills.
    Fills,
    /// The account's balances.
    Balances,
}

impl From<Channel> for StreamKind {
    fn from(c: Channel) -> StreamKind {
        match c {
            Channel::BookTicker => StreamKind::BookTicker,
            Channel::Trades => StreamKind::Trades,
            Channel::Depth => StreamKind::Depth,
            Channel::Orders => StreamKind::Orders,
            Channel::Fills => StreamKind::Fills,
            Channel::Balances => StreamKind::Balances,
        }
    }
}

/// One active venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueEntry {
    /// The venue id of the plugin that serves it (`gateio`, `mexc`, `fixture`).
    pub plugin: String,
    /// Set false to keep the entry but not run it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Normalized symbols the host's built-in consumer subscribes to (`BTC/USDT`).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Channels the built-in consumer subscribes to for each symbol.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Endpoint overrides (`ws_url`, `rest_url`, ...), merged into `settings`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// The `[venues.NAME]` table of the secrets file merged into `settings.credentials`
    /// (default: the table named like this venue, if there is one).
    #[serde(default)]
    pub credentials: Option<String>,
    /// Plugin-specific settings, passed to the plugin as JSON.
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

fn yes() -> bool {
    true
}

/// Credentials read from the secrets file. Its `Debug` shows table names only.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    #[serde(default)]
    venues: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("venues", &self.venues.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// Reads a secrets file. Errors name the file and key but never a value.
    pub fn load(path: &Path) -> Result<Secrets, ConfigError> {
        if !path.exists() {
            return Err(ConfigError(format!(
                "{}: no such file (named by key `secrets_file`)",
                path.display()
            )));
        }
        Figment::from(Toml::file(path))
            .extract()
            .map_err(|e| ConfigError(describe(e, Some(path), true)))
    }

    /// Names of the credential tables.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.venues.keys().map(String::as_str)
    }
}

impl HostConfig {
    /// Every `credentials` reference names a table of the secrets file.
    pub fn check_references(
        &self,
        file: Option<&Path>,
        secrets: &Secrets,
    ) -> Result<(), ConfigError> {
        for (name, venue) in &self.venues {
            if let Some(reference) = &venue.credentials {
                if !secrets.venues.contains_key(reference) {
                    let where_ = match &self.secrets_file {
                        Some(p) => format!("the secrets file {}", p.display()),
                        None => "no secrets file (key `secrets_file` is not set)".into(),
                    };
                    return Err(ConfigError(format!(
                        "{}: key `venues.{name}.credentials`: expected a `[venues.{reference}]` table in {where_}",
                        source_name(file)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The settings JSON handed to the plugin for venue `name`: its `settings`, then its
    /// `endpoints`, then its credentials under `credentials`. `None` if `name` is not
    /// configured. The result holds secrets: never log it.
    pub fn venue_settings(&self, name: &str, secrets: &Secrets) -> Option<String> {
        let venue = self.venues.get(name)?;
        let mut settings = venue.settings.clone();
        for (k, v) in &venue.endpoints {
            settings.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        let reference = venue.credentials.as_deref().unwrap_or(name);
        if let Some(table) = secrets.venues.get(reference) {
            settings.insert(
                "credentials".into(),
                serde_json::Value::Object(table.clone()),
            );
        }
        Some(serde_json::Value::Object(settings).to_string())
    }

    /// Enabled venues by name.
    pub fn enabled_venues(&self) -> impl Iterator<Item = (&String, &VenueEntry)> {
        self.venues.iter().filter(|(_, v)| v.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_merged_and_references_checked_without_showing_values() {
        let dir = std::env::temp_dir().join(format!("host-secrets-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secrets = dir.join("secrets.toml");
        std::fs::write(
            &secrets,
            "[venues.main]\napi_key = \"K\"\napi_secret = \"S\"\n[venues.odd]\nx = 1\n",
        )
        .unwrap();
        let file = dir.join("host.toml");
        let text = format!(
            "plugins_dir = \"x\"\nsecrets_file = \"{}\"\n[venues.a]\nplugin = \"mexc\"\ncredentials = \"main\"\nendpoints = {{ ws_url = \"ws://127.0.0.1:1\" }}\nsettings = {{ depth = 5 }}\n",
            secrets.display()
        );
        std::fs::write(&file, &text).unwrap();
        let (config, secrets_read) = HostConfig::load_with_secrets(Some(&file)).unwrap();
        assert!(!format!("{secrets_read:?}").contains("\"S\""));
        let json: serde_json::Value =
            serde_json::from_str(&config.venue_settings("a", &secrets_read).unwrap()).unwrap();
        assert_eq!(json["credentials"]["api_secret"], "S");
        assert_eq!(json["ws_url"], "ws://127.0.0.1:1");
        assert_eq!(json["depth"], 5);
        std::fs::write(&file, text.replace("\"main\"", "\"nope\"")).unwrap();
        let err = HostConfig::load_with_secrets(Some(&file))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("venues.a.credentials") && err.contains("nope"),
            "{err}"
        );
        std::fs::write(&secrets, "[venues]\nmain = \"hunter2\"\n").unwrap();
        let err = Secrets::load(&secrets).unwrap_err().to_string();
        assert!(
            !err.contains("hunter2") && err.contains("venues.main"),
            "{err}"
        );
    }
}
