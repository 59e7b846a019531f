//! Loading plugin files safely (docs/ARCHITECTURE.md, "The plugin boundary"): shadow copies
//! in a private folder, a layout check against a throw-away cache, an explicit API version
//! check, and one clear line per bad file.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use abi_stable::library::RawLibrary;
use plugin_api::{PluginRootRef, RootError, API_VERSION};

use crate::plugin::file::copy_checked;
use crate::plugin::shadow::{ShadowDir, ShadowDirError};

/// Why a plugin file was refused. Each variant renders as one line naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read or copied.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The plugin file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not an ELF shared library at all.
    #[error("{path}: not a shared library (no ELF header)")]
    NotSharedLibrary {
        /// The plugin file.
        path: PathBuf,
    },
    /// The dynamic loader refused it (truncated, corrupt, wrong architecture, missing deps).
    #[error("{path}: truncated or corrupt shared library: {reason}")]
    Corrupt {
        /// The plugin file.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// A shared library without the abi_stable root module symbol.
    #[error("{path}: no plugin root symbol: not a venue plugin")]
    NoRootSymbol {
        /// The plugin file.
        path: PathBuf,
    },
    /// Built against an incompatible plugin-api (a changed type or another abi_stable).
    #[error("{path}: incompatible plugin-api: {summary}{}", detail_hint(.detail_file))]
    Incompatible {
        /// The plugin file.
        path: PathBuf,
        /// One-line summary.
        summary: String,
        /// Where the full (long) layout report was written, if anywhere (a loader's private
        /// folder: it lasts as long as the loader).
        detail_file: Option<PathBuf>,
        /// The full layout report, when there is more to say than the summary.
        full_report: Option<String>,
    },
    /// The layout matches but the plugin reports another interface version.
    #[error("{path}: built for plugin api_version {found}, this host speaks {expected}")]
    ApiVersion {
        /// The plugin file.
        path: PathBuf,
        /// The plugin's version.
        found: u32,
        /// The host's version.
        expected: u32,
    },
    /// The plugin's root module failed to initialize.
    #[error("{path}: plugin root module failed: {reason}")]
    RootFailed {
        /// The plugin file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another loaded plugin already serves this venue id.
    #[error("{path}: venue id `{venue}` is already served by {}", served_by(.other))]
    DuplicateVenue {
        /// The plugin file.
        path: PathBuf,
        /// The contested venue id.
        venue: String,
        /// The file that has it (empty: a plugin built into the program).
        other: PathBuf,
    },
}

/// The plugin that serves a venue id: its file, or the program for a built-in plugin.
pub(crate) fn served_by(file: &Path) -> String {
    match file.as_os_str().is_empty() {
        true => "a plugin built into the program".into(),
        false => file.display().to_string(),
    }
}

fn detail_hint(file: &Option<PathBuf>) -> String {
    match file {
        Some(f) => format!(" (full report: {})", f.display()),
        None => String::new(),
    }
}

impl LoadError {
    /// The plugin file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::NotSharedLibrary { path }
            | LoadError::Corrupt { path, .. }
            | LoadError::NoRootSymbol { path }
            | LoadError::Incompatible { path, .. }
            | LoadError::ApiVersion { path, .. }
            | LoadError::RootFailed { path, .. }
            | LoadError::DuplicateVenue { path, .. } => path,
        }
    }
}

/// What the host knows about a plugin file, copied out of the library (host-owned).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginInfo {
    /// The file as the user named it.
    pub path: PathBuf,
    /// Venue id the plugin serves.
    pub venue: String,
    /// The plugin's own version.
    pub plugin_version: String,
    /// The interface version it was built for.
    pub api_version: u32,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// True for a plugin linked into the program ([`crate::plugin::Builtin`]): it has no
    /// file, so `path` and `sha256` are empty.
    pub builtin: bool,
}

/// A loaded plugin library. Dropping it unloads the library and deletes its shadow copy.
///
/// Field order matters: the root module reference points into the library, so the library
/// is declared last and drops last.
pub struct LoadedLibrary {
    info: PluginInfo,
    root: PluginRootRef,
    shadow: ShadowFile,
    library: RawLibrary,
}

impl std::fmt::Debug for LoadedLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedLibrary")
            .field("info", &self.info)
            .field("shadow", &self.shadow.0)
            .finish_non_exhaustive()
    }
}

impl LoadedLibrary {
    /// Identity of the plugin.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The private copy actually mapped (what `/proc/self/maps` shows).
    pub fn shadow_path(&self) -> &Path {
        &self.shadow.0
    }

    /// Creates a bare venue adapter from this library, outside any host (benchmarks, tools).
    /// The adapter must be dropped before `self`.
    pub fn instantiate(
        &self,
        name: &str,
        settings_json: &str,
    ) -> Result<plugin_api::VenueAdapterBox, plugin_api::PluginError> {
        let config = plugin_api::VenueConfig {
            name: name.into(),
            settings_json: settings_json.into(),
        };
        (self.root.create())(config)
            .into_result()
            .map_err(|e| e.clone())
    }

    /// The root module. Valid only while `self` is alive; never store it elsewhere.
    pub(crate) fn root(&self) -> PluginRootRef {
        self.root
    }

    /// Unloads the library (same as dropping it) and returns the shadow path to check in the
    /// process maps.
    pub fn unload(self) -> PathBuf {
        let shadow = self.shadow.0.clone();
        let LoadedLibrary {
            root,
            library,
            shadow: shadow_file,
            ..
        } = self;
        let _ = root;
        drop(library);
        drop(shadow_file);
        shadow
    }
}

/// The shadow copy; removed from disk when dropped (after the library is closed).
struct ShadowFile(PathBuf);

