//! Two hosts and the arbitrage program as separate processes over a real `nats-server`.
//!
//! Host A is configured for Gate.io; host B for MEXC and Gate.io, so it runs MEXC and
//! stands by for Gate.io. The program, configured with `nats.remote`, trades through
//! both: Gate.io on host A, MEXC on host B. Host A is then killed (SIGKILL: no lease given
//! up, no end marker): host B takes Gate.io over within the 2 s the lease time allows,
//! the program's Gate.io streams show a gap and then data, and it trades on Gate.io again
//! through host B. At the end the program's JetStream consumers saw every order update and
//! fill with no sequence number missing.

mod ops_support;
mod program_support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use integration_tests::host_process::{signal, HostFiles, HostProcess};
use integration_tests::nats::NatsServer;
use integration_tests::venue_table;
use ops_support::PATIENCE;
use program_support::{orders_placed, Program, Sims};

/// How long a standby may take to hold a venue after its holder died: the lease time
/// (1 s) after the holder's last renewal, which came at most a third of it before.
const FAILOVER_BOUND: Duration = Duration::from_secs(2);

/// A host's configuration: `venues` against the simulators, on the bus at `url` as `name`.
fn write_host_config(files: &HostFiles, sims: &Sims, url: &str, name: &str, venues: &[&str]) {
    let extra = "symbols = [\"BTC/USDT\", \"ETH/USDT\"]\n\
                 channels = [\"book_ticker\", \"orders\", \"fills\", \"balances\"]\n";
    let tables: String = venues
        .iter()
        .map(|v| match *v {
            "gate" => venue_table("gate", "gateio", &sims.gate, extra),
            _ => venue_table("mexc", "mexc", &sims.mexc, extra),
        })
        .collect();
    let text = format!(
        "plugins_dir = \"{plugins}\"\nshadow_dir = \"{shadow}\"\nsecrets_file = \"{secrets}\"\n\
         [watch]\nplugins = false\nconfig = false\n\
         [control]\nenabled = false\n\
         [metrics]\nenabled = true\naddress = \"127.0.0.1:0\"\n\
         [log]\nfilter = \"info\"\n\
         [nats]\nenabled = true\nurl = \"{url}\"\nname = \"{name}\"\n{tables}",
        plugins = files.plugins.display(),
        shadow = files.shadow.display(),
        secrets = files.dir.join("secrets.toml").display(),
    );
    std::fs::write(&files.config, text).unwrap();
}

/// The moment `host` logged a line containing every one of `needles`.
fn wait_for(host: &mut HostProcess, needles: &[&str]) -> Instant {
    let matches = |line: &str| needles.iter().all(|n| line.contains(n));
    if let Some(i) = host.passed.iter().position(|(_, l)| matches(l)) {
        return host.passed.remove(i).0;
    }
    let mut seen = Vec::new();
    loop {
        match host.lines.recv_timeout(PATIENCE) {
            Ok((at, line)) if matches(&line) => return at,
            Ok((_, line)) => seen.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = host.child.kill();
                panic!(
                    "the host logged no line with {needles:?}:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
}

#[test]
fn two_hosts_and_the_program_over_nats_ride_through_a_killed_host() {
    let nats = NatsServer::start();
    // Crossing quotes now and every 12 s: the program trades at once and again later.
    let sims = Sims::start(true);
    let (gate_addr, mexc_addr) = (sims.gate.local_addr(), sims.mexc.local_addr());
    let files_a = HostFiles::new("bus-failover-a", gate_addr, mexc_addr);
    let files_b = HostFiles::new("bus-failover-b", gate_addr, mexc_addr);
    write_host_config(&files_a, &sims, &nats.url, "host-a", &["gate"]);
    write_host_config(&files_b, &sims, &nats.url, "host-b", &["gate", "mexc"]);

    let mut host_a = HostProcess::start(&files_a);
    wait_for(&mut host_a, &["holding the venue's lease", "gate"]);
    let mut host_b = HostProcess::start(&files_b);
    wait_for(&mut host_b, &["holding the venue's lease", "mexc"]);

    let dir = integration_tests::temp_dir("bus-failover-program");
    let config = dir.join("program.toml");
    std::fs::write(
        &config,
        format!(
            "plugins_dir = \"{}\"\n[control]\nenabled = false\n[metrics]\nenabled = false\n\
             [nats]\nenabled = true\nremote = true\nurl = \"{}\"\nconsumer = \"arbitrage-failover\"\n\
             [venues.gate]\nplugin = \"gateio\"\n[venues.mexc]\nplugin = \"mexc\"\n",
            dir.join("no-plugins").display(),
            nats.url
        ),
    )
    .unwrap();
    let mut program = Program::run(&dir, &config, &[]);
    program.wait_line("exchange started on the bus");
    // Both legs of an opportunity: one on each host's venue.
    for sim in sims.both() {
        sims.wait(sim, "an order through the bus", |s| orders_placed(s) > 0);
    }

    let gate_orders = orders_placed(&sims.gate.stats().snapshot());
    signal(host_a.pid(), libc::SIGKILL);
    let killed = Instant::now();
    let _ = host_a.child.wait();
    let taken = wait_for(&mut host_b, &["holding the venue's lease", "gate"]);
    let failover = taken.saturating_duration_since(killed);
    eprintln!("host b held gate {failover:?} after host a was killed");
    assert!(failover <= FAILOVER_BOUND, "failover took {failover:?}");
    program.wait_line("gap on the bus");
    let metrics = integration_tests::host_process::scrape(host_b.metrics).unwrap();
    let held = integration_tests::host_process::metric(&metrics, "host_bus_lease_held", "gate");
    assert_eq!(held, Some(1.0), "{metrics}");
    assert!(metrics.contains("host_bus_connected 1"), "{metrics}");
    assert!(
        metrics.contains("host_bus_publish_lag_seconds{venue=\"gate\"}"),
        "{metrics}"
    );
    sims.wait(&sims.gate, "an order on gate through host b", |s| {
        orders_placed(s) > gate_orders
    });

    program.interrupt();
    program.wait_line("stopping (SIGINT)");
    let (status, log, report) = program.finish();
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    assert!(
        report["shutdown"]["tasks_left"] == serde_json::json!([]),
        "{report:#}"
    );
    // Market data: the move shows as a gap on Gate.io's book tickers.
    assert!(
        log.iter()
            .any(|l| l.contains("gap on the bus") && l.contains("mkt.md.gate.")),
        "{}",
        log.join("\n")
    );
    // Private streams: every order update and fill, no sequence number missing (fills of
    // the last orders may still be on their way when the program stops).
    for stream in ["gate/orders", "mexc/orders", "gate/fills", "mexc/fills"] {
        let closed = log
            .iter()
            .find(|l| l.contains("private stream closed") && l.contains(stream))
            .unwrap_or_else(|| panic!("no summary of {stream}:\n{}", log.join("\n")));
        assert!(closed.contains("missing=0"), "{closed}");
        if stream.ends_with("orders") {
            assert!(!closed.contains("received=0"), "{closed}");
        }
    }
    assert!(
        !log.iter().any(|l| l.contains("skipped sequence numbers")),
        "{}",
        log.join("\n")
    );
    signal(host_b.pid(), libc::SIGTERM);
    let _ = host_b.child.wait();
    sims.shutdown();
}
