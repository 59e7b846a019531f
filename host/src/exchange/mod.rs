//! An exchange context for trading programs: built from the host configuration, it starts
//! the configured venues and hands the program typed access to them (book tickers, trades,
//! synced order books, the account's orders, fills and balances, order entry, health),
//! then stops everything in dependency order when the program is done. A program never
//! touches plugins, drivers or resources.
//!
//! With `nats.remote = true` in the configuration, nothing is loaded: the venues are the
//! ones hosts serve on the NATS bus, behind the same API (see [`crate::nats::remote`];
//! [`Exchange::reconfigure`] is refused there, the hosts' configurations rule).
//!
//! Use [`Exchange::scope`]: it starts the exchange, runs the program, and shuts down
//! whether the program returned a value, returned an error or panicked. Or hold an
//! [`Exchange`] and call [`Exchange::shutdown`] yourself; dropping it without that still
//! stops everything (without the orderly stop) and warns. The numbered examples of the
//! `host` crate (`host/examples/`) show the whole surface, smallest first.
//!
//! ```no_run
//! # async fn demo(config: host::config::HostConfig, secrets: host::config::Secrets) {
//! use host::exchange::{Exchange, ExchangeError, Update};
//! let outcome = Exchange::scope(config, secrets, |ex| async move {
//!     let gate = ex.venue("gate")?;
//!     let mut tickers = gate.book_tickers("BTC/USDT").await?;
//!     if let Some(Update::Item(t)) = tickers.recv().await {
//!         println!("bid {} x {}  ask {} x {}", t.bid_price, t.bid_qty, t.ask_price, t.ask_qty);
//!     }
//!     Ok::<_, ExchangeError>(())
//! })
//! .await;
//! # }
//! ```

mod book;
mod error;
mod reconfigure;
mod scope;
mod start;
mod stream;
mod venue;

use std::sync::{Arc, Weak};

use plugin_api::StreamKind;

pub use book::{BookChange, OrderBook, OrderBookStream};
pub use error::{ExchangeError, ScopeError};
pub use start::START_PATIENCE;
pub use stream::{Balances, BookTickers, EventStream, Fills, Orders, Trades, Update};
pub use venue::{VenueHandle, VenueHealth};

use crate::nats::remote::Remote;
use crate::ops::Operator;
use crate::stop::report::ShutdownReport;
use book::BookClaims;

/// A configured venue: (instance name, plugin venue id).
type Configured = Arc<[(String, String)]>;

/// What the exchange owns: the operator (and through it the host and every venue), or
/// for venues served over the bus (`nats.remote`), its connection and feeds.
enum Inner {
    Local(Operator),
    Remote(Arc<Remote>),
}

/// The running venues of one configuration. Stop it with [`Exchange::shutdown`] (awaited,
/// returns the report); dropped without it, it still stops everything and warns. Programs
/// use its [`ExchangeHandle`] (or [`Exchange::venue`]).
#[must_use = "dropping an exchange stops every venue at once"]
pub struct Exchange {
    owner: Owner,
    handle: ExchangeHandle,
}

/// The one strong reference to [`Inner`]; dropped while armed (no shutdown), it stops
/// everything and warns.
struct Owner {
    inner: Arc<Inner>,
    armed: bool,
    venues: Configured,
}

