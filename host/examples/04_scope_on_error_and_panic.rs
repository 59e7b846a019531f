//! The exchange stops in order however the program ends. Three programs run in turn:
//!
//! 1. one returns an error (it names a market in the venue's spelling, `BTCUSDT`, where
//!    the normalized `BTC/USDT` is expected): the scope
//!    shuts down and returns the error with the shutdown report;
//! 2. one panics: the scope shuts down, logs the report and lets the panic go on (caught
//!    here to carry on; the panic message is printed by the default hook);
//! 3. one drops its exchange without a shutdown: everything still stops, and a warning
//!    names the venues.
//!
//! ```text
//! cargo build -p gateio-plugin -p mexc-plugin
//! cargo run -p host --example 04_scope_on_error_and_panic -- target/debug
//! ```
//!
//! The plugin folder is the first argument (else `HOST_PLUGINS_DIR`, else `target/debug`).

mod support;

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use host::exchange::{Exchange, ExchangeError, ScopeError, Update};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    support::init_logging();
    let venues = support::Venues::start().await?;

    // 1. An error: the scope returns it, with the report of the shutdown that followed.
    let (config, secrets) = venues.config()?;
    let outcome = Exchange::scope(config, secrets, |ex| async move {
        let gate = ex.venue("gate")?;
        let mut tickers = gate.book_tickers("BTC/USDT").await?;
        if let Some(Update::Item(t)) = tickers.recv().await {
            println!("gate  bid {} ask {}", t.bid_price, t.ask_price);
        }
        // The venue's spelling, not the normalized symbol: refused, naming venue and symbol.
        let _wrong = gate.book_tickers("BTCUSDT").await?;
        Ok::<_, ExchangeError>(())
    })
    .await;
    match outcome {
        Err(ScopeError::Program { error, report }) => println!(
            "1. the program failed: {error}\n   venue: {:?}; shut down, tasks left {:?}, host tasks after {}",
            error.venue(),
            report.tasks_left,
            report.after.resource_tasks
        ),
        Err(ScopeError::Start(e)) => println!("1. not started: {e}"),
        Ok(_) => println!("1. unexpectedly fine"),
    }

    // 2. A panic: shut down first, then the panic goes on.
    let (config, secrets) = venues.config()?;
    let panicked = AssertUnwindSafe(Exchange::scope(config, secrets, |ex| async move {
        let mexc = ex.venue("mexc")?;
        let mut book = mexc.order_book("BTC/USDT").await?;
        book.synced().await;
        if book.book().best_bid().is_some() {
            panic!("a bug in the strategy");
        }
        Ok::<_, ExchangeError>(())
    }))
    .catch_unwind()
    .await;
    println!(
        "2. the panic came through after the shutdown: {}",
        panicked.is_err()
    );

    // 3. Dropped without shutdown: a warning names the venues, and everything stops.
    let (config, secrets) = venues.config()?;
    let exchange = Exchange::start(config, secrets).await?;
    let handle = exchange.handle();
    drop(exchange);
    match handle.venue("gate") {
        Err(e) => println!("3. dropped: {e}"),
        Ok(_) => println!("3. dropped, yet the venue is still there"),
    }

    venues.stop().await;
    Ok(())
}
