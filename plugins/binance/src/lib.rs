//! Binance spot market data (`<symbol>@bookTicker`, `<symbol>@trade`) behind
//! [`plugin_api::Venue`]: the smallest complete venue plugin, meant as a template.
//!
//! [`settings`] reads the settings, [`symbols`] maps `BTC/USDT` ↔ `BTCUSDT`/`btcusdt`,
//! [`describe`] declares one public connection, [`parse`] turns frames into events. The host
//! answers the server's pings, reconnects, resubscribes, paces outbound frames and emits
//! the gap events; this crate only builds `SUBSCRIBE`/`UNSUBSCRIBE` frames and parses.

pub mod describe;
pub mod parse;
pub mod settings;
pub mod symbols;

use std::collections::HashMap;

use plugin_api::{
    Action, ConnId, FrameKind, InFrame, Instrument, OutFrame, Output, PluginError, Reject,
    StreamKind, Symbol, Topic, Venue, VenueConfig, VenueDescriptor,
};

use crate::parse::Parsed;
use crate::settings::Settings;

/// One Binance venue instance.
#[derive(Debug)]
pub struct Binance {
    settings: Settings,
    /// Instruments subscribed so far, by venue symbol (`BTCUSDT`), to name payloads.
    instruments: HashMap<Symbol, Instrument>,
    next_id: u64,
}

impl Binance {
    /// An instance from parsed settings.
    pub fn new(settings: Settings) -> Binance {
        Binance {
            settings,
            instruments: HashMap::new(),
            next_id: 1,
        }
    }

    /// An instance from the host's configuration (also the constructor of a built-in).
    pub fn from_config(config: &VenueConfig) -> Result<Binance, PluginError> {
        Ok(Binance::new(Settings::from_json(
            config.settings_json.as_str(),
        )?))
    }

    /// One request (`SUBSCRIBE`/`UNSUBSCRIBE`) naming every topic's stream. The connection
    /// carries at most 1024 streams (the descriptor's limit), so one frame always fits.
    fn request(&mut self, method: &str, topics: &[Topic]) -> Result<Vec<OutFrame>, PluginError> {
        let mut params = Vec::with_capacity(topics.len());
        for t in topics {
            let i = self.resolve(t.instrument.symbol.as_str()).ok_or_else(|| {
                PluginError::unsupported(format!("binance: no market {}", t.instrument.symbol))
            })?;
            let suffix = match t.kind {
                StreamKind::BookTicker => "bookTicker",
                StreamKind::Trades => "trade",
                other => {
                    return Err(PluginError::unsupported(format!(
                        "binance: no {} stream",
                        other.name()
                    )))
                }
            };
            self.instruments.insert(i.venue_symbol, i);
            params.push(symbols::stream_name(i.venue_symbol.as_str(), suffix));
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
        describe::descriptor(&self.settings.ws_url)
    }

    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        let listed =
            self.settings.symbols.is_empty() || self.settings.symbols.iter().any(|s| s == symbol);
        symbols::from_normalized(symbol).filter(|_| listed)
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
        let lookup = |s: &str| Symbol::new(s).and_then(|s| self.instruments.get(&s).copied());
        let parsed = match frame.kind {
            FrameKind::Text => parse::parse(frame.data.as_slice(), &lookup, received_ns),
            FrameKind::Binary => Err(("unsupported_format", "binary frame".to_owned())),
        };
        match parsed {
            Ok(Parsed::Event(e)) => out.events.push(e),
            Ok(Parsed::Answer) => {}
            // The server is about to close: move to a new connection now (consumers see a gap).
            Ok(Parsed::Shutdown) => out.actions.push(Action::Reconnect(conn)),
            Err((reason, detail)) => out.rejects.push(Reject {
                reason: reason.into(),
                detail: detail.into(),
            }),
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
