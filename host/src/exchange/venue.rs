//! One venue of an exchange as a program sees it: [`VenueHandle`] opens its typed streams
//! and its synced order books, places and cancels orders, and tells its health.

use std::sync::{Arc, Weak};
use std::time::Duration;

use plugin_api::{CancelOrder, Event, Instrument, NewOrder, StreamKind};

use super::book::{BookClaims, OrderBookStream};
use super::stream::{self, Balances, BookTickers, EventStream, Fills, Orders, Trades};
use super::{ExchangeError, Inner};
use crate::error::HostError;
use crate::nats::remote::Remote;
use crate::nats::wire;
use crate::venue::{Health, State, VenueStats};
use crate::Host;

/// What serves a venue: the local host, or hosts over the bus.
enum Backend {
    Local(Host),
    Remote(Arc<Remote>),
}

/// One venue of a running exchange. Cheap to clone; it does not keep the venue running:
/// once the exchange shut down its calls return [`ExchangeError::Closed`] and its streams
/// end.
#[derive(Clone)]
pub struct VenueHandle {
    inner: Weak<Inner>,
    name: Arc<str>,
    plugin: Arc<str>,
    books: BookClaims,
}

impl std::fmt::Debug for VenueHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenueHandle")
            .field("name", &self.name)
            .field("plugin", &self.plugin)
            .finish_non_exhaustive()
    }
}

/// How a venue is doing: its life cycle, its connections, its counters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VenueHealth {
    /// Instance name.
    pub venue: String,
    /// Life-cycle state (`Restarting` after a plugin fault, `Failed` after too many).
    pub state: State,
    /// The worst of its connections (meaningful while it runs).
    pub connections: Health,
    /// Counters over the venue's life: connects, reconnects, gaps, stalls, rejects, the
    /// last error and when data last arrived.
    pub stats: VenueStats,
}

impl VenueHealth {
    /// Running, with every connection open and its data flowing.
    pub fn is_up(&self) -> bool {
        self.state == State::Running && self.connections == Health::Running
    }

    /// Time since a frame last carried data (`None`: none ever did).
    pub fn last_data_age(&self) -> Option<Duration> {
        let at = self.stats.last_data_unix_ms?;
        Some(Duration::from_millis(
            crate::venue::now_ms().saturating_sub(at),
        ))
    }
}

impl VenueHandle {
    pub(super) fn new(inner: Weak<Inner>, name: &str, plugin: &str, books: BookClaims) -> Self {
        VenueHandle {
            inner,
            name: name.into(),
            plugin: plugin.into(),
            books,
        }
    }

    /// The venue's instance name (`gate`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The venue id of the plugin serving it (`gateio`).
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// What serves the venue, while the exchange runs.
    fn backend(&self) -> Result<Backend, ExchangeError> {
        let inner = self.inner.upgrade().ok_or_else(|| self.closed())?;
        Ok(match &*inner {
            Inner::Local(operator) => Backend::Local(operator.host().clone()),
            Inner::Remote(remote) => Backend::Remote(remote.clone()),
        })
    }

    fn bus_error(&self, error: impl std::fmt::Display) -> HostError {
        HostError::Bus {
            venue: self.name.to_string(),
            error: error.to_string(),
        }
    }

    fn closed(&self) -> ExchangeError {
        ExchangeError::Closed {
            venue: self.name.to_string(),
        }
    }

    /// The venue's instrument for the normalized `symbol` (`BTC/USDT`), with the venue's
    /// own spelling: what [`NewOrder::instrument`] and [`CancelOrder::instrument`] take.
    pub async fn instrument(&self, symbol: &str) -> Result<Instrument, ExchangeError> {
        let found = match self.backend()? {
            Backend::Local(host) => host.instrument(&self.name, symbol).await,
            Backend::Remote(remote) => {
                let op = wire::Op::Instrument(symbol.to_owned());
                match remote.request(&self.name, op).await {
                    Ok(wire::Outcome::Instrument(i)) => {
                        wire::from_instrument(Some(&i)).map_err(|e| self.bus_error(e))
                    }
                    Ok(_) => Err(self.bus_error("an answer of another request")),
                    Err(e) => Err(e),
                }
            }
        };
        found.map_err(|e| match e {
            HostError::ShutDown | HostError::UnknownInstance(_) => self.closed(),
            e => ExchangeError::Instrument {
                venue: self.name.to_string(),
                symbol: symbol.to_owned(),
                source: Box::new(e),
            },
        })
    }

    fn refused(&self, symbol: &str, kind: StreamKind, e: HostError) -> ExchangeError {
        match e {
            HostError::ShutDown | HostError::UnknownInstance(_) => self.closed(),
            e => ExchangeError::Stream {
                venue: self.name.to_string(),
                symbol: symbol.to_owned(),
                kind: kind.name(),
                source: Box::new(e),
            },
        }
    }

    /// Subscribes to `kind` of `symbol` once the venue said it serves it.
    async fn subscribe(
        &self,
        symbol: &str,
        kind: StreamKind,
    ) -> Result<crate::Subscription, ExchangeError> {
        let host = match self.backend()? {
            Backend::Local(host) => host,
            Backend::Remote(remote) => {
                return remote
                    .subscribe(&self.name, symbol, kind)
                    .await
                    .map_err(|e| self.refused(symbol, kind, e))
            }
        };
        host.check_topic(&self.name, symbol, kind)
            .await
            .map_err(|e| self.refused(symbol, kind, e))?;
        host.subscribe(&self.name, symbol, kind).ok_or_else(|| {
            let e = HostError::UnknownSymbol {
                venue: self.name.to_string(),
                symbol: symbol.to_owned(),
            };
            self.refused(symbol, kind, e)
        })
    }

