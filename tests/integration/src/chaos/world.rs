//! What every seed shares: the two simulators on a runtime of their own, the folders and
//! files of the configuration, and the process counts the seeds must come back to.

use std::path::{Path, PathBuf};

use host::stop::process::ProcessCounts;
use venue_sim::{SimHandle, Venue};

use super::schedule::Target;

/// Market-data updates per second each simulator sends.
pub const RATE: u32 = 300;

/// The shared setup of a chaos run.
pub struct World {
    /// The simulators' runtime (kept apart from each seed's exchange runtime).
    pub sims_runtime: tokio::runtime::Runtime,
    /// The Gate.io simulator.
    pub gate: SimHandle,
    /// The MEXC simulator.
    pub mexc: SimHandle,
    /// The run's folder.
    pub dir: PathBuf,
    /// The watched plugin folder.
    pub plugins: PathBuf,
    /// Where the host makes its shadow folders.
    pub shadow: PathBuf,
    /// Counts of the process after a calm warm-up seed; set by [`World::take_baseline`].
    pub baseline: Option<ProcessCounts>,
    /// Seeds run so far: each one's client order ids carry it, so ids never repeat.
    pub runs: u64,
}

impl World {
    /// Starts the simulators and writes the folders and the secrets file under a fresh
    /// test folder named `name`, installing the Gate.io, MEXC and relay plugin files.
    pub fn start(name: &str) -> World {
        let sims_runtime = crate::runtime();
        let (gate, mexc) = sims_runtime.block_on(async {
            (
                crate::simulator(Venue::Gateio, &["BTC/USDT"], RATE).await,
                crate::simulator(Venue::Mexc, &["BTC/USDT"], RATE).await,
            )
        });
        let dir = crate::temp_dir(name);
        let (plugins, shadow) = crate::host_folders(&dir);
        std::fs::write(
            dir.join("secrets.toml"),
            "[venues.gate]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n\
             [venues.mexc]\napi_key = \"test-key\"\napi_secret = \"test-secret\"\n",
        )
        .unwrap();
        let world = World {
            sims_runtime,
            gate,
            mexc,
            dir,
            plugins,
            shadow,
            baseline: None,
            runs: 0,
        };
        world.install_plugins();
        world
    }

    /// The simulator a fault targets.
    pub fn sim(&self, t: Target) -> &SimHandle {
        match t {
            Target::Gate => &self.gate,
            Target::Mexc => &self.mexc,
        }
    }

    /// The plugin folder as a fresh exchange expects it: the three plugin files, nothing
    /// else (replacement files a schedule dropped are removed).
    pub fn install_plugins(&self) {
        for entry in std::fs::read_dir(&self.plugins).unwrap().flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        for (lib, name) in [
            ("gateio_plugin", "gateio.so"),
            ("mexc_plugin", "mexc.so"),
            ("fixture_relay", "relay.so"),
        ] {
            install_file(&crate::plugin(lib), &self.plugins.join(name));
        }
    }

    /// Writes the configuration of one seed (the relay venue panics every `panic_every`
    /// frames; `settings` adds Gate.io's `depth_limit` and MEXC's `recv_window_ms` where
    /// set) and returns its path.
    pub fn write_config(&self, panic_every: u64, settings: &VenueSettings) -> PathBuf {
        let setting = |key: &str, value: Option<u32>| {
            value.map_or_else(String::new, |v| format!("settings = {{ {key} = {v} }}\n"))
        };
        let rest = |s: &SimHandle| format!("http://{}", s.local_addr());
        let text = format!(
            "plugins_dir = \"{plugins}\"\nshadow_dir = \"{shadow}\"\nsecrets_file = \"{secrets}\"\n\
             [watch]\nplugins = true\nconfig = false\ndebounce_ms = 20\n\
             [control]\nenabled = false\n[metrics]\nenabled = false\n\
             [queues]\ncapacity = 16\n\
             [reconnect]\ninitial_ms = 10\nmax_ms = 100\nbreaker_failures = 0\n\
             [restart]\ninitial_backoff = 5\nmax_backoff = 50\nmax_faults = 1000\n\
             [stale]\nbook_ticker_ms = 150\ndepth_ms = 150\n\
             [venues.gate]\nplugin = \"gateio\"\nendpoints = {{ ws_url = \"{gate_ws}\", private_ws_url = \"{gate_ws}\", rest_url = \"{gate_rest}\" }}\n{gate_settings}\
             [venues.mexc]\nplugin = \"mexc\"\nendpoints = {{ ws_url = \"{mexc_ws}\", rest_url = \"{mexc_rest}\" }}\n{mexc_settings}\
             [venues.relay]\nplugin = \"relay\"\nendpoints = {{ ws_url = \"{gate_ws}\" }}\n\
             settings = {{ subscribe = '{{\"time\":0,\"channel\":\"spot.book_ticker\",\"event\":\"subscribe\",\"payload\":[\"{{symbol}}\"]}}', panic_every = {panic_every} }}\n",
            plugins = self.plugins.display(),
            shadow = self.shadow.display(),
            secrets = self.dir.join("secrets.toml").display(),
            gate_ws = self.gate.ws_url(),
            gate_rest = rest(&self.gate),
            mexc_ws = self.mexc.ws_url(),
            mexc_rest = rest(&self.mexc),
            gate_settings = setting("depth_limit", settings.gate),
            mexc_settings = setting("recv_window_ms", settings.mexc),
        );
        let path = self.dir.join("host.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Takes the process counts every later seed must come back to.
    pub fn take_baseline(&mut self) {
        self.baseline = Some(ProcessCounts::now());
    }

    /// Shuts the simulators down.
    pub fn shutdown(self) {
        self.sims_runtime.block_on(async {
            self.gate.shutdown().await;
            self.mexc.shutdown().await;
        });
    }
}

/// The venue settings a seed's configuration changes (see [`super::schedule::Fault::Reconfigure`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VenueSettings {
    /// Gate.io's `depth_limit`, if set.
    pub gate: Option<u32>,
    /// MEXC's `recv_window_ms`, if set.
    pub mexc: Option<u32>,
}

impl VenueSettings {
    /// These settings with `venue`'s one set to `value`.
    pub fn with(self, venue: Target, value: u32) -> VenueSettings {
        match venue {
            Target::Gate => VenueSettings {
                gate: Some(value),
                ..self
            },
            Target::Mexc => VenueSettings {
                mexc: Some(value),
                ..self
            },
        }
    }
}

/// Puts `source` at `dest` by an atomic rename of a hard link (or copy) named `.dest.tmp`,
/// the way plugin files are installed.
pub fn install_file(source: &Path, dest: &Path) {
    let name = dest.file_name().unwrap().to_string_lossy().into_owned();
    let temp = dest.with_file_name(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&temp);
    if std::fs::hard_link(source, &temp).is_err() {
        std::fs::copy(source, &temp).unwrap();
    }
    std::fs::rename(&temp, dest).unwrap();
}

/// Writes the first half of `source` as `dest` (by rename): a plugin file cut short.
pub fn install_truncated(source: &Path, dest: &Path) {
    let bytes = std::fs::read(source).unwrap();
    let temp = dest.with_extension("tmp");
    std::fs::write(&temp, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::rename(&temp, dest).unwrap();
}
