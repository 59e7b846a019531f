//! Fault injection switches that tests flip at run time through [`Faults`].
//!
//! Every setter takes effect for frames and connections handled after the call; live websocket
//! connections observe the per-frame switches on their next frame.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

/// How a REST request should fail instead of being served.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestFault {
    /// Answer `429 Too Many Requests` with a `Retry-After: <secs>` header.
    TooManyRequests {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u32,
    },
    /// Answer with this 5xx status code and the venue's internal-error body.
    ServerError {
        /// HTTP status, e.g. 500, 502, 503.
        status: u16,
    },
    /// Serve the request (an order is placed or cancelled), then answer with this 5xx status
    /// and the venue's internal-error body instead: the client cannot tell what happened.
    ServedThenServerError {
        /// HTTP status, e.g. 500, 502, 503.
        status: u16,
    },
    /// Wait this long before serving the request normally.
    Slow {
        /// Added latency.
        delay: Duration,
    },
}

/// How new TCP connections are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptMode {
    /// Serve normally.
    #[default]
    Normal,
    /// Accept the TCP connection and close it at once (a refused connection).
    Refuse,
    /// Accept the TCP connection and never answer (the WS handshake never completes).
    Hang,
}

/// How [`Faults::kick_all`] ends live websocket connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kick {
    /// Send a close frame (code 1001 "going away") and close.
    CloseFrame,
    /// Drop the TCP connection without a close frame.
    TcpDrop,
}

/// A one-shot corruption of the next outgoing data frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Corruption {
    Malformed,
    Truncated,
}

/// Shared fault switches. Cheap to clone; every clone controls the same simulator.
#[derive(Clone, Debug)]
pub struct Faults {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    drop_after: AtomicU64,
    silent: AtomicBool,
    data_paused: AtomicBool,
    delay_us: AtomicU64,
    malformed: AtomicU64,
    truncated: AtomicU64,
    gap: AtomicU64,
    accept: Mutex<AcceptMode>,
    rest: Mutex<Option<RestFault>>,
    order_entry: Mutex<Option<RestFault>>,
    kick: broadcast::Sender<Kick>,
}

const NO_LIMIT: u64 = u64::MAX;

impl Default for Faults {
    fn default() -> Self {
        Self::new()
    }
}

impl Faults {
    /// All faults off.
    pub fn new() -> Self {
        let (kick, _) = broadcast::channel(4);
        Self {
            inner: Arc::new(Inner {
                drop_after: AtomicU64::new(NO_LIMIT),
                silent: AtomicBool::new(false),
                data_paused: AtomicBool::new(false),
                delay_us: AtomicU64::new(0),
                malformed: AtomicU64::new(0),
                truncated: AtomicU64::new(0),
                gap: AtomicU64::new(0),
                accept: Mutex::new(AcceptMode::Normal),
                rest: Mutex::new(None),
                order_entry: Mutex::new(None),
                kick,
            }),
        }
    }

    /// Each websocket connection drops its TCP connection (no close frame) after sending `n`
    /// data frames; `None` turns this off. Counted per connection, from its start.
    pub fn set_drop_after(&self, n: Option<u64>) {
        self.inner
            .drop_after
            .store(n.unwrap_or(NO_LIMIT), Ordering::SeqCst);
    }

    /// Stop sending anything (data, acks, pongs) while keeping sockets open.
    pub fn set_silent(&self, silent: bool) {
        self.inner.silent.store(silent, Ordering::SeqCst);
    }

    /// Stop sending market and private data while still answering everything else
    /// (subscription acks, application pongs, protocol pongs): the connection looks alive.
    pub fn set_data_paused(&self, paused: bool) {
        self.inner.data_paused.store(paused, Ordering::SeqCst);
    }

    /// Delay every outgoing websocket frame by `delay` (zero turns it off).
    pub fn set_delay(&self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.inner.delay_us.store(us, Ordering::SeqCst);
    }

    /// Replace the next `n` outgoing data frames (over all connections) with malformed ones
    /// (`{"malformed` for JSON venues, garbage bytes for protobuf).
    pub fn inject_malformed(&self, n: u64) {
        self.inner.malformed.fetch_add(n, Ordering::SeqCst);
    }

