//! Opening a plugin library's root module with the checks the host makes, for the host and
//! for tools that load plugin files the same way (the test kit).

use abi_stable::abi_stability::abi_checking::{
    check_layout_compatibility_with_globals, CheckingGlobals,
};
use abi_stable::library::{lib_header_from_raw_library, LibHeader, LibraryError, RawLibrary};
use abi_stable::StableAbi;

use crate::root::ApiVersionProbeRef;
use crate::{PluginRootRef, API_VERSION};

/// Why a library's root module was refused, from [`open_root`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootError {
    /// The library exports no root module: it is not a plugin.
    NoRootSymbol,
    /// abi_stable could not read the library's header; its message.
    Header(String),
    /// The library carries no layout constant, so it cannot be checked.
    NoLayout,
    /// The root module's layout differs from this `plugin-api`'s.
    Layout {
        /// abi_stable's full report of the differences (long, several lines).
        report: String,
        /// The `api_version` the plugin was built for, when it can be read and differs
        /// from [`API_VERSION`]: the likely cause.
        api_version: Option<u32>,
    },
    /// The root module failed to initialize; abi_stable's message.
    Init(String),
    /// The layout matches but the plugin was built for another `api_version`.
    ApiVersion(u32),
}

/// Checks a loaded library's root module against this `plugin-api` and returns it: the
/// layout of [`crate::PluginRoot`] (with a fresh cache: abi_stable's global one keeps
/// pointers into the library), then [`API_VERSION`].
///
/// # Safety
///
/// The root module lives in the library: use the returned reference, and anything reached
/// through it, only while `library` stays loaded.
pub unsafe fn open_root(library: &RawLibrary) -> Result<PluginRootRef, RootError> {
    // SAFETY: the caller keeps `library` loaded while the header and the root are used.
    let header = unsafe { lib_header_from_raw_library(library) }.map_err(|e| match e {
        LibraryError::GetSymbolError { .. } => RootError::NoRootSymbol,
        other => RootError::Header(other.to_string()),
    })?;
    let layout = header.layout().ok_or(RootError::NoLayout)?;
    check_layout_compatibility_with_globals(
        <PluginRootRef as StableAbi>::LAYOUT,
        layout,
        &CheckingGlobals::new(),
    )
    .map_err(|errors| RootError::Layout {
        report: errors.to_string(),
        api_version: probe_api_version(header).filter(|v| *v != API_VERSION),
    })?;
    // SAFETY: the layout was checked just above, against a throw-away cache.
    let root = unsafe { header.init_root_module_with_unchecked_layout::<PluginRootRef>() }
        .map_err(|e| RootError::Init(e.to_string()))?;
    match root.api_version() {
        API_VERSION => Ok(root),
        found => Err(RootError::ApiVersion(found)),
    }
}

/// The `api_version` of a root module whose layout was refused, read through the one field
/// every version of `PluginRoot` starts with ([`crate::root::ApiVersionProbe`]); `None` if
/// the root module cannot be had.
fn probe_api_version(header: &LibHeader) -> Option<u32> {
    // SAFETY: every plugin-api's `PluginRoot` is a prefix type whose first field is
    // `api_version: u32`, and prefix types put their fields after the same metadata header,
    // so the probe reads that field and nothing past it. A root of another shape still
    // holds at least a pointer-aligned field there: any four bytes are a valid `u32`.
    let probe = unsafe { header.unchecked_layout::<ApiVersionProbeRef>() }.ok()?;
    Some(probe.api_version())
}