    async fn typed<T>(
        &self,
        symbol: &str,
        kind: StreamKind,
        pick: fn(Event) -> Option<T>,
    ) -> Result<EventStream<T>, ExchangeError> {
        Ok(EventStream::new(self.subscribe(symbol, kind).await?, pick))
    }

    /// Best bid and ask with sizes of `symbol` (`BTC/USDT`), as the venue updates them.
    pub async fn book_tickers(&self, symbol: &str) -> Result<BookTickers, ExchangeError> {
        self.typed(symbol, StreamKind::BookTicker, stream::book_ticker)
            .await
    }

    /// Public trades of `symbol`.
    pub async fn trades(&self, symbol: &str) -> Result<Trades, ExchangeError> {
        self.typed(symbol, StreamKind::Trades, stream::trade).await
    }

    /// The synced L2 book of `symbol`: unsynced until the venue's snapshot arrives (see
    /// [`OrderBookStream::synced`]), and from each gap until the next snapshot. One per
    /// venue and symbol at a time ([`ExchangeError::BookOpen`] otherwise). A `depth`
    /// channel of the venue's configuration subscribes the book before the program does;
    /// leave it out, or this book waits for the venue's next snapshot.
    pub async fn order_book(&self, symbol: &str) -> Result<OrderBookStream, ExchangeError> {
        let book_open = || ExchangeError::BookOpen {
            venue: self.name.to_string(),
            symbol: symbol.to_owned(),
        };
        // Refused before subscribing: a second subscriber must not disturb the first.
        if self
            .books
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&(self.name.to_string(), symbol.to_owned()))
        {
            return Err(book_open());
        }
        let sub = self.subscribe(symbol, StreamKind::Depth).await?;
        OrderBookStream::new(sub, &self.books).ok_or_else(book_open)
    }

    /// The account's order updates on this venue (needs credentials).
    pub async fn orders(&self) -> Result<Orders, ExchangeError> {
        self.typed("", StreamKind::Orders, stream::order).await
    }

    /// The account's fills on this venue (needs credentials).
    pub async fn fills(&self) -> Result<Fills, ExchangeError> {
        self.typed("", StreamKind::Fills, stream::fill).await
    }

    /// The account's balances on this venue (needs credentials).
    pub async fn balances(&self) -> Result<Balances, ExchangeError> {
        self.typed("", StreamKind::Balances, stream::balance).await
    }

    /// Places `order`: the plugin signs the request, the host rate-limits and sends it.
    /// `Ok` means it was sent; the venue's answer arrives on [`VenueHandle::orders`] (open
    /// or rejected, then fills), matched by `client_id`. Returns the request's tag.
    pub async fn place(&self, order: NewOrder) -> Result<u64, ExchangeError> {
        let symbol = order.instrument.symbol.to_string();
        let placed = match self.backend()? {
            Backend::Local(host) => host.place_order(&self.name, order).await,
            Backend::Remote(remote) => {
                let op = wire::Op::Place(wire::new_order(&order));
                match remote.request(&self.name, op).await {
                    Ok(wire::Outcome::Tag(tag)) => Ok(tag),
                    // Placed by an earlier try whose answer was lost.
                    Ok(wire::Outcome::Duplicate(_)) => Ok(0),
                    Ok(_) => Err(self.bus_error("an answer of another request")),
                    Err(e) => Err(e),
                }
            }
        };
        placed.map_err(|e| self.order_failed("order", symbol, e))
    }

    /// Cancels an order by the venue's order id; the outcome arrives on
    /// [`VenueHandle::orders`] (`Cancelled`). Returns the request's tag.
    pub async fn cancel(&self, cancel: CancelOrder) -> Result<u64, ExchangeError> {
        let symbol = cancel.instrument.symbol.to_string();
        let cancelled = match self.backend()? {
            Backend::Local(host) => host.cancel_order(&self.name, cancel).await,
            Backend::Remote(remote) => {
                let op = wire::Op::Cancel(wire::cancel_order(&cancel));
                match remote.request(&self.name, op).await {
                    Ok(wire::Outcome::Tag(tag)) => Ok(tag),
                    Ok(_) => Err(self.bus_error("an answer of another request")),
                    Err(e) => Err(e),
                }
            }
        };
        cancelled.map_err(|e| self.order_failed("cancel", symbol, e))
    }

    fn order_failed(&self, action: &'static str, symbol: String, e: HostError) -> ExchangeError {
        match e {
            HostError::ShutDown | HostError::UnknownInstance(_) => self.closed(),
            e => ExchangeError::Order {
                venue: self.name.to_string(),
                symbol,
                action,
                source: Box::new(e),
            },
        }
    }

    /// How the venue is doing now.
    pub async fn health(&self) -> Result<VenueHealth, ExchangeError> {
        let host = match self.backend()? {
            Backend::Local(host) => host,
            Backend::Remote(remote) => {
                let failed = |e: HostError| ExchangeError::Health {
                    venue: self.name.to_string(),
                    source: Box::new(e),
                };
                let answer = remote
                    .request(&self.name, wire::Op::Health(true))
                    .await
                    .map_err(failed)?;
                let wire::Outcome::HealthJson(json) = answer else {
                    return Err(failed(self.bus_error("an answer of another request")));
                };
                return serde_json::from_str(&json)
                    .map_err(|e| failed(self.bus_error(format!("unreadable health: {e}"))));
            }
        };
        let status = host
            .instances()
            .await
            .into_iter()
            .find(|i| i.name == *self.name)
            .ok_or_else(|| self.closed())?;
        Ok(VenueHealth {
            venue: self.name.to_string(),
            state: status.state,
            connections: status.health,
            stats: status.stats,
        })
    }
}
