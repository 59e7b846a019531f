//! The kit's errors: a plugin file that cannot be driven, a capture that cannot be read, a
//! harness used in a way the host never would, or a plugin call that failed.

use std::path::PathBuf;

use plugin_api::{ConnId, PluginError};

/// Why a plugin file could not be loaded. Each variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The dynamic loader refused the file (missing, truncated, wrong architecture).
    #[error("{path}: cannot open as a shared library: {reason}")]
    Open {
        /// The plugin file.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// A shared library without the abi_stable root module symbol.
    #[error("{path}: no plugin root symbol: not a venue plugin")]
    NoRootSymbol {
        /// The plugin file.
        path: PathBuf,
    },
    /// Built for another interface version than this kit's `plugin-api`.
    #[error(
        "{path}: built for plugin api_version {found}, this test kit speaks {expected}; \
         rebuild the plugin against the same plugin-api"
    )]
    ApiVersion {
        /// The plugin file.
        path: PathBuf,
        /// The plugin's version.
        found: u32,
        /// The kit's version ([`plugin_api::API_VERSION`]).
        expected: u32,
    },
    /// Its types differ from this kit's `plugin-api` (another `abi_stable`, a changed type).
    #[error("{path}: incompatible plugin-api: {summary}")]
    Incompatible {
        /// The plugin file.
        path: PathBuf,
        /// The first mismatch abi_stable reported.
        summary: String,
    },
    /// The root module failed to initialize.
    #[error("{path}: plugin root module failed: {reason}")]
    RootFailed {
        /// The plugin file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Why a capture could not be read. Each variant names the capture and, where there is
/// one, the line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file could not be read.
    #[error("{name}: cannot read: {source}")]
    Io {
        /// The capture file.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not what the format allows.
    #[error("{name} line {line}: {reason}")]
    Line {
        /// The capture's name (its file).
        name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong, naming the key.
        reason: String,
    },
}

/// What went wrong driving a plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// The plugin file could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A capture could not be read.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A plugin call returned an error (a panic comes back as [`plugin_api::ErrorKind::Panic`]).
    /// The harness recorded it in its [`crate::Outcome`] as well.
    #[error("plugin `{venue}`: {call} failed: {error}")]
    Plugin {
        /// The venue id of the plugin.
        venue: String,
        /// The call (`on_frame`, `subscribe`, ...).
        call: &'static str,
        /// The plugin's error.
        error: PluginError,
    },
    /// No connection with this id was opened by the harness.
    #[error("no open connection {}", .0 .0)]
    UnknownConnection(ConnId),
    /// The descriptor declares no connection of this name.
    #[error("plugin `{venue}` declares no connection `{name}` (it declares: {declared})")]
    UndeclaredConnection {
        /// The venue id.
        venue: String,
        /// The name asked for.
        name: String,
        /// The names it declares.
        declared: String,
    },
    /// The plugin resolved no instrument for this normalized symbol.
    #[error("plugin `{venue}` does not resolve symbol `{symbol}`")]
    Unresolved {
        /// The venue id.
        venue: String,
        /// The normalized symbol.
        symbol: String,
    },
    /// A timer was fired that the plugin had not armed (the host never calls those).
    #[error("timer `{0}` is not armed (the host only fires armed timers)")]
    TimerNotArmed(String),
    /// An answer was given to a REST request the plugin never made.
    #[error("no pending REST request {wanted} (pending: {pending})")]
    NoSuchRequest {
        /// The request looked for.
        wanted: String,
        /// What is pending.
        pending: String,
    },
    /// A step of a capture could not be carried out.
    #[error("{capture} line {line}: {source}")]
    Step {
        /// The capture's name.
        capture: String,
        /// 1-based line number.
        line: usize,
        /// Why.
        source: Box<TestkitError>,
    },
}
