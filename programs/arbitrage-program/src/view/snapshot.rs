//! The data of one refresh of the view: each venue's health and counts, every venue's touch
//! per symbol, the spread of each direction, latency, decisions, orders and PnL. Built once
//! per refresh from the engine, the venues' health and the program's own counts; every view
//! renders it and computes nothing of its own.

use std::collections::VecDeque;

use arbitrage::spread::{display_bps, per_unit};
use arbitrage::{Engine, LatencyReport, Quote, Skip, Untradable, VenueId};
use host::exchange::{ExchangeError, VenueHealth};
use host::venue::{Health, State};
use plugin_api::{Decimal, Event, Symbol};

/// The window message rates are measured over.
const RATE_WINDOW_NS: u64 = 1_000_000_000;

/// Everything one refresh shows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Snapshot {
    /// Time since the program's counts started, ns.
    pub(crate) uptime_ns: u64,
    /// One row per venue, in the settings' order.
    pub(crate) venues: Vec<VenueRow>,
    /// One block per symbol, in the settings' order.
    pub(crate) symbols: Vec<SymbolRows>,
    /// Tick → decision and tick → sent percentiles.
    pub(crate) latency: LatencyReport,
    /// Decisions, skips, orders and fills.
    pub(crate) activity: Activity,
    /// Realized PnL and position per symbol.
    pub(crate) pnl: Vec<SymbolPnl>,
    /// Change of each asset per venue over the run.
    pub(crate) inventory: Vec<Holding>,
}

/// How a venue is doing, as its health call answered.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum VenueState {
    /// Running with every connection open.
    Up,
    /// Not (fully) up: its life-cycle state and the worst of its connections.
    Down {
        /// Life-cycle state.
        state: State,
        /// The worst connection.
        connections: Health,
    },
    /// The health call failed (the exchange is closing): why.
    Unknown(String),
}

/// One venue's row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct VenueRow {
    /// Instance name.
    pub(crate) name: String,
    /// Health.
    pub(crate) state: VenueState,
    /// The engine paused trading there after a gap in its account streams.
    pub(crate) paused: bool,
    /// Websocket connections opened.
    pub(crate) connects: u64,
    /// Connections lost.
    pub(crate) reconnects: u64,
    /// Gaps the program saw on the venue's streams.
    pub(crate) gaps: u64,
    /// Events the program received from the venue.
    pub(crate) messages: u64,
    /// Events per second over about the last second.
    pub(crate) rate: f64,
}

/// One symbol: every venue's touch and the spread of each direction.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SymbolRows {
    /// Normalized name.
    pub(crate) symbol: String,
    /// One per venue, in the settings' order.
    pub(crate) touches: Vec<TouchRow>,
    /// Each ordered pair of venues that both have a touch.
    pub(crate) directions: Vec<Direction>,
}

/// One venue's touch of a symbol.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TouchRow {
    /// Venue name.
    pub(crate) venue: String,
    /// The last touch received, if any.
    pub(crate) touch: Option<TouchQuote>,
}

/// A touch as the view shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TouchQuote {
    /// Best bid with its size.
    pub(crate) bid: Quote,
    /// Best ask with its size.
    pub(crate) ask: Quote,
    /// Time since the host received it, ns.
    pub(crate) age_ns: u64,
    /// Why it may not be traded on now, if so.
    pub(crate) untradable: Option<Untradable>,
}

/// Buying on one venue at its ask and selling on another at its bid.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Direction {
    /// Venue bought on.
    pub(crate) buy: String,
    /// Venue sold on.
    pub(crate) sell: String,
    /// Bid minus ask, in bps of the ask.
    pub(crate) gross_bps: Decimal,
    /// After both taker fees, in bps of the ask.
    pub(crate) net_bps: Decimal,
}

/// What the engine decided and what is open.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Activity {
    /// Symbol evaluations.
    pub(crate) evaluations: u64,
    /// Opportunities decided (both legs sent).
    pub(crate) opportunities: u64,
    /// Evaluations that decided nothing, by reason.
    pub(crate) skips: Vec<(Skip, u64)>,
    /// Opportunities with a leg not final yet.
    pub(crate) in_flight: usize,
    /// Legs not final that the venue acknowledged (they have an order id).
    pub(crate) open_orders: usize,
    /// Fills applied.
    pub(crate) fills: usize,
}

