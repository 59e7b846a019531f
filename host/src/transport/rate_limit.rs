//! A plugin-declared request budget ([`RateLimitDecl`]) enforced as a sliding window, per group
//! or per instrument key, with server feedback (`429`/`418` + `Retry-After`) and cancellable waits.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use plugin_api::RateLimitDecl;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::stop::resource::{Resource, ResourceCounts};

/// The limiter is stopped: the request must not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limiter is stopped")]
pub struct Stopped;

/// A snapshot of a limiter's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitStats {
    /// Successful acquisitions.
    pub acquired: u64,
    /// Acquisitions that had to wait at least once.
    pub waited: u64,
    /// Acquisitions refused because the limiter stopped (before or while waiting).
    pub rejected_stopped: u64,
    /// Callers waiting now.
    pub waiters: usize,
}

/// One budget: at most `capacity` weight in any `window`, for the whole group or per key.
///
/// The window slides: a grant is counted until exactly `window` after it was made, so no two
/// adjacent fixed windows can together let through twice the capacity. A weight above the
/// capacity is clamped to it (it waits for an empty window).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    capacity: u64,
    window: Duration,
    per_instrument: bool,
    state: Mutex<State>,
    token: CancellationToken,
    acquired: AtomicU64,
    waited: AtomicU64,
    rejected_stopped: AtomicU64,
    waiters: AtomicUsize,
    /// Notified when the last waiter leaves.
    idle: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Grants per key (`""` for the whole group).
    windows: HashMap<String, Window>,
    /// No grant before this instant (server feedback).
    penalty_until: Option<Instant>,
}

#[derive(Debug, Default)]
struct Window {
    grants: VecDeque<(Instant, u64)>,
    used: u64,
}

impl Window {
    /// Grants `weight` now, or returns the instant when it could be granted.
    fn try_take(
        &mut self,
        now: Instant,
        window: Duration,
        capacity: u64,
        weight: u64,
    ) -> Result<(), Instant> {
        while let Some(&(at, w)) = self.grants.front() {
            if at + window > now {
                break;
            }
            self.grants.pop_front();
            self.used -= w;
        }
        if self.used + weight <= capacity {
            self.grants.push_back((now, weight));
            self.used += weight;
            return Ok(());
        }
        // The earliest instant when enough old grants have expired.
        let mut freed = capacity - self.used;
        for &(at, w) in &self.grants {
            freed += w;
            if freed >= weight {
                return Err(at + window);
            }
        }
        Err(now + window)
    }
}

/// Decrements the waiter count however the wait ends (return or drop).
struct Waiting<'a>(&'a Inner);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.0.waiters.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl RateLimiter {
    /// A limiter for one declared budget.
    pub fn new(decl: &RateLimitDecl) -> RateLimiter {
        RateLimiter::with(
            decl.name.as_str(),
            decl.capacity,
            Duration::from_millis(decl.window_ms),
            decl.per_instrument,
        )
    }

    /// A limiter from explicit parts: `capacity` weight per `window`, per key if `per_key`.
    pub fn with(name: &str, capacity: u32, window: Duration, per_key: bool) -> RateLimiter {
        RateLimiter {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                capacity: u64::from(capacity.max(1)),
                window,
                per_instrument: per_key,
                state: Mutex::new(State::default()),
                token: CancellationToken::new(),
                acquired: AtomicU64::new(0),
                waited: AtomicU64::new(0),
                rejected_stopped: AtomicU64::new(0),
                waiters: AtomicUsize::new(0),
                idle: Notify::new(),
            }),
        }
    }

    /// The budget's name (the group requests name).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Waits until `weight` fits in the budget of `key` (ignored unless the budget is per
    /// instrument) and takes it. Returns `Err(Stopped)` at once when the limiter is stopped,
    /// also while waiting. Cancel-safe: dropping the future takes nothing.
    pub async fn acquire(&self, key: &str, weight: u32) -> Result<(), Stopped> {
        let inner = &*self.inner;
        let key = if inner.per_instrument { key } else { "" };
        let weight = u64::from(weight).min(inner.capacity);
        let mut guard: Option<Waiting<'_>> = None;
        loop {
            if inner.token.is_cancelled() {
                inner.rejected_stopped.fetch_add(1, Ordering::Relaxed);
                return Err(Stopped);
            }
            let until = {
                let mut state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                match state.penalty_until {
                    Some(t) if t > now => Err(t),
                    _ => {
                        let window = match state.windows.get_mut(key) {
                            Some(w) => w,
                            None => state.windows.entry(key.to_owned()).or_default(),
                        };
                        window.try_take(now, inner.window, inner.capacity, weight)
                    }
                }
            };
            let Err(until) = until else {
                inner.acquired.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            };
            if guard.is_none() {
                inner.waiters.fetch_add(1, Ordering::AcqRel);
                inner.waited.fetch_add(1, Ordering::Relaxed);
                guard = Some(Waiting(inner));
            }
            tokio::select! {
                biased;
                _ = inner.token.cancelled() => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// Server feedback (`429`/`418` with `Retry-After`): no grant before `retry_after` from now.
    pub fn penalize(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.penalty_until.is_none_or(|t| t < until) {
            state.penalty_until = Some(until);
        }
        tracing::warn!(limit = %self.inner.name, retry_after_ms = retry_after.as_millis() as u64, "rate limit penalized by the venue");
    }

    /// The counters now.
    pub fn stats(&self) -> RateLimitStats {
        let i = &self.inner;
        RateLimitStats {
            acquired: i.acquired.load(Ordering::Relaxed),
            waited: i.waited.load(Ordering::Relaxed),
            rejected_stopped: i.rejected_stopped.load(Ordering::Relaxed),
            waiters: i.waiters.load(Ordering::Relaxed),
        }
    }

    /// True once stopped.
    pub fn is_stopped(&self) -> bool {
        self.inner.token.is_cancelled()
    }
}

impl Resource for RateLimiter {
    /// Closes the limiter, wakes every waiter (they return `Err(Stopped)`) and resolves when
    /// none is left.
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            inner.token.cancel();
            loop {
                let idle = inner.idle.notified();
                if inner.waiters.load(Ordering::Acquire) == 0 {
                    return Ok(());
                }
                idle.await;
            }
        })
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        self.inner.token.cancel();
        Box::pin(async {})
    }

    /// Waiters count as tasks: they are pending operations the limiter must release.
    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            tasks: self.inner.waiters.load(Ordering::Relaxed),
            ..ResourceCounts::default()
        }
    }
}
