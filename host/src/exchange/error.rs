//! What can go wrong between a program and its venues: [`ExchangeError`], whose variants
//! name the venue (and the symbol) concerned, and [`ScopeError`], the outcome of a
//! [`super::Exchange::scope`] whose program failed.

use std::fmt;
use std::time::Duration;

use crate::error::HostError;
use crate::ops::OpsError;
use crate::stop::report::ShutdownReport;

/// A failure of the exchange or of one of its venues.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The host could not be set up (its private shadow folder, ...).
    #[error("exchange not started: {0}")]
    Setup(#[source] Box<OpsError>),
    /// The configuration enables no venue.
    #[error("exchange not started: the configuration enables no venue (`[venues.NAME]`)")]
    NoVenues,
    /// A configured venue did not start: no plugin file provides its plugin, the plugin
    /// refused its settings, it failed while starting...
    #[error("venue `{venue}` did not start: {reason}")]
    NotStarted {
        /// Instance name.
        venue: String,
        /// Why, as the host recorded it.
        reason: String,
    },
    /// A configured venue did not reach `running` in time.
    #[error("venue `{venue}` is still {state} after {waited:?}; it did not reach running")]
    StartTimeout {
        /// Instance name.
        venue: String,
        /// Its life-cycle state when the wait ended.
        state: String,
        /// How long the start waited.
        waited: Duration,
    },
    /// The start was cancelled before every venue ran; what had started was shut down in
    /// order (see [`super::Exchange::start_until`]).
    #[error("exchange not started: stopped while the venues started")]
    Cancelled {
        /// The shutdown of what had started.
        report: Box<ShutdownReport>,
    },
    /// No venue of that name is part of the exchange.
    #[error("no venue `{venue}` in this exchange (it has: {known})")]
    UnknownVenue {
        /// The name asked for.
        venue: String,
        /// The venues it has, comma-separated.
        known: String,
    },
    /// The exchange has shut down (or was dropped), or the venue is gone.
    #[error("venue `{venue}`: the exchange has shut down")]
    Closed {
        /// Instance name.
        venue: String,
    },
    /// The venue refused a stream: a market it does not list, a kind its plugin does not
    /// serve. The source names the venue.
    #[error("{kind} stream of `{symbol}`: {source}")]
    Stream {
        /// Instance name.
        venue: String,
        /// The normalized symbol (empty for account-wide streams).
        symbol: String,
        /// The stream kind (`book_ticker`, `depth`, `orders`...).
        kind: &'static str,
        /// The host's refusal.
        #[source]
        source: Box<HostError>,
    },
    /// The venue does not list the market (or the symbol is not normalized, `BTC/USDT`).
    /// The source names the venue.
    #[error("instrument `{symbol}`: {source}")]
    Instrument {
        /// Instance name.
        venue: String,
        /// The symbol asked for.
        symbol: String,
        /// The host's refusal.
        #[source]
        source: Box<HostError>,
    },
    /// An order book of that symbol is open already on the venue. The venue sends a book
    /// snapshot when the book is first subscribed, so a second book would stay unsynced
    /// until the next gap: share the first one instead.
    #[error(
        "venue `{venue}`: an order book of `{symbol}` is open already (one per venue and symbol)"
    )]
    BookOpen {
        /// Instance name.
        venue: String,
        /// The normalized symbol.
        symbol: String,
    },
    /// An order or a cancel was not sent. The source names the venue and says why.
    #[error("{action} on `{symbol}`: {source}")]
    Order {
        /// Instance name.
        venue: String,
        /// The normalized symbol.
        symbol: String,
        /// `order` or `cancel`.
        action: &'static str,
        /// The host's error.
        #[source]
        source: Box<HostError>,
    },
    /// The bus of a program whose venues are served elsewhere (`nats.remote`) could not be
    /// reached.
    #[error("exchange not started: {0}")]
    Bus(String),
    /// The venue's health could not be read: no host answered for it over the bus.
    #[error("health: {source}")]
    Health {
        /// Instance name.
        venue: String,
        /// Why.
        #[source]
        source: Box<HostError>,
    },
    /// A configuration change was not applied (see [`super::ExchangeHandle::reconfigure`]):
    /// it would add, remove or re-plug a venue, a plugin refused the new settings, or a
    /// venue did not start with them and the change was undone.
    #[error("configuration not applied: {reason}")]
    Reconfigure {
        /// Why, naming the venues and keys concerned.
        reason: String,
    },
}

impl ExchangeError {
    /// The venue the error concerns, if it concerns one.
    pub fn venue(&self) -> Option<&str> {
        match self {
            ExchangeError::Setup(_)
            | ExchangeError::NoVenues
            | ExchangeError::Cancelled { .. }
            | ExchangeError::Bus(_)
            | ExchangeError::Reconfigure { .. } => None,
            ExchangeError::NotStarted { venue, .. }
            | ExchangeError::StartTimeout { venue, .. }
            | ExchangeError::UnknownVenue { venue, .. }
            | ExchangeError::Closed { venue }
            | ExchangeError::Stream { venue, .. }
            | ExchangeError::Instrument { venue, .. }
            | ExchangeError::BookOpen { venue, .. }
            | ExchangeError::Health { venue, .. }
            | ExchangeError::Order { venue, .. } => Some(venue),
        }
    }
}

/// Why [`super::Exchange::scope`] returned no value.
#[derive(Debug)]
pub enum ScopeError<E> {
    /// The exchange did not start, so the program never ran (what had started is stopped).
    Start(ExchangeError),
    /// The program returned an error; every venue was stopped in order afterwards.
    Program {
        /// The program's error.
        error: E,
        /// The shutdown that followed.
        report: Box<ShutdownReport>,
    },
}

impl<E> ScopeError<E> {
    /// The shutdown report, if the exchange had started (also when its start was
    /// cancelled).
    pub fn report(&self) -> Option<&ShutdownReport> {
        match self {
            ScopeError::Start(ExchangeError::Cancelled { report }) => Some(report),
            ScopeError::Start(_) => None,
            ScopeError::Program { report, .. } => Some(report),
        }
    }
}

impl<E: fmt::Display> fmt::Display for ScopeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::Start(e) => fmt::Display::fmt(e, f),
            ScopeError::Program { error, .. } => write!(f, "the program failed: {error}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ScopeError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScopeError::Start(e) => Some(e),
            ScopeError::Program { error, .. } => Some(error),
        }
    }
}
