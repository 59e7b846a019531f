//! The plain sections of the configuration: `[watch]`, `[trust]`, `[rate_limits]`,
//! `[control]`, `[metrics]` and `[log]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
