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
mod program_support;

use std::time::Duration;

use program_support::{orders_placed, Program, Sims};
use venue_sim::{AcceptMode, Kick, RestFault};

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
