//! A synced L2 book per venue: each applies its venue's depth snapshot and increments, and
//! says when it cannot be trusted. The Gate.io simulator is told to skip a sequence number:
//! the book reports the gap, is empty and unsynced, and syncs again on the snapshot the
//! venue sends by itself. The venues' health comes last.
//!
//! ```text
//! cargo build -p gateio-plugin -p mexc-plugin
//! cargo run -p host --example 02_order_book -- target/debug
//! ```
//!
//! The plugin folder is the first argument (else `HOST_PLUGINS_DIR`, else `target/debug`).

mod support;

use host::exchange::{Exchange, ExchangeError, OrderBook, Update};

fn top(venue: &str, book: &OrderBook) {
    let (bid, ask) = (book.best_bid(), book.best_ask());
    match (bid, ask) {
        (Some(b), Some(a)) => println!(
            "{venue:5} id {:>8}  bid {} x {}  ask {} x {}  ({} x {} levels)",
            book.last_id(),
            b.price,
            b.qty,
            a.price,
            a.qty,
            book.depth().0,
            book.depth().1
        ),
        _ => println!("{venue:5} unsynced: no level to trust"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    support::init_logging();
    let venues = support::Venues::start().await?;
    let (config, secrets) = venues.config()?;
    let gate_faults = venues.gate.faults().clone();

    // The scope shuts the exchange down however the program ends.
    let outcome = Exchange::scope(config, secrets, |ex| async move {
        let gate = ex.venue("gate")?;
        let mexc = ex.venue("mexc")?;
        let mut gate_book = gate.order_book("BTC/USDT").await?;
        let mut mexc_book = mexc.order_book("BTC/USDT").await?;
        gate_book.synced().await;
        mexc_book.synced().await;
        top("gate", gate_book.book());
        top("mexc", mexc_book.book());

        // Cross-venue: buy where the ask is lower than the other venue's bid?
        if let (Some(ask), Some(bid)) = (gate_book.book().best_ask(), mexc_book.book().best_bid()) {
            println!(
                "mexc bid - gate ask = {}",
                bid.price.to_decimal() - ask.price.to_decimal()
            );
        }

        // A skipped sequence number on Gate.io: a gap, then the venue's next snapshot.
        gate_faults.skip_sequence(1);
        let mut gaps = 0;
        while let Some(update) = gate_book.recv().await {
            match update {
                Update::Gap(gap) => {
                    gaps += 1;
                    println!("gate  gap ({:?}) after id {}", gap.reason, gap.last_id);
                    top("gate", gate_book.book());
                }
                Update::Item(change) if change.snapshot && gaps > 0 => {
                    println!("gate  synced again by a snapshot at id {}", change.last_id);
                    break;
                }
                Update::Item(_) => {}
            }
        }
        top("gate", gate_book.book());

        for venue in [&gate, &mexc] {
            let health = venue.health().await?;
            println!(
                "{:5} {} ({}), up: {}, connects {}, gaps {}, last data: {}",
                health.venue,
                health.state,
                health.connections,
                health.is_up(),
                health.stats.connects,
                health.stats.gaps,
                health
                    .last_data_age()
                    .map(|age| format!("{age:?} ago"))
                    .unwrap_or_else(|| "none yet".into()),
            );
        }
        Ok::<_, ExchangeError>(())
    })
    .await;
    match outcome {
        Ok(((), report)) => println!("shut down, tasks left: {:?}", report.tasks_left),
        Err(e) => println!("{e}"),
    }
    venues.stop().await;
    Ok(())
}
