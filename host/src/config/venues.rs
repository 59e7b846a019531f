//! The `[venues.NAME]` tables, the secrets file holding their credentials, and the settings
//! JSON handed to a plugin (settings, endpoints and credentials merged).
//!
//! Credentials reach a plugin one way only: as the `credentials` object of its settings JSON
//! (`{"credentials": {"api_key": "...", "api_secret": "..."}}` for Gate.io and MEXC; see
//! `plugin_api::VenueConfig`). The host puts the secrets file's table there, or an inline
//! `[venues.NAME.settings.credentials]` table stays where it is; a venue given both is
//! refused when the configuration is read, never silently resolved.

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
    /// The `[venues.NAME]` table of the secrets file that becomes `settings.credentials`
    /// (default: the table named like this venue, if there is one). Refused together with
    /// an inline `settings.credentials`.
    #[serde(default)]
    pub credentials: Option<String>,
    /// Plugin-specific settings, passed to the plugin as JSON. Inline credentials go in
    /// its `credentials` table (the secrets file is the place for real ones).
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
            return Err(ConfigError(format!("{path:?}: no such file")));
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
    /// Every `credentials` reference names a table of the secrets file, and no venue has
    /// credentials both inline (`settings.credentials`) and from the secrets file.
    pub fn check_references(
        &self,
        file: Option<&Path>,
        secrets: &Secrets,
    ) -> Result<(), ConfigError> {
        let secrets_file = || match &self.secrets_file {
            Some(p) => format!("the secrets file {}", p.display()),
            None => "no secrets file (key `secrets_file` is not set)".into(),
        };
        for (name, venue) in &self.venues {
            if let Some(reference) = &venue.credentials {
                if !secrets.venues.contains_key(reference) {
                    return Err(ConfigError(format!(
                        "{}: key `venues.{name}.credentials`: expected a `[venues.{reference}]` table in {}",
                        source_name(file),
                        secrets_file()
                    )));
                }
            }
            if venue.settings.contains_key("credentials") {
                if let Some(reference) = self.secrets_table(name, secrets) {
                    return Err(ConfigError(format!(
                        "{}: key `venues.{name}.settings.credentials`: venue `{name}` has credentials twice, inline and as the `[venues.{reference}]` table of {}; keep one (the secrets file is the place for real credentials)",
                        source_name(file),
                        secrets_file()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The name of the secrets-file table that holds venue `name`'s credentials: its
    /// `credentials` reference, else a table named like the venue if there is one.
    fn secrets_table<'a>(&'a self, name: &'a str, secrets: &Secrets) -> Option<&'a str> {
        let venue = self.venues.get(name)?;
        let reference = venue.credentials.as_deref().unwrap_or(name);
        secrets.venues.contains_key(reference).then_some(reference)
    }

    /// The settings JSON handed to the plugin for venue `name`: its `settings`, then its
    /// `endpoints`, then the secrets-file table of its credentials as the `credentials`
    /// object (an inline `settings.credentials` is passed as it is; having both is refused
    /// by [`HostConfig::check_references`]). `None` if `name` is not configured. The
    /// result holds secrets: never log it.
    pub fn venue_settings(&self, name: &str, secrets: &Secrets) -> Option<String> {
        let venue = self.venues.get(name)?;
        let mut settings = venue.settings.clone();
        for (k, v) in &venue.endpoints {
            settings.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        if let Some(table) = self
            .secrets_table(name, secrets)
            .and_then(|t| secrets.venues.get(t))
        {
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

    #[test]
    fn credentials_come_from_one_place_only() {
        let dir = std::env::temp_dir().join(format!("host-creds-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secrets = dir.join("secrets.toml");
        std::fs::write(
            &secrets,
            "[venues.gate]\napi_key = \"K\"\napi_secret = \"hunter2\"\n",
        )
        .unwrap();
        let file = dir.join("host.toml");
        let load = |venues: &str| {
            let text = format!(
                "plugins_dir = \"x\"\nsecrets_file = \"{}\"\n{venues}",
                secrets.display()
            );
            std::fs::write(&file, text).unwrap();
            HostConfig::load_with_secrets(Some(&file))
        };
        let settings = |config: &HostConfig, secrets: &Secrets, name: &str| {
            let json = config.venue_settings(name, secrets).unwrap();
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        };

        // The table named like the venue becomes its `credentials` object; a venue with
        // inline credentials and no table keeps them as they are.
        let (config, read) = load(
            "[venues.gate]\nplugin = \"gateio\"\n[venues.other]\nplugin = \"mexc\"\n[venues.other.settings.credentials]\napi_key = \"IK\"\napi_secret = \"inline-secret\"\n",
        )
        .unwrap();
        let json = settings(&config, &read, "gate");
        assert_eq!(json["credentials"]["api_secret"], "hunter2");
        assert!(json.get("api_key").is_none() && json.get("api_secret").is_none());
        assert_eq!(
            settings(&config, &read, "other")["credentials"]["api_key"],
            "IK"
        );

        // Inline and secrets-file credentials together are refused, by default name or by
        // reference, naming the venue key and the table, never a value.
        for venue in [
            "[venues.gate]\nplugin = \"gateio\"\nsettings = { credentials = { api_key = \"IK\", api_secret = \"inline-secret\" } }\n",
            "[venues.g2]\nplugin = \"gateio\"\ncredentials = \"gate\"\n[venues.g2.settings.credentials]\napi_key = \"IK\"\napi_secret = \"inline-secret\"\n",
        ] {
            let err = load(venue).unwrap_err().to_string();
            let name = if venue.contains("g2") { "g2" } else { "gate" };
            assert!(
                err.contains(&format!("venues.{name}.settings.credentials"))
                    && err.contains("[venues.gate]")
                    && err.contains("secrets.toml"),
                "{err}"
            );
            assert!(!err.contains("hunter2") && !err.contains("inline-secret"), "{err}");
        }
    }
}
