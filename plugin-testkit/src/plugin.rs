//! A plugin to drive: a built file loaded the way the host loads it (layout check, root
//! module, API version), or venue code linked into the test and guarded as the host guards
//! its built-in plugins.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::library::RawLibrary;
use abi_stable::std_types::RResult;
use plugin_api::{
    PluginError, PluginRootRef, RootError, Venue, VenueAdapterBox, VenueConfig, API_VERSION,
};

use crate::error::{LoadError, TestkitError};
use crate::Harness;

type Create = dyn Fn(VenueConfig) -> RResult<VenueAdapterBox, PluginError> + Send + Sync;

/// A loaded library. The root points into it, so it is declared first and the library drops
/// last; the library is never closed while an adapter of it lives (harnesses hold this).
pub(crate) struct Library {
    root: PluginRootRef,
    _raw: RawLibrary,
}

enum Code {
    File(Arc<Library>),
    Linked(Arc<Create>),
}

/// A venue plugin the kit can drive: [`Plugin::load`] for a built `.so`, [`Plugin::linked`]
/// for the plugin's crate linked into the test. Both give the same [`Harness`].
pub struct Plugin {
    venue: String,
    version: String,
    path: Option<PathBuf>,
    code: Code,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("venue", &self.venue)
            .field("version", &self.version)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Loads a built plugin file: checks its layout against this kit's `plugin-api` and its
    /// `api_version` against [`API_VERSION`], naming both versions when they differ.
    ///
    /// The library stays mapped while this value or any harness made from it lives.
    pub fn load(path: impl AsRef<Path>) -> Result<Plugin, LoadError> {
        let path = path.as_ref();
        let raw = RawLibrary::load_at(path).map_err(|e| LoadError::Open {
            path: path.to_owned(),
            reason: one_line(&e.to_string()),
        })?;
        let root = init_root(path, &raw)?;
        let library = Library { root, _raw: raw };
        Ok(Plugin {
            venue: root.venue().as_str().to_owned(),
            version: root.plugin_version().as_str().to_owned(),
            path: Some(path.to_owned()),
            code: Code::File(Arc::new(library)),
        })
    }

    /// Venue code linked into the test: `create` is the constructor the plugin passes to
    /// `export_venue_plugin!`. Every call runs under the same panic guard as in a file.
    pub fn linked<V: Venue>(
        venue: &str,
        create: fn(&VenueConfig) -> Result<V, PluginError>,
    ) -> Plugin {
        Plugin {
            venue: venue.to_owned(),
            version: "linked".to_owned(),
            path: None,
            code: Code::Linked(Arc::new(move |config| {
                plugin_api::root::create_guarded(config, create)
            })),
        }
    }

    /// The venue id the plugin serves.
    pub fn venue(&self) -> &str {
        &self.venue
    }

    /// The plugin's own version (`linked` for linked code).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The file it was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Creates one instance from its settings JSON (the host's `VenueConfig::settings_json`)
    /// and a harness around it.
    pub fn harness(&self, settings_json: &str) -> Result<Harness, TestkitError> {
        let config = VenueConfig {
            name: self.venue.as_str().into(),
            settings_json: settings_json.into(),
        };
        let (created, library) = match &self.code {
            Code::File(library) => ((library.root.create())(config), Some(library.clone())),
            Code::Linked(create) => (create(config), None),
        };
        match created.into_result() {
            Ok(adapter) => Ok(Harness::new(&self.venue, adapter, library)),
            Err(error) => Err(TestkitError::Plugin {
                venue: self.venue.clone(),
                call: "create",
                error: error.clone(),
            }),
        }
    }
}

fn init_root(path: &Path, raw: &RawLibrary) -> Result<PluginRootRef, LoadError> {
    let path = path.to_owned();
    // SAFETY: the root is used only while `raw` is alive: here, and through `Library`,
    // which drops the library last.
    unsafe { plugin_api::open_root(raw) }.map_err(|e| match e {
        RootError::NoRootSymbol => LoadError::NoRootSymbol { path },
        RootError::Header(reason) => LoadError::Incompatible {
            path,
            summary: one_line(&reason),
        },
        RootError::NoLayout => LoadError::Incompatible {
            path,
            summary: "the plugin carries no layout constant, so it cannot be checked".into(),
        },
        // Another plugin-api is the likely cause of a layout mismatch: say which.
        RootError::Layout {
            api_version: Some(found),
            ..
        }
        | RootError::ApiVersion(found) => LoadError::ApiVersion {
            path,
            found,
            expected: API_VERSION,
        },
        RootError::Layout { report, .. } => LoadError::Incompatible {
            path,
            summary: first_mismatch(&report),
        },
        RootError::Init(reason) => LoadError::RootFailed {
            path,
            reason: one_line(&reason),
        },
    })
}

fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// The first concrete mismatch in abi_stable's (very long) report.
fn first_mismatch(full: &str) -> String {
    let line = full
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Error:") || l.to_lowercase().contains("mismatched"))
        .unwrap_or("layout differs from this kit's plugin-api");
    one_line(line)
}
