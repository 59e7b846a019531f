//! `venue-sim`: serve a simulated MEXC spot v3 or Gate.io spot v4 venue on loopback until
//! Ctrl-C.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use clap::Parser;
use venue_sim::{Credential, SimConfig, Simulator, Source, Symbol, Venue};

/// Simulated crypto venue (websocket + REST) for tests, benchmarks and demos.
///
/// Serves the venue's websocket (upgrade) and REST API on one loopback port and prints both
/// URLs. Stop with Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "venue-sim", version, about, long_about)]
struct Args {
    /// Venue protocol to speak.
    #[arg(long, value_enum)]
    venue: Venue,
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Market-data source: real captures replayed with shifted timestamps, or a random walk.
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
    let mut cfg = SimConfig::new(args.venue);
    cfg.source = args.source;
    cfg.rate = args.rate;
    cfg.replay_loop = args.replay_loop;
    cfg.gate_full_every = args.gate_full_every;
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
    let sim = Simulator::start(cfg, args.listen).await?;
    println!("venue-sim {:?} ({:?} source)", args.venue, args.source);
    println!("websocket: {}", sim.ws_url());
    println!("rest:      {}", sim.rest_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("stopping");
    sim.shutdown().await;
    Ok(())
}
