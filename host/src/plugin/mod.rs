//! Plugin libraries: loading a file through a private shadow copy with layout and version
//! checks ([`loader`]), the private folder those copies live in (`shadow`), deciding
//! whether a file may be loaded at all ([`trust`]), and venue code linked into the program
//! instead of a file ([`Builtin`]).

mod builtin;
mod file;
pub mod loader;
mod shadow;
pub mod trust;

pub use builtin::Builtin;
pub(crate) use builtin::PluginCode;
pub use loader::{LoadError, LoadedLibrary, Loader, PluginInfo};
pub use shadow::ShadowDirError;
