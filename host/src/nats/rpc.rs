//! The requests a host answers for each venue it runs, on `PREFIX.rpc.VENUE`: place and
//! cancel orders, resolve an instrument, check a stream, report health. A place is
//! idempotent by client order id across every host of the bus: the id is recorded in the
//! `PREFIX_orders` bucket before the order goes out, and a request whose id is there
//! already is answered `duplicate` without placing anything, so a program may retry a
//! request whose answer it did not get (the host died, the venue moved) without doubling
//! the order.

use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::StreamExt;
use plugin_api::StreamKind;
use prost::Message;
use tokio_util::sync::CancellationToken;

use super::orders as placed_orders;
use super::wire::{self, Op, Outcome};
use super::Link;
use crate::exchange::VenueHealth;
use crate::Host;

/// Answers `venue`'s requests until `token` is cancelled (or the connection closes).
pub async fn serve(
    link: Link,
    host: Host,
    venue: String,
    orders: kv::Store,
    token: CancellationToken,
) {
    let subject = link.subjects.rpc(&venue);
    let mut requests = match link.client.subscribe(subject.clone()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(%venue, %subject, error = %e, "cannot answer requests for the venue");
            return;
        }
    };
    tracing::info!(%venue, %subject, "answering requests for the venue on the bus");
    loop {
        let request = tokio::select! {
            () = token.cancelled() => break,
            request = requests.next() => request,
        };
        let Some(request) = request else { break };
        let Some(reply) = request.reply else { continue };
        let outcome = answer(&host, &venue, &orders, &request.payload).await;
        let bytes = Bytes::from(
            wire::Reply {
                outcome: Some(outcome),
            }
            .encode_to_vec(),
        );
        if let Err(e) = link.client.publish(reply, bytes).await {
            tracing::warn!(%venue, error = %e, "a request's answer could not be sent");
        }
    }
    let _ = requests.unsubscribe().await;
}

fn refused(e: impl std::fmt::Display) -> Outcome {
    Outcome::Error(e.to_string())
}

async fn answer(host: &Host, venue: &str, orders: &kv::Store, payload: &[u8]) -> Outcome {
    let op = match wire::Request::decode(payload) {
        Ok(wire::Request { op: Some(op) }) => op,
        Ok(_) => return refused("empty request"),
        Err(e) => return refused(format!("undecodable request: {e}")),
    };
    match op {
        Op::Place(order) => place(host, venue, orders, &order).await,
        Op::Cancel(cancel) => match wire::from_cancel_order(&cancel) {
            Ok(cancel) => match host.cancel_order(venue, cancel).await {
                Ok(tag) => Outcome::Tag(tag),
                Err(e) => refused(e),
            },
            Err(e) => refused(e),
        },
        Op::Instrument(symbol) => match host.instrument(venue, &symbol).await {
            Ok(i) => match wire::instrument(&i) {
                Some(i) => Outcome::Instrument(i),
                None => refused("no instrument"),
            },
            Err(e) => refused(e),
        },
        Op::Check(topic) => match StreamKind::from_name(&topic.kind) {
            Some(kind) => match host.check_topic(venue, &topic.symbol, kind).await {
                Ok(()) => Outcome::Ok(true),
                Err(e) => refused(e),
            },
            None => refused(format!("no stream kind `{}`", topic.kind)),
        },
        Op::Health(_) => health(host, venue).await,
    }
}

async fn place(host: &Host, venue: &str, orders: &kv::Store, order: &wire::NewOrder) -> Outcome {
    let order = match wire::from_new_order(order) {
        Ok(order) => order,
        Err(e) => return refused(e),
    };
    // Without a client id nothing could tell a retry from a new order: placed as it is.
    let client_id = order.client_id.to_string();
    let recorded = !client_id.is_empty();
    if recorded {
        match placed_orders::record(orders, venue, &order).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Duplicate(true),
            Err(e) => return refused(e),
        }
    }
    match host.place_order(venue, order).await {
        Ok(tag) => Outcome::Tag(tag),
        Err(e) => {
            // Not sent: a retry may place it.
            if recorded {
                placed_orders::forget(orders, venue, &client_id).await;
            }
            refused(e)
        }
    }
}

async fn health(host: &Host, venue: &str) -> Outcome {
    let Some(status) = host.instances().await.into_iter().find(|i| i.name == venue) else {
        return refused(format!("venue {venue} is not running here"));
    };
    let health = VenueHealth {
        venue: venue.to_owned(),
        state: status.state,
        connections: status.health,
        stats: status.stats,
    };
    match serde_json::to_string(&health) {
        Ok(json) => Outcome::HealthJson(json),
        Err(e) => refused(e),
    }
}
