//! The operator's error type and the events it announces (what tests and logs wait on).

use std::path::PathBuf;

use super::diff::ConfigOutcome;
use crate::config::ConfigError;
use crate::error::HostError;
use crate::plugin::trust::TrustError;
use crate::plugin::ShadowDirError;
use crate::stop::report::ReloadReport;

/// An operation of the operator that failed; each variant names the venue, file or key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// The host refused it.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The configuration could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A plugin file is not trusted.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// No private shadow folder could be made (it names the folder).
    #[error(transparent)]
    Shadow(#[from] ShadowDirError),
    /// The NATS bus of `[nats]` could not be reached or set up.
    #[error(transparent)]
    Bus(#[from] crate::nats::BusError),
    /// No venue of that name is configured.
    #[error("venue `{0}` is not configured (no [venues.{0}] entry)")]
    NotConfigured(String),
    /// No venue of that name is configured or known to the host.
    #[error("no such venue: {0}")]
    NoSuchVenue(String),
    /// No venue of that name is configured or known to the host, and no plugin has that id
    /// (what a reload looks up).
    #[error("no such venue or plugin: {0}")]
    NoSuchVenueOrPlugin(String),
    /// No plugin file in the folder serves the venue's plugin.
    #[error("venue `{venue}`: no file in the plugin folder provides plugin `{plugin}`")]
    NoPluginFile {
        /// Instance name.
        venue: String,
        /// Plugin venue id.
        plugin: String,
    },
    /// The venue is running already.
    #[error("venue `{0}` is already running")]
    AlreadyRunning(String),
    /// Setting up the process failed (runtime, folders, watcher).
    #[error("{what}: {source}")]
    Setup {
        /// What was being set up.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Something the operator did, for tests and logs to wait on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OpsEvent {
    /// A new plugin file was loaded.
    PluginLoaded {
        /// The file.
        file: PathBuf,
        /// Its venue id.
        plugin: String,
        /// Its version.
        version: String,
    },
    /// A replaced plugin file was reloaded in place.
    PluginReloaded {
        /// The file.
        file: PathBuf,
        /// The reload report.
        report: Box<ReloadReport>,
    },
    /// A plugin file was refused; whatever ran before keeps running.
    PluginRefused {
        /// The file.
        file: PathBuf,
        /// Why (one line naming the file).
        error: String,
    },
    /// A removed plugin file's venues were stopped and the plugin unloaded.
    PluginRemoved {
        /// The file.
        file: PathBuf,
        /// Its venue id.
        plugin: String,
    },
    /// A configured venue started.
    VenueStarted {
        /// Instance name.
        venue: String,
    },
    /// A configured venue failed to start.
    VenueFailed {
        /// Instance name.
        venue: String,
        /// Why.
        error: String,
    },
    /// A configuration reload finished.
    Config(ConfigOutcome),
}
