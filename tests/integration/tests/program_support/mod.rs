//! The arbitrage program run as a process by the tests: both venue simulators on a runtime
//! of their own, and the program's binary with its stderr lines and report.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use integration_tests::{arbitrage_binary, runtime, venue_table};
use venue_sim::{Crossing, SimConfig, SimHandle, Venue};

use crate::ops_support::{wait_exit, Setup, PATIENCE};

/// Both simulators of a test, on their own runtime.
pub struct Sims {
    pub rt: tokio::runtime::Runtime,
    pub gate: SimHandle,
    pub mexc: SimHandle,
}

impl Sims {
    /// Synthetic BTC/USDT and ETH/USDT at 100 updates/s; `crossing` puts now at the centre
    /// of a crossing, so opportunities come at once, and another every 12 s.
    pub fn start(crossing: bool) -> Sims {
        let rt = runtime();
        let start = |venue| {
            let mut config = SimConfig::new(venue);
            if crossing {
                // Every 12 s, 6 s long: a test waiting for the next crossing waits less.
                let every = Duration::from_secs(12);
                config.crossing = Some(Crossing {
                    every,
                    width: Duration::from_secs(6),
                    origin_ms: now_ms() - every.as_millis() as i64 / 2,
                    ..Crossing::default()
                });
            }
            let bind = "127.0.0.1:0".parse().unwrap();
            rt.block_on(venue_sim::Simulator::start(config, bind))
                .unwrap()
        };
        let (gate, mexc) = (start(Venue::Gateio), start(Venue::Mexc));
        Sims { rt, gate, mexc }
    }

    /// Waits until `cond` holds for `sim`'s counters.
    pub fn wait(
        &self,
        sim: &SimHandle,
        what: &str,
        cond: impl FnMut(&venue_sim::StatsSnapshot) -> bool,
    ) {
        self.rt
            .block_on(async { tokio::time::timeout(PATIENCE, sim.stats().wait_until(cond)).await })
            .unwrap_or_else(|_| {
                let now = sim.stats().snapshot();
                panic!("waited {PATIENCE:?} for {what}; the simulator's counters: {now:#?}")
            });
    }

    pub fn both(&self) -> [&SimHandle; 2] {
        [&self.gate, &self.mexc]
    }

    pub fn shutdown(self) {
        self.rt.block_on(self.gate.shutdown());
        self.rt.block_on(self.mexc.shutdown());
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Order-entry requests of `method` on a simulator so far (Gate's `/api/v4/spot/orders`,
/// MEXC's `/api/v3/order`).
pub fn order_entry(s: &venue_sim::StatsSnapshot, method: &str) -> u64 {
    s.rest_by_route
        .iter()
        .filter(|(route, _)| route.starts_with(method) && route.contains("order"))
        .map(|(_, n)| n)
        .sum()
}

/// Orders placed on a simulator so far.
pub fn orders_placed(s: &venue_sim::StatsSnapshot) -> u64 {
    order_entry(s, "POST ")
}

/// The program running against `sims`, its stderr lines arriving on `lines` and kept.
pub struct Program {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
    report: PathBuf,
}

impl Program {
    /// The program on both simulators through the real plugins, with `args`.
    pub fn start(name: &str, sims: &Sims, args: &[&str]) -> Program {
        let s = Setup::new(name);
        s.install("gateio_plugin", "gateio.so");
        s.install("mexc_plugin", "mexc.so");
        let secrets = s.dir.join("secrets.toml");
        std::fs::write(
            &secrets,
            "[venues.gate]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n[venues.mexc]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n",
        )
        .unwrap();
        s.write_config(&format!(
            "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\nsecrets_file = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nenabled = false\n[metrics]\nenabled = false\n{}{}",
            s.plugins.display(),
            s.shadow.display(),
            secrets.display(),
            venue_table("gate", "gateio", &sims.gate, ""),
            venue_table("mexc", "mexc", &sims.mexc, ""),
        ));
        Program::run(&s.dir, &s.config, args)
    }

    /// The program with the host configuration `config`, writing its report into `dir`.
    pub fn run(dir: &Path, config: &Path, args: &[&str]) -> Program {
        let report = dir.join("report.json");
        let mut child = Command::new(arbitrage_binary())
            .arg("--config")
            .arg(config)
            .args(args)
            // Run from a terminal, `auto` would open the screen on the inherited stdout.
            .args(["--view", "plain"])
            .arg("--report")
            .arg(&report)
            .env(
                "RUST_LOG",
                std::env::var("ARB_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = integration_tests::forward_lines(child.stderr.take().unwrap(), |l| l);
        Program {
            child,
            lines,
            log: Vec::new(),
            report,
        }
    }

    /// Waits for a log line containing `needle`.
    pub fn wait_line(&mut self, needle: &str) {
        loop {
            let line = self
                .lines
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|e| panic!("no line containing `{needle}` ({e}): {:#?}", self.log));
            let found = line.contains(needle);
            self.log.push(line);
            if found {
                return;
            }
        }
    }

    /// Sends SIGINT as Ctrl-C in a terminal does.
    pub fn interrupt(&self) -> Instant {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a valid signal number on our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        Instant::now()
    }

    /// Waits for the exit (a safety net, not a timing claim); the status, every log line
    /// and the report.
    pub fn finish(mut self) -> (ExitStatus, Vec<String>, serde_json::Value) {
        let status = wait_exit(&mut self.child, PATIENCE).expect("the program exits");
        // The reader ends at the end of the exited program's stderr.
        self.log.extend(self.lines.iter());
        let log = std::mem::take(&mut self.log);
        let text = std::fs::read_to_string(&self.report)
            .unwrap_or_else(|e| panic!("no report ({e}): {log:#?}"));
        (status, log, serde_json::from_str(&text).unwrap())
    }
}

impl Drop for Program {
    /// A failed test leaves no program running, and shows what it logged and reported
    /// (asked to stop as by Ctrl-C first).
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.interrupt();
            let _ = wait_exit(&mut self.child, PATIENCE);
            self.log.extend(self.lines.iter());
            let report = std::fs::read_to_string(&self.report).unwrap_or_default();
            eprintln!(
                "the program's log:\n{}\nreport: {report}",
                self.log.join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
