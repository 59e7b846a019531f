//! Credentials from a secrets file, end to end: a host configuration and a secrets file name
//! a Gate.io and a MEXC venue against their simulators, which accept only the keys in that
//! file. Loaded the way `host run` loads them (`HostConfig::load_with_secrets`, then the
//! `Operator`), both plugins authenticate their private streams and trade. A wrong secret
//! is reported by the `host` process naming the venue and the keys to check; credentials
//! given twice, or in the wrong shape, are refused naming the venue and the key.

mod ops_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::mpsc;

use host::config::HostConfig;
use host::ops::Operator;
use host::{Host, State, Subscription};
use integration_tests::{next_matching, order_round_trip, run_host, runtime};
use ops_support::{Setup, PATIENCE};
use plugin_api::{Event, Num, Side, StreamKind};
use venue_sim::{Credential, SimConfig, SimHandle, Simulator, StatsSnapshot, Venue};

const GATE_KEY: &str = "gate-e2e-key";
const GATE_SECRET: &str = "gate-e2e-secret";
const MEXC_KEY: &str = "mexc-e2e-key";
const MEXC_SECRET: &str = "mexc-e2e-secret";

/// A simulator of `venue` streaming BTC/USDT that accepts only `key`/`secret`.
async fn simulator(venue: Venue, key: &str, secret: &str) -> SimHandle {
    let mut config = SimConfig::new(venue);
    config.symbols = vec![venue_sim::Symbol::parse("BTC/USDT").unwrap()];
    config.credentials = vec![Credential::new(key, secret)];
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Simulator::start(config, bind).await.unwrap()
}

/// The Gate.io and MEXC simulators, on a runtime of their own.
struct Sims {
    runtime: tokio::runtime::Runtime,
    gate: SimHandle,
    mexc: SimHandle,
}

impl Sims {
    fn start() -> Sims {
        let runtime = runtime();
        let (gate, mexc) = runtime.block_on(async {
            (
                simulator(Venue::Gateio, GATE_KEY, GATE_SECRET).await,
                simulator(Venue::Mexc, MEXC_KEY, MEXC_SECRET).await,
            )
        });
        Sims {
            runtime,
            gate,
            mexc,
        }
    }

    /// `[venues.gate]` and `[venues.mexc]` against the simulators. Gate's credentials come
    /// from the secrets table named like the venue, MEXC's from the table `mexc-main` it
    /// names. `extra` is added to both tables (channels of the built-in consumer...).
    fn venues(&self, extra: &str) -> String {
        let rest = |sim: &SimHandle| format!("http://{}", sim.local_addr());
        format!(
            "[venues.gate]\nplugin = \"gateio\"\n{extra}\nendpoints = {{ ws_url = \"{gate_ws}\", private_ws_url = \"{gate_ws}\", rest_url = \"{gate_rest}\" }}\n\
             [venues.mexc]\nplugin = \"mexc\"\ncredentials = \"mexc-main\"\n{extra}\nendpoints = {{ ws_url = \"{mexc_ws}\", rest_url = \"{mexc_rest}\" }}\n",
            gate_ws = self.gate.ws_url(),
            gate_rest = rest(&self.gate),
            mexc_ws = self.mexc.ws_url(),
            mexc_rest = rest(&self.mexc),
        )
    }

    fn shutdown(self) {
        self.runtime.block_on(async {
            self.gate.shutdown().await;
            self.mexc.shutdown().await;
        });
    }
}

/// A secrets file: `[venues.gate]` and `[venues.mexc-main]` with these API secrets.
fn secrets_file(s: &Setup, gate_secret: &str, mexc_secret: &str) -> PathBuf {
    let path = s.dir.join("secrets.toml");
    std::fs::write(
        &path,
        format!(
            "[venues.gate]\napi_key = \"{GATE_KEY}\"\napi_secret = \"{gate_secret}\"\n\
             [venues.mexc-main]\napi_key = \"{MEXC_KEY}\"\napi_secret = \"{mexc_secret}\"\n"
        ),
    )
    .unwrap();
    path
}

/// Installs both plugin files and writes the host configuration: `secrets_file`, no
/// watcher, control socket or metrics endpoint, then `rest` (sections and venues).
fn write_config(s: &Setup, secrets: &Path, rest: &str) {
    s.install("gateio_plugin", "gateio.so");
    s.install("mexc_plugin", "mexc.so");
    s.write_config(&format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\nsecrets_file = \"{}\"\n\
         [watch]\nplugins = false\nconfig = false\n[control]\nenabled = false\n[metrics]\nenabled = false\n{rest}",
        s.plugins.display(),
        s.shadow.display(),
        secrets.display()
    ));
}

