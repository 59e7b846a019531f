//! `host run --print-events` shows what a venue produces, one line each on stdout: book
//! tickers, depth snapshots and updates, gaps, and rejects with their reason.

mod ops_support;

use std::io::BufRead;

use integration_tests::{gate_simulator, run_host_with, runtime};
use ops_support::{wait_exit, Setup, PATIENCE};

#[test]
fn print_events_shows_events_gaps_and_rejects_with_reasons() {
    let sim_rt = runtime();
    let sim = sim_rt.block_on(gate_simulator(50));
    let s = Setup::new("print-events");
    s.install("gateio_plugin", "gateio.so");
    let text = format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[control]\nenabled = false\n[metrics]\nenabled = false\n[venues.gate]\nplugin = \"gateio\"\nsymbols = [\"BTC/USDT\"]\nchannels = [\"book_ticker\", \"depth\"]\nendpoints = {{ ws_url = \"{}\", rest_url = \"http://{}\" }}\n",
        s.plugins.display(),
        s.shadow.display(),
        sim.ws_url(),
        sim.local_addr()
    );
    s.write_config(&text);
    let (mut child, _stderr) = run_host_with(
        &[
            "--duration".as_ref(),
            "30".as_ref(),
            "--print-events".as_ref(),
            "--config".as_ref(),
            s.config.as_os_str(),
        ],
        |c| {
            c.stdout(std::process::Stdio::piped());
        },
    );
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = |want: &dyn Fn(&str) -> bool| -> String {
        for line in stdout.by_ref() {
            let line = line.unwrap();
            if want(&line) {
                return line;
            }
        }
        panic!("stdout ended before the line");
    };
    let ticker = next_line(&|l| l.starts_with("gate book_ticker BTC/USDT bid "));
    assert!(ticker.contains(" ask "), "{ticker}");
    next_line(&|l| l.starts_with("gate depth BTC/USDT snapshot ids "));
    next_line(&|l| l.starts_with("gate depth BTC/USDT update ids "));

    // A malformed frame is a reject with its reason; a dropped connection a gap.
    sim.faults().inject_malformed(1);
    let reject = next_line(&|l| l.starts_with("gate REJECT "));
    assert!(reject.contains("malformed"), "{reject}");
    sim.faults().kick_all(venue_sim::Kick::TcpDrop);
    let gap = next_line(&|l| l.starts_with("gate GAP "));
    assert!(gap.contains("Reconnect"), "{gap}");

    // Stopped by a signal: stdout ends with the host.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_exit(&mut child, PATIENCE).expect("the host exits");
    assert!(status.success(), "{status:?}");
    sim_rt.block_on(sim.shutdown());
}
