//! Simulator configuration: venue, data source, symbols, rates, limits and credentials.

use std::time::Duration;

use rust_decimal::Decimal;

use crate::crossing::Crossing;
use crate::market::Symbol;

/// Which venue's protocol to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Venue {
    /// Gate.io spot v4 (JSON websocket at `/ws/v4/`, REST under `/api/v4`).
    Gateio,
    /// MEXC spot v3 (protobuf websocket at `/ws`, REST under `/api/v3`).
    Mexc,
    /// Binance spot public market streams (JSON websocket at `/ws`, `/ws/<stream>` and
    /// `/stream?streams=..`; book tickers and trades only, no REST).
    Binance,
}

/// Where market data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The real captures in `tests/fixtures/venues`, timestamps shifted to now.
    Replay,
    /// A random walk of each symbol's book, or the cross-venue model with `crossing`.
    Synthetic,
    /// Each subscribed stream's real captures first (most streams have none), then its
    /// synthetic data, numbered above every captured id.
    //
    // Only the configured symbols are served. A consumer sees the switch as a forward gap
    // and resynchronises its book from a REST snapshot (of the synthetic book).
    ReplayThenSynthetic,
}

/// MEXC connection rules; the defaults are the documented values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MexcLimits {
    /// Subscriptions allowed per connection (documented: 30).
    pub max_subscriptions: usize,
    /// Close a connection that has had no subscription for this long (documented: 30 s).
    pub no_subscription_timeout: Duration,
    /// Close a subscribed connection with no traffic either way for this long (documented: 60 s).
    pub idle_timeout: Duration,
}

impl Default for MexcLimits {
    fn default() -> Self {
        Self {
            max_subscriptions: 30,
            no_subscription_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Binance connection rules; the defaults are the documented values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinanceLimits {
    /// The server sends a ping frame this often (documented: 20 s).
    pub ping_interval: Duration,
    /// A connection that leaves a ping unanswered this long is closed (documented: 1 min).
    pub pong_timeout: Duration,
    /// Incoming messages (requests, pings, pongs) allowed per second; one more closes the
    /// connection (documented: 5).
    pub max_incoming_per_sec: usize,
    /// Streams one connection may carry (documented: 1024).
    pub max_streams: usize,
    /// A connection is closed when it has lived this long (documented: 24 h).
    pub lifetime: Duration,
}

impl Default for BinanceLimits {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(60),
            max_incoming_per_sec: 5,
            max_streams: 1024,
            lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

/// An API key and its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The API key (Gate `KEY` header, MEXC `X-MEXC-APIKEY` header).
    pub key: String,
    /// The signing secret.
    pub secret: String,
}

impl Credential {
    /// A key/secret pair.
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: secret.into(),
        }
    }
}

/// Trading fee rates, in basis points of the amount an account receives from a fill.
///
/// The fee is charged in the asset received, as both venues do on spot when no points, GT or
/// MX pay it: a buy pays in the base asset, a sell in the quote asset. A fill that takes
/// liquidity (an order that crossed the book when placed) pays `taker_bps`; a fill of a resting
/// order that the market reached pays `maker_bps`. Amounts are exact (not rounded to the
/// asset's precision; MEXC's own deal pushes carry unrounded fees such as
/// `0.0003998377369698171`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    /// Rate of fills that take liquidity, in basis points (10 = 0.1 %).
    pub taker_bps: Decimal,
    /// Rate of fills of resting orders, in basis points.
    pub maker_bps: Decimal,
}

impl Fees {
    /// The default rates of `venue`, chosen to agree with the arbitrage program's embedded
    /// settings (`programs/arbitrage-program/arbitrage.toml`: Gate.io taker 10 bps, MEXC
    /// taker 5 bps), so that the fees it expects are the fees it is charged:
    ///
    /// | venue | taker | maker |
    /// |---|---:|---:|
    /// | Gate.io | 10 bps | 10 bps |
    /// | MEXC | 5 bps | 0 |
    pub fn of(venue: Venue) -> Self {
        let (taker, maker) = match venue {
            Venue::Gateio => (10, 10),
            Venue::Mexc => (5, 0),
            // Binance spot's base rate; the simulator serves no Binance trading.
            Venue::Binance => (10, 10),
        };
        Self {
            taker_bps: Decimal::from(taker),
            maker_bps: Decimal::from(maker),
        }
    }