/// Starts an operator the way `host run` does.
async fn start_operator(s: &Setup) -> Operator {
    let (config, secrets) = HostConfig::load_with_secrets(Some(&s.config)).unwrap();
    let debug = format!("{config:?} {secrets:?}");
    assert!(
        !debug.contains(GATE_SECRET) && !debug.contains(MEXC_SECRET),
        "{debug}"
    );
    Operator::start(config, secrets, Some(s.config.clone()))
        .await
        .unwrap()
}

/// Waits, without polling, until the simulator `sim` shows subscriptions to every one of
/// `channels` (a prefix of the channel name as the client wrote it).
async fn private_subscriptions(sim: &SimHandle, channels: &[&str]) {
    let all_there = |snap: &StatsSnapshot| {
        channels.iter().all(|want| {
            snap.subscriptions
                .values()
                .flatten()
                .any(|c| c.starts_with(want))
        })
    };
    tokio::time::timeout(PATIENCE, sim.stats().wait_until(all_there))
        .await
        .unwrap_or_else(|_| panic!("no private subscriptions {channels:?}"));
}

/// The account's private streams on one venue.
struct Private {
    orders: Subscription,
    fills: Subscription,
    balances: Subscription,
}

impl Private {
    fn subscribe(host: &Host, venue: &str) -> Private {
        let sub = |kind| host.subscribe(venue, "", kind).unwrap();
        Private {
            orders: sub(StreamKind::Orders),
            fills: sub(StreamKind::Fills),
            balances: sub(StreamKind::Balances),
        }
    }

    /// Orders through the host on `venue`: open, cancelled, filled on the orders stream;
    /// the fill and the BTC it bought on the fills and balances streams, which only the
    /// authenticated websocket channels carry (no REST answer makes a fill, and the BTC
    /// balance changes only with it).
    async fn trade(&mut self, host: &Host, venue: &str, venue_symbol: &str) {
        let wait = async {
            order_round_trip(host, venue, venue_symbol, &mut self.orders).await;
            next_matching(&mut self.fills, |e| {
                matches!(e, Event::Fill(f) if f.side == Side::Buy && f.qty == Num::parse("0.01").unwrap())
            })
            .await;
            let hundred = Num::parse("100").unwrap();
            next_matching(&mut self.balances, |e| {
                matches!(e, Event::Balance(b) if b.asset.as_str() == "BTC" && b.available > hundred)
            })
            .await;
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| panic!("{venue}: the order's private events did not arrive"));
    }
}

#[test]
fn secrets_file_credentials_drive_private_streams_and_orders_on_both_venues() {
    let sims = Sims::start();
    let s = Setup::new("credentials-e2e");
    let secrets = secrets_file(&s, GATE_SECRET, MEXC_SECRET);
    write_config(&s, &secrets, &sims.venues(""));
    runtime().block_on(async {
        let op = start_operator(&s).await;
        let host = op.host();
        for venue in ["gate", "mexc"] {
            assert_eq!(host.state(venue).await, Some(State::Running), "{venue}");
        }
        let mut gate = Private::subscribe(host, "gate");
        let mut mexc = Private::subscribe(host, "mexc");
        // The simulators accepted the private subscriptions: Gate checks every channel's
        // signature, MEXC's private connection exists only on a listen key created with a
        // signed request.
        private_subscriptions(
            &sims.gate,
            &["spot.orders", "spot.usertrades", "spot.balances"],
        )
        .await;
        private_subscriptions(
            &sims.mexc,
            &[
                "spot@private.orders",
                "spot@private.deals",
                "spot@private.account",
            ],
        )
        .await;
        gate.trade(host, "gate", "BTC_USDT").await;
        mexc.trade(host, "mexc", "BTCUSDT").await;
        for i in host.instances().await {
            assert_eq!(i.stats.last_error, None, "{}", i.name);
        }
        let report = op.shutdown("test").await;
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    });
    sims.shutdown();
}

/// Kills the `host` process if the test ends before it exited.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The next stderr line of the host, failing the test after [`PATIENCE`].
fn next_line(rx: &mpsc::Receiver<String>) -> Option<String> {
    match rx.recv_timeout(PATIENCE) {
        Ok(line) => Some(line),
        Err(mpsc::RecvTimeoutError::Disconnected) => None,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the host printed nothing for {PATIENCE:?}"),
    }
}

