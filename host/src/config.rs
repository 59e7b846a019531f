//! The host's configuration, read with figment from a TOML file (the embedded default when
//! none is given) plus `HOST_`-prefixed environment overrides. Unknown keys are errors that
//! name the key and the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::bus::QueuePolicies;
use crate::shutdown::ShutdownTimeouts;

/// The configuration compiled into the binary, used when no file is given.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../config/host.toml");

/// Everything the host reads from configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Folder holding plugin files (`*.so`).
    pub plugins_dir: PathBuf,
    /// Where shadow copies go (default: a private temp folder).
    #[serde(default)]
    pub shadow_dir: Option<PathBuf>,
    /// Stop timeouts.
    #[serde(default)]
    pub shutdown: ShutdownTimeouts,
    /// Consumer queues.
    #[serde(default)]
    pub queues: QueuePolicies,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Active venues by instance name.
    #[serde(default)]
    pub venues: BTreeMap<String, VenueEntry>,
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

/// One active venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueEntry {
    /// The venue id of the plugin that serves it (`gateio`, `mexc`, `fixture`).
    pub plugin: String,
    /// Set false to keep the entry but not run it.
    #[serde(default = "yes")]
    pub enabled: bool,
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

impl HostConfig {
    /// Reads `file` (or the embedded default), then `HOST_*` environment variables
    /// (`HOST_PLUGINS_DIR`, `HOST_SHUTDOWN__OVERALL=3000`, ...).
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
        base.merge(Env::prefixed("HOST_").split("__"))
            .extract()
            .map_err(|e| ConfigError(describe(e, file)))
    }
}

fn describe(error: figment::Error, file: Option<&Path>) -> String {
    let source = file
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "embedded default".into());
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
            format!("{from}:{key} {}", e.kind)
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
    }
}
