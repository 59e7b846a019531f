//! Bounded, backed-off lookups of orders whose outcome a venue's answer left unknown (a 5xx or
//! a timeout on a place or a cancel). A plugin cannot sleep, so it declares a
//! [`crate::TimerDecl`], arms it while lookups wait ([`Deferred`]), and sends each lookup when
//! [`crate::Venue::on_timer`] finds it due. A read of state that must succeed (the account,
//! re-read when a private connection opens) is retried the same way, in rounds
//! ([`Rereads`]). Plain Rust: nothing here crosses the plugin boundary.
//!
//! # Examples
//!
//! ```
//! use plugin_api::{Action, Attempts, Deferred, RetryPolicy};
//!
//! let policy = RetryPolicy::DEFAULT;
//! let mut waiting = Deferred::new("order-lookup");
//! let mut actions = Default::default();
//! // A place answered 503 at t = 10 s: the first lookup goes out at once, and failed too.
//! let mut attempts = Attempts::first(10_000);
//! let due = attempts.retry_at(&policy, 10_050).unwrap();
//! waiting.defer(due, "client-1", &mut actions);
//! assert_eq!(actions[0], Action::ArmTimer("order-lookup".into()));
//! // The timer fires: nothing yet, then the lookup is due (and the timer is cancelled).
//! assert!(waiting.take_due(10_300, &mut actions).is_empty());
//! assert_eq!(waiting.take_due(10_600, &mut actions), ["client-1"]);
//! assert_eq!(actions.last(), Some(&Action::CancelTimer("order-lookup".into())));
//! ```

use abi_stable::std_types::RVec;

use crate::Action;

/// How an order lookup is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Lookups sent at most, the first included.
    pub tries: u32,
    /// The wait before the second try; each further wait doubles.
    pub first_delay_ms: u64,
    /// An answer "no such order" is believed only once this long has passed since the
    /// outcome became unknown; one that comes earlier is asked again then. A venue's order
    /// queries can lag behind its order entry, so a lookup made at once may not see an order
    /// that is being placed.
    pub settle_ms: u64,
}

impl RetryPolicy {
    /// Five tries, the second 0.5 s after the first failed, then 1, 2 and 4 s apart (about
    /// 7.5 s in all, plus the venue's answers); "no such order" is believed after 1 s.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        tries: 5,
        first_delay_ms: 500,
        settle_ms: 1_000,
    };

    /// The period to declare the lookup timer with: half the first wait, so no lookup is
    /// sent much later than it is due.
    pub const fn tick_ms(&self) -> u64 {
        if self.first_delay_ms < 2 {
            1
        } else {
            self.first_delay_ms / 2
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::DEFAULT
    }
}

/// One lookup's progress: when the outcome became unknown and how many tries were sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempts {
    since_ms: u64,
    sent: u32,
}

impl Attempts {
    /// The first try, sent at once, for an outcome unknown since `since_ms` (wall clock).
    pub fn first(since_ms: u64) -> Attempts {
        Attempts { since_ms, sent: 1 }
    }

    /// When the outcome became unknown.
    pub fn since_ms(&self) -> u64 {
        self.since_ms
    }

    /// Tries sent so far.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// The last try failed at `now_ms` (no answer, a 5xx, a 429): when to send the next one,
    /// or `None` when every try is spent.
    pub fn retry_at(&mut self, policy: &RetryPolicy, now_ms: u64) -> Option<u64> {
        if self.sent >= policy.tries {
            return None;
        }
        let doublings = (self.sent - 1).min(16);
        let delay = policy.first_delay_ms.saturating_mul(1 << doublings);
        self.sent += 1;
        Some(now_ms.saturating_add(delay))
    }

    /// The venue answered "no such order" at `now_ms`: `Some(due)` to ask again at `due`
    /// because it is too early to believe it, or `None` to believe it.
    pub fn recheck_at(&mut self, policy: &RetryPolicy, now_ms: u64) -> Option<u64> {
        let settled = self.since_ms.saturating_add(policy.settle_ms);
        if now_ms >= settled || self.sent >= policy.tries {
            return None;
        }
        self.sent += 1;
        Some(settled)
    }
}

/// Lookups waiting for their time, and the declared timer that brings it.
#[derive(Debug)]
pub struct Deferred<T> {
    timer: &'static str,
    waiting: Vec<(u64, T)>,
}

impl<T> Deferred<T> {
    /// Nothing waiting; `timer` is the name of a declared timer.
    pub fn new(timer: &'static str) -> Deferred<T> {
        Deferred {
            timer,
            waiting: Vec::new(),
        }
    }

    /// Keeps `item` until `due_ms` and arms the timer (arming an armed timer does nothing).
    pub fn defer(&mut self, due_ms: u64, item: T, actions: &mut RVec<Action>) {
        self.waiting.push((due_ms, item));
        actions.push(Action::ArmTimer(self.timer.into()));
    }

    /// The items due at `now_ms`, in the order they were deferred; cancels the timer when
    /// nothing is left waiting.
    pub fn take_due(&mut self, now_ms: u64, actions: &mut RVec<Action>) -> Vec<T> {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(at, _)| *at <= now_ms);
        self.waiting = later;
        if self.waiting.is_empty() {
            actions.push(Action::CancelTimer(self.timer.into()));
        }
        due.into_iter().map(|(_, item)| item).collect()
    }

    /// How many items wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Re-reads of a venue's state that must succeed, such as the account read each time a
