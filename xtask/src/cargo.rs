//! Building what the demo runs with `cargo build`, as a child of the runner: cargo's own
//! progress lines go to the terminal, its JSON messages name the files it built.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use crate::process::{stop_all, Child, Event, Who};
use crate::{Error, Program, PLUGIN_PACKAGES, SIMULATOR_PACKAGE};

/// How long an interrupted build gets to stop before it is killed.
const BUILD_STOP_GRACE: Duration = Duration::from_secs(5);

/// The files one build produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    /// The venue plugin files (`.so`), one per package of [`PLUGIN_PACKAGES`].
    pub plugins: Vec<PathBuf>,
    /// The `venue-sim` binary.
    pub simulator: PathBuf,
    /// The program's binary.
    pub program: PathBuf,
}

/// The library target name of a package (`gateio-plugin` → `gateio_plugin`).
fn lib_name(package: &str) -> String {
    package.replace('-', "_")
}

/// Reads cargo's JSON messages: the artifacts of the plugins (their `cdylib`), the simulator
/// and the program (their binaries).
fn artifacts(
    messages: impl BufRead,
    program: &Program,
) -> (Vec<Option<PathBuf>>, Option<PathBuf>, Option<PathBuf>) {
    let mut plugins = vec![None; PLUGIN_PACKAGES.len()];
    let (mut simulator, mut binary) = (None, None);
    for line in messages.lines().map_while(Result::ok) {
        let Ok(m) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if m["reason"] != "compiler-artifact" {
            continue;
        }
        let name = m["target"]["name"].as_str().unwrap_or_default();
        let kinds = m["target"]["kind"].as_array().cloned().unwrap_or_default();
        let is = |k: &str| kinds.iter().any(|x| x == k);
        if is("cdylib") {
            if let Some(i) = PLUGIN_PACKAGES.iter().position(|p| lib_name(p) == name) {
                plugins[i] = m["filenames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
                    .find(|f| f.ends_with(".so"))
                    .map(PathBuf::from);
            }
        } else if is("bin") {
            let exe = m["executable"].as_str().map(PathBuf::from);
            if name == "venue-sim" {
                simulator = exe;
            } else if name == program.binary {
                binary = exe;
            }
        }
    }
    (plugins, simulator, binary)
}

/// Runs `cargo build` for the plugins, the simulator and `program` in `root` (release with
/// `release`), showing cargo's progress. A signal on `events` stops the build (its whole
/// process group) and is returned as [`Error::Interrupted`].
pub fn build(
    root: &Path,
    release: bool,
    program: &Program,
    events: (&Sender<Event>, &Receiver<Event>),
) -> Result<Artifacts, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--message-format=json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if release {
        command.arg("--release");
    }
    let mut packages: Vec<&str> = PLUGIN_PACKAGES.to_vec();
    packages.extend([SIMULATOR_PACKAGE, program.package]);
    for p in &packages {
        command.args(["-p", p]);
    }
    eprintln!(
        "demo: building {} ({})",
        packages.join(", "),
        if release { "release" } else { "debug" }
    );
    let mut child = Child::spawn(
        "cargo build",
        Who::Build,
        &mut command,
        libc::SIGTERM,
        events.0,
    )?;
    let stdout = child.take_stdout().ok_or(Error::Build {
        reason: "cargo's output was not captured".into(),
    })?;
    let program_owned = program.clone();
    let reader = std::thread::spawn(move || artifacts(BufReader::new(stdout), &program_owned));
    let status = loop {
        match events.1.recv() {
            Ok(Event::Exited(Who::Build)) => break child.reap()?,
            Ok(Event::Signal(signal)) => {
                stop_all(&mut [&mut child], libc::SIGINT, BUILD_STOP_GRACE, events.1)?;
                return Err(Error::Interrupted { signal });
            }
            Ok(_) => continue,
            Err(_) => return Err(Error::EventsClosed),
        }
    };
    let (plugins, simulator, binary) = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::Build {
            reason: format!("cargo build failed ({status})"),
        });
    }
    let missing = |what: &str| Error::Build {
        reason: format!("cargo build reported no {what}"),
    };
    let plugins = plugins
        .into_iter()
        .zip(PLUGIN_PACKAGES)
        .map(|(file, package)| file.ok_or_else(|| missing(&format!("plugin file of {package}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Artifacts {
        plugins,
        simulator: simulator.ok_or_else(|| missing("venue-sim binary"))?,
        program: binary.ok_or_else(|| missing(&format!("{} binary", program.binary)))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_read_from_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"plugin_api"},"filenames":["/t/libplugin_api.rlib"],"executable":null,"fresh":true}
{"reason":"compiler-artifact","target":{"kind":["cdylib","rlib"],"name":"gateio_plugin"},"filenames":["/t/libgateio_plugin.so","/t/libgateio_plugin.rlib"],"executable":null,"fresh":true}
not json
{"reason":"compiler-artifact","target":{"kind":["cdylib","rlib"],"name":"mexc_plugin"},"filenames":["/t/libmexc_plugin.so","/t/libmexc_plugin.rlib"],"executable":null,"fresh":false}
{"reason":"compiler-artifact","target":{"kind":["cdylib"],"name":"fixture_counter"},"filenames":["/t/libfixture_counter.so"],"executable":null,"fresh":true}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"venue-sim"},"filenames":["/t/venue-sim"],"executable":"/t/venue-sim","fresh":true}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"host"},"filenames":["/t/host"],"executable":"/t/host","fresh":true}
{"reason":"build-finished","success":true}"#;
        let program = Program {
            package: "host",
            binary: "host",
            args: &["run"],
        };
        let (plugins, sim, bin) = artifacts(messages.as_bytes(), &program);
        assert_eq!(
            plugins,
            vec![
                Some(PathBuf::from("/t/libgateio_plugin.so")),
                Some(PathBuf::from("/t/libmexc_plugin.so"))
            ],
            "the real venue plugins only, never a fixture"
        );
        assert_eq!(sim, Some(PathBuf::from("/t/venue-sim")));
        assert_eq!(bin, Some(PathBuf::from("/t/host")));
    }
}
