//! The error a plugin returns across the boundary.

use std::fmt;

use abi_stable::std_types::RString;
use abi_stable::StableAbi;

/// What went wrong inside a plugin call.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ErrorKind {
    /// The plugin's configuration is wrong (`message` names the key).
    Config,
    /// A request the plugin cannot serve (unsupported stream kind, unknown symbol).
    Unsupported,
    /// A frame or response could not be understood.
    Protocol,
    /// The plugin panicked; the host marks the instance faulted.
    Panic,
    /// The plugin is faulted from an earlier panic and refuses further calls.
    Faulted,
    /// Anything else.
    Other,
}

/// An error returned by a plugin callback.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
pub struct PluginError {
    /// Category.
    pub kind: ErrorKind,
    /// Human-readable detail (never secrets).
    pub message: RString,
}

impl PluginError {
    /// Builds an error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> PluginError {
        PluginError {
            kind,
            message: RString::from(message.into()),
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> PluginError {
        PluginError::new(ErrorKind::Config, message)
    }

    /// An unsupported request.
    pub fn unsupported(message: impl Into<String>) -> PluginError {
        PluginError::new(ErrorKind::Unsupported, message)
    }

    /// A protocol error.
    pub fn protocol(message: impl Into<String>) -> PluginError {
        PluginError::new(ErrorKind::Protocol, message)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for PluginError {}
