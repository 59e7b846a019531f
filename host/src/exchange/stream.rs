//! Typed streams: one venue's book tickers, trades, orders, fills or balances as values of
//! their own type, with gaps as values too ([`Update`]) and the end of the stream as `None`.

use std::marker::PhantomData;

use plugin_api::{Balance, BookTicker, Event, Fill, Gap, OrderUpdate, StreamKind, Trade};

use crate::pipeline::queue::QueueStats;
use crate::pipeline::{StreamItem, Subscription};

/// One item of a typed stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Update<T> {
    /// The next value.
    Item(T),
    /// A hole in the stream (a reconnect, a sequence gap, a plugin reload): values may be
    /// missing before the next one, so anything derived from earlier ones is suspect.
    Gap(Gap),
}

/// A typed stream of one venue (see the aliases [`BookTickers`], [`Trades`], [`Orders`],
/// [`Fills`], [`Balances`]). Dropping it unsubscribes.
pub struct EventStream<T> {
    sub: Subscription,
    pick: fn(Event) -> Option<T>,
    _values: PhantomData<fn() -> T>,
}

/// Best bid and ask with their sizes, of one symbol. When the consumer falls behind, the
/// newest value replaces older ones not yet taken (the default `[queues] book_ticker`
/// policy, `latest_value_wins`).
pub type BookTickers = EventStream<BookTicker>;
/// Public trades of one symbol.
pub type Trades = EventStream<Trade>;
/// The account's order updates (every symbol).
pub type Orders = EventStream<OrderUpdate>;
/// The account's fills (every symbol).
pub type Fills = EventStream<Fill>;
/// The account's balances, one asset per value.
pub type Balances = EventStream<Balance>;

impl<T> std::fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (venue, symbol, kind) = self.sub.topic();
        f.debug_struct("EventStream")
            .field("venue", &venue)
            .field("symbol", &symbol)
            .field("kind", &kind.name())
            .finish()
    }
}

impl<T> EventStream<T> {
    pub(super) fn new(sub: Subscription, pick: fn(Event) -> Option<T>) -> Self {
        EventStream {
            sub,
            pick,
            _values: PhantomData,
        }
    }

    /// The next value or gap; `None` once the venue stopped (the exchange shut down, or the
    /// venue failed for good). Cancel-safe: usable in `tokio::select!`.
    pub async fn recv(&mut self) -> Option<Update<T>> {
        loop {
            match self.sub.recv().await? {
                StreamItem::Event(Event::Gap(gap)) => return Some(Update::Gap(gap)),
                StreamItem::Event(event) => {
                    if let Some(value) = (self.pick)(event) {
                        return Some(Update::Item(value));
                    }
                }
                StreamItem::End => return None,
            }
        }
    }

    /// The venue's instance name.
    pub fn venue(&self) -> &str {
        self.sub.topic().0
    }

    /// The normalized symbol (empty for account-wide streams).
    pub fn symbol(&self) -> &str {
        self.sub.topic().1
    }

    /// The stream's kind.
    pub fn kind(&self) -> StreamKind {
        self.sub.topic().2
    }

    /// The counters of the stream's queue (offered, delivered, dropped by reason).
    pub fn stats(&self) -> QueueStats {
        self.sub.stats()
    }
}

pub(super) fn book_ticker(e: Event) -> Option<BookTicker> {
    match e {
        Event::BookTicker(t) => Some(t),
        _ => None,
    }
}

pub(super) fn trade(e: Event) -> Option<Trade> {
    match e {
        Event::Trade(t) => Some(t),
        _ => None,
    }
}

pub(super) fn order(e: Event) -> Option<OrderUpdate> {
    match e {
        Event::Order(o) => Some(o),
        _ => None,
    }
}

pub(super) fn fill(e: Event) -> Option<Fill> {
    match e {
        Event::Fill(f) => Some(f),
        _ => None,
    }
}

pub(super) fn balance(e: Event) -> Option<Balance> {
    match e {
        Event::Balance(b) => Some(b),
        _ => None,
    }
}
