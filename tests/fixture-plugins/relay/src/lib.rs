//! Benchmark fixture plugin for venue `relay`: the host's own share of the pipeline cost.
//!
//! It declares one websocket connection (book tickers) at the configured `ws_url`, sends a
//! configured text frame per subscribed topic, and turns every received data frame into one
//! [`Event::BookTicker`] for the subscribed instrument **without reading the frame**: the
//! update id is a running frame count, the stamp carries the host's receive time, and the
//! prices are zero. Driven by a real venue (or simulator) at full speed, the consumer's rate
//! is then what socket → connection → driver → bus → queue → consumer costs without a
//! venue's protocol parsing (`tests/integration/benches/pipeline.rs`, "host overhead").
//!
//! Settings (JSON):
//! - `ws_url` (required): the websocket to connect to.
//! - `subscribe` (required): the text frame sent for each subscribed topic, with every
//!   `{symbol}` replaced by the venue symbol, e.g. for Gate.io
//!   `{"time":0,"channel":"spot.book_ticker","event":"subscribe","payload":["{symbol}"]}`.
//! - `symbol` (optional): the one normalized symbol served (`BTC/USDT`). Without it every
//!   `BASE/QUOTE` symbol resolves. Either way the venue spelling replaces `/` by `_`
//!   (`BTC_USDT`).
//! - `panic_every` (optional): panic on every N-th data frame, to exercise the host's
//!   supervision (each build counts its frames from zero).

use plugin_api::{
    BookTicker, ConnId, ConnectionDecl, Event, InFrame, Instrument, Num, OpenMode, OutFrame,
    Output, PluginError, ResourceDecl, ResourceKind, Stamp, StreamKind, Topic, Venue, VenueConfig,
    VenueDescriptor,
};
use serde::Deserialize;

/// The venue id served.
const VENUE: &str = "relay";
/// The connection's resource name.
const CONN: &str = "ws";
/// The queue between the connection's reader and the streams.
const QUEUE: &str = "queue";
/// The streams and their subscribers.
const STREAMS: &str = "streams";
/// Reconnect when nothing arrived for this long.
const STALE_AFTER_MS: u64 = 30_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    ws_url: String,
    subscribe: String,
    symbol: Option<String>,
    panic_every: Option<u64>,
}

struct Relay {
    settings: Settings,
    /// The instrument every frame is attributed to: the last one subscribed.
    instrument: Option<Instrument>,
    /// Data frames received so far (the events' `update_id`).
    frames: u64,
}

fn create(config: &VenueConfig) -> Result<Relay, PluginError> {
    let settings: Settings = serde_json::from_str(config.settings_json.as_str())
        .map_err(|e| PluginError::config(e.to_string()))?;
    if let Some(symbol) = &settings.symbol {
        instrument(symbol).ok_or_else(|| {
            PluginError::config(format!("`symbol` {symbol:?} is not a BASE/QUOTE symbol"))
        })?;
    }
    Ok(Relay {
        settings,
        instrument: None,
        frames: 0,
    })
}

/// `BASE/QUOTE` with the venue spelling `BASE_QUOTE`; `None` for anything else.
fn instrument(symbol: &str) -> Option<Instrument> {
    let (base, quote) = symbol.split_once('/')?;
    if base.is_empty() || quote.is_empty() || quote.contains('/') {
        return None;
    }
    Instrument::new(symbol, &symbol.replace('/', "_"))
}

impl Relay {
    /// The topic's instrument with its venue spelling filled in.
    fn complete(&self, topic: &Topic) -> Result<Instrument, PluginError> {
        if !topic.instrument.venue_symbol.is_empty() {
            return Ok(topic.instrument);
        }
        self.resolve(topic.instrument.symbol.as_str())
            .ok_or_else(|| {
                PluginError::unsupported(format!("unknown symbol {:?}", topic.instrument.symbol))
            })
    }
}

impl Venue for Relay {
    fn describe(&self) -> VenueDescriptor {
        VenueDescriptor {
            venue: VENUE.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            streams: vec![StreamKind::BookTicker].into(),
            trading: false,
            connections: vec![ConnectionDecl {
                name: CONN.into(),
                url: self.settings.ws_url.as_str().into(),
                open: OpenMode::OnDemand,
                kinds: vec![StreamKind::BookTicker].into(),
                max_subscriptions: 0,
                max_lifetime_ms: 0,
                max_outbound_per_sec: 0,
                heartbeat_ms: 0,
                stale_after_ms: STALE_AFTER_MS,
            }]
            .into(),
            rest: None.into(),
            rate_limits: Vec::new().into(),
            timers: Vec::new().into(),
            resources: vec![
                ResourceDecl::new(CONN, ResourceKind::Connection).depends_on(QUEUE),
                ResourceDecl::new(QUEUE, ResourceKind::MessageQueue).depends_on(STREAMS),
                ResourceDecl::new(STREAMS, ResourceKind::Stream).priority(45),
            ]
            .into(),
        }
    }

    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        match &self.settings.symbol {
            Some(only) if only != symbol => None,
            _ => instrument(symbol),
        }
    }

    fn subscribe(
        &mut self,
        _: ConnId,
        topics: &[Topic],
        _: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        let mut frames = Vec::with_capacity(topics.len());
        for topic in topics {
            let inst = self.complete(topic)?;
            frames.push(OutFrame::text(
                self.settings
                    .subscribe
                    .replace("{symbol}", inst.venue_symbol.as_str()),
            ));
            self.instrument = Some(inst);
        }
        Ok(frames)
    }

    /// Stops attributing frames to an unsubscribed instrument; sends nothing (the relay has
    /// no unsubscribe template, and the host closes a connection left without topics).
    fn unsubscribe(
        &mut self,
        _: ConnId,
        topics: &[Topic],
        _: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        for topic in topics {
            let symbol = topic.instrument.symbol;
            if self.instrument.is_some_and(|i| i.symbol == symbol) {
                self.instrument = None;
            }
        }
        Ok(Vec::new())
    }

    fn on_frame(
        &mut self,
        _: ConnId,
        _frame: InFrame<'_>,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        self.frames += 1;
        if self
            .settings
            .panic_every
            .is_some_and(|n| self.frames.is_multiple_of(n.max(1)))
        {
            panic!("relay panic on frame {}", self.frames);
        }
        let Some(instrument) = self.instrument else {
            return Ok(Output::default());
        };
        let ticker = BookTicker {
            instrument,
            bid_price: Num::ZERO,
            bid_qty: Num::ZERO,
            ask_price: Num::ZERO,
            ask_qty: Num::ZERO,
            update_id: self.frames,
            stamp: Stamp {
                venue_ts_ms: 0,
                received_ns,
            },
        };
        Ok(Output {
            events: vec![Event::BookTicker(ticker)].into(),
            ..Output::default()
        })
    }
}

plugin_api::export_venue_plugin!(venue: VENUE, create: create);
