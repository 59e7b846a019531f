//! `venue-sim`: serve a simulated MEXC spot v3, Gate.io spot v4 or Binance spot (market
//! streams) venue on loopback until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use rust_decimal::Decimal;
use venue_sim::{Credential, Crossing, Fees, SimConfig, Simulator, Source, Symbol, Venue};

/// Simulated crypto venue (websocket + REST) for tests, benchmarks and demos.
///
/// Serves the venue's websocket (upgrade) and REST API on one loopback port, prints both URLs
/// and then `listening on ADDR`. Stop with Ctrl-C or SIGTERM.
///
/// Two simulators make an arbitrage demo: one `--venue gateio` and one `--venue mexc`, both
/// with `--crossing` and the same `--seed`, quote the same fair value and cross each other
/// every `--cross-every` seconds (alternating direction) for `--cross-width` seconds, by up to
/// `--cross-bps` basis points.
///
/// Fills pay fees in the asset received (a buy in the base asset, a sell in the quote asset):
/// the taker rate when an order crosses the book as it is placed, the maker rate when a resting
/// order fills because the book reached its price. The defaults match the arbitrage program's
/// embedded settings: Gate.io 10 bps taker and 10 maker, MEXC 5 bps taker and 0 maker.
#[derive(Debug, Parser)]
#[command(name = "venue-sim", version, about, long_about)]
struct Args {
    /// Venue protocol to speak.
    #[arg(long, value_enum)]
    venue: Venue,
    /// Loopback address to listen on (port 0 picks a free port; the `listening on` line says
    /// which).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Market-data source: real captures replayed with shifted timestamps, a random walk, or
    /// each subscribed stream's captures first and then its synthetic data.
    #[arg(long, value_enum, default_value = "synthetic")]
    source: Source,
    /// Symbols for the synthetic source and trading, comma separated (BTC/USDT, BTC_USDT or
    /// BTCUSDT).
    #[arg(long, value_delimiter = ',', default_value = "BTC/USDT,ETH/USDT")]
    symbols: Vec<String>,
    /// Synthetic: book updates per second over all symbols. Replay: frames per second per
    /// subscribed stream.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// Replay: restart each stream (with fresh timestamps) when it ends.
    #[arg(long)]
    replay_loop: bool,
    /// Gate: make every N-th order_book_update of a symbol a `full: true` snapshot.
    #[arg(long)]
    gate_full_every: Option<u32>,
    /// API credentials accepted, as KEY:SECRET (repeatable). Default: test-key:test-secret.
    #[arg(long = "credential", value_name = "KEY:SECRET")]
    credentials: Vec<String>,
    /// Seed of the synthetic data; with --crossing, simulators given the same seed quote the
    /// same fair value.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Synthetic prices follow the cross-venue model instead of each book's own random walk:
    /// a fair value shared by every simulator with the same --seed, with Gate.io above MEXC,
    /// then MEXC above Gate.io, at scheduled times (best bid one tick below the mid, best ask
    /// one above, 0.5 to 5 units at the best).
    #[arg(long)]
    crossing: bool,
    /// With --crossing: seconds from one crossing to the next (they alternate direction).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30.0,
        requires = "crossing"
    )]
    cross_every: f64,
    /// With --crossing: the Unix time in ms the schedule counts from: crossings are centred
    /// at MS + (n + 1/2) * --cross-every, Gate.io rich for even n. Simulators of a pair must
    /// share it (the default, the Unix epoch, needs no coordination).
    #[arg(long, value_name = "MS", default_value_t = 0, requires = "crossing")]
    cross_origin_ms: i64,
    /// With --crossing: seconds each crossing lasts (the rich venue's best bid above the cheap
    /// venue's best ask); at most --cross-every.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 8.0,
        requires = "crossing"
    )]
    cross_width: f64,
    /// With --crossing: how far the rich bid is above the cheap ask at a crossing's centre, in
    /// basis points of the fair value (above fees half the crossing's time when it is twice
    /// their sum: 40 bp for 0.1 % taker fees on each leg).
    #[arg(long, value_name = "BPS", default_value_t = 40, requires = "crossing")]
    cross_bps: u32,
    /// Fee of a fill that takes liquidity (an order crossing the book when placed), in basis
    /// points of the amount received, charged in the asset received. Default: gateio 10,
    /// mexc 5 (the arbitrage program's embedded settings).
    #[arg(long, value_name = "BPS")]
    taker_fee_bps: Option<Decimal>,
    /// Fee of a resting order's fill (the book reached its price), in basis points of the
    /// amount received, charged in the asset received. Default: gateio 10, mexc 0.
    #[arg(long, value_name = "BPS")]
    maker_fee_bps: Option<Decimal>,
}

/// A whole number of milliseconds from `secs`, refusing what is not a positive finite time.
fn seconds(name: &str, secs: f64) -> anyhow::Result<Duration> {
    if !secs.is_finite() || secs <= 0.0 {
        bail!("--{name} must be a positive number of seconds, not {secs}");
    }
    Ok(Duration::from_millis((secs * 1000.0).round() as u64))
}

fn config(args: &Args) -> anyhow::Result<SimConfig> {
    let mut cfg = SimConfig::new(args.venue);
    cfg.source = args.source;
    cfg.rate = args.rate;
    cfg.replay_loop = args.replay_loop;
    cfg.gate_full_every = args.gate_full_every;
    cfg.seed = args.seed;
    let defaults = Fees::of(args.venue);
    cfg.fees = Fees {
        taker_bps: args.taker_fee_bps.unwrap_or(defaults.taker_bps),
        maker_bps: args.maker_fee_bps.unwrap_or(defaults.maker_bps),
    };
    cfg.symbols = args
        .symbols
        .iter()
        .map(|s| Symbol::parse(s).with_context(|| format!("cannot parse symbol {s:?}")))
        .collect::<anyhow::Result<_>>()?;
    if !args.credentials.is_empty() {
        cfg.credentials = args
            .credentials
            .iter()
            .map(|c| match c.split_once(':') {
                Some((k, s)) => Ok(Credential::new(k, s)),
                None => bail!("credential {c:?} is not KEY:SECRET"),
            })
            .collect::<anyhow::Result<_>>()?;
    }
    if args.crossing {
        cfg.crossing = Some(Crossing {
            every: seconds("cross-every", args.cross_every)?,
            width: seconds("cross-width", args.cross_width)?,
            peak_bps: args.cross_bps,
            origin_ms: args.cross_origin_ms,
        });
    }
    Ok(cfg)
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM: the name of the one that came.
async fn stop_signal() -> anyhow::Result<&'static str> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C").map(|()| "SIGINT"),
        _ = term.recv() => Ok("SIGTERM"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let cfg = config(&args)?;
    let crossing = cfg.crossing;
    let fees = cfg.fees;
    let sim = Simulator::start(cfg, args.listen).await?;
    println!("venue-sim {:?} ({:?} source)", args.venue, args.source);
    if let Some(c) = crossing {
        println!(
            "crossing:  seed {}, every {:?}, {:?} long, peak {} bp",
            args.seed, c.every, c.width, c.peak_bps
        );
    }
    println!(
        "fees:      taker {} bps, maker {} bps",
        fees.taker_bps, fees.maker_bps
    );
    println!("websocket: {}", sim.ws_url());
    println!("rest:      {}", sim.rest_url());
    println!("listening on {}", sim.local_addr());
    let signal = stop_signal().await?;
    println!("stopping ({signal})");
    sim.shutdown().await;
    Ok(())
}
