//! The conformance suite: checks any venue plugin must pass, run from a capture of its
//! venue and reported by name.
//!
//! ```no_run
//! use plugin_testkit::{conformance::Conformance, Capture, Plugin};
//!
//! let plugin = Plugin::load("target/debug/libmyvenue_plugin.so").unwrap();
//! let capture = Capture::from_file("tests/captures/session.jsonl").unwrap();
//! Conformance::new(&plugin, r#"{"symbols": ["BTC/USDT"]}"#, &capture)
//!     .mutations(500)
//!     .run()
//!     .assert_passed();
//! ```

mod checks;
mod descriptor;
mod mutate;
mod rest;

use std::fmt;

use crate::{Capture, Plugin};

/// The default number of seeded mutations, spread over the capture's frames (every short
/// frame is also truncated at each position): a few seconds for a plugin in a debug build.
pub const DEFAULT_MUTATIONS: usize = 5_000;

/// The default number of seeded REST answers, spread over the requests the plugin makes.
pub const DEFAULT_REST_MUTATIONS: usize = 400;

/// The seed used when neither [`Conformance::seed`] nor `PLUGIN_TESTKIT_SEED` gives one.
pub const DEFAULT_SEED: u64 = 0x5eed_2026;

/// One check of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// Unique resource names; every connection, REST client, rate limiter and timer is a
    /// resource of its kind; every dependency is declared; no cycles; every stream kind is
    /// carried by a connection.
    DescriptorIsValid,
    /// Each symbol resolves; for each declared kind, subscribe gives at least one frame and
    /// unsubscribe succeeds.
    ResolvesWhatItSubscribes,
    /// The capture's frames labelled `ack` are consumed without rejects or errors.
    AnswersEverySubscribe,
    /// Seeded mutations of the capture's frames never make the plugin panic.
    NeverPanicsOnMutatedFrames,
    /// Every REST request the plugin makes after the capture, and those for an order it
    /// places and cancels and for two orders it is handed by `recover_orders`, answered with
    /// seeded damage of known bodies (the capture's and [`Conformance::rest_bodies`]) and
    /// every kind of status, never makes it panic.
    NeverPanicsOnMutatedRestAnswers,
    /// After the capture and `stop`: no timer armed, no open or reconnect asked for, only
    /// REST requests (and timer cancels) returned.
    StopsWithNoPendingWork,
}

impl Check {
    /// Every check, in the order the suite runs them.
    pub const ALL: [Check; 6] = [
        Check::DescriptorIsValid,
        Check::ResolvesWhatItSubscribes,
        Check::AnswersEverySubscribe,
        Check::NeverPanicsOnMutatedFrames,
        Check::NeverPanicsOnMutatedRestAnswers,
        Check::StopsWithNoPendingWork,
    ];

    /// The check's name, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Check::DescriptorIsValid => "descriptor_is_valid",
            Check::ResolvesWhatItSubscribes => "resolves_what_it_subscribes",
            Check::AnswersEverySubscribe => "answers_every_subscribe",
            Check::NeverPanicsOnMutatedFrames => "never_panics_on_mutated_frames",
            Check::NeverPanicsOnMutatedRestAnswers => "never_panics_on_mutated_rest_answers",
            Check::StopsWithNoPendingWork => "stops_with_no_pending_work",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Which check.
    pub check: Check,
    /// `Ok` with what was checked, or `Err` with what was seen instead.
    pub result: Result<String, String>,
}

/// The suite's results for one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The venue id.
    pub venue: String,
    /// Each check, in the order run.
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.result.is_ok())
    }

    /// The result of one check.
    pub fn get(&self, check: Check) -> Option<&Result<String, String>> {
        self.checks
            .iter()
            .find(|c| c.check == check)
            .map(|c| &c.result)
    }

    /// The checks that failed, with their messages.
    pub fn failures(&self) -> Vec<(Check, &str)> {
        self.checks
            .iter()
            .filter_map(|c| c.result.as_ref().err().map(|m| (c.check, m.as_str())))
            .collect()
    }

    /// Panics with the whole report unless every check passed.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!("conformance failed\n{self}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of `{}`:", self.venue)?;
        for c in &self.checks {
            match &c.result {
                Ok(m) => writeln!(f, "  ok   {}: {m}", c.check)?,
                // The message starts with the check's name.
                Err(m) => writeln!(f, "  FAIL {m}")?,
            }
        }
        Ok(())
    }
}

