//! The arbitrage program end to end: its binary against both venue simulators through the
//! real plugins, with credentials from a secrets file.
//!
//! - Left alone, it stops by itself, exits 0, logs no WARN or ERROR, evaluated quotes of
//!   both venues and left no task behind.
//! - Ctrl-C (a real SIGINT) while its connections hang in the handshake, while the account
//!   resync after connecting hangs in REST, and with orders in flight: each time it stops in
//!   order, writes its report and exits 0 within the shutdown's bound.
//! - Connections dropped and REST failing while it trades: it rides through, trades again
//!   and reports the reconnects and gaps.

mod ops_support;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use integration_tests::{arbitrage_binary, runtime, venue_table};
use ops_support::{wait_exit, Setup, PATIENCE};
use venue_sim::{AcceptMode, Crossing, Kick, RestFault, SimConfig, SimHandle, Venue};

/// Both simulators of a test, on their own runtime.
struct Sims {
    rt: tokio::runtime::Runtime,
    gate: SimHandle,
    mexc: SimHandle,
}

impl Sims {
    /// Synthetic BTC/USDT and ETH/USDT at 100 updates/s; `crossing` puts now at the centre
    /// of a crossing, so opportunities come at once, and another every 12 s.
    fn start(crossing: bool) -> Sims {
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
    fn wait(
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

    fn both(&self) -> [&SimHandle; 2] {
        [&self.gate, &self.mexc]
    }

    fn shutdown(self) {
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
fn order_entry(s: &venue_sim::StatsSnapshot, method: &str) -> u64 {
    s.rest_by_route
        .iter()
        .filter(|(route, _)| route.starts_with(method) && route.contains("order"))
        .map(|(_, n)| n)
        .sum()
}

/// Orders placed on a simulator so far.
fn orders_placed(s: &venue_sim::StatsSnapshot) -> u64 {
    order_entry(s, "POST ")
}

/// The program running against `sims`, its stderr lines arriving on `lines` and kept.
struct Program {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
    report: PathBuf,
}

impl Program {
    fn start(name: &str, sims: &Sims, args: &[&str]) -> Program {
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
        let report = s.dir.join("report.json");
        let mut child = Command::new(arbitrage_binary())
            .arg("--config")
            .arg(&s.config)
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
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Program {
            child,
            lines,
            log: Vec::new(),
            report,
        }
    }

    /// Waits for a log line containing `needle`.
    fn wait_line(&mut self, needle: &str) {
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
    fn interrupt(&self) -> Instant {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a valid signal number on our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        Instant::now()
    }

    /// Waits for the exit (a safety net, not a timing claim); the status, every log line
    /// and the report.
    fn finish(mut self) -> (ExitStatus, Vec<String>, serde_json::Value) {
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

/// Nothing left behind, nothing forced: the shutdown the report describes.
fn assert_clean_shutdown(report: &serde_json::Value, log: &[String]) {
    let shutdown = &report["shutdown"];
    assert_eq!(shutdown["tasks_left"], serde_json::json!([]), "{log:#?}");
    assert_eq!(shutdown["after"]["resource_tasks"], 0, "{log:#?}");
    assert_eq!(
        shutdown["after"]["tasks"], 0,
        "no task of the runtime left: {log:#?}"
    );
    assert_eq!(shutdown["forced"], false, "{log:#?}");
    let resources = shutdown["stop"]["resources"].as_array().unwrap();
    assert!(!resources.is_empty(), "{shutdown:#}");
    for r in resources {
        assert_eq!(r["outcome"], "stopped", "{r:#}\n{log:#?}");
    }
}

/// Interrupts `program` and checks it stopped in order within the shutdown's overall bound
/// (5 s by default; the time taken is printed for the record).
fn interrupt_and_check(program: Program, when: &str) -> serde_json::Value {
    let sent = program.interrupt();
    let mut program = program;
    program.wait_line("stopping (SIGINT)");
    let (status, log, report) = program.finish();
    let took = sent.elapsed();
    eprintln!("Ctrl-C {when}: exited {took:?} after the signal");
    assert!(status.success(), "{status:?}\n{log:#?}");
    assert_clean_shutdown(&report, &log);
    assert!(took < Duration::from_secs(5), "{took:?}\n{log:#?}");
    report
}

#[test]
fn the_program_runs_both_venues_and_stops_clean() {
    let sims = Sims::start(false);
    let program = Program::start("arbitrage-program", &sims, &["--duration", "3"]);
    let (status, log, report) = program.finish();
    let alarming: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(alarming.is_empty(), "{alarming:#?}");
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    assert!(
        report["program"]["evaluations"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    for venue in &report["venues"].as_array().unwrap()[..] {
        assert!(venue["events"].as_u64().unwrap() > 0, "{venue:#}");
        assert!(venue["host"]["connects"].as_u64().unwrap() > 0, "{venue:#}");
    }
    assert_clean_shutdown(&report, &log);
    sims.shutdown();
}

#[test]
fn ctrl_c_while_the_connections_hang_in_the_handshake() {
    let sims = Sims::start(false);
    for sim in sims.both() {
        sim.faults().set_accept_mode(AcceptMode::Hang);
    }
    let program = Program::start("arbitrage-ctrl-c-connecting", &sims, &[]);
    for sim in sims.both() {
        sims.wait(sim, "a connection attempt", |s| s.tcp_accepted > 0);
    }
    let report = interrupt_and_check(program, "while connecting");
    for venue in report["venues"].as_array().unwrap() {
        assert_eq!(venue["host"]["connects"], 0, "{venue:#}");
    }
    sims.shutdown();
}

#[test]
fn ctrl_c_while_the_account_resync_hangs_in_rest() {
    let sims = Sims::start(false);
    // The account is read over REST when its connection opens: those reads never answer.
    for sim in sims.both() {
        sim.faults().set_rest_fault(Some(RestFault::Slow {
            delay: Duration::from_secs(600),
        }));
    }
    let program = Program::start("arbitrage-ctrl-c-resync", &sims, &[]);
    for sim in sims.both() {
        sims.wait(sim, "a REST request in flight", |s| s.rest_requests > 0);
    }
    interrupt_and_check(program, "with the account resync in flight");
    sims.shutdown();
}

#[test]
fn ctrl_c_with_orders_in_flight() {
    let sims = Sims::start(true);
    // Orders are taken but never answered; everything else is.
    for sim in sims.both() {
        sim.faults().set_order_entry_fault(Some(RestFault::Slow {
            delay: Duration::from_secs(600),
        }));
    }
    let program = Program::start("arbitrage-ctrl-c-orders", &sims, &[]);
    for sim in sims.both() {
        sims.wait(sim, "an order in flight", |s| orders_placed(s) > 0);
    }
    let report = interrupt_and_check(program, "with orders in flight");
    let open = report["program"]["open_legs"].as_array().unwrap();
    assert_eq!(open.len(), 2, "both legs unanswered: {report:#}");
    sims.shutdown();
}

#[test]
fn dropped_connections_and_failing_rest_are_ridden_through() {
    let sims = Sims::start(true);
    let program = Program::start("arbitrage-ride-through", &sims, &[]);
    sims.wait(&sims.gate, "an order", |s| orders_placed(s) > 0);
    // REST fails, and every connection is dropped at once without a close frame: the
    // account re-reads after the reconnects meet the failure (and are retried), as do
    // orders, cancels and order lookups.
    for sim in sims.both() {
        sim.faults()
            .set_rest_fault(Some(RestFault::ServerError { status: 503 }));
    }
    for sim in sims.both() {
        let (accepted, requests) = {
            let s = sim.stats().snapshot();
            (s.ws_accepted, s.rest_requests)
        };
        sim.faults().kick_all(Kick::TcpDrop);
        sims.wait(sim, "the reconnects", |s| s.ws_accepted >= accepted + 2);
        sims.wait(sim, "account reads refused", |s| {
            s.rest_requests >= requests + 2
        });
    }
    for sim in sims.both() {
        sim.faults().set_rest_fault(None);
    }
    // Trading resumes once the venues answer again.
    let resumed = orders_placed(&sims.gate.stats().snapshot());
    sims.wait(&sims.gate, "an order after the faults", |s| {
        orders_placed(s) > resumed
    });
    let (status, log, report) = {
        let mut program = program;
        program.interrupt();
        program.wait_line("stopping (SIGINT)");
        program.finish()
    };
    assert!(status.success(), "{status:?}\n{log:#?}");
    assert_clean_shutdown(&report, &log);
    for venue in report["venues"].as_array().unwrap() {
        assert!(
            venue["host"]["reconnects"].as_u64().unwrap() >= 1,
            "{venue:#}"
        );
        assert!(venue["gaps"].as_u64().unwrap() >= 1, "{venue:#}");
    }
    // One opportunity before the faults and one after (their answers may have met the fault
    // or still be on the way at the interrupt: the order sent after the faults is the proof).
    assert!(
        report["program"]["decided"].as_u64().unwrap() >= 2,
        "{report:#}"
    );
    sims.shutdown();
}
