//! The venue driver: the only place that calls into a plugin instance. It serializes calls,
//! turns every returned value into host-owned data and counts rejects and errors. A panic
//! inside the plugin marks the instance faulted. What a call returned is delivered and acted
//! on by the instance's router, not here.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use abi_stable::std_types::{RResult, RVec};

use plugin_api::{Action, ConnId, ErrorKind, Event, InFrame, Output, PluginError, VenueAdapterBox};
use tokio::sync::watch;

use crate::venue::order_ledger::LATE_ORDER_UPDATE;
use crate::venue::tally::Tally;

/// Why a call into the plugin did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The plugin returned an error.
    #[error("{venue}: {error}")]
    Plugin {
        /// Instance name.
        venue: String,
        /// The plugin's error (host-owned copy).
        error: PluginError,
    },
    /// The instance is stopped; its adapter is gone.
    #[error("{venue}: instance is stopped")]
    Stopped {
        /// Instance name.
        venue: String,
    },
}

impl CallError {
    /// True when the instance cannot take further calls (stopped, panicked or faulted).
    pub fn is_fatal(&self) -> bool {
        match self {
            CallError::Stopped { .. } => true,
            CallError::Plugin { error, .. } => {
                matches!(error.kind, ErrorKind::Panic | ErrorKind::Faulted)
            }
        }
    }
}

