//! The host's configuration, read with figment from a TOML file (the embedded default when
//! none is given) plus `HOST_`-prefixed environment overrides, and an optional secrets file
//! holding venue credentials. Unknown keys, wrong types and dangling references are errors
//! that name the file, the key and what was expected.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use plugin_api::StreamKind;
use serde::{Deserialize, Serialize};

use crate::pipeline::bus::QueuePolicies;
use crate::stop::coordinator::ShutdownTimeouts;
use crate::transport::ReconnectPolicy;

/// The configuration compiled into the binary, used when no file is given.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../../config/host.toml");

/// Everything the host reads from configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Folder holding plugin files (`*.so`).
    pub plugins_dir: PathBuf,
    /// Where shadow copies go (default: a private temp folder).
    #[serde(default)]
    pub shadow_dir: Option<PathBuf>,
    /// A TOML file with `[venues.NAME]` credential tables (never logged).
    #[serde(default)]
    pub secrets_file: Option<PathBuf>,
    /// Plugin folder and config file watching.
    #[serde(default)]
    pub watch: WatchConfig,
    /// Which plugin files are trusted.
    #[serde(default)]
    pub trust: TrustConfig,
    /// Stop timeouts.
    #[serde(default)]
    pub shutdown: ShutdownTimeouts,
    /// Consumer queues.
    #[serde(default)]
    pub queues: QueuePolicies,
    /// How venue connections retry.
    #[serde(default, skip_serializing)]
    pub reconnect: ReconnectPolicy,
    /// Rate-limit overrides by limiter name (replace what a plugin declares).
    #[serde(default)]
    pub rate_limits: BTreeMap<String, RateLimitOverride>,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// The local control socket (`host ctl`).
    #[serde(default)]
    pub control: ControlConfig,
    /// The Prometheus endpoint.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Active venues by instance name.
    #[serde(default)]
    pub venues: BTreeMap<String, VenueEntry>,
}

/// Watching the plugin folder and the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// Watch the plugin folder: load new files, reload replaced ones, unload removed ones.
    pub plugins: bool,
    /// Re-read the configuration file when it changes (SIGHUP always does).
    pub config: bool,
    /// Quiet time per path before a change is acted on, in milliseconds.
    pub debounce_ms: u64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            plugins: true,
            config: true,
            debounce_ms: 100,
        }
    }
}

/// Which plugin files the host agrees to load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// Refuse files and folders writable by group or other users.
    pub check_permissions: bool,
    /// If not empty, the only SHA-256 digests (hex) of plugin files allowed.
    pub allowed_sha256: Vec<String>,
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            check_permissions: true,
            allowed_sha256: Vec::new(),
        }
    }
}

/// A rate limit replacing the one a plugin declares under the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitOverride {
    /// Permits per window.
    pub capacity: u32,
    /// Window length in milliseconds.
    pub window_ms: u64,
}

/// The control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// Serve the control socket.
    pub enabled: bool,
    /// Path of the Unix socket (created with mode 0600).
    pub socket: PathBuf,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            enabled: true,
            socket: PathBuf::from("target/host.sock"),
        }
    }
}

/// The Prometheus text endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// Loopback address to listen on (port 0: any free port).
    pub address: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            address: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A `tracing_subscriber` filter, e.g. `info` or `host=debug`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Human,
            filter: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

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

