//! The plugin kit: pure helpers for writing a venue plugin, compiled into the plugin.
//!
//! Nothing here crosses the ABI or touches the host: no threads, no runtime, no
//! thread-locals. Each module covers one chore every venue plugin has:
//!
//! - [`settings`]: parse `VenueConfig::settings_json` into your own struct, with errors that
//!   name the key and never echo a value; [`Credentials`] and [`AllowedSymbols`] for the
//!   usual keys.
//! - [`Descriptor`]: build the [`VenueDescriptor`](crate::VenueDescriptor) from what differs
//!   from the common case (one public websocket carrying market data); the resource graph
//!   and its stop order are derived and checked.
//! - [`output`]: [`Reject::new`](crate::Reject::new) with a bounded detail, convenient
//!   [`Output`](crate::Output) building, [`Gap`](crate::Gap) constructors.
//! - [`Symbols`]: normalized `BTC/USDT` ↔ the venue's spelling (`BTC_USDT`, `BTCUSDT`,
//!   `btcusdt`), with an optional allowed-symbols filter.
//! - [`batch`]: split a topic list into frames under a venue's per-message limits.
//! - [`Tags`]: REST tags of the plugin's own, apart from the host's.
//! - [`lookup`]: looking up an order whose outcome an answer left unknown, with the
//!   [`RetryPolicy`](crate::RetryPolicy) backoff and the verdicts.
//! - [`sizing`]: an order's size in the base asset or (market buys) the quote asset.
//!
//! # Examples
//!
//! A market-data venue's settings and descriptor:
//!
//! ```
//! use plugin_api::kit::{self, AllowedSymbols, Descriptor};
//! use plugin_api::StreamKind;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields, default)]
//! struct Settings {
//!     ws_url: String,
//!     symbols: AllowedSymbols,
//! }
//!
//! impl Default for Settings {
//!     fn default() -> Self {
//!         Settings { ws_url: "wss://stream.example.com/ws".into(), symbols: AllowedSymbols::default() }
//!     }
//! }
//!
//! let settings: Settings = kit::settings::parse("example", r#"{"symbols": ["BTC/USDT"]}"#)?;
//! let descriptor = Descriptor::new("example", "0.1.0")
//!     .public(&settings.ws_url, &[StreamKind::BookTicker, StreamKind::Trades])
//!     .build()?;
//! assert_eq!(descriptor.connections.len(), 1);
//! # Ok::<(), plugin_api::PluginError>(())
//! ```

pub mod batch;
mod descriptor;
pub mod lookup;
pub mod output;
pub mod settings;
pub mod sizing;
mod symbols;
mod tags;

pub use descriptor::{find_cycle, Conn, Descriptor, PRIVATE, PUBLIC, REST, STREAMS};
pub use settings::{AllowedSymbols, Credentials};
pub use symbols::{is_normalized, Case, Symbols, DEFAULT_QUOTES};
pub use tags::{TagOf, Tags};