/// One symbol's result so far.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SymbolPnl {
    /// Normalized name.
    pub(crate) symbol: String,
    /// Quote asset, the unit of `realized`.
    pub(crate) quote: String,
    /// Realized PnL, fees included.
    pub(crate) realized: Decimal,
    /// Net base position over all venues.
    pub(crate) net_position: Decimal,
}

/// An asset's change on a venue.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Holding {
    /// Venue name.
    pub(crate) venue: String,
    /// Asset.
    pub(crate) asset: String,
    /// Change over the run.
    pub(crate) amount: Decimal,
}

/// Events per second of one venue, over a sliding window.
#[derive(Debug, Default)]
struct Rate {
    /// `(at_ns, total)` samples, oldest first; the first is the newest at least a window old.
    samples: VecDeque<(u64, u64)>,
}

impl Rate {
    /// Takes the running total at `now_ns` and returns the rate since the window's start.
    fn per_sec(&mut self, now_ns: u64, total: u64) -> f64 {
        self.samples.push_back((now_ns, total));
        while self
            .samples
            .get(1)
            .is_some_and(|&(at, _)| at.saturating_add(RATE_WINDOW_NS) <= now_ns)
        {
            self.samples.pop_front();
        }
        let (at, first) = self.samples[0];
        let span_ns = now_ns.saturating_sub(at);
        if span_ns == 0 {
            return 0.0;
        }
        total.saturating_sub(first) as f64 * 1e9 / span_ns as f64
    }
}

/// The program's own counts per venue, and the builder of snapshots.
#[derive(Debug)]
pub(crate) struct Tally {
    started_ns: u64,
    messages: Vec<u64>,
    gaps: Vec<u64>,
    rates: Vec<Rate>,
}

impl Tally {
    /// Counts for `venues` venues, starting at `now_ns`.
    pub(crate) fn new(venues: usize, now_ns: u64) -> Tally {
        Tally {
            started_ns: now_ns,
            messages: vec![0; venues],
            gaps: vec![0; venues],
            rates: (0..venues).map(|_| Rate::default()).collect(),
        }
    }

    /// Events taken from the venue at `index`.
    pub(crate) fn events(&self, index: usize) -> u64 {
        self.messages.get(index).copied().unwrap_or(0)
    }

    /// Gap markers taken from the venue at `index`.
    pub(crate) fn gaps(&self, index: usize) -> u64 {
        self.gaps.get(index).copied().unwrap_or(0)
    }

    /// Counts an event of `venue`.
    pub(crate) fn count(&mut self, venue: VenueId, event: &Event) {
        if let Some(n) = self.messages.get_mut(venue.index()) {
            *n += 1;
        }
        if matches!(event, Event::Gap(_)) {
            if let Some(n) = self.gaps.get_mut(venue.index()) {
                *n += 1;
            }
        }
    }

