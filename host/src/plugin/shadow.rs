//! The private folder that holds a loader's shadow copies (and its ABI mismatch reports):
//! created fresh under a name nobody can predict, mode 0700 and owned by the user running
//! the host, checked after creation, and removed with everything in it when dropped.
//!
//! Whoever can write into this folder chooses the code the host maps, so it is never a
//! folder that existed before: `mkdir` with a random name fails rather than reuse one. Its
//! parent is the system temp folder (`TMPDIR`), which must have the sticky bit if others may
//! write to it (else they could rename the folder away and put their own in its place), or
//! the configured `shadow_dir`, which must pass the plugin folders' trust rule
//! ([`check_private`]: owned by this user or root, not writable by group or others).

use std::fs::Permissions;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::plugin::trust::{check_private, effective_uid, TrustError};

/// The prefix of every shadow folder's name (the rest is random).
const PREFIX: &str = "venue-host-";

/// Why no private shadow folder could be set up. Each variant names the folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShadowDirError {
    /// The configured `shadow_dir` can be changed by another user.
    #[error("shadow_dir: {rule}")]
    Untrusted {
        /// The configured folder.
        path: PathBuf,
        /// The trust rule it breaks. Its text (naming the folder) is this error's message,
        /// so it is not chained as a source too: a report of the chain would say it twice.
        rule: TrustError,
    },
    /// The temp folder lets other users rename what is in it.
    #[error("{}: refused as temp folder: mode {mode:04o} lets other users rename the shadow folder (no sticky bit); set TMPDIR or shadow_dir", .path.display())]
    UnsafeTemp {
        /// The temp folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The folder (or the one to hold it) could not be created.
    #[error("{}: cannot create a private shadow folder there: {source}", .path.display())]
    Create {
        /// The folder to hold it.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// What was created is not private to this user.
    #[error("{}: refused as shadow folder: {reason}", .path.display())]
    NotPrivate {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// A private folder, removed with its contents when dropped.
#[derive(Debug)]
pub(crate) struct ShadowDir {
    /// `None` only while being dropped.
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl ShadowDir {
    /// A fresh folder inside the system temp folder (`TMPDIR`, else `/tmp`).
    pub(crate) fn in_temp_dir() -> Result<ShadowDir, ShadowDirError> {
        ShadowDir::in_temp_root(&std::env::temp_dir())
    }

    /// A fresh folder inside `temp`, a temp folder shared with other users: it must not let
    /// them rename our folder (world- or group-writable needs the sticky bit).
    pub(crate) fn in_temp_root(temp: &Path) -> Result<ShadowDir, ShadowDirError> {
        let mode = std::fs::metadata(temp)
            .map_err(|source| ShadowDirError::Create {
                path: temp.to_owned(),
                source,
            })?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(ShadowDirError::UnsafeTemp {
                path: temp.to_owned(),
                mode,
            });
        }
        ShadowDir::create_in(temp)
    }

    /// A fresh folder inside the configured `shadow_dir`, which is created (mode 0700) if
    /// missing and must be private to this user ([`check_private`]); it is left in place when
    /// the fresh folder is removed.
    pub(crate) fn inside(shadow_dir: &Path) -> Result<ShadowDir, ShadowDirError> {
        use std::os::unix::fs::DirBuilderExt;
        if !shadow_dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(shadow_dir)
                .map_err(|source| ShadowDirError::Create {
                    path: shadow_dir.to_owned(),
                    source,
                })?;
        }
        check_private(shadow_dir, "folder").map_err(|rule| ShadowDirError::Untrusted {
            path: shadow_dir.to_owned(),
            rule,
        })?;
        ShadowDir::create_in(shadow_dir)
    }

    /// Creates the folder with `mkdir` (never reusing one) and checks what was created.
    fn create_in(parent: &Path) -> Result<ShadowDir, ShadowDirError> {
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .permissions(Permissions::from_mode(0o700))
            .tempdir_in(parent)
            .map_err(|source| ShadowDirError::Create {
                path: parent.to_owned(),
                source,
            })?;
        let path = dir.path().to_owned();
        verify_private(&path)?;
        tracing::debug!(folder = %path.display(), "private shadow folder created");
        Ok(ShadowDir {
            dir: Some(dir),
            path,
        })
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ShadowDir {
    fn drop(&mut self) {
        // Shadow copies still mapped (quarantined libraries) lose only their name: the
        // mapping stays valid.
        if let Some(dir) = self.dir.take() {
            if let Err(e) = dir.close() {
                tracing::warn!(folder = %self.path.display(), error = %e, "shadow folder not removed");
            }
        }
    }
}

/// Refuses `path` unless it is a real folder (not a link) owned by this user that nobody
/// else can enter.
fn verify_private(path: &Path) -> Result<(), ShadowDirError> {
    let refuse = |reason: String| ShadowDirError::NotPrivate {
        path: path.to_owned(),
        reason,
    };
    let meta = std::fs::symlink_metadata(path).map_err(|e| refuse(e.to_string()))?;
    if !meta.is_dir() {
        return Err(refuse("not a folder".into()));
    }
    let user = effective_uid();
    if meta.uid() != user {
        return Err(refuse(format!(
            "owned by uid {}, not by this user (uid {user})",
            meta.uid()
        )));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(refuse(format!("mode {mode:04o}, not 0700")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of the test's own standing in for `TMPDIR` (changing the variable would
    /// affect the other tests of the process).
    fn test_root(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("host-shadow-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::set_permissions(&root, Permissions::from_mode(0o1777)).unwrap();
        root
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_folder_at_the_old_predictable_path_is_not_used() {
        let temp = test_root("predictable");
        // What another user could prepare for us: the old name, open to everyone.
        let planted = temp.join(format!("venue-host-{}", std::process::id()));
        std::fs::create_dir(&planted).unwrap();
        std::fs::set_permissions(&planted, Permissions::from_mode(0o777)).unwrap();
        let shadow = ShadowDir::in_temp_root(&temp).unwrap();
        let path = shadow.path().to_owned();
        assert_ne!(path, planted);
        assert_eq!(path.parent(), Some(temp.as_path()));
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(PREFIX));
        assert_eq!(mode(&path), 0o700);
        // Two loaders never share one.
        let other = ShadowDir::in_temp_root(&temp).unwrap();
        assert_ne!(other.path(), path);
        std::fs::write(path.join("copy.so"), b"x").unwrap();
        drop(shadow);
        assert!(!path.exists(), "removed with its contents when dropped");
        drop(other);
        let left: Vec<_> = std::fs::read_dir(&temp).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "only the planted folder is left: {left:?}");
        std::fs::remove_dir_all(&temp).unwrap();
    }

    #[test]
    fn a_temp_folder_others_may_rename_in_is_refused() {
        let temp = test_root("no-sticky");
        std::fs::set_permissions(&temp, Permissions::from_mode(0o777)).unwrap();
        let err = ShadowDir::in_temp_root(&temp).unwrap_err().to_string();
        assert!(
            err.starts_with(&*temp.to_string_lossy()) && err.contains("no sticky bit"),
            "{err}"
        );
        std::fs::remove_dir_all(&temp).unwrap();
    }

    #[test]
    fn a_configured_folder_is_checked_and_gets_a_fresh_private_folder_inside() {
        let temp = test_root("configured");
        let configured = temp.join("shadow");
        // Missing: created, private.
        let shadow = ShadowDir::inside(&configured).unwrap();
        assert_eq!(mode(&configured), 0o700);
        assert_eq!(shadow.path().parent(), Some(configured.as_path()));
        assert_eq!(mode(shadow.path()), 0o700);
        let path = shadow.path().to_owned();
        drop(shadow);
        assert!(
            !path.exists() && configured.exists(),
            "only ours is removed"
        );
        // Writable by others: refused, naming the folder and the key.
        std::fs::set_permissions(&configured, Permissions::from_mode(0o777)).unwrap();
        let err = ShadowDir::inside(&configured).unwrap_err().to_string();
        assert!(
            err.starts_with("shadow_dir: ")
                && err.contains(&format!(
                    "{}: refused: folder mode 0777",
                    configured.display()
                )),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&configured).unwrap().count(), 0);
        std::fs::remove_dir_all(&temp).unwrap();
    }
}