    /// Cut the next `n` outgoing data frames to half their length.
    pub fn inject_truncated(&self, n: u64) {
        self.inner.truncated.fetch_add(n, Ordering::SeqCst);
    }

    /// Make every symbol's synthetic order-book stream skip `n` sequence ids before its next
    /// update (Gate `U`/`u`, MEXC `fromVersion`/`toVersion`). REST snapshots see the same jump.
    /// The replay source is not affected (its ids are the captured ones).
    pub fn skip_sequence(&self, n: u64) {
        self.inner.gap.fetch_add(n, Ordering::SeqCst);
    }

    /// How new TCP connections (websocket and REST) are treated.
    pub fn set_accept_mode(&self, mode: AcceptMode) {
        *self.inner.accept.lock().unwrap() = mode;
    }

    /// Fail REST requests this way until called again with `None`.
    pub fn set_rest_fault(&self, fault: Option<RestFault>) {
        *self.inner.rest.lock().unwrap() = fault;
    }

    /// Applies `fault` to order entry only (placing and cancelling: `POST`/`DELETE` of the
    /// order routes), before any [`Faults::set_rest_fault`]; reads of the account, the
    /// orders and the market are answered. `None` turns it off.
    pub fn set_order_entry_fault(&self, fault: Option<RestFault>) {
        *self.inner.order_entry.lock().unwrap() = fault;
    }

    /// Turns every fault off: the switches, the pending corruptions and sequence gaps, the
    /// accept mode and the REST faults.
    pub fn clear(&self) {
        let i = &self.inner;
        i.drop_after.store(NO_LIMIT, Ordering::SeqCst);
        i.silent.store(false, Ordering::SeqCst);
        i.data_paused.store(false, Ordering::SeqCst);
        i.delay_us.store(0, Ordering::SeqCst);
        i.malformed.store(0, Ordering::SeqCst);
        i.truncated.store(0, Ordering::SeqCst);
        i.gap.store(0, Ordering::SeqCst);
        *i.accept.lock().unwrap() = AcceptMode::Normal;
        *i.rest.lock().unwrap() = None;
        *i.order_entry.lock().unwrap() = None;
    }

    /// End every live websocket connection now.
    pub fn kick_all(&self, how: Kick) {
        // No receivers means no live connection: nothing to do.
        let _ = self.inner.kick.send(how);
    }

    pub(crate) fn drop_after(&self) -> u64 {
        self.inner.drop_after.load(Ordering::Relaxed)
    }

    pub(crate) fn silent(&self) -> bool {
        self.inner.silent.load(Ordering::Relaxed)
    }

    pub(crate) fn data_paused(&self) -> bool {
        self.inner.data_paused.load(Ordering::Relaxed)
    }

    pub(crate) fn delay(&self) -> Option<Duration> {
        match self.inner.delay_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    pub(crate) fn take_corruption(&self) -> Option<Corruption> {
        let take = |c: &AtomicU64| {
            c.load(Ordering::Relaxed) > 0
                && c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
                    .is_ok()
        };
        if take(&self.inner.malformed) {
            Some(Corruption::Malformed)
        } else if take(&self.inner.truncated) {
            Some(Corruption::Truncated)
        } else {
            None
        }
    }

    pub(crate) fn take_gap(&self) -> u64 {
        if self.inner.gap.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        self.inner.gap.swap(0, Ordering::SeqCst)
    }

    pub(crate) fn accept_mode(&self) -> AcceptMode {
        *self.inner.accept.lock().unwrap()
    }

    /// The fault for a request: the order-entry fault for `POST` or `DELETE` of an order
    /// route (Gate `/spot/orders`, MEXC `/api/v3/order`), otherwise the general one.
    pub(crate) fn rest_fault(&self, method: &hyper::Method, path: &str) -> Option<RestFault> {
        let order_entry = matches!(*method, hyper::Method::POST | hyper::Method::DELETE)
            && (path.contains("/spot/orders") || path.ends_with("/api/v3/order"));
        if order_entry {
            if let Some(f) = self.inner.order_entry.lock().unwrap().clone() {
                return Some(f);
            }
        }
        self.inner.rest.lock().unwrap().clone()
    }

    pub(crate) fn kicks(&self) -> broadcast::Receiver<Kick> {
        self.inner.kick.subscribe()
    }
}
