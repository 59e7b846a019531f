//! The host's configuration, read with figment from a TOML file (the embedded default when
//! none is given) plus `HOST_`-prefixed environment overrides, and an optional secrets file
//! holding venue credentials. Unknown keys, wrong types and dangling references are errors
//! that name the file, the key and what was expected. This module owns the top-level
//! [`HostConfig`] and its loading; [`sections`] the plain sections, [`venues`] the venue
//! tables and secrets.

mod sections;
mod venues;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::host::RestartPolicy;
use crate::pipeline::bus::QueuePolicies;
use crate::stop::coordinator::ShutdownTimeouts;
use crate::transport::ReconnectPolicy;

pub use sections::{
    ControlConfig, LogConfig, LogFormat, MetricsConfig, NatsConfig, RateLimitOverride,
    StaleThresholds, TrustConfig, WatchConfig,
};
pub use venues::{Channel, Secrets, VenueEntry};

/// The configuration compiled into the binary, used when no file is given.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../../config/host.toml");

/// Everything the host reads from configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Folder holding plugin files (`*.so`).
    pub plugins_dir: PathBuf,
    /// The folder in which the host makes its private shadow folder (default: the temp
    /// folder). It must be owned by the user running the host (or root) and not writable by
    /// group or others (always: `trust.check_permissions` does not relax it); it is created
    /// (mode 0700) if missing.
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
    /// Restarting venue instances that fault (a plugin panic).
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Consumer queues.
    #[serde(default)]
    pub queues: QueuePolicies,
    /// How venue connections retry.
    #[serde(default, skip_serializing)]
    pub reconnect: ReconnectPolicy,
    /// Rate-limit overrides by limiter name (replace what a plugin declares).
    #[serde(default)]
    pub rate_limits: BTreeMap<String, RateLimitOverride>,
    /// How long each kind of data may pause before its connection counts as stalled.
    #[serde(default)]
    pub stale: StaleThresholds,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// The local control socket (`host ctl`).
    #[serde(default)]
    pub control: ControlConfig,
    /// The Prometheus endpoint.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The NATS bus (off by default).
    #[serde(default)]
    pub nats: NatsConfig,
    /// Active venues by instance name.
    #[serde(default)]
    pub venues: BTreeMap<String, VenueEntry>,
}

