//! Shared by the kit's tests: the workspace's venue plugins as built files, and their
//! conformance subjects (settings and capture).

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use plugin_testkit::{Capture, Plugin};

/// A plugin of this workspace the suite runs on.
pub struct Subject {
    /// Its cargo package.
    pub package: &'static str,
    /// Its library name (`lib<lib>.so`).
    pub lib: &'static str,
    /// Its recorded session, relative to the workspace.
    pub capture: &'static str,
    /// Its settings for the session.
    pub settings: &'static str,
    /// The venue's documented REST answers (JSONL with a `json` field), relative to the
    /// workspace: bodies the REST mutations start from.
    pub rest_examples: Option<&'static str>,
}

/// Every plugin in the workspace that serves a venue (the venues and the pipeline bench's
/// `relay`; the other fixture plugins are built broken on purpose). Adding one is one line
/// here, plus its capture.
pub const SUBJECTS: &[Subject] = &[
    Subject {
        package: "gateio-plugin",
        lib: "gateio_plugin",
        capture: "plugin-testkit/captures/gateio/session.jsonl",
        settings: r#"{"symbols":["BTC/USDT","HAI/ETH","OMG/USDT"],"credentials":{"api_key":"k","api_secret":"s"}}"#,
        rest_examples: Some("tests/fixtures/venues/gateio/samples/doc_rest_examples.jsonl"),
    },
    Subject {
        package: "mexc-plugin",
        lib: "mexc_plugin",
        capture: "plugin-testkit/captures/mexc/session.jsonl",
        settings: r#"{"symbols":[{"symbol":"BTCUSDT","base":"BTC","quote":"USDT"}],"fetch_exchange_info":false,"depth":"limit","depth_levels":5,"credentials":{"api_key":"k","api_secret":"s"}}"#,
        rest_examples: Some("tests/fixtures/venues/mexc/samples/doc_rest_examples.jsonl"),
    },
    Subject {
        package: "binance-plugin",
        lib: "binance_plugin",
        capture: "plugins/binance/tests/captures/session.jsonl",
        settings: "{}",
        rest_examples: None,
    },
    Subject {
        package: "fixture-relay",
        lib: "fixture_relay",
        capture: "plugin-testkit/captures/relay/session.jsonl",
        settings: r#"{"ws_url":"ws://127.0.0.1:9/ws","subscribe":"sub {symbol}","symbol":"BTC/USDT"}"#,
        rest_examples: None,
    },
];

/// Fixture plugins the tests load besides the venues.
const FIXTURES: &[&str] = &["fixture-wrong-api"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds every subject's file (once per test process) into a target folder of its own, so
/// it never waits on the lock of the `cargo test` running us.
fn built() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = workspace().join("target/testkit-plugins");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace())
            .args(["build", "--quiet"])
            .env("CARGO_TARGET_DIR", &target);
        for p in SUBJECTS
            .iter()
            .map(|s| s.package)
            .chain(FIXTURES.iter().copied())
        {
            cmd.args(["-p", p]);
        }
        let status = cmd.status().expect("running cargo build for the plugins");
        assert!(status.success(), "building the plugins failed");
        target.join("debug")
    })
}

/// The built file of a library.
pub fn file(lib: &str) -> PathBuf {
    built().join(format!("lib{lib}.so"))
}

/// A subject's plugin, loaded from its file.
pub fn load(subject: &Subject) -> Plugin {
    Plugin::load(file(subject.lib)).unwrap_or_else(|e| panic!("{e}"))
}

/// A subject's capture.
pub fn capture(subject: &Subject) -> Capture {
    let path = workspace().join(subject.capture);
    Capture::from_file(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The subject with this package name.
pub fn subject(package: &str) -> &'static Subject {
    SUBJECTS.iter().find(|s| s.package == package).unwrap()
}

/// The subject's documented REST answer bodies (none without examples).
pub fn rest_examples(subject: &Subject) -> Vec<String> {
    let Some(path) = subject.rest_examples else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(workspace().join(path)).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("json").map(|j| j.to_string()))
        .collect()
}
