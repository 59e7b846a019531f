//! Plugin trust: a plugin file is loaded only if neither it nor its folder is writable by
//! group or other users or owned by anyone but the user running the host (or root), and,
//! when the configuration has an allow-list, only if its SHA-256 digest is listed. The
//! same owner and mode rule ([`check_private`]) decides whether a configured shadow folder
//! may hold the copies the host loads.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::TrustConfig;

/// Why a plugin file is not trusted. Each variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The file or its folder can be written by someone else.
    #[error(
        "{path}: refused: {what} mode {mode:04o} is writable by group/other users (chmod go-w)"
    )]
    Writable {
        /// The file or folder.
        path: PathBuf,
        /// `file` or `folder`.
        what: &'static str,
        /// Its permission bits.
        mode: u32,
    },
    /// The file or its folder belongs to another user, who could replace or change it.
    #[error("{path}: refused: {what} is owned by uid {owner}, not by this user (uid {user}) or root (chown)")]
    NotOwned {
        /// The file or folder.
        path: PathBuf,
        /// `file` or `folder`.
        what: &'static str,
        /// Its owner.
        owner: u32,
        /// The effective user id of the host.
        user: u32,
    },
    /// The allow-list does not hold the file's digest.
    #[error("{path}: refused: sha256 {sha256} is not in trust.allowed_sha256")]
    NotAllowed {
        /// The file.
        path: PathBuf,
        /// Its digest.
        sha256: String,
    },
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Checks `path` against `trust` (with `check_permissions`, [`check_private`] on the file and
/// its folder; with an allow-list, the digest) and returns a fingerprint of the file: its SHA-256 digest
/// (hex) when an allow-list is configured, else its device, inode, size and modification
/// time (enough to tell a replaced file from a touched one without reading it).
pub fn check(path: &Path, trust: &TrustConfig) -> Result<String, TrustError> {
    let io = |source| TrustError::Io {
        path: path.to_owned(),
        source,
    };
    if trust.check_permissions {
        let folder = path.parent().unwrap_or(Path::new("."));
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        check_private(folder, "folder")?;
        check_private(path, "file")?;
    }
    if trust.allowed_sha256.is_empty() {
        let m = std::fs::metadata(path).map_err(io)?;
        return Ok(format!(
            "{}:{}:{}:{}.{}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        ));
    }
    let sha256 = digest(path).map_err(io)?;
    if !trust
        .allowed_sha256
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&sha256))
    {
        return Err(TrustError::NotAllowed {
            path: path.to_owned(),
            sha256,
        });
    }
    Ok(sha256)
}

/// Checks that no one but the user running the host (or root, who can change anything
/// anyway) can change `path`: it is owned by that user or root and not writable by group or
/// other users. `what` (`file`, `folder`) names it in the error. The plugin trust check
/// applies it to a plugin file and its folder; the loader to a configured shadow folder.
pub fn check_private(path: &Path, what: &'static str) -> Result<(), TrustError> {
    let meta = std::fs::metadata(path).map_err(|source| TrustError::Io {
        path: path.to_owned(),
        source,
    })?;
    let user = effective_uid();
    let owner = meta.uid();
    if owner != user && owner != 0 {
        return Err(TrustError::NotOwned {
            path: path.to_owned(),
            what,
            owner,
            user,
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(TrustError::Writable {
            path: path.to_owned(),
            what,
            mode,
        });
    }
    Ok(())
}

/// The effective user id of this process: whose files the host trusts.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

/// SHA-256 of a file, hex.
pub fn digest(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_files_and_unlisted_digests_are_refused() {
        let dir = std::env::temp_dir().join(format!("host-trust-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("p.so");
        std::fs::write(&file, b"plugin").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
        let trust = TrustConfig::default();
        let err = check(&file, &trust).unwrap_err().to_string();
        assert!(err.contains("p.so") && err.contains("0664"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        check(&file, &trust).unwrap();
        let sha = digest(&file).unwrap();
        let listed = TrustConfig {
            allowed_sha256: vec!["0".repeat(64)],
            ..TrustConfig::default()
        };
        let err = check(&file, &listed).unwrap_err().to_string();
        assert!(err.contains(&sha), "{err}");
        let listed = TrustConfig {
            allowed_sha256: vec![sha.to_uppercase()],
            ..TrustConfig::default()
        };
        assert_eq!(check(&file, &listed).unwrap(), sha);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check(&file, &trust).unwrap_err().to_string();
        assert!(err.contains("folder mode 0777"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_and_folders_of_another_user_are_refused() {
        use std::os::unix::fs::chown;
        let dir = std::env::temp_dir().join(format!("host-trust-owner-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("p.so");
        std::fs::write(&file, b"plugin").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let trust = TrustConfig::default();
        check(&file, &trust).unwrap();
        // Only root can give a file away; as another user there is nothing to test here.
        let nobody = 65534;
        if chown(&file, Some(nobody), None).is_ok() {
            let err = check(&file, &trust).unwrap_err().to_string();
            assert!(
                err.contains("p.so") && err.contains("file is owned by uid 65534"),
                "{err}"
            );
            chown(&file, Some(effective_uid()), None).unwrap();
            chown(&dir, Some(nobody), None).unwrap();
            let err = check(&file, &trust).unwrap_err().to_string();
            assert!(err.contains("folder is owned by uid 65534"), "{err}");
            let err = check_private(&dir, "folder").unwrap_err().to_string();
            assert!(err.starts_with(&*dir.to_string_lossy()), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
