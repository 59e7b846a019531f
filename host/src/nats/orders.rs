//! The bucket of placed orders (`PREFIX_orders`), shared by every host of the bus: each
//! order placed through the bus with a client id, under `VENUE.CLIENT_ID`, until a host
//! published its final state. It makes a place idempotent across hosts (a second request
//! with the id is not placed again), and lets a host that takes a venue over look up what
//! its previous holder placed and never saw settled.

use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::StreamExt;
use plugin_api::{KnownOrder, NewOrder, OrderStatus, OrderUpdate};
use prost::Message;

use super::{kv_key, wire};

/// The key of `client_id`'s order on `venue`.
fn key(venue: &str, client_id: &str) -> String {
    format!("{}.{}", kv_key(venue), kv_key(client_id))
}

/// Records `order` as placed on `venue` now. `Ok(false)`: its client id was placed
/// before (by this host or another), so it must not be placed again.
pub async fn record(store: &kv::Store, venue: &str, order: &NewOrder) -> Result<bool, String> {
    let placed = wire::PlacedOrder {
        order: Some(wire::new_order(order)),
        placed_ms: crate::venue::now_ms(),
        settled: false,
    };
    let value = Bytes::from(placed.encode_to_vec());
    match store.create(key(venue, &order.client_id), value).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(format!("recording the client id: {e}")),
    }
}

/// Forgets an order that was recorded but not sent: a retry may place it.
pub async fn forget(store: &kv::Store, venue: &str, client_id: &str) {
    if let Err(e) = store.purge(key(venue, client_id)).await {
        tracing::warn!(%venue, %client_id, error = %e, "an unsent order stays recorded; a retry of it is refused");
    }
}

/// Marks the order of `update` settled once it is final (and has a client id).
pub async fn settle(store: &kv::Store, venue: &str, update: &OrderUpdate) {
    let is_final = matches!(
        update.status,
        OrderStatus::Filled | OrderStatus::Cancelled | OrderStatus::Rejected
    );
    if !is_final || update.client_id.is_empty() {
        return;
    }
    let settled = wire::PlacedOrder {
        order: None,
        placed_ms: 0,
        settled: true,
    };
    let value = Bytes::from(settled.encode_to_vec());
    if let Err(e) = store.put(key(venue, &update.client_id), value).await {
        tracing::warn!(%venue, client_id = %update.client_id, error = %e, "a final order not marked settled; a host taking the venue over looks it up again");
    }
}

/// The orders placed on `venue` that no host saw settled, oldest first.
pub async fn unsettled(store: &kv::Store, venue: &str) -> Result<Vec<KnownOrder>, String> {
    let prefix = format!("{}.", kv_key(venue));
    let mut keys = store.keys().await.map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|e| e.to_string())?;
        if !key.starts_with(&prefix) {
            continue;
        }
        let Some(value) = store.get(key.clone()).await.map_err(|e| e.to_string())? else {
            continue;
        };
        let Ok(placed) = wire::PlacedOrder::decode(value.as_ref()) else {
            tracing::warn!(%key, "an undecodable placed order was skipped");
            continue;
        };
        let order = placed.order.as_ref().map(wire::from_new_order);
        if let (false, Some(Ok(order))) = (placed.settled, order) {
            found.push(KnownOrder {
                order,
                order_id: "".into(),
                placed_ms: placed.placed_ms,
            });
        }
    }
    found.sort_by_key(|k| k.placed_ms);
    Ok(found)
}
