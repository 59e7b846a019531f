//! Developer tasks run as `cargo xtask` (see `.cargo/config.toml`). `demo` builds the venue
//! plugins, the `venue-sim` simulator and the program, installs the plugins into the folder
//! the embedded default configuration (`config/host.toml`) watches, starts a Gate.io and a
//! MEXC simulator on the loopback ports that configuration names, and runs the program until
//! Ctrl-C or `--duration`.
//!
//! The pieces are a library so the integration tests run the same code: [`process`] (owned
//! children), [`cargo`] (the build), [`install`] (atomic installs), [`demo`] (one run) and
//! [`signals`] (the runner's own signals, as events). [`results`] is the machine-readable form
//! of a benchmark's or reliability run's figures, which [`docs`] renders the documents from.

pub mod cargo;
pub mod demo;
pub mod docs;
pub mod install;
pub mod process;
pub mod results;
pub mod signals;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The program the demo runs: a package, its binary, and the arguments that come before
/// `--duration SECS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// Cargo package that builds it.
    pub package: &'static str,
    /// Its binary target.
    pub binary: &'static str,
    /// Arguments before `--duration`; the program reads the embedded default configuration.
    pub args: &'static [&'static str],
}

/// What `cargo xtask demo` runs: the arbitrage program, on the host's embedded default
/// configuration and its own embedded settings. (`host run` on the same configuration:
/// package and binary `host`, args `["run"]`.)
pub const PROGRAM: Program = Program {
    package: "arbitrage-program",
    binary: "arbitrage",
    args: &[],
};

/// The real venue plugins: the only files installed into the plugins folder.
pub const PLUGIN_PACKAGES: [&str; 2] = ["gateio-plugin", "mexc-plugin"];

/// The package of the `venue-sim` binary.
pub const SIMULATOR_PACKAGE: &str = "venue-sim";

/// The plugins folder of the embedded default configuration (relative to the workspace).
pub const PLUGINS_DIR: &str = "run/plugins";

/// Where the Gate.io simulator listens: the `[venues.gate]` endpoints of `config/host.toml`.
pub const GATE_LISTEN: &str = "127.0.0.1:18765";

/// Where the MEXC simulator listens: the `[venues.mexc]` endpoints of `config/host.toml`.
pub const MEXC_LISTEN: &str = "127.0.0.1:18766";

/// The seed both simulators share, so they quote the same fair value.
pub const SIMULATOR_SEED: u64 = 7;

/// The account both simulators accept (their default): the one `config/demo-secrets.toml`
/// holds for both venues.
pub const SIMULATOR_CREDENTIAL: &str = "test-key:test-secret";

/// Why a task failed; each variant names the child, file or step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A child process could not be started.
    #[error("starting {name} ({program:?})")]
    Spawn {
        /// Its name in the runner's output.
        name: String,
        /// The program.
        program: OsString,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for a child failed.
    #[error("waiting for {name}")]
    Wait {
        /// Its name.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The build failed or did not make a file the demo needs.
    #[error("build: {reason}")]
    Build {
        /// What went wrong.
        reason: String,
    },
    /// Installing a plugin file failed.
    #[error("{what} {path}")]
    Install {
        /// The file or folder.
        path: PathBuf,
        /// The step (`copying`, `renaming into place`...).
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A simulator exited on its own.
    #[error("simulator {name} exited with code {status}")]
    SimulatorExited {
        /// Its name.
        name: String,
        /// Its exit code (128 + signal if a signal ended it).
        status: i32,
    },
    /// A simulator did not print its `listening on` line in time.
    #[error("the simulators did not all listen within {patience:?}")]
    NotListening {
        /// How long the runner waited.
        patience: Duration,
    },
    /// The runner was asked to stop before the program started.
    #[error("interrupted by {}", signal_name(*signal))]
    Interrupted {
        /// The signal.
        signal: i32,
    },
    /// Nothing can report events any more (a runner bug).
    #[error("the runner's event channel closed")]
    EventsClosed,
    /// The runner's own signal handling could not be set up.
    #[error("setting up signal handling")]
    Signals(#[source] std::io::Error),
}

impl Error {
    /// The runner's exit code for this error: 128 + the signal for an interruption, else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Interrupted { signal } => 128 + signal,
            _ => 1,
        }
    }
}

/// The usual name of the signals the runner handles.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGKILL => "SIGKILL",
        _ => "a signal",
    }
}

/// The workspace this runner was built from.
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(rel: &str) -> String {
        std::fs::read_to_string(workspace_root().join(rel)).unwrap()
    }

    #[test]
    fn the_default_configuration_names_what_the_runner_starts() {
        let config = read("config/host.toml");
        let line = |key: &str| {
            config
                .lines()
                .find(|l| l.starts_with(key))
                .unwrap_or_else(|| panic!("no `{key}` line in config/host.toml"))
                .to_owned()
        };
        assert_eq!(
            line("plugins_dir"),
            format!("plugins_dir = \"{PLUGINS_DIR}\"")
        );
        assert!(line("secrets_file").contains("config/demo-secrets.toml"));
        for (venue, ws) in [
            ("gate", format!("ws://{GATE_LISTEN}/ws/v4/")),
            ("mexc", format!("ws://{MEXC_LISTEN}/ws")),
        ] {
            let table = config
                .split(&format!("[venues.{venue}]\n"))
                .nth(1)
                .unwrap_or_else(|| panic!("no [venues.{venue}]"));
            let endpoints = table.lines().find(|l| l.starts_with("endpoints")).unwrap();
            assert!(
                endpoints.contains(&format!("ws_url = \"{ws}\"")),
                "{endpoints}"
            );
            let listen = if venue == "gate" {
                GATE_LISTEN
            } else {
                MEXC_LISTEN
            };
            assert!(
                endpoints.contains(&format!("rest_url = \"http://{listen}\"")),
                "{endpoints}"
            );
        }
        // The other venues of the file are the demo's two only.
        assert_eq!(config.matches("\n[venues.").count(), 2);
    }

    #[test]
    fn the_demo_secrets_are_the_simulators_credential() {
        let secrets = read("config/demo-secrets.toml");
        let (key, secret) = SIMULATOR_CREDENTIAL.split_once(':').unwrap();
        for venue in ["gate", "mexc"] {
            let table = secrets
                .split(&format!("[venues.{venue}]\n"))
                .nth(1)
                .unwrap();
            let mut lines = table.lines();
            assert_eq!(lines.next(), Some(format!("api_key = \"{key}\"").as_str()));
            assert_eq!(
                lines.next(),
                Some(format!("api_secret = \"{secret}\"").as_str())
            );
        }
    }
}
