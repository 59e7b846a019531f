//! Errors of the host library; every variant names the plugin file, venue or key concerned.

use std::path::PathBuf;

use crate::plugin::loader::LoadError;
use crate::stop::graph::GraphError;
use crate::venue::driver::CallError;
use crate::venue::lifecycle::InvalidTransition;

/// A host operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// A plugin file was refused.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The plugin could not create the instance (bad settings, ...).
    #[error("{venue}: cannot create instance: {source}")]
    Create {
        /// Instance name.
        venue: String,
        /// The plugin's error.
        source: CallError,
    },
    /// The plugin's declarations are inconsistent.
    #[error("{venue}: bad declaration: {error}")]
    Declaration {
        /// Instance name.
        venue: String,
        /// Why.
        error: String,
    },
    /// The resource graph refused the plugin's resources.
    #[error(
        "{venue}: bad declaration: plugin `{plugin}`: {}",
        unowned(source, venue)
    )]
    Resources {
        /// Instance name.
        venue: String,
        /// The plugin that declared them.
        plugin: String,
        /// The graph's error.
        source: GraphError,
    },
    /// The plugin's start failed.
    #[error("{venue}: start failed: {source}")]
    Start {
        /// Instance name.
        venue: String,
        /// The plugin's error.
        source: CallError,
    },
    /// A life-cycle move that is not allowed.
    #[error("{venue}: {source}")]
    Transition {
        /// Instance name.
        venue: String,
        /// The refused move.
        source: InvalidTransition,
    },
    /// A consumer asked for a stream the venue's plugin does not produce.
    #[error("{venue}: the plugin does not serve {kind} streams (it serves: {served})")]
    Unserved {
        /// Instance name.
        venue: String,
        /// The kind asked for.
        kind: &'static str,
        /// The kinds it serves, comma-separated.
        served: String,
    },
    /// A consumer asked for a symbol the venue does not list.
    #[error("{venue}: the venue has no market `{symbol}`")]
    UnknownSymbol {
        /// Instance name.
        venue: String,
        /// The normalized symbol asked for.
        symbol: String,
    },
    /// An order could not be sent.
    #[error("{venue}: order not sent: {error}")]
    Order {
        /// Instance name.
        venue: String,
        /// Why.
        error: String,
        /// The plugin's error, when the plugin refused it.
        source: Option<CallError>,
    },
    /// A handler could not be bound.
    #[error("{venue}: handler not bound: {error}")]
    Bind {
        /// Instance name.
        venue: String,
        /// Why.
        error: String,
    },
    /// A venue served over the NATS bus did not answer or refused (see `[nats]`).
    #[error("{venue} (on the bus): {error}")]
    Bus {
        /// Instance name.
        venue: String,
        /// What the host holding it said, or why no answer came.
        error: String,
    },
    /// The host has shut down; nothing starts any more.
    #[error("the host has shut down")]
    ShutDown,
    /// A built-in plugin was added for a venue id another plugin already serves.
    #[error("built-in plugin `{venue}`: the venue id is already served by {other}")]
    DuplicateBuiltin {
        /// The contested venue id.
        venue: String,
        /// The plugin that has it: its file, or another built-in plugin.
        other: String,
    },
    /// No plugin serves this venue id.
    #[error("no plugin is loaded for venue `{0}`")]
    UnknownPlugin(String),
    /// No instance has this name.
    #[error("no venue instance named `{0}`")]
    UnknownInstance(String),
    /// The name is taken.
    #[error("a venue instance named `{0}` already exists")]
    DuplicateInstance(String),
    /// The plugin still has instances that are not stopped.
    #[error("plugin `{venue}` still has running instances: {}", .instances.join(", "))]
    InUse {
        /// Venue id.
        venue: String,
        /// The instances.
        instances: Vec<String>,
    },
    /// A reload was asked for a file of another venue.
    #[error("{path}: serves venue `{found}`, not `{expected}`")]
    WrongVenue {
        /// The new file.
        path: PathBuf,
        /// Its venue.
        found: String,
        /// The venue being reloaded.
        expected: String,
    },
}

/// A graph error's text without its `owner: ` prefix, for a message that names the owner
/// already.
fn unowned(error: &GraphError, owner: &str) -> String {
    let text = error.to_string();
    match text.strip_prefix(owner).and_then(|t| t.strip_prefix(": ")) {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}
