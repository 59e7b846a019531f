//! Plugin libraries: loading a file through a private shadow copy with layout and version
//! checks ([`loader`]), and deciding whether a file may be loaded at all ([`trust`]).

mod file;
pub mod loader;
pub mod trust;

pub use loader::{LoadError, LoadedLibrary, Loader, PluginInfo};
