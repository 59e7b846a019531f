//! Test fixture: a root module as an older plugin-api might have defined it, with the same
//! name and version strings and `api_version` 1 first (as in every plugin-api), but a
//! constructor taking other arguments. abi_stable's layout check must refuse it, and the
//! refusal names version 1.

#![allow(missing_docs)]

use abi_stable::library::RootModule;
use abi_stable::prefix_type::WithMetadata;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::RStr;
use abi_stable::{declare_root_module_statics, StableAbi};

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginRootRef)))]
#[sabi(missing_field(panic))]
pub struct PluginRoot {
    pub api_version: u32,
    pub venue: RStr<'static>,
    pub plugin_version: RStr<'static>,
    #[sabi(last_prefix_field)]
    pub create: extern "C" fn(u32) -> u32,
}

impl RootModule for PluginRootRef {
    declare_root_module_statics! {PluginRootRef}
    const BASE_NAME: &'static str = "venue_plugin";
    const NAME: &'static str = "venue_plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("0.1.0");
}

extern "C" fn create(x: u32) -> u32 {
    x
}

#[abi_stable::export_root_module]
pub fn venue_plugin_root() -> PluginRootRef {
    const ROOT: &WithMetadata<PluginRoot> = &WithMetadata::new(PluginRoot {
        api_version: 1,
        venue: RStr::from_str("old"),
        plugin_version: RStr::from_str("0.0.1"),
        create,
    });
    PluginRootRef(ROOT.static_as_prefix())
}
