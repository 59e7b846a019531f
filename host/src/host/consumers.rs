//! What consumers do with a running host: subscribe to streams, bind handlers, place and
//! cancel orders.

use std::sync::Arc;

use plugin_api::{CancelOrder, Instrument, KnownOrder, NewOrder, StreamKind};

use super::Host;
use crate::error::HostError;
use crate::pipeline::bus::{StreamItem, Subscription};
use crate::venue::instance::Instance;
use crate::venue::lifecycle::State;
use crate::venue::port::Port;

impl Host {
    /// Subscribes a consumer to a venue instance's stream (`symbol` normalized; empty for
    /// account-wide private streams). `None` if the symbol is longer than a symbol holds.
    #[must_use = "dropping a subscription unsubscribes at once"]
    pub fn subscribe(&self, venue: &str, symbol: &str, kind: StreamKind) -> Option<Subscription> {
        self.inner.bus.subscribe(venue, symbol, kind)
    }

    /// Checks, as [`Host::bind`] does, that the instance `venue` serves `kind` streams and
    /// lists the market `symbol` (empty for private kinds), without subscribing.
    pub async fn check_topic(
        &self,
        venue: &str,
        symbol: &str,
        kind: StreamKind,
    ) -> Result<(), HostError> {
        let instance = self.inner.registry().slot(venue)?.instance.clone();
        instance.check_topic(symbol, kind).await
    }

    /// The instance `venue`'s instrument for the normalized `symbol` (`BTC/USDT`), with the
    /// venue's own spelling that orders need; an error if the venue does not list it.
    pub async fn instrument(&self, venue: &str, symbol: &str) -> Result<Instrument, HostError> {
        let instance = self.inner.registry().slot(venue)?.instance.clone();
        instance
            .resolve(symbol)
            .await
            .ok_or_else(|| HostError::UnknownSymbol {
                venue: venue.to_owned(),
                symbol: symbol.to_owned(),
            })
    }

    /// Binds `handler` to a stream of the instance `venue`: it runs for every item until
    /// the instance stops. It stays bound across a reload or a restart (and sees the gap).
    pub async fn bind<F, Fut>(
        &self,
        venue: &str,
        symbol: &str,
        kind: StreamKind,
        handler: F,
    ) -> Result<(), HostError>
    where
        F: FnMut(StreamItem) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (bindings, instance) = {
            let registry = self.inner.registry();
            let slot = registry.slot(venue)?;
            let bindings = slot
                .bindings
                .iter()
                .find(|(_, kinds, _)| kinds.contains(&kind))
                .map(|(_, _, b)| b.clone())
                .ok_or_else(|| HostError::Declaration {
                    venue: venue.to_owned(),
                    error: format!("no handler binding serves {} streams", kind.name()),
                })?;
            (bindings, slot.instance.clone())
        };
        instance.check_topic(symbol, kind).await?;
        let sub = self
            .inner
            .bus
            .subscribe(venue, symbol, kind)
            .ok_or_else(|| HostError::Declaration {
                venue: venue.to_owned(),
                error: format!("symbol `{symbol}` is too long"),
            })?;
        match bindings.bind(sub, handler) {
            true => Ok(()),
            false => Err(HostError::Bind {
                venue: venue.to_owned(),
                error: "the instance's handler bindings are stopped".into(),
            }),
        }
    }

    /// Places an order on the instance `venue`: the plugin builds the signed REST request,
    /// the host rate-limits and sends it; the venue's answer and later updates arrive as
    /// order events on the `Orders` stream. Returns the request's tag.
    ///
    /// An order with a client id stays known to the instance until an update says it is
    /// final: a later build of the instance (a plugin reload, a restart) looks it up
    /// (`Venue::recover_orders`), so its outcome is never lost with the build that placed it.
    pub async fn place_order(&self, venue: &str, order: NewOrder) -> Result<u64, HostError> {
        let tag = next_tag();
        let instance = self.running(venue)?;
        let ledger = &instance.driver.tally;
        ledger.orders().placed(&order, crate::venue::now_ms());
        let client_id = order.client_id.clone();
        let placed = instance.order(|a| a.place_order(order, tag)).await;
        if placed.is_err() {
            ledger.orders().not_sent(&client_id);
        }
        placed.map(|()| tag)
    }

    /// Hands the running instance `venue` orders another process placed on the venue and
    /// saw no final state of (a host that died holding the venue): they join the
    /// instance's unsettled orders, and its plugin looks them up
    /// (`Venue::recover_orders`), so their outcome reaches consumers here.
    pub async fn adopt_orders(
        &self,
        venue: &str,
        orders: Vec<KnownOrder>,
    ) -> Result<(), HostError> {
        if orders.is_empty() {
            return Ok(());
        }
        let instance = self.running(venue)?;
        for known in &orders {
            instance
                .driver
                .tally
                .orders()
                .placed(&known.order, known.placed_ms);
        }
        instance.recover_orders().await;
        Ok(())
    }

    /// Cancels an order on the instance `venue` (see [`Host::place_order`]).
    pub async fn cancel_order(&self, venue: &str, cancel: CancelOrder) -> Result<u64, HostError> {
        let tag = next_tag();
        let instance = self.running(venue)?;
        instance.order(|a| a.cancel_order(cancel, tag)).await?;
        Ok(tag)
    }

    /// The current build of `venue`, if it is running.
    fn running(&self, venue: &str) -> Result<Arc<Instance>, HostError> {
        let registry = self.inner.registry();
        let slot = registry.slot(venue)?;
        match slot.state() {
            State::Running => Ok(slot.instance.clone()),
            state => Err(HostError::Order {
                venue: venue.to_owned(),
                error: format!("instance is {state}"),
                source: None,
            }),
        }
    }
}

/// Tags for requests the host starts (orders); plugins keep the top bit for their own.
fn next_tag() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
