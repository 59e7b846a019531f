//! Binance spot market data (`<symbol>@bookTicker`, `<symbol>@trade`) behind
//! [`plugin_api::Venue`]: the smallest complete venue plugin, written with
//! [`plugin_api::kit`] as a template.
//!
//! This file holds the settings, the descriptor and the `Venue` impl; [`parse`] turns frames
//! into events. The host answers the server's pings, reconnects, resubscribes, paces
//! outbound frames and emits the gap events; the plugin builds `SUBSCRIBE`/`UNSUBSCRIBE`
//! frames and parses.

pub mod parse;

use plugin_api::kit::{self, AllowedSymbols, Case, Conn, Descriptor, Symbols};
use plugin_api::{
    Action, ConnId, FrameKind, InFrame, Instrument, OutFrame, Output, PluginError, StreamKind,
    Topic, Venue, VenueConfig, VenueDescriptor,
};
use serde::Deserialize;

use crate::parse::Parsed;

/// The public market-data endpoint; live `SUBSCRIBE` requests choose the streams.
pub const DEFAULT_WS_URL: &str = "wss://stream.binance.com:9443/ws";
/// The kinds this plugin serves.
pub const KINDS: [StreamKind; 2] = [StreamKind::BookTicker, StreamKind::Trades];

/// The settings (`VenueConfig::settings_json`): every key optional, unknown keys refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The websocket URL.
    pub ws_url: String,
    /// If not empty, the only normalized symbols `resolve` accepts.
    pub symbols: AllowedSymbols,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ws_url: DEFAULT_WS_URL.into(),
            symbols: AllowedSymbols::ALL,
        }
    }
}

/// Binance allows 1024 streams per connection and 5 incoming messages per second (pongs
/// included), and ends a connection at 24 h: rotate before it, send at most 4 frames a
/// second, and count the server's pings (every 20 s) as traffic for staleness.
fn descriptor(ws_url: &str) -> Result<VenueDescriptor, PluginError> {
    let public = Conn::public(ws_url, &KINDS)
        .max_subscriptions(1024)
        .max_outbound_per_sec(4)
        .max_lifetime_ms(23 * 3_600_000 + 30 * 60_000)
        .stale_after_ms(60_000);
    Descriptor::new("binance", env!("CARGO_PKG_VERSION"))
        .connection(public)
        .build()
}

/// One Binance venue instance.
#[derive(Debug)]
pub struct Binance {
    descriptor: VenueDescriptor,
    /// `BTC/USDT` ↔ `btcusdt` (stream names; payloads say `BTCUSDT`).
    symbols: Symbols,
    next_id: u64,
}

impl Binance {
    /// An instance from parsed settings.
    pub fn new(settings: Settings) -> Result<Binance, PluginError> {
        if !settings.ws_url.starts_with("ws://") && !settings.ws_url.starts_with("wss://") {
            return Err(PluginError::config(
                "binance settings: `ws_url` must be a ws:// or wss:// URL",
            ));
        }
        Ok(Binance {
            descriptor: descriptor(&settings.ws_url)?,
            symbols: Symbols::joined()
                .case(Case::Lower)
                .any_case()
                .allow(settings.symbols),
            next_id: 1,
        })
    }

    /// An instance from the host's configuration (also the constructor of a built-in).
    pub fn from_config(config: &VenueConfig) -> Result<Binance, PluginError> {
        Binance::new(kit::settings::parse(
            "binance",
            config.settings_json.as_str(),
        )?)
    }

    /// One request (`SUBSCRIBE`/`UNSUBSCRIBE`) naming every topic's stream. The connection
    /// carries at most 1024 streams (the descriptor's limit), so one frame always fits.
    fn request(&mut self, method: &str, topics: &[Topic]) -> Result<Vec<OutFrame>, PluginError> {
        let mut params = Vec::with_capacity(topics.len());
        for t in topics {
            let (kind, symbol) = (t.kind.name(), t.instrument.symbol);
            let unsupported =
                || PluginError::unsupported(format!("binance: no {kind} for {symbol}"));
            let i = self
                .resolve(t.instrument.symbol.as_str())
                .ok_or_else(unsupported)?;
            let suffix = match t.kind {
                StreamKind::BookTicker => "bookTicker",
                StreamKind::Trades => "trade",
                _ => return Err(unsupported()),
            };
            params.push(format!("{}@{suffix}", i.venue_symbol));
        }
        if params.is_empty() {
            return Ok(Vec::new());
        }
        let id = self.next_id;
        self.next_id += 1;
        let req = serde_json::json!({"method": method, "params": params, "id": id});
        Ok(vec![OutFrame::text(req.to_string())])
    }
}

impl Venue for Binance {
    fn describe(&self) -> VenueDescriptor {
        self.descriptor.clone()
    }

    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        self.symbols.resolve(symbol)
    }

    fn subscribe(
        &mut self,
        _: ConnId,
        topics: &[Topic],
        _: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        self.request("SUBSCRIBE", topics)
    }

    fn unsubscribe(
        &mut self,
        _: ConnId,
        topics: &[Topic],
        _: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        self.request("UNSUBSCRIBE", topics)
    }

    fn on_frame(
        &mut self,
        conn: ConnId,
        frame: InFrame<'_>,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        let lookup = |s: &str| self.symbols.from_venue(s);
        let parsed = match frame.kind {
            FrameKind::Text => parse::parse(frame.data.as_slice(), &lookup, received_ns),
            FrameKind::Binary => Err(("unsupported_format", "binary frame".to_owned())),
        };
        match parsed {
            Ok(Parsed::Event(e)) => out.event(e),
            Ok(Parsed::Answer) => {}
            // The server is about to close: move to a new connection now (consumers see a gap).
            Ok(Parsed::Shutdown) => out.action(Action::Reconnect(conn)),
            Err((reason, detail)) => out.reject(reason, detail),
        }
        Ok(out)
    }
}

/// The exported root module (the macro's items carry no docs of their own).
#[cfg(feature = "export")]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod plugin_export {
    plugin_api::export_venue_plugin!(venue: "binance", create: crate::Binance::from_config);
}