/// private connection opens: a failed read is tried again with [`RetryPolicy`]'s backoff
/// until one succeeds or the tries are spent. Each [`Rereads::restart`] starts a new round
/// and retires the reads of the previous one, so reconnects never pile up schedules.
///
/// # Examples
///
/// ```
/// use plugin_api::{Rereads, RereadFailed, RetryPolicy};
///
/// let policy = RetryPolicy::DEFAULT;
/// let mut rounds = Rereads::default();
/// // The private connection opened: the account read goes out, and is answered 503.
/// let mut read = rounds.restart();
/// assert_eq!(rounds.failed(&mut read, &policy, 1_000), RereadFailed::RetryAt(1_500));
/// // It reconnects before the retry: the waiting read is retired, a new round begins.
/// let fresh = rounds.restart();
/// assert!(!rounds.is_current(&read) && rounds.is_current(&fresh));
/// assert_eq!(rounds.failed(&mut read, &policy, 1_200), RereadFailed::Superseded);
/// ```
#[derive(Debug, Default)]
pub struct Rereads {
    round: u64,
}

/// One read of a [`Rereads`] round, kept with its request while in flight or waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reread {
    round: u64,
    attempts: Attempts,
}

impl Reread {
    /// Tries sent so far.
    pub fn sent(&self) -> u32 {
        self.attempts.sent()
    }
}

/// What follows a failed [`Reread`] (no answer, a 5xx, a 429).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RereadFailed {
    /// Send it again at this time (wall clock, ms).
    RetryAt(u64),
    /// Every try is spent; this many were sent.
    Exhausted(u32),
    /// A newer round began (the connection opened again): drop it.
    Superseded,
}

impl Rereads {
    /// A new round: its first read, to send at once. Reads of earlier rounds are retired.
    pub fn restart(&mut self) -> Reread {
        self.round += 1;
        Reread {
            round: self.round,
            // A reread never asks whether it is too early to believe an answer, so the
            // time the round began is not needed.
            attempts: Attempts::first(0),
        }
    }

    /// True while `read` belongs to the latest round (send it when it is due).
    pub fn is_current(&self, read: &Reread) -> bool {
        read.round == self.round
    }

    /// `read` failed at `now_ms`: when to send it again, or why not.
    pub fn failed(&self, read: &mut Reread, policy: &RetryPolicy, now_ms: u64) -> RereadFailed {
        if !self.is_current(read) {
            return RereadFailed::Superseded;
        }
        match read.attempts.retry_at(policy, now_ms) {
            Some(due) => RereadFailed::RetryAt(due),
            None => RereadFailed::Exhausted(read.sent()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_and_end() {
        let p = RetryPolicy::DEFAULT;
        let mut a = Attempts::first(1_000);
        let dues: Vec<Option<u64>> = (0..5).map(|_| a.retry_at(&p, 2_000)).collect();
        assert_eq!(
            dues,
            [Some(2_500), Some(3_000), Some(4_000), Some(6_000), None]
        );
        assert_eq!(a.sent(), 5);
    }

    #[test]
    fn an_early_not_found_is_asked_again_once_settled() {
        let p = RetryPolicy::DEFAULT;
        let mut a = Attempts::first(1_000);
        assert_eq!(a.recheck_at(&p, 1_200), Some(2_000));
        assert_eq!(a.recheck_at(&p, 2_010), None);
        // Bounded even if the clock went back.
        let mut a = Attempts::first(1_000);
        let asked: Vec<Option<u64>> = (0..5).map(|_| a.recheck_at(&p, 0)).collect();
        assert_eq!(asked.iter().filter(|d| d.is_some()).count(), 4);
        assert_eq!(asked[4], None);
    }

    #[test]
    fn the_timer_runs_while_something_waits() {
        let mut d = Deferred::new("t");
        let mut actions = RVec::new();
        d.defer(10, 'a', &mut actions);
        d.defer(30, 'b', &mut actions);
        d.defer(20, 'c', &mut actions);
        assert_eq!(d.take_due(20, &mut actions), ['a', 'c']);
        assert_eq!(d.len(), 1);
        assert!(!actions.iter().any(|a| matches!(a, Action::CancelTimer(_))));
        assert_eq!(d.take_due(30, &mut actions), ['b']);
        assert!(d.is_empty());
        assert_eq!(actions.last(), Some(&Action::CancelTimer("t".into())));
        assert_eq!(RetryPolicy::DEFAULT.tick_ms(), 250);
    }

    #[test]
    fn rereads_back_off_end_and_are_superseded() {
        let p = RetryPolicy::DEFAULT;
        let mut rounds = Rereads::default();
        let mut read = rounds.restart();
        let next: Vec<RereadFailed> = (0..5).map(|_| rounds.failed(&mut read, &p, 0)).collect();
        assert_eq!(
            next,
            [
                RereadFailed::RetryAt(500),
                RereadFailed::RetryAt(1_000),
                RereadFailed::RetryAt(2_000),
                RereadFailed::RetryAt(4_000),
                RereadFailed::Exhausted(5),
            ]
        );
        // A new round starts afresh, and the old one's reads are dropped.
        let mut fresh = rounds.restart();
        assert_eq!(rounds.failed(&mut read, &p, 0), RereadFailed::Superseded);
        assert_eq!(rounds.failed(&mut fresh, &p, 0), RereadFailed::RetryAt(500));
    }
}
