//! The release `host` binary run as a user runs it, for the reliability benchmarks: its
//! configuration against two venues, its metrics read over HTTP, and the counters of its
//! process read from `/proc/PID`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a wait for the host may take before the benchmark gives up (a safety net).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The symbols every venue of the benchmarks streams.
pub const SYMBOLS: &[&str] = &["BTC/USDT", "ETH/USDT"];

/// The files of one benchmark's host: plugins folder, shadow folder, config and report.
#[derive(Debug, Clone)]
pub struct HostFiles {
    /// The folder holding everything below.
    pub dir: PathBuf,
    /// `plugins/`, with the Gate.io and MEXC plugins installed.
    pub plugins: PathBuf,
    /// The shadow folder the host maps plugin copies from (empty once the host has exited).
    pub shadow: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    /// The control socket (gone once the host has exited).
    pub socket: PathBuf,
    /// Where `host run --report` writes.
    pub report: PathBuf,
}

impl HostFiles {
    /// A fresh folder named `name` with the built Gate.io and MEXC plugins installed and the
    /// simulators' test credentials in a private secrets file; `gate` and `mexc` are the
    /// simulators' addresses. The configuration is the demo's: both venues on
    /// [`SYMBOLS`], book tickers, trades, depth and the private streams, with the folder
    /// and config watchers, the control socket and the metrics endpoint (on a free port).
    pub fn new(name: &str, gate: SocketAddr, mexc: SocketAddr) -> HostFiles {
        use std::os::unix::fs::PermissionsExt;
        let dir = crate::temp_dir(name);
        let plugins = dir.join("plugins");
        let shadow = dir.join("shadow");
        std::fs::create_dir_all(&plugins).expect("plugins folder");
        std::fs::create_dir_all(&shadow).expect("shadow folder");
        std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o755))
            .expect("plugins folder mode");
        std::fs::set_permissions(&shadow, std::fs::Permissions::from_mode(0o700))
            .expect("shadow folder mode");
        for (lib, name) in [("gateio_plugin", "gateio.so"), ("mexc_plugin", "mexc.so")] {
            let dest = plugins.join(name);
            if std::fs::hard_link(crate::plugin(lib), &dest).is_err() {
                std::fs::copy(crate::plugin(lib), &dest).expect("installing a plugin");
            }
        }
        let secrets = dir.join("secrets.toml");
        std::fs::write(
            &secrets,
            "[venues.gate]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n\
             [venues.mexc]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n",
        )
        .expect("secrets file");
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600))
            .expect("secrets file mode");
        let files = HostFiles {
            config: dir.join("host.toml"),
            socket: dir.join("host.sock"),
            report: dir.join("report.json"),
            dir,
            plugins,
            shadow,
        };
        let symbols = SYMBOLS
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let channels =
            "[\"book_ticker\", \"trades\", \"depth\", \"orders\", \"fills\", \"balances\"]";
        let text = format!(
            "plugins_dir = \"{plugins}\"\nshadow_dir = \"{shadow}\"\nsecrets_file = \"{secrets}\"\n\
             [watch]\nplugins = true\nconfig = true\n\
             [control]\nenabled = true\nsocket = \"{socket}\"\n\
             [metrics]\nenabled = true\naddress = \"127.0.0.1:0\"\n\
             [log]\nfilter = \"warn\"\n\
             [venues.gate]\nplugin = \"gateio\"\nsymbols = [{symbols}]\nchannels = {channels}\n\
             endpoints = {{ ws_url = \"ws://{gate}/ws/v4/\", rest_url = \"http://{gate}\" }}\n\
             [venues.mexc]\nplugin = \"mexc\"\nsymbols = [{symbols}]\nchannels = {channels}\n\
             endpoints = {{ ws_url = \"ws://{mexc}/ws\", rest_url = \"http://{mexc}\" }}\n",
            plugins = files.plugins.display(),
            shadow = files.shadow.display(),
            secrets = secrets.display(),
            socket = files.socket.display(),
        );
        std::fs::write(&files.config, text).expect("config file");
        files
    }
}

/// A running `host run` child process.
#[derive(Debug)]
pub struct HostProcess {
    /// The process.
    pub child: Child,
    /// Its standard error, line by line, each with the moment it was read.
    pub lines: mpsc::Receiver<(Instant, String)>,
    /// The address its metrics endpoint listens on.
    pub metrics: SocketAddr,
    /// Lines [`HostProcess::wait_for_line`] read past while waiting, oldest first.
    pub passed: Vec<(Instant, String)>,
}