/// The suite for one plugin, its settings and a capture of its venue.
///
/// The capture should open the plugin's connections, subscribe, hold the venue's
/// acknowledgements (labelled `ack`) and some data frames of each kind.
pub struct Conformance<'a> {
    plugin: &'a Plugin,
    settings: String,
    capture: &'a Capture,
    symbols: Option<Vec<String>>,
    mutations: usize,
    rest_bodies: Vec<String>,
    rest_mutations: usize,
    seed: Option<u64>,
}

impl<'a> Conformance<'a> {
    /// The suite with default settings: symbols from the capture's subscriptions,
    /// [`DEFAULT_MUTATIONS`] mutations, the seed from `PLUGIN_TESTKIT_SEED` or
    /// [`DEFAULT_SEED`].
    pub fn new(plugin: &'a Plugin, settings_json: &str, capture: &'a Capture) -> Self {
        Conformance {
            plugin,
            settings: settings_json.to_owned(),
            capture,
            symbols: None,
            mutations: DEFAULT_MUTATIONS,
            rest_bodies: Vec::new(),
            rest_mutations: DEFAULT_REST_MUTATIONS,
            seed: None,
        }
    }

    /// The normalized symbols that must resolve and subscribe (default: the capture's).
    pub fn symbols(mut self, symbols: &[&str]) -> Self {
        self.symbols = Some(symbols.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    /// How many seeded mutations to try in total, spread over the capture's frames.
    pub fn mutations(mut self, n: usize) -> Self {
        self.mutations = n;
        self
    }

    /// Known REST answer bodies (e.g. the venue's documented examples) to damage besides
    /// the capture's, so the mutations reach the parsers of every answer.
    pub fn rest_bodies<S: AsRef<str>>(mut self, bodies: &[S]) -> Self {
        self.rest_bodies
            .extend(bodies.iter().map(|b| b.as_ref().to_owned()));
        self
    }

    /// How many seeded REST answers to try in total (default [`DEFAULT_REST_MUTATIONS`]).
    pub fn rest_mutations(mut self, n: usize) -> Self {
        self.rest_mutations = n;
        self
    }

    /// The seed of the mutations (a failure prints the one it used).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    fn chosen_seed(&self) -> u64 {
        self.seed
            .or_else(|| {
                let text = std::env::var("PLUGIN_TESTKIT_SEED").ok()?;
                let text = text.trim();
                match text.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16).ok(),
                    None => text.parse().ok(),
                }
            })
            .unwrap_or(DEFAULT_SEED)
    }

    /// Runs every check.
    pub fn run(&self) -> Report {
        let symbols = self
            .symbols
            .clone()
            .unwrap_or_else(|| self.capture.symbols());
        let checks = Check::ALL
            .into_iter()
            .map(|check| {
                let result = match check {
                    Check::DescriptorIsValid => checks::descriptor(self.plugin, &self.settings),
                    Check::ResolvesWhatItSubscribes => {
                        checks::resolves(self.plugin, &self.settings, &symbols)
                    }
                    Check::AnswersEverySubscribe => {
                        checks::answers(self.plugin, &self.settings, self.capture)
                    }
                    Check::NeverPanicsOnMutatedFrames => checks::never_panics(
                        self.plugin,
                        &self.settings,
                        self.capture,
                        self.mutations,
                        self.chosen_seed(),
                    ),
                    Check::NeverPanicsOnMutatedRestAnswers => rest::rest_never_panics(
                        self.plugin,
                        &self.settings,
                        self.capture,
                        &self.rest_bodies,
                        symbols.first().map(String::as_str),
                        self.rest_mutations,
                        self.chosen_seed(),
                    ),
                    Check::StopsWithNoPendingWork => {
                        checks::stops(self.plugin, &self.settings, self.capture)
                    }
                };
                CheckResult {
                    check,
                    result: result.map_err(|m| format!("[{}] {m}", check.name())),
                }
            })
            .collect();
        Report {
            venue: self.plugin.venue().to_owned(),
            checks,
        }
    }
}
