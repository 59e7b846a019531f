//! Installing plugin files into the folder the host watches, the way the host wants them:
//! each written under a dot-name the host ignores, then renamed into place in one step, in a
//! folder nobody else can write to.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::Error;

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Install {
        path: path.to_owned(),
        what,
        source,
    }
}

/// Makes `dir` (mode 0755: the host refuses a plugin folder others can write to), copies each
/// of `files` into it under its own file name by an atomic rename, and removes every other
/// plugin file (`*.so`) there, so the folder holds exactly these plugins. Returns the
/// installed paths.
pub fn install(dir: &Path, files: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    fs::create_dir_all(dir).map_err(io(dir, "creating"))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .map_err(io(dir, "setting the mode of"))?;
    let mut installed = Vec::new();
    for file in files {
        let name = file.file_name().ok_or_else(|| Error::Install {
            path: file.clone(),
            what: "naming",
            source: std::io::Error::other("no file name"),
        })?;
        let dest = dir.join(name);
        let temp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
        let _ = fs::remove_file(&temp);
        fs::copy(file, &temp).map_err(io(file, "copying"))?;
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o644))
            .map_err(io(&temp, "setting the mode of"))?;
        fs::rename(&temp, &dest).map_err(io(&dest, "renaming into place"))?;
        installed.push(dest);
    }
    for entry in fs::read_dir(dir).map_err(io(dir, "reading"))? {
        let path = entry.map_err(io(dir, "reading"))?.path();
        let plugin = path.extension().is_some_and(|e| e == "so");
        if plugin && !installed.contains(&path) {
            eprintln!(
                "demo: removing {} (not a plugin this demo installs)",
                path.display()
            );
            fs::remove_file(&path).map_err(io(&path, "removing"))?;
        }
    }
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_holds_exactly_the_installed_plugins() {
        let root = std::env::temp_dir().join(format!("xtask-install-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let built = root.join("target");
        fs::create_dir_all(&built).unwrap();
        for name in ["libgateio_plugin.so", "libmexc_plugin.so"] {
            fs::write(built.join(name), name).unwrap();
        }
        let dir = root.join("run/plugins");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("libfixture_counter.so"), "fixture").unwrap();
        fs::write(dir.join("notes.txt"), "kept").unwrap();
        let files = [
            built.join("libgateio_plugin.so"),
            built.join("libmexc_plugin.so"),
        ];
        let installed = install(&dir, &files).unwrap();
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["libgateio_plugin.so", "libmexc_plugin.so", "notes.txt"]
        );
        assert_eq!(
            installed,
            [
                dir.join("libgateio_plugin.so"),
                dir.join("libmexc_plugin.so")
            ]
        );
        assert_eq!(
            fs::read_to_string(&installed[1]).unwrap(),
            "libmexc_plugin.so"
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o755);
        assert_eq!(mode(&installed[0]), 0o644);
        // Installing again replaces the files in place.
        install(&dir, &files).unwrap();
        fs::remove_dir_all(&root).unwrap();
    }
}