impl HostProcess {
    /// Starts `host run` on `files` (writing its report to `files.report`) and waits for
    /// its metrics address.
    pub fn start(files: &HostFiles) -> HostProcess {
        let _ = std::fs::remove_file(&files.report);
        let mut child = Command::new(crate::host_binary())
            .arg("run")
            .arg("--config")
            .arg(&files.config)
            .arg("--report")
            .arg(&files.report)
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the host binary");
        let stderr = child.stderr.take().expect("stderr piped");
        let lines = crate::forward_lines(stderr, |line| (Instant::now(), line));
        let mut host = HostProcess {
            child,
            lines,
            metrics: SocketAddr::from(([127, 0, 0, 1], 0)),
            passed: Vec::new(),
        };
        let line = host.wait_for_line("metrics: http://");
        host.metrics = line
            .trim_start_matches("metrics: http://")
            .trim_end_matches("/metrics")
            .parse()
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        host
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok((_, line)) if line.contains(needle) => return line,
                Ok(passed) => self.passed.push(passed),
                Err(e) => {
                    let _ = self.child.kill();
                    panic!("host printed no line containing `{needle}`: {e}");
                }
            }
        }
    }

    /// Waits until every venue in `venues` is up (every connection open, data flowing) and
    /// has delivered at least `events` events, reading the metrics endpoint.
    pub fn wait_for_data(&mut self, venues: &[&str], events: f64) {
        let give_up = Instant::now() + PATIENCE;
        loop {
            if let Ok(text) = scrape(self.metrics) {
                let ready = venues.iter().all(|v| {
                    metric(&text, "host_venue_up", v) == Some(1.0)
                        && metric(&text, "host_venue_messages_out_total", v)
                            .is_some_and(|n| n >= events)
                });
                if ready {
                    return;
                }
            }
            if Instant::now() >= give_up {
                let _ = self.child.kill();
                panic!("no data on every venue of {venues:?} within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The stderr lines printed so far, each with the moment it was read.
    pub fn drain_lines(&self) -> Vec<(Instant, String)> {
        self.lines.try_iter().collect()
    }
}

/// `GET /metrics` on `address`: the text.
pub fn scrape(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

/// The value of metric `name` for `venue` (its `venue="..."` label) in a metrics text.
pub fn metric(text: &str, name: &str, venue: &str) -> Option<f64> {
    let label = format!("venue=\"{venue}\"");
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .find(|l| l.contains(&label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A `venue-sim` child process on a free loopback port.
#[derive(Debug)]
pub struct SimProcess {
    /// The process.
    pub child: Child,
    /// The address it serves websocket and REST on.
    pub addr: SocketAddr,
}

impl SimProcess {
    /// Starts `venue-sim --venue VENUE --symbols SYMBOLS` with `extra` arguments and waits
    /// for its `listening on` line.
    pub fn start(venue: &str, extra: &[&str]) -> SimProcess {
        let mut child = Command::new(crate::simulator_binary())
            .args(["--venue", venue, "--symbols", &SYMBOLS.join(",")])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting venue-sim");
        let lines = crate::forward_lines(child.stdout.take().expect("stdout piped"), |l| l);
        let addr = loop {
            let line = lines
                .recv_timeout(PATIENCE)
                .expect("venue-sim printed no `listening on` line");
            if let Some(addr) = line.strip_prefix("listening on ") {
                break addr.trim().parse().expect("a socket address");
            }
        };
        SimProcess { child, addr }
    }

    /// Stops it with SIGTERM and waits for it.
    pub fn stop(mut self) {
        signal(self.child.id(), libc::SIGTERM);
        let _ = self.child.wait();
    }
}

/// Sends `sig` to process `pid`.
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid this process started and a valid signal number.
    let r = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(
        r,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// Makes this process the reaper of its descendants' orphans, so a process the host
/// started and left behind becomes a child of this one (and [`children`] sees it).
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER and an integer argument.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
}

/// The process ids whose parent is `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            rest.split_whitespace().nth(1) == Some(&pid.to_string())
        })
        .collect()
}

/// Whether something still listens on `addr` (binding it fails).
pub fn still_bound(addr: SocketAddr) -> bool {
    std::net::TcpListener::bind(addr).is_err()
}

/// Whether `dir` holds anything.
pub fn not_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// Counters of one thread of a process, from `/proc/PID/task/TID`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadCounters {
    /// The thread's name (`comm`).
    pub name: String,
    /// Voluntary context switches: the thread blocked and was woken again.
    pub voluntary: u64,
    /// Involuntary context switches: the thread was preempted.
    pub involuntary: u64,
    /// Time on a CPU, ns (`schedstat`).
    pub cpu_ns: u64,
}

/// The counters of every thread of process `pid`, by thread id.
pub fn thread_counters(pid: u32) -> std::collections::BTreeMap<u32, ThreadCounters> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in dir.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let p = task.path();
        let read = |f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
        let status = read("status");
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        out.insert(
            tid,
            ThreadCounters {
                name: read("comm").trim_end().to_owned(),
                voluntary: field("voluntary_ctxt_switches:"),
                involuntary: field("nonvoluntary_ctxt_switches:"),
                cpu_ns: read("schedstat")
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            },
        );
    }
    out
}
