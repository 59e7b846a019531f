#![allow(missing_docs)] // the export attribute generates an undocumented static
//! Test fixture: the layout of this host's plugin-api, but `api_version` 999, as a plugin
//! built against a future interface whose types happen to look the same would report.

use abi_stable::prefix_type::WithMetadata;
use abi_stable::std_types::{RResult, RStr};
use plugin_api::{PluginError, PluginRoot, PluginRootRef, VenueAdapterBox, VenueConfig};

extern "C" fn create(_: VenueConfig) -> RResult<VenueAdapterBox, PluginError> {
    RResult::RErr(PluginError::unsupported("fixture"))
}

#[abi_stable::export_root_module]
pub fn venue_plugin_root() -> PluginRootRef {
    const ROOT: &WithMetadata<PluginRoot> = &WithMetadata::new(PluginRoot {
        api_version: 999,
        venue: RStr::from_str("future"),
        plugin_version: RStr::from_str("9.9.9"),
        create,
    });
    PluginRootRef(ROOT.static_as_prefix())
}
