//! Binance spot market data (`<symbol>@bookTicker`, `<symbol>@trade`) behind
//! [`plugin_api::Venue`]: the smallest complete venue plugin, written with
//! [`plugin_api::kit`] as a template for new venues.
//!
//! The host answers the server's pings, reconnects, resubscribes, paces outbound frames and
//! reports gaps; this plugin builds `SUBSCRIBE`/`UNSUBSCRIBE` requests and parses frames.

mod parse;

use plugin_api::kit::{self, AllowedSymbols, Case, Conn, Descriptor, Symbols};
use plugin_api::{
    ConnId, FrameKind, InFrame, Instrument, OutFrame, Output, PluginError, StreamKind, Topic,
    Venue, VenueConfig, VenueDescriptor,
};
use serde::Deserialize;

/// The public market-data endpoint; live `SUBSCRIBE` requests choose the streams.
pub const DEFAULT_WS_URL: &str = "wss://stream.binance.com:9443/ws";
/// The kinds this plugin serves.
pub const KINDS: [StreamKind; 2] = [StreamKind::BookTicker, StreamKind::Trades];

/// The settings (`VenueConfig::settings_json`): every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The websocket URL; [`DEFAULT_WS_URL`] if not given.
    pub ws_url: Option<String>,
    /// If not empty, the only normalized symbols served.
    pub symbols: AllowedSymbols,
}

/// One Binance venue instance.
#[derive(Debug)]
pub struct Binance {
    descriptor: VenueDescriptor,
    /// `BTC/USDT` ↔ `btcusdt` (stream names; payloads say `BTCUSDT`).
    symbols: Symbols,
    /// The id of the last request sent.
    last_id: u64,
}

impl Binance {
    /// An instance from the host's configuration: the constructor the plugin exports.
    pub fn from_config(config: &VenueConfig) -> Result<Binance, PluginError> {
        let s: Settings = kit::settings::parse("binance", &config.settings_json)?;
        let url = s.ws_url.as_deref().unwrap_or(DEFAULT_WS_URL);
        kit::settings::check_url("binance", "ws_url", url, &["ws://", "wss://"])?;
        // The venue's rules: 1024 streams per connection; over 5 incoming messages a second
        // (pongs included) it disconnects; it ends connections at 24 h; it pings every 20 s.
        let public = Conn::public(url, &KINDS)
            .max_subscriptions(1024)
            .max_outbound_per_sec(4)
            .max_lifetime_ms(47 * 30 * 60_000)
            .stale_after_ms(60_000);
        Ok(Binance {
            descriptor: Descriptor::new("binance", env!("CARGO_PKG_VERSION"))
                .connection(public)
                .build()?,
            symbols: Symbols::joined()
                .case(Case::Lower)
                .any_case()
                .allow(s.symbols),
            last_id: 0,
        })
    }

    /// One request naming every topic's stream (`btcusdt@trade`); the connection carries at
    /// most 1024 streams, which one request takes.
    fn request(&mut self, method: &str, topics: &[Topic]) -> Result<Vec<OutFrame>, PluginError> {
        let params = self.symbols.channels("binance", topics, |kind, i| {
            let suffix = match kind {
                StreamKind::BookTicker => "bookTicker",
                StreamKind::Trades => "trade",
                _ => return None,
            };
            Some(format!("{}@{suffix}", i.venue_symbol))
        })?;
        if params.is_empty() {
            return Ok(Vec::new());
        }
        self.last_id += 1;
        let request = serde_json::json!({"method": method, "params": params, "id": self.last_id});
        Ok(vec![OutFrame::text(request.to_string())])
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
        ns: u64,
    ) -> Result<Output, PluginError> {
        let mut out = Output::default();
        match frame.kind {
            FrameKind::Text => parse::frame(&frame.data, &self.symbols, conn, ns, &mut out),
            FrameKind::Binary => out.reject("unsupported_format", "binary frame"),
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