    /// Why these rates cannot be charged, if they cannot: each must be at least 0 (no
    /// rebates) and below 10,000 bps (100 %).
    pub fn check(&self) -> Result<(), &'static str> {
        let valid = |bps: Decimal| bps >= Decimal::ZERO && bps < Decimal::from(10_000);
        if !valid(self.taker_bps) {
            return Err("the taker fee must be at least 0 and below 10000 bps");
        }
        if !valid(self.maker_bps) {
            return Err("the maker fee must be at least 0 and below 10000 bps");
        }
        Ok(())
    }

    /// The taker rate as a fraction (10 bps: 0.001).
    pub(crate) fn taker_rate(&self) -> Decimal {
        self.taker_bps / Decimal::from(10_000)
    }

    /// The maker rate as a fraction.
    pub(crate) fn maker_rate(&self) -> Decimal {
        self.maker_bps / Decimal::from(10_000)
    }
}

/// Everything [`crate::Simulator::start`] needs.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Protocol to speak.
    pub venue: Venue,
    /// Market-data source.
    pub source: Source,
    /// Symbols to simulate (synthetic source, trading, metadata).
    pub symbols: Vec<Symbol>,
    /// Synthetic: book updates per second over all symbols. Replay: frames per second per
    /// subscribed stream (both, for [`Source::ReplayThenSynthetic`]).
    pub rate: u32,
    /// Replay: start each stream again (with fresh timestamps) when it ends. Ignored by
    /// [`Source::ReplayThenSynthetic`].
    pub replay_loop: bool,
    /// Gate: every n-th `spot.order_book_update` of a symbol is a `full: true` snapshot.
    pub gate_full_every: Option<u32>,
    /// MEXC connection rules.
    pub mexc_limits: MexcLimits,
    /// Binance connection rules.
    pub binance_limits: BinanceLimits,
    /// Accepted API keys; each account starts with `initial_balances`.
    pub credentials: Vec<Credential>,
    /// Starting balance of every account, per asset.
    pub initial_balances: Vec<(String, Decimal)>,
    /// Levels per side of each synthetic book.
    pub book_levels: usize,
    /// Trading fee rates ([`Fees::of`] the venue by default).
    pub fees: Fees,
    /// Random seed of the synthetic generator, and of the cross-venue model's fair value.
    pub seed: u64,
    /// Synthetic prices follow the cross-venue model ([`crate::crossing`]): a Gate.io and a
    /// MEXC simulator with the same `seed` and `crossing` quote around one fair value and
    /// cross each other at scheduled times. `None`: each book walks on its own.
    pub crossing: Option<Crossing>,
    /// Server clock for REST signature timing checks and the time endpoints, in ms; `None`
    /// uses the system clock. Lets tests replay signed requests with old timestamps.
    pub frozen_time_ms: Option<i64>,
}

impl SimConfig {
    /// Defaults for `venue`: synthetic BTC/USDT and ETH/USDT at 100 updates/s, documented
    /// limits, one credential `test-key`/`test-secret` holding 1,000,000 USDT, 100 BTC and
    /// 1,000 ETH, the venue's default fees ([`Fees::of`]).
    pub fn new(venue: Venue) -> Self {
        Self {
            venue,
            source: Source::Synthetic,
            symbols: ["BTC/USDT", "ETH/USDT"]
                .iter()
                .filter_map(|s| Symbol::parse(s))
                .collect(),
            rate: 100,
            replay_loop: false,
            gate_full_every: None,
            mexc_limits: MexcLimits::default(),
            binance_limits: BinanceLimits::default(),
            credentials: vec![Credential::new("test-key", "test-secret")],
            initial_balances: vec![
                ("USDT".into(), Decimal::from(1_000_000)),
                ("BTC".into(), Decimal::from(100)),
                ("ETH".into(), Decimal::from(1_000)),
            ],
            book_levels: 50,
            fees: Fees::of(venue),
            seed: 7,
            crossing: None,
            frozen_time_ms: None,
        }
    }
}
