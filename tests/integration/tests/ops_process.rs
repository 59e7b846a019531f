//! `host run` as a process, started like the README says, driven by `host ctl` over its
//! control socket and scraped over plain HTTP on its metrics endpoint.

mod ops_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use integration_tests::host_binary;
use ops_support::Setup;

fn ctl(socket: &Path, args: &[&str]) -> (bool, serde_json::Value) {
    let out = Command::new(host_binary())
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("running host ctl");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "host ctl {args:?}: {e}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), value)
}

fn scrape(address: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

fn metric(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{line_start}` in\n{text}"))
}

#[test]
fn host_ctl_and_metrics_work_against_a_running_host() {
    let s = Setup::new("ops-process");
    s.install("fixture_counter", "counter.so");
    let socket = s.dir.join("run/host.sock");
    let text = format!(
        "plugins_dir = \"{}\"\n[control]\nsocket = \"{}\"\n[metrics]\naddress = \"127.0.0.1:0\"\n[venues.demo]\nplugin = \"fixture\"\nchannels = [\"trades\"]\nsettings = {{ period_ms = 2, symbol = \"TEST/USD\" }}\n",
        s.plugins.display(),
        socket.display()
    );
    s.write_config(&text);
    let report = s.dir.join("report.json");
    let mut child = Command::new(host_binary())
        .arg("run")
        .arg("--config")
        .arg(&s.config)
        .arg("--report")
        .arg(&report)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The host prints its control socket and then its metrics address once both listen.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let metrics_line = loop {
        let line = lines.next().expect("host exited early").unwrap();
        eprintln!("host: {line}");
        if let Some(rest) = line.strip_prefix("metrics: http://") {
            break rest.trim_end_matches("/metrics").to_owned();
        }
    };
    let log = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in lines.map_while(Result::ok) {
            all.push(line);
        }
        all
    });
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "control socket mode {mode:o}");

    let (ok, status) = ctl(&socket, &["status"]);
    assert!(ok, "{status}");
    let st = &status["result"];
    assert_eq!(st["plugins"][0]["plugin"], "fixture");
    assert_eq!(st["plugins"][0]["version"], "1.0.0");
    assert_eq!(st["plugins"][0]["sha256"].as_str().unwrap().len(), 64);
    assert!(st["plugins"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("counter.so"));
    assert_eq!(st["venues"][0]["name"], "demo");
    assert_eq!(st["venues"][0]["state"], "running");
    assert_eq!(st["venues"][0]["bindings"], 1, "{st}");
    assert_eq!(st["metrics_address"], metrics_line.as_str());

    let (ok, r) = ctl(&socket, &["stop", "demo"]);
    assert!(ok, "{r}");
    let (_, status) = ctl(&socket, &["status"]);
    assert_eq!(status["result"]["venues"][0]["state"], "stopped");
    let (ok, r) = ctl(&socket, &["start", "demo"]);
    assert!(ok, "{r}");
    let (ok, r) = ctl(&socket, &["start", "demo"]);
    assert!(
        !ok && r["error"].as_str().unwrap().contains("already running"),
        "{r}"
    );
    let (ok, r) = ctl(&socket, &["stop", "nope"]);
    assert!(!ok && r["error"].as_str().unwrap().contains("nope"), "{r}");
    let (ok, r) = ctl(&socket, &["reload", "demo"]);
    assert!(ok, "{r}");
    assert_eq!(r["result"]["instances"][0], "demo");
    assert_eq!(r["result"]["unload"]["unmapped"], true);
    let (_, status) = ctl(&socket, &["status"]);
    assert_eq!(status["result"]["last"]["reload"]["venue"], "fixture");

    // Wait until the restarted venue delivered something, then scrape.
    let text = loop {
        let text = scrape(&metrics_line);
        if metric(&text, "host_venue_queue_delivered_total{venue=\"demo\"}") > 0.0 {
            break text;
        }
    };
    assert_eq!(metric(&text, "host_reloads_total{result=\"ok\"}"), 1.0);
    assert!(metric(&text, "host_live_tasks ") > 0.0);
    assert_eq!(metric(&text, "host_reload_duration_seconds_count "), 1.0);
    assert_eq!(metric(&text, "host_venue_up{venue=\"demo\"}"), 1.0);
    assert_eq!(metric(&text, "host_resources_forced_total "), 0.0);
    assert!(text.contains("# TYPE host_venue_messages_out_total counter"));

    let (ok, r) = ctl(&socket, &["shutdown"]);
    assert!(ok, "{r}");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let log = log.join().unwrap();
    assert!(
        log.iter().any(|l| l.contains("control: shutdown")),
        "{log:#?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["reason"], "control: shutdown");
    assert_eq!(report["after"]["subscriptions"], 0);
    assert!(!socket.exists(), "the socket is removed on shutdown");
}

#[test]
fn a_wrong_config_key_fails_with_file_key_and_expectation() {
    let s = Setup::new("ops-badconfig");
    s.write_config(&format!(
        "plugins_dir = \"{}\"\n[venues.demo]\nplugin = \"fixture\"\nchanels = [\"trades\"]\n",
        s.plugins.display()
    ));
    let out = Command::new(host_binary())
        .args(["run", "--duration", "0", "--config"])
        .arg(&s.config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("host.toml") && err.contains("venues.demo") && err.contains("chanels"),
        "{err}"
    );
    assert!(
        err.contains("expected") && err.contains("`channels`"),
        "{err}"
    );
}
