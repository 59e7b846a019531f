//! The account: order updates, fills and balances of one venue, and order entry. A limit
//! buy far below the market rests (open) and is cancelled; a buy above it fills, and the
//! fill and the balances follow until the bought BTC shows. Orders are matched to their
//! updates by client id; each update carries the time the host received it.
//!
//! ```text
//! cargo build -p gateio-plugin -p mexc-plugin
//! cargo run -p host --example 03_orders_and_fills -- target/debug
//! ```
//!
//! The plugin folder is the first argument (else `HOST_PLUGINS_DIR`, else `target/debug`).

mod support;

use host::exchange::{Exchange, Orders, Update};
use plugin_api::{CancelOrder, NewOrder, Num, OrderStatus, OrderType, OrderUpdate, Side};

/// The next update of the order with `client_id` in `status`.
async fn wait_for(
    orders: &mut Orders,
    client_id: &str,
    status: OrderStatus,
) -> Option<OrderUpdate> {
    while let Some(update) = orders.recv().await {
        match update {
            Update::Item(o) if o.client_id.as_str() == client_id && o.status == status => {
                return Some(o)
            }
            Update::Item(_) => {}
            Update::Gap(gap) => println!("orders gap ({:?}): query open orders now", gap.reason),
        }
    }
    None
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    support::init_logging();
    let venues = support::Venues::start().await?;
    let (config, secrets) = venues.config()?;
    let mexc_stats = venues.mexc.stats().clone();

    let outcome = Exchange::scope(config, secrets, |ex| async move {
        let venue = ex.venue("mexc")?;
        let mut orders = venue.orders().await?;
        let mut fills = venue.fills().await?;
        let mut balances = venue.balances().await?;
        // Subscribed on the venue before trading (see `support::subscribed`).
        let private = [
            "spot@private.orders",
            "spot@private.deals",
            "spot@private.account",
        ];
        support::subscribed(&mexc_stats, &private).await;
        // The venue's own spelling of the market, which orders carry.
        let instrument = venue.instrument("BTC/USDT").await?;
        let order = |price: &str, client_id: &str| -> anyhow::Result<NewOrder> {
            Ok(NewOrder {
                instrument,
                side: Side::Buy,
                order_type: OrderType::Limit,
                price: Num::parse(price)?,
                qty: Num::parse("0.01")?,
                quote_qty: Num::ZERO,
                client_id: client_id.into(),
            })
        };

        venue.place(order("1", "resting-1")?).await?;
        if let Some(open) = wait_for(&mut orders, "resting-1", OrderStatus::Open).await {
            println!(
                "open      {} {:?} {} @ {} ({:.0} µs since received)",
                open.order_id,
                open.side,
                open.qty,
                open.price,
                support::age_us(open.stamp.received_ns)
            );
            venue
                .cancel(CancelOrder {
                    instrument,
                    order_id: open.order_id.clone(),
                })
                .await?;
            if let Some(c) = wait_for(&mut orders, "resting-1", OrderStatus::Cancelled).await {
                println!("cancelled {}", c.order_id);
            }
        }

        venue.place(order("1000000", "crossing-1")?).await?;
        if let Some(f) = wait_for(&mut orders, "crossing-1", OrderStatus::Filled).await {
            println!("filled    {} {} of {}", f.order_id, f.filled_qty, f.qty);
        }
        if let Some(Update::Item(fill)) = fills.recv().await {
            println!(
                "fill      {} {} @ {} fee {} {}",
                fill.trade_id, fill.qty, fill.price, fill.fee, fill.fee_asset
            );
        }
        // Balances as the venue reports them, until the bought BTC shows.
        let before = Num::parse("100")?;
        while let Some(Update::Item(b)) = balances.recv().await {
            println!(
                "balance   {} available {} locked {}",
                b.asset, b.available, b.locked
            );
            if b.asset.as_str() == "BTC" && b.available > before {
                break;
            }
        }
        Ok::<_, anyhow::Error>(())
    })
    .await;
    match outcome {
        Ok(((), report)) => println!("shut down, tasks left: {:?}", report.tasks_left),
        Err(e) => println!("{e}"),
    }
    venues.stop().await;
    Ok(())
}
