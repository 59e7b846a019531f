//! The smallest program: start an exchange of two venues (Gate.io and MEXC, here their
//! simulators), read best bid and ask with sizes of BTC/USDT from both, a few trades, then
//! shut down in order and print what the report says.
//!
//! ```text
//! cargo build -p gateio-plugin -p mexc-plugin
//! cargo run -p host --example 01_book_tickers -- target/debug
//! ```
//!
//! The plugin folder is the first argument (else `HOST_PLUGINS_DIR`, else `target/debug`).

mod support;

use host::exchange::{Exchange, Update};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    support::init_logging();
    let venues = support::Venues::start().await?;
    let (config, secrets) = venues.config()?;

    // Starts every venue of the configuration, or says which one did not start and why.
    let exchange = Exchange::start(config, secrets).await?;
    let gate = exchange.venue("gate")?;
    let mexc = exchange.venue("mexc")?;

    let mut gate_tickers = gate.book_tickers("BTC/USDT").await?;
    let mut mexc_tickers = mexc.book_tickers("BTC/USDT").await?;
    for _ in 0..10 {
        // Whichever venue has news first; both streams are cancel-safe.
        let (venue, update) = tokio::select! {
            u = gate_tickers.recv() => ("gate", u),
            u = mexc_tickers.recv() => ("mexc", u),
        };
        match update {
            Some(Update::Item(t)) => println!(
                "{venue:5} {}  bid {} x {}  ask {} x {}  ({:.0} µs since received)",
                t.instrument.symbol,
                t.bid_price,
                t.bid_qty,
                t.ask_price,
                t.ask_qty,
                support::age_us(t.stamp.received_ns),
            ),
            Some(Update::Gap(gap)) => println!("{venue:5} gap: {:?}", gap.reason),
            None => break,
        }
    }

    let mut trades = gate.trades("BTC/USDT").await?;
    for _ in 0..3 {
        if let Some(Update::Item(t)) = trades.recv().await {
            println!(
                "gate  trade {} {:?} {} @ {}",
                t.trade_id, t.side, t.qty, t.price
            );
        }
    }

    let report = exchange.shutdown("example done").await;
    println!(
        "shut down in {:.1} ms: {} resources stopped, tasks left: {:?}",
        report.elapsed_ms,
        report.stop.resources.len(),
        report.tasks_left
    );
    venues.stop().await;
    Ok(())
}
