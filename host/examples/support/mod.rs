//! What every example needs besides the exchange: a Gate.io and a MEXC simulator running
//! in-process (BTC/USDT and ETH/USDT, accepting the credentials `test-key`/`test-secret`),
//! and a host configuration naming them, written as a program would keep it: `host.toml`
//! plus a `secrets.toml` with the credentials, read with `HostConfig::load_with_secrets`.
//!
//! The plugin files come from the folder given as the first argument, else from
//! `HOST_PLUGINS_DIR`, else `target/debug`. Build them first:
//! `cargo build -p gateio-plugin -p mexc-plugin`. The folder must be owned by you and not
//! writable by group or others (the host's trust rule).

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use host::config::{HostConfig, Secrets};
use venue_sim::{SimConfig, SimHandle, Simulator, Venue};

/// Logs warnings, and the exchange's own lines at `info`, to stderr (or as `RUST_LOG` says).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,host::exchange=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The folder holding `libgateio_plugin.so` and `libmexc_plugin.so`.
pub fn plugins_dir() -> PathBuf {
    std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("HOST_PLUGINS_DIR"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/debug"))
}

/// Both simulators, and the folder holding the configuration written for them.
pub struct Venues {
    /// The Gate.io simulator (its fault switches make gaps on demand).
    pub gate: SimHandle,
    /// The MEXC simulator.
    pub mexc: SimHandle,
    dir: tempfile::TempDir,
}

impl Venues {
    /// Starts both simulators on free loopback ports.
    pub async fn start() -> anyhow::Result<Venues> {
        let loopback = "127.0.0.1:0".parse()?;
        // Different seeds, so the two markets walk apart.
        let mut mexc = SimConfig::new(Venue::Mexc);
        mexc.seed = 11;
        Ok(Venues {
            gate: Simulator::start(SimConfig::new(Venue::Gateio), loopback).await?,
            mexc: Simulator::start(mexc, loopback).await?,
            dir: tempfile::tempdir()?,
        })
    }

    /// The host configuration (venues `gate` and `mexc` against the simulators; no
    /// watcher, control socket or metrics endpoint) and its secrets.
    pub fn config(&self) -> anyhow::Result<(HostConfig, Secrets)> {
        let config = self.dir.path().join("host.toml");
        let secrets = self.dir.path().join("secrets.toml");
        std::fs::write(
            &secrets,
            "[venues.gate]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n\
             [venues.mexc]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n",
        )?;
        let gate_rest = format!("http://{}", self.gate.local_addr());
        let mexc_rest = format!("http://{}", self.mexc.local_addr());
        std::fs::write(
            &config,
            format!(
                "plugins_dir = {plugins:?}\nsecrets_file = {secrets:?}\n\
                 [watch]\nplugins = false\nconfig = false\n\
                 [control]\nenabled = false\n[metrics]\nenabled = false\n\
                 [venues.gate]\nplugin = \"gateio\"\n\
                 endpoints = {{ ws_url = \"{gate_ws}\", private_ws_url = \"{gate_ws}\", rest_url = \"{gate_rest}\" }}\n\
                 [venues.mexc]\nplugin = \"mexc\"\n\
                 endpoints = {{ ws_url = \"{mexc_ws}\", rest_url = \"{mexc_rest}\" }}\n",
                plugins = plugins_dir().display().to_string(),
                secrets = secrets.display().to_string(),
                gate_ws = self.gate.ws_url(),
                mexc_ws = self.mexc.ws_url(),
            ),
        )?;
        Ok(HostConfig::load_with_secrets(Some(&config))?)
    }

    /// Stops both simulators.
    pub async fn stop(self) {
        self.gate.shutdown().await;
        self.mexc.shutdown().await;
    }
}

/// How long ago, in microseconds, the host received the frame stamped `received_ns`.
pub fn age_us(received_ns: u64) -> f64 {
    host::venue::now_ns().saturating_sub(received_ns) as f64 / 1e3
}

/// Waits until the simulator counts a subscription to each of `channels` (prefixes of the
/// channel names). A venue acknowledges each subscription, but the plugins do not report
/// acknowledgments to programs yet, so an order placed at once could fill before its
/// private stream is live; the examples wait on the simulator instead.
pub async fn subscribed(stats: &venue_sim::Stats, channels: &[&str]) {
    stats
        .wait_until(|snap| {
            channels.iter().all(|want| {
                snap.subscriptions
                    .values()
                    .flatten()
                    .any(|c| c.starts_with(want))
            })
        })
        .await;
}
