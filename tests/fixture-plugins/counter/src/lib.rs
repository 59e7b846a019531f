//! Test fixture plugin for venue `fixture`: no network, a timer that emits one trade per
//! tick. Its settings turn on the fault cases the host must survive: a callback that
//! panics, a callback that blocks (a resource that never honours cancellation), and a
//! `start` that fails after the settings were accepted.
//! Built twice (`fixture-counter` 1.0.0 and `fixture-counter-v2` 2.0.0) with different
//! trade ids, so a reload is observable; `fixture-counter-alt` serves venue `fixture-alt`.

use plugin_api::{
    Action, ConnId, Event, InFrame, Instrument, Num, OutFrame, Output, PluginError, ResourceDecl,
    ResourceKind, Side, Stamp, StreamKind, TimerDecl, Topic, Trade, Venue, VenueConfig,
    VenueDescriptor,
};
use serde::Deserialize;

/// Trade ids start with this, per build.
const BUILD: &str = if cfg!(feature = "v2") { "v2" } else { "v1" };

/// The venue id served: `fixture`, or `fixture-alt` for the `alt` build (a second plugin
/// that can run beside the first).
const VENUE: &str = if cfg!(feature = "alt") {
    "fixture-alt"
} else {
    "fixture"
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_period")]
    period_ms: u64,
    #[serde(default = "default_symbol")]
    symbol: String,
    /// Panic in the tick callback once this many ticks happened.
    panic_after: Option<u64>,
    /// Block the calling thread this long in every tick callback.
    block_ms: Option<u64>,
    /// Stop timeout of the tick timer resource.
    tick_stop_timeout_ms: Option<u64>,
    /// Trades emitted per tick (default 1): a high message rate without a faster timer.
    #[serde(default = "default_burst")]
    burst: u64,
    /// Refuse to start: settings the constructor accepts and that fail only at `start`.
    #[serde(default)]
    fail_start: bool,
}

fn default_burst() -> u64 {
    1
}

fn default_period() -> u64 {
    5
}

fn default_symbol() -> String {
    "TEST/USD".into()
}

struct Counter {
    settings: Settings,
    instrument: Instrument,
    ticks: u64,
}

fn create(config: &VenueConfig) -> Result<Counter, PluginError> {
    let text = config.settings_json.as_str();
    let text = if text.trim().is_empty() { "{}" } else { text };
    let settings: Settings =
        serde_json::from_str(text).map_err(|e| PluginError::config(e.to_string()))?;
    let venue_symbol = settings.symbol.replace('/', "_");
    let instrument = Instrument::new(&settings.symbol, &venue_symbol)
        .ok_or_else(|| PluginError::config("`symbol` is too long"))?;
    Ok(Counter {
        settings,
        instrument,
        ticks: 0,
    })
}

impl Venue for Counter {
    fn describe(&self) -> VenueDescriptor {
        let mut tick = ResourceDecl::new("tick", ResourceKind::Timer).depends_on("streams");
        tick.stop_timeout_ms = self.settings.tick_stop_timeout_ms.into();
        VenueDescriptor {
            venue: VENUE.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            streams: vec![StreamKind::Trades].into(),
            trading: false,
            connections: Vec::new().into(),
            rest: None.into(),
            rate_limits: Vec::new().into(),
            timers: vec![TimerDecl {
                name: "tick".into(),
                period_ms: self.settings.period_ms,
            }]
            .into(),
            resources: vec![
                ResourceDecl::new("handlers", ResourceKind::HandlerBinding),
                tick,
                ResourceDecl::new("streams", ResourceKind::Stream),
            ]
            .into(),
        }
    }

    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        (symbol == self.instrument.symbol.as_str()).then_some(self.instrument)
    }

    fn start(&mut self, _now_ms: u64) -> Result<Output, PluginError> {
        if self.settings.fail_start {
            return Err(PluginError::config("fixture: `fail_start` is set"));
        }
        Ok(Output {
            actions: vec![Action::ArmTimer("tick".into())].into(),
            ..Output::default()
        })
    }

    fn subscribe(&mut self, _: ConnId, _: &[Topic], _: u64) -> Result<Vec<OutFrame>, PluginError> {
        Ok(Vec::new())
    }

    fn unsubscribe(
        &mut self,
        _: ConnId,
        _: &[Topic],
        _: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        Ok(Vec::new())
    }

    fn on_frame(&mut self, _: ConnId, _: InFrame<'_>, _: u64) -> Result<Output, PluginError> {
        Ok(Output::default())
    }

    fn on_timer(&mut self, _name: &str, now_ms: u64) -> Result<Output, PluginError> {
        self.ticks += 1;
        if self.settings.panic_after.is_some_and(|n| self.ticks > n) {
            panic!("fixture panic on tick {}", self.ticks);
        }
        if let Some(ms) = self.settings.block_ms {
            // Deliberately blocks the host's thread: a callback that ignores cancellation.
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let qty = Num::parse("1").map_err(|e| PluginError::protocol(e.to_string()))?;
        let burst = self.settings.burst.max(1);
        let mut events = Vec::with_capacity(burst as usize);
        for n in 0..burst {
            // Ids stay `{BUILD}-{tick}` for one trade per tick, `{BUILD}-{tick}.{n}` beyond.
            let trade_id = if burst == 1 {
                format!("{BUILD}-{}", self.ticks)
            } else {
                format!("{BUILD}-{}.{n}", self.ticks)
            };
            events.push(Event::Trade(Trade {
                instrument: self.instrument,
                trade_id: trade_id.into(),
                price: Num::from(plugin_api::Decimal::from(self.ticks)),
                qty,
                side: Side::Buy,
                trade_ts_ms: now_ms,
                stamp: Stamp {
                    venue_ts_ms: now_ms,
                    received_ns: now_ms * 1_000_000,
                },
            }));
        }
        Ok(Output {
            events: events.into(),
            ..Output::default()
        })
    }
}

plugin_api::export_venue_plugin!(venue: VENUE, create: create);