/// Calls into one plugin instance; shared by every task of the instance.
pub(crate) struct Driver {
    name: String,
    adapter: async_lock::Mutex<Option<VenueAdapterBox>>,
    /// The instance's counters, shared with its other builds.
    pub(crate) tally: Arc<Tally>,
    faulted: watch::Sender<Option<String>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("name", &self.name).finish()
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Wall-clock nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Driver {
    /// Wraps an adapter for the instance `name`, counting into `tally`.
    pub(crate) fn new(name: &str, adapter: VenueAdapterBox, tally: Arc<Tally>) -> Driver {
        Driver {
            name: name.to_owned(),
            adapter: async_lock::Mutex::new(Some(adapter)),
            tally,
            faulted: watch::Sender::new(None),
        }
    }

    /// Resolves when (if ever) a plugin call panics, with the panic message.
    pub(crate) fn faulted(&self) -> watch::Receiver<Option<String>> {
        self.faulted.subscribe()
    }

    /// Calls the plugin with exclusive access. The closure's result must be host-owned
    /// (use [`rehome`]); errors are counted, and a panic marks the instance faulted.
    pub(crate) async fn call<T>(
        &self,
        f: impl FnOnce(&mut VenueAdapterBox) -> RResult<T, PluginError>,
    ) -> Result<T, CallError> {
        let mut guard = self.adapter.lock().await;
        let Some(adapter) = guard.as_mut() else {
            return Err(CallError::Stopped {
                venue: self.name.clone(),
            });
        };
        match f(adapter) {
            RResult::ROk(v) => Ok(v),
            RResult::RErr(e) => {
                drop(guard);
                Err(self.failed(rehome(e)))
            }
        }
    }

    fn failed(&self, error: PluginError) -> CallError {
        self.tally
            .counters
            .call_errors
            .fetch_add(1, Ordering::Relaxed);
        let text = format!("{error}");
        if error.kind != ErrorKind::Faulted {
            // A faulted instance's refusals would hide the panic that caused them.
            self.tally.error(text.clone());
        }
        if error.kind == ErrorKind::Panic {
            tracing::error!(venue = %self.name, error = %text, "plugin panicked; instance faulted");
            self.faulted.send_replace(Some(text));
        } else {
            tracing::warn!(venue = %self.name, error = %text, "plugin call failed");
        }
        CallError::Plugin {
            venue: self.name.clone(),
            error,
        }
    }

    /// Calls a plugin callback that returns an [`Output`]; returns its host-owned copy.
    pub(crate) async fn call_output(
        &self,
        f: impl FnOnce(&mut VenueAdapterBox) -> RResult<Output, PluginError>,
    ) -> Result<Returned, CallError> {
        self.call(|a| f(a).map(|o| self.take(o))).await
    }

    /// Hands a burst of received frames (each with its receive time) to the plugin under one
    /// lock. Each frame is one plugin call: a frame the plugin fails on is counted and the
    /// rest go on. `None` once the instance is stopped.
    pub(crate) async fn on_frames(
        &self,
        conn: ConnId,
        frames: &[(InFrame<'_>, u64)],
    ) -> Option<Returned> {
        let mut returned = Returned::with_capacity(frames.len());
        let mut errors = Vec::new();
        let call = self.call(|adapter| {
            for (frame, received_ns) in frames {
                match adapter.on_frame(conn, *frame, *received_ns) {
                    RResult::ROk(output) => self.take_into(output, &mut returned),
                    RResult::RErr(e) => errors.push(rehome(e)),
                }
            }
            RResult::ROk(())
        });
        call.await.ok()?;
        self.tally
            .counters
            .frames_in
            .fetch_add(frames.len() as u64, Ordering::Relaxed);
        for e in errors {
            self.failed(e);
        }
        Some(returned)
    }

    /// Like [`Driver::call_output`], but gives up (`Err(Busy)`) if another call still holds
    /// the plugin after `wait`: a callback stuck in plugin code must not hold up a stop.
    /// A faulted or released instance is not called (`Ok(None)`).
    pub(crate) async fn call_output_within(
        &self,
        wait: Duration,
        f: impl FnOnce(&mut VenueAdapterBox) -> RResult<Output, PluginError>,
    ) -> Result<Option<Returned>, Busy> {
        if self.faulted.borrow().is_some() {
            return Ok(None);
        }
        let Ok(mut guard) = tokio::time::timeout(wait, self.adapter.lock()).await else {
            return Err(Busy);
        };
        let Some(adapter) = guard.as_mut() else {
            return Ok(None);
        };
        let result = f(adapter).map(|o| self.take(o));
        drop(guard);
        match result {
            RResult::ROk(returned) => Ok(Some(returned)),
            RResult::RErr(e) => {
                self.failed(rehome(e));
                Ok(None)
            }
        }
    }

    /// Copies what a plugin call returned into host memory (see [`Returned`]).
    fn take(&self, output: Output) -> Returned {
        let mut returned = Returned::with_capacity(output.events.len());
        self.take_into(output, &mut returned);
        returned
    }

    /// Counts `output`'s rejects and adds host-owned copies of its events and actions to
    /// `into`. `output` itself (the plugin's memory) is dropped here, while the plugin is
    /// loaded.
    fn take_into(&self, output: Output, into: &mut Returned) {
        let Output {
            events,
            actions,
            rejects,
        } = output;
        if !rejects.is_empty() {
            let feed = &self.tally.reject_feed;
            for r in &rejects {
                tracing::debug!(venue = %self.name, reason = %r.reason, detail = %r.detail, "frame rejected");
                if feed.receiver_count() > 0 {
                    let _ = feed.send(crate::venue::RejectNote {
                        reason: r.reason.to_string(),
                        detail: r.detail.to_string(),
                    });
                }
            }
            self.tally
                .rejected(rejects.iter().map(|r| r.reason.to_string()));
        }
        // `Event::clone` runs in the host: the copies' containers belong to the host.
        let mut late = 0;
        for event in &events {
            if let Event::Order(update) = event {
                let mut finals = self.tally.orders();
                if !finals.admit(update) {
                    tracing::debug!(venue = %self.name, order_id = %update.order_id, status = ?update.status, "order update after the order was final; dropped");
                    late += 1;
                    continue;
                }
            }
            into.events.push(event.clone());
        }
        if late > 0 {
            self.tally
                .rejected(std::iter::repeat_n(LATE_ORDER_UPDATE.to_owned(), late));
        }
        if !actions.is_empty() {
            into.actions.push((into.events.len(), rehome(actions)));
        }
    }

    /// Drops the adapter (all plugin-owned state of the instance) once no call is running.
    /// Returns false if a call is still running after `wait` (a callback stuck in plugin
    /// code): the library must then stay loaded.
    pub(crate) async fn release(&self, wait: Duration) -> bool {
        match tokio::time::timeout(wait, self.adapter.lock()).await {
            Ok(mut guard) => {
                drop(guard.take());
                true
            }
            Err(_) => self.try_release(),
        }
    }

    /// Drops the adapter if no call is running now; false if one is.
    pub(crate) fn try_release(&self) -> bool {
        match self.adapter.try_lock() {
            Some(mut guard) => {
                drop(guard.take());
                true
            }
            None => false,
        }
    }
}

/// Another plugin call still held the instance when a bounded call gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy;

/// What plugin calls returned, copied into host memory so it can be delivered after the
/// plugin's lock is released: every event in order, and each output's actions with the
/// number of events that came before them.
#[derive(Debug, Default)]
pub(crate) struct Returned {
    pub(crate) events: Vec<Event>,
    pub(crate) actions: Vec<(usize, RVec<Action>)>,
}

impl Returned {
    fn with_capacity(events: usize) -> Returned {
        Returned {
            events: Vec::with_capacity(events),
            actions: Vec::new(),
        }
    }
}

/// Copies a value returned by a plugin into host-owned memory.
///
/// abi_stable containers (`RVec`, `RString`) carry function pointers into the library that
/// made them. Cloning runs in the host, so the clone's containers point into the host; the
/// original is dropped here, while the plugin is still loaded.
pub(crate) fn rehome<T: Clone>(value: T) -> T {
    value.clone()
}
