//! Shared helpers of the `ops_*` tests: folders, atomic installs, configuration files and
//! waiting for operator events (never for a fixed time).

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use host::config::HostConfig;
use host::ops::{Operator, OpsEvent};
use tokio::sync::broadcast;

/// How long any single wait may take before the test fails (a safety net, not a pause).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A test's folders: `plugins/`, `shadow/` and the config file path.
pub struct Setup {
    pub dir: PathBuf,
    pub plugins: PathBuf,
    pub shadow: PathBuf,
    pub config: PathBuf,
}

impl Setup {
    pub fn new(name: &str) -> Setup {
        let dir = integration_tests::temp_dir(name);
        let plugins = dir.join("plugins");
        let shadow = dir.join("shadow");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::create_dir_all(&shadow).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o755)).unwrap();
        Setup {
            config: dir.join("host.toml"),
            dir,
            plugins,
            shadow,
        }
    }

    /// The common head of a test configuration; `extra` is appended (venues...).
    pub fn config_text(&self, watch_plugins: bool, extra: &str) -> String {
        format!(
            "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = {watch_plugins}\nconfig = true\ndebounce_ms = 50\n[control]\nenabled = false\n[metrics]\nenabled = false\n{extra}",
            self.plugins.display(),
            self.shadow.display()
        )
    }

    /// Writes the config file by atomic rename.
    pub fn write_config(&self, text: &str) {
        let temp = self.dir.join(".host.toml.tmp");
        std::fs::write(&temp, text).unwrap();
        std::fs::rename(&temp, &self.config).unwrap();
    }

    /// Installs the built plugin `lib_name` as `plugins/<as_name>` by atomic rename (a hard
    /// link to the built file under a dot-name first, so nothing is copied).
    pub fn install(&self, lib_name: &str, as_name: &str) -> PathBuf {
        install_file(
            &integration_tests::plugin(lib_name),
            &self.plugins.join(as_name),
        )
    }

    /// Starts an operator on the config file as written.
    pub async fn start(&self) -> Operator {
        let (config, secrets) = HostConfig::load_with_secrets(Some(&self.config)).unwrap();
        Operator::start(config, secrets, Some(self.config.clone()))
            .await
            .unwrap()
    }
}

/// Puts `source` at `dest` by an atomic rename of a hard link (or copy) named `.dest.tmp`.
pub fn install_file(source: &Path, dest: &Path) -> PathBuf {
    let name = dest.file_name().unwrap().to_string_lossy().into_owned();
    let temp = dest.with_file_name(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&temp);
    if std::fs::hard_link(source, &temp).is_err() {
        std::fs::copy(source, &temp).unwrap();
    }
    std::fs::rename(&temp, dest).unwrap();
    dest.canonicalize().unwrap()
}

/// Waits for the first event for which `pick` returns `Some`.
pub async fn wait_for<T>(
    rx: &mut broadcast::Receiver<OpsEvent>,
    what: &str,
    mut pick: impl FnMut(&OpsEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Some(t) = pick(&event) {
                        return t;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => eprintln!("lagged {n} events"),
                Err(broadcast::error::RecvError::Closed) => panic!("events closed: {what}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .unwrap_or_else(|_| panic!("no event: {what}"))
}

/// The refusal message for `file`, waiting for it.
pub async fn refusal(rx: &mut broadcast::Receiver<OpsEvent>, file: &Path) -> String {
    wait_for(rx, &format!("refusal of {}", file.display()), |e| match e {
        OpsEvent::PluginRefused { file: f, error } if f == file => Some(error.clone()),
        _ => None,
    })
    .await
}