    /// The snapshot at `now_ns`: `health` holds each venue's answer in the settings' order.
    pub(crate) fn snapshot(
        &mut self,
        engine: &Engine,
        health: &[Result<VenueHealth, ExchangeError>],
        now_ns: u64,
    ) -> Snapshot {
        let config = engine.config();
        let venues = config
            .venue_ids()
            .zip(&config.venues)
            .map(|(id, settings)| self.venue_row(engine, id, &settings.name, health, now_ns))
            .collect();
        let symbols = config
            .symbols
            .iter()
            .filter_map(|s| Some(symbol_rows(engine, Symbol::new(&s.symbol)?, now_ns)))
            .collect();
        let (evaluations, opportunities, skips) = engine.counts();
        let ledger = engine.ledger();
        let activity = Activity {
            evaluations,
            opportunities,
            skips: skips.iter().map(|(s, n)| (*s, *n)).collect(),
            in_flight: ledger.in_flight(),
            open_orders: ledger.open_orders().len(),
            fills: ledger.trades().len(),
        };
        let pnl = config
            .symbols
            .iter()
            .filter_map(|s| {
                let market = s.market().ok()?;
                let book = ledger.book(market.symbol);
                Some(SymbolPnl {
                    symbol: s.symbol.clone(),
                    quote: market.quote,
                    realized: book.map_or(Decimal::ZERO, |b| b.position.realized()),
                    net_position: book.map_or(Decimal::ZERO, |b| b.position.net_qty()),
                })
            })
            .collect();
        let inventory = ledger
            .inventory()
            .map(|(v, asset, amount)| Holding {
                venue: venue_name(engine, v),
                asset: asset.to_owned(),
                amount,
            })
            .collect();
        Snapshot {
            uptime_ns: now_ns.saturating_sub(self.started_ns),
            venues,
            symbols,
            latency: LatencyReport::from(engine.latency()),
            activity,
            pnl,
            inventory,
        }
    }

    fn venue_row(
        &mut self,
        engine: &Engine,
        id: VenueId,
        name: &str,
        health: &[Result<VenueHealth, ExchangeError>],
        now_ns: u64,
    ) -> VenueRow {
        let i = id.index();
        let messages = self.messages.get(i).copied().unwrap_or(0);
        let rate = self
            .rates
            .get_mut(i)
            .map_or(0.0, |r| r.per_sec(now_ns, messages));
        let (state, connects, reconnects) = match health.get(i) {
            Some(Ok(h)) if h.is_up() => (VenueState::Up, h.stats.connects, h.stats.reconnects),
            Some(Ok(h)) => (
                VenueState::Down {
                    state: h.state,
                    connections: h.connections,
                },
                h.stats.connects,
                h.stats.reconnects,
            ),
            Some(Err(e)) => (VenueState::Unknown(e.to_string()), 0, 0),
            None => (VenueState::Unknown("no health".to_owned()), 0, 0),
        };
        VenueRow {
            name: name.to_owned(),
            state,
            paused: engine.is_paused(id),
            connects,
            reconnects,
            gaps: self.gaps.get(i).copied().unwrap_or(0),
            messages,
            rate,
        }
    }
}

fn venue_name(engine: &Engine, id: VenueId) -> String {
    engine
        .config()
        .venue(id)
        .map_or_else(|| format!("#{}", id.index()), |v| v.name.clone())
}

/// Every venue's touch of `symbol` and the spread of each direction between them.
fn symbol_rows(engine: &Engine, symbol: Symbol, now_ns: u64) -> SymbolRows {
    let config = engine.config();
    let touches = engine.touches();
    let rows = config
        .venue_ids()
        .map(|v| TouchRow {
            venue: venue_name(engine, v),
            touch: touches.get(v, symbol).map(|t| TouchQuote {
                bid: t.bid,
                ask: t.ask,
                age_ns: now_ns.saturating_sub(t.stamp.received_ns),
                untradable: touches.tradable(v, symbol, now_ns).err(),
            }),
        })
        .collect();
    let mut directions = Vec::new();
    for buy in config.venue_ids() {
        for sell in config.venue_ids().filter(|&s| s != buy) {
            let (Some(a), Some(b), Some(buyer), Some(seller)) = (
                touches.get(buy, symbol),
                touches.get(sell, symbol),
                config.venue(buy),
                config.venue(sell),
            ) else {
                continue;
            };
            let (ask, bid) = (a.ask.price, b.bid.price);
            if ask <= Decimal::ZERO || bid <= Decimal::ZERO {
                continue;
            }
            let Some((gross, net)) = per_unit(ask, buyer.taker_fee_bps, bid, seller.taker_fee_bps)
            else {
                continue;
            };
            directions.push(Direction {
                buy: buyer.name.clone(),
                sell: seller.name.clone(),
                gross_bps: display_bps(gross, ask),
                net_bps: display_bps(net, ask),
            });
        }
    }
    SymbolRows {
        symbol: symbol.to_string(),
        touches: rows,
        directions,
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