impl Drop for Owner {
    fn drop(&mut self) {
        if self.armed {
            tracing::warn!(
                venues = ?self.venues.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                "exchange dropped without shutdown: stopping every venue without an orderly stop"
            );
            // Consumers see the end of their streams (a dropped host does not close them).
            let bus = match &*self.inner {
                Inner::Local(operator) => operator.host().bus(),
                Inner::Remote(remote) => remote.bus(),
            };
            for (name, _) in self.venues.iter() {
                bus.end_kinds(name, &StreamKind::ALL);
            }
            match &*self.inner {
                // The operator's tasks hold it; once they end, the host goes and cancels
                // its own.
                Inner::Local(operator) => operator.cancel_tasks(),
                Inner::Remote(remote) => remote.cancel(),
            }
        }
    }
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("venues", &self.handle.venue_names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What a program holds of an [`Exchange`]: its venues by name. Cheap to clone; it does
/// not keep the exchange running (once it shut down, [`ExchangeHandle::venue`] returns
/// [`ExchangeError::Closed`]).
#[derive(Clone)]
pub struct ExchangeHandle {
    inner: Weak<Inner>,
    venues: Configured,
    books: BookClaims,
}

impl std::fmt::Debug for ExchangeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeHandle")
            .field("venues", &self.venue_names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ExchangeHandle {
    /// The venue `name` (as configured: `[venues.gate]` is `gate`).
    pub fn venue(&self, name: &str) -> Result<VenueHandle, ExchangeError> {
        let Some((_, plugin)) = self.venues.iter().find(|(n, _)| n == name) else {
            return Err(ExchangeError::UnknownVenue {
                venue: name.to_owned(),
                known: self.venue_names().collect::<Vec<_>>().join(", "),
            });
        };
        if self.inner.strong_count() == 0 {
            return Err(ExchangeError::Closed {
                venue: name.to_owned(),
            });
        }
        Ok(VenueHandle::new(
            self.inner.clone(),
            name,
            plugin,
            self.books.clone(),
        ))
    }

    /// Every venue of the exchange, by name.
    pub fn venues(&self) -> Vec<VenueHandle> {
        self.venues
            .iter()
            .map(|(name, plugin)| {
                VenueHandle::new(self.inner.clone(), name, plugin, self.books.clone())
            })
            .collect()
    }

    /// The names of the venues, in name order.
    pub fn venue_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.venues.iter().map(|(n, _)| n.as_str())
    }

    /// True once the exchange shut down or was dropped.
    pub fn is_closed(&self) -> bool {
        self.inner.strong_count() == 0
    }
}

impl Exchange {
    fn new(inner: Inner, venues: Configured) -> Exchange {
        let inner = Arc::new(inner);
        Exchange {
            handle: ExchangeHandle {
                inner: Arc::downgrade(&inner),
                venues: venues.clone(),
                books: BookClaims::default(),
            },
            owner: Owner {
                inner,
                armed: true,
                venues,
            },
        }
    }

    /// What a program holds: the venues, without ownership.
    pub fn handle(&self) -> ExchangeHandle {
        self.handle.clone()
    }

    /// The venue `name` (see [`ExchangeHandle::venue`]).
    pub fn venue(&self, name: &str) -> Result<VenueHandle, ExchangeError> {
        self.handle.venue(name)
    }

    /// Applies a new configuration (see [`ExchangeHandle::reconfigure`]).
    pub async fn reconfigure(
        &self,
        config: crate::config::HostConfig,
        secrets: crate::config::Secrets,
    ) -> Result<crate::ops::ConfigOutcome, ExchangeError> {
        self.handle.reconfigure(config, secrets).await
    }

    /// Stops every venue in dependency order (consumers get the end of their streams after
    /// what is queued), unloads the plugins and reports, all within the configuration's
    /// `shutdown.overall`. Handles report [`ExchangeError::Closed`] from the start of it.
    #[must_use = "the report says whether anything was left behind"]
    pub async fn shutdown(self, reason: &str) -> ShutdownReport {
        let Exchange { mut owner, handle } = self;
        owner.armed = false;
        let inner = owner.inner.clone();
        // Handles see the exchange closed from here on.
        drop(owner);
        let report = match &*inner {
            Inner::Local(operator) => operator.shutdown(reason).await,
            Inner::Remote(remote) => {
                let venues: Vec<String> = handle.venue_names().map(str::to_owned).collect();
                remote.shutdown(reason, &venues).await
            }
        };
        tracing::info!(
            %reason,
            venues = ?handle.venue_names().collect::<Vec<_>>(),
            tasks_left = ?report.tasks_left,
            elapsed_ms = format_args!("{:.2}", report.elapsed_ms),
            "exchange shut down"
        );
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HostConfig, Secrets};

    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}

    /// Programs move handles and streams into tasks and spawn scopes: checked at compile time.
    #[test]
    fn handles_streams_and_futures_are_send() {
        send_sync::<Exchange>();
        send_sync::<ExchangeHandle>();
        send_sync::<VenueHandle>();
        send_sync::<OrderBookStream>();
        send_sync::<BookTickers>();
        send_sync::<Orders>();
        send_sync::<ExchangeError>();
        let order = plugin_api::NewOrder {
            instrument: plugin_api::Instrument::default(),
            side: plugin_api::Side::Buy,
            order_type: plugin_api::OrderType::Limit,
            price: plugin_api::Num::ZERO,
            qty: plugin_api::Num::ZERO,
            quote_qty: plugin_api::Num::ZERO,
            client_id: "".into(),
        };
        // Built, never run: the futures' types are what is checked.
        let _never_run = |config: HostConfig, secrets: Secrets, venue: VenueHandle| {
            send(&Exchange::start(config.clone(), secrets.clone()));
            send(&venue.order_book("BTC/USDT"));
            send(&venue.place(order));
            send(&Exchange::scope(config, secrets, |ex| async move {
                let mut book = ex.venue("gate")?.order_book("BTC/USDT").await?;
                book.recv().await;
                Ok::<_, ExchangeError>(())
            }));
        };
    }
}
