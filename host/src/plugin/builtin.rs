//! Built-in plugins: venue code linked into the program and registered under its venue id,
//! served by the host exactly as a plugin file would be, without a file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::std_types::RResult;
use plugin_api::{PluginError, Venue, VenueAdapterBox, VenueConfig, API_VERSION};

use super::{LoadedLibrary, PluginInfo};

/// The constructor of a built-in plugin's instances, type-erased.
type Create = dyn Fn(VenueConfig) -> RResult<VenueAdapterBox, PluginError> + Send + Sync;

/// A venue plugin linked into the program instead of loaded from a file: the same
/// protocol code a plugin file exports, compiled into the binary (a plugin crate used as an
/// `rlib`, with its root-symbol export turned off).
///
/// Register it with [`Host::add_builtin`](crate::Host::add_builtin), or hand it to
/// [`Exchange::start_with`](crate::Exchange::start_with); from then on it serves its venue
/// id as a loaded file would: [`Host::start_venue`](crate::Host::start_venue) and the
/// configuration's `plugin = "..."` name it, and a plugin file claiming the same id is
/// refused.
///
/// The host treats its instances as it treats a file's. Each is the same ABI-stable
/// adapter built the way `export_venue_plugin!` builds it, so every call runs under the
/// panic guard: a panic faults the instance, which the supervisor restarts. It is stopped
/// through the same stop pipeline, in dependency order, with the same report, and its
/// events are counted the same way. What a file has and a built-in plugin does not: no
/// shadow copy, no layout or version check (it was compiled against this host's
/// `plugin-api`), and nothing to unmap when it is removed (its [`PluginInfo`] says
/// `builtin`, with no path and no digest).
///
/// # Examples
///
/// ```
/// use host::plugin::Builtin;
/// # use plugin_api::{ConnId, InFrame, Instrument, OutFrame, Output, PluginError, Topic,
/// #     VenueConfig, VenueDescriptor};
/// # struct MyVenue;
/// # impl plugin_api::Venue for MyVenue {
/// #     fn describe(&self) -> VenueDescriptor { unimplemented!() }
/// #     fn resolve(&self, _: &str) -> Option<Instrument> { None }
/// #     fn subscribe(&mut self, _: ConnId, _: &[Topic], _: u64) -> Result<Vec<OutFrame>, PluginError> { Ok(vec![]) }
/// #     fn unsubscribe(&mut self, _: ConnId, _: &[Topic], _: u64) -> Result<Vec<OutFrame>, PluginError> { Ok(vec![]) }
/// #     fn on_frame(&mut self, _: ConnId, _: InFrame<'_>, _: u64) -> Result<Output, PluginError> { Ok(Output::default()) }
/// # }
/// // The constructor a plugin file passes to `export_venue_plugin!`.
/// fn create(config: &VenueConfig) -> Result<MyVenue, PluginError> {
///     Ok(MyVenue)
/// }
/// let builtin = Builtin::new("myvenue", "1.0.0", create);
/// assert_eq!(builtin.info().venue, "myvenue");
/// assert!(builtin.info().builtin);
/// # async fn start(host: host::Host, builtin: Builtin) -> Result<(), host::HostError> {
/// host.add_builtin(builtin).await?;
/// host.start_venue("mine", "myvenue", "{}").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Builtin {
    info: PluginInfo,
    create: Arc<Create>,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builtin")
            .field("venue", &self.info.venue)
            .field("version", &self.info.plugin_version)
            .finish_non_exhaustive()
    }
}

impl Builtin {
    /// A built-in plugin serving the venue id `venue` (what its `describe()` must name, as
    /// for a file), at `version`, whose instances `create` makes from their configuration:
    /// the constructor the plugin's crate passes to `export_venue_plugin!`.
    pub fn new<V: Venue>(
        venue: impl Into<String>,
        version: impl Into<String>,
        create: fn(&VenueConfig) -> Result<V, PluginError>,
    ) -> Builtin {
        Builtin {
            info: PluginInfo {
                path: PathBuf::new(),
                venue: venue.into(),
                plugin_version: version.into(),
                api_version: API_VERSION,
                sha256: String::new(),
                builtin: true,
            },
            // What the export macro's entry point calls: the adapter is built exactly as
            // a plugin file builds it, panic guard included.
            create: Arc::new(move |config| plugin_api::root::create_guarded(config, create)),
        }
    }

    /// Its identity, as [`Host::plugins`](crate::Host::plugins) shows it.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }
}

/// Where the code of a plugin the host serves lives.
pub(crate) enum PluginCode {
    /// A library loaded from a file.
    File(LoadedLibrary),
    /// Code linked into the program.
    Builtin(Builtin),
}

impl PluginCode {
    /// Identity of the plugin.
    pub(crate) fn info(&self) -> &PluginInfo {
        match self {
            PluginCode::File(library) => library.info(),
            PluginCode::Builtin(builtin) => &builtin.info,
        }
    }

    /// The private copy mapped for a file; `None` for a built-in plugin.
    pub(crate) fn shadow_path(&self) -> Option<&Path> {
        match self {
            PluginCode::File(library) => Some(library.shadow_path()),
            PluginCode::Builtin(_) => None,
        }
    }

    /// Creates one venue instance. For a file the adapter holds code of its library: it
    /// must be dropped before the library is.
    pub(crate) fn create(&self, config: VenueConfig) -> RResult<VenueAdapterBox, PluginError> {
        match self {
            PluginCode::File(library) => (library.root().create())(config),
            PluginCode::Builtin(builtin) => (builtin.create)(config),
        }
    }
}
