//! The root module every plugin library exports, and the macro that exports it.

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RStr};
use abi_stable::{declare_root_module_statics, package_version_strings, StableAbi};

use crate::adapter::{VenueAdapterBox, VenueAdapter_TO};
use crate::guard::guard;
use crate::{PluginError, Venue, VenueConfig};

/// The interface version. The host refuses a plugin whose root module reports another one,
/// even when abi_stable's layout check would accept it. Bump it on any change to the
/// meaning (not only the layout) of the interface.
///
/// History: 1, the first; 2, [`crate::OrderStatus::Unknown`]; 3, a clock in
/// `subscribe`/`unsubscribe`, the venue's trade time on [`crate::Trade`] and
/// [`crate::Fill`], and market buys sized in the quote asset ([`crate::NewOrder::quote_qty`]);
/// 4, [`crate::Venue::recover_orders`].
pub const API_VERSION: u32 = 4;

/// The root module: identity plus the constructor of venue instances.
///
/// Plugin authors never build this by hand; [`crate::export_venue_plugin!`] does.
///
/// `api_version` is its first field, a `u32`, in every version of the interface: when the
/// layout check refuses a plugin, the host still reads it (through [`ApiVersionProbe`]) to
/// say which version the plugin was built for.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginRootRef)))]
#[sabi(missing_field(panic))]
pub struct PluginRoot {
    /// Must equal [`API_VERSION`] of the host.
    pub api_version: u32,
    /// The venue id this plugin serves (`gateio`); unique among loaded plugins.
    pub venue: RStr<'static>,
    /// The plugin's version (its crate version).
    pub plugin_version: RStr<'static>,
    /// Creates one venue instance from its configuration.
    #[sabi(last_prefix_field)]
    pub create: extern "C" fn(VenueConfig) -> RResult<VenueAdapterBox, PluginError>,
}

/// The part of [`PluginRoot`] that every version of the interface shares: its first field.
///
/// The host reads a plugin's root through it, without a layout check, only after the check
/// of the whole [`PluginRoot`] failed, to name the version the plugin was built for.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ApiVersionProbeRef)))]
#[sabi(missing_field(panic))]
pub struct ApiVersionProbe {
    /// [`PluginRoot::api_version`].
    #[sabi(last_prefix_field)]
    pub api_version: u32,
}

impl RootModule for PluginRootRef {
    declare_root_module_statics! {PluginRootRef}
    const BASE_NAME: &'static str = "venue_plugin";
    const NAME: &'static str = "venue_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Builds a guarded venue instance; used by [`crate::export_venue_plugin!`].
#[doc(hidden)]
pub fn create_guarded<V: Venue>(
    config: VenueConfig,
    constructor: fn(&VenueConfig) -> Result<V, PluginError>,
) -> RResult<VenueAdapterBox, PluginError> {
    guard(|| {
        let venue = constructor(&config)?;
        Ok(VenueAdapter_TO::from_value(
            crate::Guarded::new(venue),
            abi_stable::sabi_trait::TD_Opaque,
        ))
    })
}

/// Exports a plugin's root module.
///
/// ```ignore
/// struct MyVenue { /* protocol state */ }
/// impl plugin_api::Venue for MyVenue { /* ... */ }
/// fn create(config: &plugin_api::VenueConfig) -> Result<MyVenue, plugin_api::PluginError> {
///     /* parse config.settings_json */
/// #   todo!()
/// }
/// plugin_api::export_venue_plugin!(venue: "myvenue", create: create);
/// ```
///
/// The plugin crate must be a `cdylib` and depend on `abi_stable` directly (the export
/// attribute refers to it by name). Every call into the plugin then runs under the panic
/// guard.
#[macro_export]
macro_rules! export_venue_plugin {
    (venue: $venue:expr, create: $create:path $(,)?) => {
        #[allow(missing_docs)]
        mod venue_plugin_export {
            use super::*;

            /// The plugin's root module, found by the host through abi_stable's export symbol.
            #[::abi_stable::export_root_module]
            pub fn venue_plugin_root() -> $crate::PluginRootRef {
                use ::abi_stable::prefix_type::WithMetadata;
                const ROOT: &WithMetadata<$crate::PluginRoot> =
                    &WithMetadata::new($crate::PluginRoot {
                        api_version: $crate::API_VERSION,
                        venue: ::abi_stable::std_types::RStr::from_str($venue),
                        plugin_version: ::abi_stable::std_types::RStr::from_str(env!(
                            "CARGO_PKG_VERSION"
                        )),
                        create: venue_plugin_create,
                    });
                $crate::PluginRootRef(ROOT.static_as_prefix())
            }

            extern "C" fn venue_plugin_create(
                config: $crate::VenueConfig,
            ) -> ::abi_stable::std_types::RResult<$crate::VenueAdapterBox, $crate::PluginError>
            {
                $crate::root::create_guarded(config, $create)
            }
        }
    };
}
