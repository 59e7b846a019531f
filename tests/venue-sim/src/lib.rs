//! Venue simulator: serves the MEXC spot v3 or Gate.io spot v4 websocket and REST protocols (or
//! Binance spot's public market streams) on
//! loopback, from replayed real captures or a synthetic random walk, with simulated trading,
//! fault injection and counters for tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), venue_sim::SimError> {
//! use venue_sim::{SimConfig, Simulator, Venue};
//! let sim = Simulator::start(SimConfig::new(Venue::Gateio), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("ws: {}  rest: {}", sim.ws_url(), sim.rest_url());
//! sim.faults().set_silent(true);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod binance;
pub mod crossing;
pub mod faults;
pub mod gateio;
pub mod mexc;
pub mod replay;
pub mod stats;

mod config;
mod http;
mod market;
mod synthetic;
mod topics;
mod trading;
mod ws;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{BinanceLimits, Credential, Fees, MexcLimits, SimConfig, Source, Venue};
pub use crossing::{Crossing, PriceModel, Quote};
pub use faults::{AcceptMode, Faults, Kick, RestFault};
pub use market::Symbol;
pub use stats::{Stats, StatsSnapshot};

use crate::http::App;
use crate::market::Market;
use crate::replay::Replay;
use crate::synthetic::{Generator, Prices, Render};
use crate::topics::TopicTable;
use crate::trading::Exchange;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// Only loopback addresses may be served.
    #[error("venue-sim serves loopback only, refusing to bind {addr}")]
    NotLoopback {
        /// The requested address.
        addr: SocketAddr,
    },
    /// Binding the listening socket failed.
    #[error("venue-sim could not bind {addr}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No symbols configured for the synthetic source.
    #[error("venue-sim synthetic source needs at least one symbol")]
    NoSymbols,
    /// The fee rates cannot be charged.
    #[error("venue-sim fees: {reason}")]
    InvalidFees {
        /// What is wrong.
        reason: &'static str,
    },
    /// The crossing schedule's values cannot make one.
    #[error("venue-sim crossing: {reason}")]
    InvalidCrossing {
        /// What is wrong.
        reason: &'static str,
    },
}

/// The state of an order in the simulator's matching engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimOrderStatus {
    /// Resting on the book.
    Open,
    /// Filled in full.
    Filled,
    /// Cancelled (possibly after partial fills).
    Cancelled,
}

/// One order as the simulator's matching engine holds it ([`SimHandle::orders`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimOrder {
    /// The venue's order id.
    pub id: u64,
    /// The client's id given when it was placed.
    pub client_id: String,
    /// Its state now.
    pub status: SimOrderStatus,
}