/// A configuration that could not be read; the text names the file and key.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

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
        // A secrets file that cannot be read is a fault of the key that names it.
        let secrets = config.secrets().map_err(|e| {
            ConfigError(format!(
                "{}: key `secrets_file`: {}",
                source_name(file),
                e.0
            ))
        })?;
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
        self.nats_check(&from)?;
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
            // `endpoints` are merged into the settings the plugin gets: a key in both would
            // be overridden without a word.
            if let Some(key) = venue
                .endpoints
                .keys()
                .find(|k| venue.settings.contains_key(*k))
            {
                return Err(ConfigError(format!(
                    "{from}: key `venues.{name}.settings.{key}`: also given as `venues.{name}.endpoints.{key}`; keep one"
                )));
            }
            let public: Vec<&str> = venue
                .channels
                .iter()
                .map(|c| plugin_api::StreamKind::from(*c))
                .filter(|k| !k.is_private())
                .map(|k| k.name())
                .collect();
            if !public.is_empty()
                && venue.symbols.is_empty()
                && !venue.settings.contains_key("symbol")
            {
                return Err(ConfigError(format!(
                    "{from}: key `venues.{name}.symbols`: channels {} need at least one symbol (`BTC/USDT`)",
                    public.join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl HostConfig {
    fn nats_check(&self, from: &str) -> Result<(), ConfigError> {
        let nats = &self.nats;
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !token(&nats.prefix) {
            return Err(ConfigError(format!(
                "{from}: key `nats.prefix`: expected letters, digits, `-` or `_`, found `{}`",
                nats.prefix
            )));
        }
        if !token(&nats.consumer) {
            return Err(ConfigError(format!(
                "{from}: key `nats.consumer`: expected letters, digits, `-` or `_`, found `{}`",
                nats.consumer
            )));
        }
        if nats.lease_ttl_ms < 100 {
            return Err(ConfigError(format!(
                "{from}: key `nats.lease_ttl_ms`: expected at least 100, found {}",
                nats.lease_ttl_ms
            )));
        }
        if nats.remote && !nats.enabled {
            return Err(ConfigError(format!(
                "{from}: key `nats.remote`: needs `nats.enabled = true`"
            )));
        }
        if nats.enabled {
            if let Some(name) = self.venues.keys().find(|n| !token(n)) {
                return Err(ConfigError(format!(
                    "{from}: key `venues.{name}`: a venue on the bus needs a name of letters, digits, `-` or `_`"
                )));
            }
        }
        Ok(())
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
            // The file as the user named it (figment shows a file relative to the current
            // folder when that is shorter); other sources (`HOST_*` variables) as figment
            // names them.
            let from = match e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
                Some(figment::Source::File(_)) | None => source.clone(),
                Some(other) => other.to_string(),
            };
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
    fn embedded_default_lists_the_defaults() {
        let c = HostConfig::load(None).unwrap();
        assert_eq!(c.restart, RestartPolicy::default());
        assert_eq!(c.shutdown, ShutdownTimeouts::default());
        assert_eq!(c.watch, WatchConfig::default());
        assert_eq!(c.trust, TrustConfig::default());
        assert_eq!(c.control, ControlConfig::default());
        assert_eq!(c.metrics, MetricsConfig::default());
        assert_eq!(c.log, LogConfig::default());
        assert!(EMBEDDED_DEFAULT.contains("\n[restart]\n"));
    }

    #[test]
    fn restart_section_is_read_in_milliseconds() {
        let dir = std::env::temp_dir().join(format!("host-restart-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("host.toml");
        std::fs::write(
            &file,
            "plugins_dir = \"x\"\n[restart]\nmax_faults = 2\ninitial_backoff = 50\n",
        )
        .unwrap();
        let c = HostConfig::load(Some(&file)).unwrap();
        assert_eq!(c.restart.max_faults, 2);
        assert_eq!(
            c.restart.initial_backoff,
            std::time::Duration::from_millis(50)
        );
        assert_eq!(c.restart.window, RestartPolicy::default().window);
        std::fs::write(&file, "plugins_dir = \"x\"\n[restart]\nmax_fault = 2\n").unwrap();
        let err = HostConfig::load(Some(&file)).unwrap_err().to_string();
        assert!(
            err.contains("restart") && err.contains("max_fault"),
            "{err}"
        );
    }

    #[test]
    fn the_bus_demo_configurations_parse_with_their_roles() {
        let load = |name: &str| {
            let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../config")
                .join(name);
            HostConfig::load(Some(&file)).unwrap()
        };
        let (a, b, program) = (
            load("bus-host-a.toml"),
            load("bus-host-b.toml"),
            load("bus-program.toml"),
        );
        let names = |c: &HostConfig| c.venues.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&a), ["gate"]);
        assert_eq!(names(&b), ["gate", "mexc"]);
        assert_eq!(names(&program), ["gate", "mexc"]);
        for host in [&a, &b] {
            assert!(host.nats.enabled && host.nats.leases && !host.nats.remote);
        }
        assert_ne!(a.nats.name, b.nats.name);
        assert_ne!(a.control.socket, b.control.socket);
        assert!(program.nats.enabled && program.nats.remote);
        assert!([&a, &b].iter().all(|h| h.nats.url == program.nats.url));
    }

    #[test]
    fn the_live_configuration_parses_and_points_at_the_real_venues() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/live.toml");
        let config = HostConfig::load(Some(&file)).unwrap();
        assert_eq!(
            config.venues.keys().map(String::as_str).collect::<Vec<_>>(),
            ["gate", "mexc"]
        );
        for venue in config.venues.values() {
            // No endpoint override: each plugin's defaults are the real venue's.
            assert!(
                venue.endpoints.is_empty() && venue.settings.is_empty(),
                "{venue:?}"
            );
            assert!(venue.credentials.is_none());
        }
        assert!(
            config.secrets_file.is_none(),
            "credentials come from the user"
        );
    }

    #[test]
    fn public_channels_without_symbols_are_refused_with_the_key() {
        let load = |venue: &str| {
            let text = format!("plugins_dir = \"x\"\n[venues.a]\nplugin = \"gateio\"\n{venue}");
            let config: HostConfig = Figment::from(Toml::string(&text)).extract().unwrap();
            config.check(None)
        };
        let err = load("channels = [\"trades\", \"orders\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("venues.a.symbols"), "{err}");
        assert!(err.contains("trades") && !err.contains("orders"), "{err}");
        assert!(
            load("channels = [\"orders\"]\n").is_ok(),
            "private channels take no symbol"
        );
        assert!(load("channels = [\"trades\"]\nsymbols = [\"BTC/USDT\"]\n").is_ok());
    }

    #[test]
    fn an_endpoint_also_in_settings_is_refused_naming_both_keys() {
        let text = "plugins_dir = \"x\"\n[venues.a]\nplugin = \"gateio\"\n\
                    endpoints = { ws_url = \"ws://127.0.0.1:1\" }\n\
                    settings = { ws_url = \"ws://127.0.0.1:2\", depth_limit = 5 }\n";
        let config: HostConfig = Figment::from(Toml::string(text)).extract().unwrap();
        let err = config.check(None).unwrap_err().to_string();
        assert!(
            err.contains("`venues.a.settings.ws_url`")
                && err.contains("`venues.a.endpoints.ws_url`"),
            "{err}"
        );
        let text = text.replace("ws_url = \"ws://127.0.0.1:2\", ", "");
        let config: HostConfig = Figment::from(Toml::string(&text)).extract().unwrap();
        assert!(config.check(None).is_ok());
    }

    #[test]
    fn bus_settings_that_cannot_work_are_refused_naming_the_key() {
        let check = |nats: &str, venue: &str| {
            let text = format!(
                "plugins_dir = \"x\"\n[nats]\n{nats}\n[venues.{venue}]\nplugin = \"gateio\"\n"
            );
            let config: HostConfig = Figment::from(Toml::string(&text)).extract().unwrap();
            config.check(None).err().map(|e| e.to_string())
        };
        let refused = [
            ("enabled = true\nprefix = \"a.b\"", "gate", "`nats.prefix`"),
            (
                "enabled = true\nconsumer = \"x y\"",
                "gate",
                "`nats.consumer`",
            ),
            (
                "enabled = true\nlease_ttl_ms = 10",
                "gate",
                "`nats.lease_ttl_ms`",
            ),
            ("remote = true", "gate", "`nats.remote`"),
            ("enabled = true", "\"a.b\"", "`venues.a.b`"),
        ];
        for (nats, venue, key) in refused {
            let err = check(nats, venue).unwrap_or_else(|| panic!("{nats} was accepted"));
            assert!(err.contains(key), "{nats}: {err}");
        }
        assert_eq!(check("enabled = true\nremote = true", "gate"), None);
        // Off, a venue name the bus could not carry is nobody's business.
        assert_eq!(check("enabled = false", "\"a.b\""), None);
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
}
