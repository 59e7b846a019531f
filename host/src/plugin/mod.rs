//! Plugin libraries: loading a file through a private shadow copy with layout and version
//! checks ([`loader`]), the private folder those copies live in (`shadow`), and deciding
//! whether a file may be loaded at all ([`trust`]).

mod file;
pub mod loader;
mod shadow;
pub mod trust;

pub use loader::{LoadError, LoadedLibrary, Loader, PluginInfo};
pub use shadow::ShadowDirError;