#[test]
fn a_wrong_secret_is_reported_naming_the_venue_and_the_keys() {
    const WRONG: &str = "not-the-e2e-secret";
    let sims = Sims::start();
    let s = Setup::new("credentials-wrong");
    let secrets = secrets_file(&s, WRONG, WRONG);
    write_config(
        &s,
        &secrets,
        &format!(
            "[log]\nformat = \"json\"\nfilter = \"warn\"\n{}",
            sims.venues("channels = [\"orders\"]")
        ),
    );
    let (child, rx) = run_host(&["--config".as_ref(), s.config.as_os_str()]);
    let mut host = Process(child);
    // Each venue's refusal is logged with the venue's name and the keys to check.
    let mut reported = Vec::new();
    while reported.len() < 2 {
        let line = next_line(&rx).expect("the host exited before reporting the refusal");
        eprintln!("host: {line}");
        assert!(!line.contains(WRONG), "a secret was printed: {line}");
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let fields = &json["fields"];
        let error = fields["error"].as_str().unwrap_or_default();
        let venue = fields["venue"].as_str().unwrap_or_default().to_owned();
        if error.contains("refused the credentials")
            && error.contains("`credentials.api_key`")
            && error.contains("`credentials.api_secret`")
            && !reported.contains(&venue)
        {
            assert!(matches!(json["level"].as_str(), Some("WARN" | "ERROR")));
            reported.push(venue);
        }
    }
    reported.sort();
    assert_eq!(reported, ["gate", "mexc"]);
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &host.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    while let Some(line) = next_line(&rx) {
        assert!(!line.contains(WRONG), "a secret was printed: {line}");
    }
    host.0.wait().unwrap();
    sims.shutdown();
}

#[test]
fn credentials_both_inline_and_in_the_secrets_file_stop_the_host() {
    let s = Setup::new("credentials-twice");
    let secrets = secrets_file(&s, GATE_SECRET, MEXC_SECRET);
    write_config(
        &s,
        &secrets,
        "[venues.gate]\nplugin = \"gateio\"\n[venues.gate.settings.credentials]\napi_key = \"inline-key\"\napi_secret = \"inline-secret\"\n",
    );
    let (child, rx) = run_host(&["--config".as_ref(), s.config.as_os_str()]);
    let mut host = Process(child);
    let mut output = String::new();
    while let Some(line) = next_line(&rx) {
        output.push_str(&line);
        output.push('\n');
    }
    let status = host.0.wait().unwrap();
    assert!(!status.success(), "{status:?}\n{output}");
    assert!(
        output.contains("venues.gate.settings.credentials")
            && output.contains("[venues.gate]")
            && output.contains("secrets.toml"),
        "{output}"
    );
    assert!(
        !output.contains(GATE_SECRET) && !output.contains("inline-secret"),
        "{output}"
    );
}

#[test]
fn credentials_in_the_wrong_shape_are_refused_naming_the_venue_and_the_key() {
    let s = Setup::new("credentials-shape");
    let secrets = s.dir.join("secrets.toml");
    std::fs::write(
        &secrets,
        "[venues.gate]\napi_key = \"k\"\n[venues.mexc]\nkey = \"k\"\nsecret = \"SHAPE-SECRET\"\n",
    )
    .unwrap();
    let unused =
        "endpoints = { ws_url = \"ws://127.0.0.1:9/\", rest_url = \"http://127.0.0.1:9\" }";
    write_config(
        &s,
        &secrets,
        &format!(
            "[venues.gate]\nplugin = \"gateio\"\n{unused}\n[venues.mexc]\nplugin = \"mexc\"\n{unused}\n\
             [venues.old]\nplugin = \"gateio\"\n{unused}\nsettings = {{ api_key = \"k\", api_secret = \"SHAPE-SECRET\" }}\n"
        ),
    );
    runtime().block_on(async {
        let op = start_operator(&s).await;
        let cases = [
            ("gate", "`credentials.api_secret` is missing"),
            ("mexc", "unknown key `credentials.key`"),
            ("old", "key `api_key` belongs in the `credentials` object"),
        ];
        for (venue, expected) in cases {
            assert_eq!(op.host().state(venue).await, None, "{venue} did not start");
            let error = op.start_venue(venue).await.unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("{venue}: ")) && error.contains(expected),
                "{venue}: {error}"
            );
            assert!(!error.contains("SHAPE-SECRET"), "{error}");
        }
        let report = op.shutdown("test").await;
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    });
}