/// A configuration that could not be read; the text names the file and key.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

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
    /// Reads `file` (or the embedded default), then `HOST_*` environment variables
    /// (`HOST_PLUGINS_DIR`, `HOST_SHUTDOWN__OVERALL=3000`, ...), and checks it.
    pub fn load(file: Option<&Path>) -> Result<HostConfig, ConfigError> {
        let base = match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError(format!("{}: no such file", path.display())));
                }
                Figment::from(Toml::file(path))
            }
            None => Figment::from(Toml::string(EMBEDDED_DEFAULT)),
        };
        let config: HostConfig = base
            .merge(Env::prefixed("HOST_").split("__"))
            .extract()
            .map_err(|e| ConfigError(describe(e, file, false)))?;
        config.check(file)?;
        Ok(config)
    }

    /// Reads the configuration and its secrets file together.
    pub fn load_with_secrets(file: Option<&Path>) -> Result<(HostConfig, Secrets), ConfigError> {
        let config = HostConfig::load(file)?;
        let secrets = config.secrets()?;
        config.check_references(file, &secrets)?;
        Ok((config, secrets))
    }

    /// The secrets file's content (empty without one).
    pub fn secrets(&self) -> Result<Secrets, ConfigError> {
        match &self.secrets_file {
            Some(path) => Secrets::load(path),
            None => Ok(Secrets::default()),
        }
    }

    fn check(&self, file: Option<&Path>) -> Result<(), ConfigError> {
        let from = source_name(file);
        if !self.metrics.address.ip().is_loopback() {
            return Err(ConfigError(format!(
                "{from}: key `metrics.address`: expected a loopback address, found {}",
                self.metrics.address
            )));
        }
        for (i, digest) in self.trust.allowed_sha256.iter().enumerate() {
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError(format!(
                    "{from}: key `trust.allowed_sha256[{i}]`: expected 64 hex digits, found `{digest}`"
                )));
            }
        }
        for (name, limit) in &self.rate_limits {
            if limit.capacity == 0 || limit.window_ms == 0 {
                return Err(ConfigError(format!(
                    "{from}: key `rate_limits.{name}`: expected capacity and window_ms above 0"
                )));
            }
        }
        for (name, venue) in &self.venues {
            if venue.plugin.is_empty() {
                return Err(ConfigError(format!(
                    "{from}: key `venues.{name}.plugin`: expected a plugin venue id"
                )));
            }
        }
        Ok(())
    }

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

fn source_name(file: Option<&Path>) -> String {
    file.map(|p| p.display().to_string())
        .unwrap_or_else(|| "embedded default".into())
}

fn describe(error: figment::Error, file: Option<&Path>, redact: bool) -> String {
    let source = source_name(file);
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!(" key `{}`:", e.path.join("."))
            };
            let from = e
                .metadata
                .as_ref()
                .and_then(|m| m.source.as_ref())
                .map(|s| s.to_string())
                .unwrap_or_else(|| source.clone());
            let what = match &e.kind {
                // A secret must not appear in an error message.
                figment::error::Kind::InvalidType(_, expected) if redact => {
                    format!("invalid type: expected {expected}")
                }
                kind => kind.to_string(),
            };
            format!("{from}:{key} {what}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses() {
        let c = HostConfig::load(None).unwrap();
        assert!(!c.venues.is_empty());
    }

    #[test]
    fn unknown_key_is_named_with_its_file() {
        let dir = std::env::temp_dir().join(format!("host-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.toml");
        std::fs::write(
            &file,
            "plugins_dir = \"x\"\n[shutdown]\noverall = 5000\nbogus = 1\n",
        )
        .unwrap();
        let err = HostConfig::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("bad.toml"), "{err}");
        assert!(err.contains("bogus"), "{err}");
        std::fs::write(
            &file,
            "plugins_dir = \"x\"\n[shutdown]\noverall = \"soon\"\n",
        )
        .unwrap();
        let err = HostConfig::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("shutdown.overall"), "{err}");
        std::fs::write(
            &file,
            "plugins_dir = \"x\"\n[venues.a]\nplugin = \"fixture\"\nchannels = [\"tardes\"]\n",
        )
        .unwrap();
        let err = HostConfig::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("venues.a.channels"), "{err}");
        assert!(err.contains("trades"), "says what was expected: {err}");
        std::fs::write(
            &file,
            "plugins_dir = \"x\"\n[metrics]\naddress = \"0.0.0.0:9\"\n",
        )
        .unwrap();
        let err = HostConfig::load(Some(&file)).unwrap_err().to_string();
        assert!(
            err.contains("metrics.address") && err.contains("loopback"),
            "{err}"
        );
    }

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