impl Drop for ShadowFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Loads plugin files; owns the private folder where their shadow copies live, which is
/// removed (with every copy and report in it) when the last clone of the loader is dropped.
#[derive(Debug, Clone)]
pub struct Loader {
    shadow: Arc<ShadowDir>,
    /// Whether long ABI mismatch reports are written into the shadow folder.
    reports: bool,
}

impl Loader {
    /// A loader keeping its shadow copies in a fresh private folder (mode 0700, random
    /// name) inside `shadow_dir`. `shadow_dir` is created if missing and must be owned by
    /// this user (or root) and not writable by group or others, the rule plugin folders
    /// follow ([`crate::plugin::trust::check_private`]); it stays when the loader goes.
    pub fn new(shadow_dir: impl AsRef<Path>) -> Result<Loader, ShadowDirError> {
        Ok(Loader::with(ShadowDir::inside(shadow_dir.as_ref())?))
    }

    /// A loader keeping its shadow copies in a fresh private folder (mode 0700, random
    /// name) in the system temp folder (`TMPDIR`, else `/tmp`).
    pub fn in_temp_dir() -> Result<Loader, ShadowDirError> {
        Ok(Loader::with(ShadowDir::in_temp_dir()?))
    }

    /// [`Loader::new`] with `shadow_dir` if given, else [`Loader::in_temp_dir`]: what the
    /// `shadow_dir` configuration key means.
    pub fn configured(shadow_dir: Option<&Path>) -> Result<Loader, ShadowDirError> {
        match shadow_dir {
            Some(dir) => Loader::new(dir),
            None => Loader::in_temp_dir(),
        }
    }

    fn with(shadow: ShadowDir) -> Loader {
        Loader {
            shadow: Arc::new(shadow),
            reports: true,
        }
    }

    /// This loader, writing no ABI mismatch report files: the full report stays in the
    /// error only ([`LoadError::Incompatible`]'s `full_report`), for a caller that shows
    /// it itself (`host plugins check --verbose`).
    pub fn without_reports(mut self) -> Loader {
        self.reports = false;
        self
    }

    /// The private folder holding the shadow copies (and mismatch reports).
    pub fn shadow_dir(&self) -> &Path {
        self.shadow.path()
    }

    /// Loads and validates `path`: copies it to a unique shadow path, opens the copy, checks
    /// the root module's layout against a throw-away cache and its `api_version`.
    pub fn load(&self, path: &Path) -> Result<LoadedLibrary, LoadError> {
        let shadow = ShadowFile(self.shadow_path_for(path));
        let sha256 = copy_checked(path, &shadow.0)?;
        let library = RawLibrary::load_at(&shadow.0).map_err(|e| LoadError::Corrupt {
            path: path.to_owned(),
            reason: one_line(&e.to_string()),
        })?;
        let root = self.init_root(path, &library)?;
        let info = PluginInfo {
            path: path.to_owned(),
            venue: root.venue().as_str().to_owned(),
            plugin_version: root.plugin_version().as_str().to_owned(),
            api_version: root.api_version(),
            sha256,
            builtin: false,
        };
        Ok(LoadedLibrary {
            info,
            root,
            shadow,
            library,
        })
    }

    fn init_root(&self, path: &Path, library: &RawLibrary) -> Result<PluginRootRef, LoadError> {
        let path = path.to_owned();
        // SAFETY: the root is used only while `library` is alive (inside this function and
        // through `LoadedLibrary`, which drops the library last).
        unsafe { plugin_api::open_root(library) }.map_err(|e| match e {
            RootError::NoRootSymbol => LoadError::NoRootSymbol { path },
            RootError::Header(reason) => LoadError::Incompatible {
                path,
                summary: one_line(&reason),
                detail_file: None,
                full_report: None,
            },
            RootError::NoLayout => LoadError::Incompatible {
                path,
                summary: "the plugin carries no layout constant, so it cannot be checked".into(),
                detail_file: None,
                full_report: None,
            },
            RootError::Layout {
                report,
                api_version,
            } => {
                let mut summary = summarize_abi_errors(&report);
                // An older or newer plugin-api is the likely cause: say which, as the
                // version check would have.
                if let Some(found) = api_version {
                    summary = format!(
                        "built for plugin api_version {found}, this host speaks {API_VERSION}; {summary}"
                    );
                }
                LoadError::Incompatible {
                    detail_file: self.write_report(&path, &report),
                    path,
                    summary,
                    full_report: Some(report),
                }
            }
            RootError::Init(reason) => LoadError::RootFailed {
                path,
                reason: one_line(&reason),
            },
            RootError::ApiVersion(found) => LoadError::ApiVersion {
                path,
                found,
                expected: API_VERSION,
            },
        })
    }

    fn shadow_path_for(&self, path: &Path) -> PathBuf {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".into());
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        self.shadow
            .path()
            .join(format!("{stem}.{}.{generation}.so", std::process::id()))
    }

    fn write_report(&self, path: &Path, text: &str) -> Option<PathBuf> {
        if !self.reports {
            return None;
        }
        let name = path.file_name()?.to_string_lossy().into_owned();
        let file = self.shadow.path().join(format!("{name}.abi-mismatch.txt"));
        fs::write(&file, text).ok()?;
        tracing::debug!(file = %file.display(), "full ABI mismatch report written");
        Some(file)
    }
}

fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|&i| flat.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…", &flat[..cut])
    } else {
        flat
    }
}

/// The first concrete mismatch in abi_stable's (very long) report.
fn summarize_abi_errors(full: &str) -> String {
    let interesting = full
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Error:") || l.contains("mismatched") || l.contains("Mismatched"))
        .unwrap_or("layout differs from this host's plugin-api");
    one_line(interesting)
}