/// Entry point: [`Simulator::start`].
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Bind `bind` (loopback only; port 0 picks a free port) and start serving `config`.
    pub async fn start(config: SimConfig, bind: SocketAddr) -> Result<SimHandle, SimError> {
        if !bind.ip().is_loopback() {
            return Err(SimError::NotLoopback { addr: bind });
        }
        if config.symbols.is_empty() && config.source != config::Source::Replay {
            return Err(SimError::NoSymbols);
        }
        config
            .fees
            .check()
            .map_err(|reason| SimError::InvalidFees { reason })?;
        if let Some(c) = &config.crossing {
            c.check()
                .map_err(|reason| SimError::InvalidCrossing { reason })?;
        }
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| SimError::Bind { addr: bind, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr: bind, source })?;

        let faults = Faults::new();
        let stats = Stats::default();
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let mut table = TopicTable::default();
        let replay = match config.source {
            config::Source::Replay | config::Source::ReplayThenSynthetic => {
                Some(Arc::new(Replay::build(config.venue, &mut table)))
            }
            config::Source::Synthetic => None,
        };
        // Synthetic updates that follow captured ones are numbered above them.
        let first_seq = replay.as_ref().map_or(0, |r| r.max_id() + 1).max(1_000_000);
        let market = Market::new(config.symbols.clone(), config.book_levels, first_seq);
        let creds: Vec<(String, String)> = config
            .credentials
            .iter()
            .map(|c| (c.key.clone(), c.secret.clone()))
            .collect();
        let exchange = Arc::new(Exchange::new(
            market.clone(),
            &creds,
            &config.initial_balances,
            config.fees,
        ));

        let render: Option<Box<dyn Render>> = match config.source {
            config::Source::Replay => None,
            config::Source::Synthetic | config::Source::ReplayThenSynthetic => {
                Some(match config.venue {
                    Venue::Gateio => Box::new(gateio::render::GateRender::new(
                        &market.symbols,
                        &mut table,
                        config.gate_full_every,
                    )),
                    Venue::Mexc => {
                        Box::new(mexc::render::MexcRender::new(&market.symbols, &mut table))
                    }
                    Venue::Binance => Box::new(binance::render::BinanceRender::new(
                        &market.symbols,
                        &mut table,
                    )),
                })
            }
        };
        let topics = Arc::new(table);
        let market_tx = render.map(|render| {
            let (tx, _) = broadcast::channel(synthetic::batch_capacity(config.rate));
            let prices = match config.crossing {
                Some(c) => Prices::Crossing {
                    model: PriceModel::new(config.seed, c, &market.symbols),
                    venue: config.venue,
                    levels: config.book_levels,
                },
                None => Prices::RandomWalk,
            };
            let gen = Generator::new(
                market.clone(),
                exchange.clone(),
                topics.clone(),
                render,
                config.seed,
                faults.clone(),
                prices,
            );
            tracker.spawn(gen.run(config.rate, tx.clone(), cancel.clone()));
            tx
        });

        let venue = config.venue;
        let app = Arc::new(App {
            cfg: config,
            faults: faults.clone(),
            stats: stats.clone(),
            cancel: cancel.clone(),
            tracker: tracker.clone(),
            topics,
            market_tx,
            replay,
            market,
            exchange,
            listen_keys: Mutex::new(HashMap::new()),
        });
        let orders = app.exchange.clone();
        tracker.spawn(http::accept_loop(listener, app));
        tracing::info!(venue = ?venue, addr = %local_addr, "venue-sim started");
        Ok(SimHandle {
            orders,
            venue,
            local_addr,
            faults,
            stats,
            cancel,
            tracker,
        })
    }
}

/// A running simulator. Dropping it cancels every task; [`SimHandle::shutdown`] also waits
/// for them.
#[derive(Debug)]
pub struct SimHandle {
    orders: Arc<Exchange>,
    venue: Venue,
    local_addr: SocketAddr,
    faults: Faults,
    stats: Stats,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl SimHandle {
    /// The bound address (REST and websocket share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The venue's public websocket URL: `ws://ADDR/ws/v4/` (Gate) or `ws://ADDR/ws` (MEXC,
    /// Binance).
    pub fn ws_url(&self) -> String {
        match self.venue {
            Venue::Gateio => format!("ws://{}/ws/v4/", self.local_addr),
            Venue::Mexc | Venue::Binance => format!("ws://{}/ws", self.local_addr),
        }
    }

    /// The REST base URL: `http://ADDR/api/v4` (Gate) or `http://ADDR` (MEXC, paths start
    /// with `/api/v3`; Binance, which serves no REST).
    pub fn rest_url(&self) -> String {
        match self.venue {
            Venue::Gateio => format!("http://{}/api/v4", self.local_addr),
            Venue::Mexc | Venue::Binance => format!("http://{}", self.local_addr),
        }
    }

    /// Fault switches.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Counters and subscription sets.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Every order of the account with API key `key` (open and finished), oldest first, as
    /// the simulator's matching engine sees it; empty for an unknown key.
    pub fn orders(&self, key: &str) -> Vec<SimOrder> {
        self.orders
            .orders(key, None)
            .unwrap_or_default()
            .into_iter()
            .map(|o| SimOrder {
                id: o.id,
                client_id: o.client_id,
                status: match o.status {
                    trading::OrderStatus::Open => SimOrderStatus::Open,
                    trading::OrderStatus::Filled => SimOrderStatus::Filled,
                    trading::OrderStatus::Cancelled => SimOrderStatus::Cancelled,
                },
            })
            .collect()
    }

    /// Stop accepting, close every connection (with a close frame) and wait for all tasks.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        tracing::info!(addr = %self.local_addr, "venue-sim stopped");
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.tracker.close();
    }
}
