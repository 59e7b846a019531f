//! A test kit for venue plugin authors: drive a plugin without the host, replay a recorded
//! session of its venue, assert what it produced, and run the conformance suite every
//! plugin of this project passes.
//!
//! # Using it from a plugin's own crate
//!
//! Add it as a dev-dependency next to `plugin-api` (same revision, so the `abi_stable`
//! versions match the host's):
//!
//! ```toml
//! [dev-dependencies]
//! plugin-testkit = { git = "https://…/venue-host", package = "plugin-testkit" }
//! ```
//!
//! Then drive the plugin, linked ([`Plugin::linked`], with the constructor you pass to
//! `export_venue_plugin!`) or as its built file ([`Plugin::load`], checked the way the host
//! checks it: layout, then `api_version`, naming both versions when they differ):
//!
//! ```no_run
//! use plugin_api::StreamKind;
//! use plugin_testkit::{conformance::Conformance, Capture, Plugin};
//!
//! let plugin = Plugin::load("target/debug/libmyvenue_plugin.so")?;
//! let settings = r#"{"symbols": ["BTC/USDT"]}"#;
//!
//! // By hand: open, subscribe, feed, assert.
//! let mut venue = plugin.harness(settings)?;
//! venue.start()?;
//! let conn = venue.open("public")?;
//! let frames = venue.subscribe(conn, &[(StreamKind::Trades, "BTC/USDT")])?;
//! assert_eq!(frames.len(), 1);
//! venue.feed_text(conn, r#"{"channel":"trades","data":{"p":"1.5","q":"2"}}"#)?;
//! venue.outcome().assert_count(StreamKind::Trades, 1).assert_no_rejects();
//!
//! // From a capture (see [`capture`] for the format).
//! let capture = Capture::from_file("tests/captures/session.jsonl")?;
//! let outcome = plugin.harness(settings)?.replay(&capture)?;
//! outcome.assert_some(StreamKind::Trades).assert_no_errors();
//!
//! // The conformance suite: descriptor, subscriptions, acks, mutated frames and REST
//! // answers, stop.
//! Conformance::new(&plugin, settings, &capture).run().assert_passed();
//! # Ok::<(), plugin_testkit::TestkitError>(())
//! ```
//!
//! A panic inside the plugin comes back through its guard as an error of kind
//! [`plugin_api::ErrorKind::Panic`]; the harness records it in the [`Outcome`] like any
//! other error ([`Outcome::panics`]), and the instance refuses later calls, as in the host.

pub mod capture;
pub mod conformance;
mod error;
mod harness;
mod outcome;
mod plugin;
mod replay;

pub use capture::{Capture, Op, Step};
pub use error::{CaptureError, LoadError, TestkitError};
pub use harness::{Harness, START_MS};
pub use outcome::{CallError, FrameResult, Outcome};
pub use plugin::Plugin;
