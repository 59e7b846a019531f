//! What a venue instance has counted over its whole life. Every build of the instance (a
//! reload, a restart after a fault) adds to the same [`Tally`], so its counters never go
//! backwards while the venue stays configured; the host drops the tally when the venue is
//! removed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// Counters of one venue instance, over all its builds.
#[derive(Debug, Default)]
pub struct VenueCounters {
    /// Builds that started (the first start, restarts after faults, reloads).
    pub starts: AtomicU64,
    /// Frames handed to the plugin.
    pub frames_in: AtomicU64,
    /// Events delivered to the bus.
    pub events_out: AtomicU64,
    /// Events the plugin produced that never reached the bus: a stop cancelled their burst
    /// while a consumer's full queue held it back.
    pub events_abandoned: AtomicU64,
    /// Frames or parts the plugin rejected.
    pub rejected: AtomicU64,
    /// Plugin calls that returned an error.
    pub call_errors: AtomicU64,
    /// Actions the host could not carry out (no such connection, timer...).
    pub actions_failed: AtomicU64,
    /// Connections lost (each followed by a reconnect unless stopping).
    pub reconnects: AtomicU64,
    /// Actions refused because the instance was stopping (new timers, connections, requests).
    pub actions_refused: AtomicU64,
    /// Websocket connections opened (the first ones and every reconnect).
    pub connects: AtomicU64,
    /// Connect attempts that failed (refused, timed out, handshake rejected).
    pub connect_failures: AtomicU64,
    /// Connections dropped because their data stopped while the server still answered.
    pub stalls: AtomicU64,
    /// Gap markers delivered to consumers (reconnects, sequence gaps, reloads).
    pub gaps: AtomicU64,
}

/// A snapshot of a venue's [`VenueCounters`] with its reject reasons and last error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct VenueStats {
    /// Builds that started; 0 means the venue never ran.
    pub starts: u64,
    /// Frames handed to the plugin.
    pub frames_in: u64,
    /// Events delivered to the bus.
    pub events_out: u64,
    /// Events the plugin produced that a stop kept from reaching the bus.
    pub events_abandoned: u64,
    /// Rejected frames or parts.
    pub rejected: u64,
    /// Reject counts by reason.
    pub rejects_by_reason: HashMap<String, u64>,
    /// Failed plugin calls.
    pub call_errors: u64,
    /// Actions the host could not carry out.
    pub actions_failed: u64,
    /// Connections lost.
    pub reconnects: u64,
    /// Actions refused because the instance was stopping.
    pub actions_refused: u64,
    /// Websocket connections opened; 0 means the venue never connected.
    pub connects: u64,
    /// Failed connect attempts.
    pub connect_failures: u64,
    /// Connections dropped because their data stopped.
    pub stalls: u64,
    /// Gap markers delivered.
    pub gaps: u64,
    /// Unix time in ms of the last frame that carried data, if any did.
    pub last_data_unix_ms: Option<u64>,
    /// The last error (a failed plugin call or connect attempt), if any.
    pub last_error: Option<String>,
    /// Unix time in ms of the last error.
    pub last_error_unix_ms: Option<u64>,
}

/// A frame (or part) the plugin rejected, as [`crate::Host::rejects`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectNote {
    /// The plugin's short, stable reason (`malformed`, `stale`...).
    pub reason: String,
    /// The plugin's detail.
    pub detail: String,
}

/// Reject notes kept for a slow listener before it misses some.
const REJECT_FEED: usize = 256;

/// The tally of one venue instance, shared by its builds and their resources.
#[derive(Debug)]
pub(crate) struct Tally {
    /// Every reject as it happens, for whoever listens (`host run --print-events`).
    pub(crate) reject_feed: tokio::sync::broadcast::Sender<RejectNote>,
    pub(crate) counters: VenueCounters,
    /// Seconds from a burst of frames being read to its events being queued for consumers.
    pub(crate) delivery: std::sync::Arc<super::latency::LatencyHistogram>,
    rejects: Mutex<HashMap<String, u64>>,
    last_error: Mutex<Option<(String, u64)>>,
    /// Unix ns of the last frame that carried data; 0: none yet.
    last_data_ns: AtomicU64,
    /// Its orders over every build: an update arriving after a reload must not reopen an
    /// order the previous build saw finish, and the next build looks up the orders left
    /// unsettled.
    orders: Mutex<super::order_ledger::OrderLedger>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            reject_feed: tokio::sync::broadcast::Sender::new(REJECT_FEED),
            counters: VenueCounters::default(),
            delivery: std::sync::Arc::default(),
            rejects: Mutex::default(),
            last_error: Mutex::default(),
            last_data_ns: AtomicU64::default(),
            orders: Mutex::default(),
        }
    }
}

impl Tally {
    /// The instance's orders (see [`super::order_ledger`]).
    pub(crate) fn orders(&self) -> std::sync::MutexGuard<'_, super::order_ledger::OrderLedger> {
        self.orders.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a reject with its reason.
    pub(crate) fn rejected(&self, reasons: impl Iterator<Item = String>) {
        let mut by = self.rejects.lock().unwrap_or_else(|p| p.into_inner());
        for reason in reasons {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            *by.entry(reason).or_default() += 1;
        }
    }

    /// Records `error` as the last error.
    pub(crate) fn error(&self, error: String) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((error, super::driver::now_ms()));
    }

    /// Counts a failed connect attempt.
    pub(crate) fn connect_failed(&self, error: &str) {
        self.counters
            .connect_failures
            .fetch_add(1, Ordering::Relaxed);
        self.error(error.to_owned());
    }

    /// Notes that a frame received at `received_ns` carried data.
    pub(crate) fn data_seen(&self, received_ns: u64) {
        self.last_data_ns.fetch_max(received_ns, Ordering::Relaxed);
    }

    /// Unix ns of the last frame that carried data; 0 if none did.
    pub(crate) fn last_data_ns(&self) -> u64 {
        self.last_data_ns.load(Ordering::Relaxed)
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> VenueStats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let last_error = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        VenueStats {
            starts: load(&c.starts),
            frames_in: load(&c.frames_in),
            events_out: load(&c.events_out),
            events_abandoned: load(&c.events_abandoned),
            rejected: load(&c.rejected),
            rejects_by_reason: self
                .rejects
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            call_errors: load(&c.call_errors),
            actions_failed: load(&c.actions_failed),
            reconnects: load(&c.reconnects),
            actions_refused: load(&c.actions_refused),
            connects: load(&c.connects),
            connect_failures: load(&c.connect_failures),
            stalls: load(&c.stalls),
            gaps: load(&c.gaps),
            last_data_unix_ms: match self.last_data_ns() {
                0 => None,
                ns => Some(ns / 1_000_000),
            },
            last_error_unix_ms: last_error.as_ref().map(|(_, at)| *at),
            last_error: last_error.map(|(e, _)| e),
        }
    }
}
