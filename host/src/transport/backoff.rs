//! Reconnect timing: exponential backoff with jitter and a cap, plus a circuit breaker that
//! waits a long cooldown after too many consecutive failures.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Deserializer};

/// How a connection retries after it dropped or failed to connect.
///
/// In a TOML config the durations are integer milliseconds (`initial_ms`, `max_ms`,
/// `breaker_cooldown_ms`, `stable_after_ms`); every field is optional and unknown keys are
/// rejected.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconnectPolicy {
    /// Delay before the first retry.
    #[serde(rename = "initial_ms", deserialize_with = "millis")]
    pub initial: Duration,
    /// Cap on the delay.
    #[serde(rename = "max_ms", deserialize_with = "millis")]
    pub max: Duration,
    /// Growth factor per consecutive failure.
    pub multiplier: f64,
    /// Relative jitter: `0.2` spreads each delay uniformly over ±20 %.
    pub jitter: f64,
    /// After this many consecutive failed attempts the breaker opens (0: never).
    pub breaker_failures: u32,
    /// While the breaker is open, every retry waits this long.
    #[serde(rename = "breaker_cooldown_ms", deserialize_with = "millis")]
    pub breaker_cooldown: Duration,
    /// A connection that received data and lived at least this long forgets the failures
    /// before it; one that drops sooner counts as one more failure, so a server that drops
    /// every connection soon after it opens is retried ever more slowly.
    #[serde(rename = "stable_after_ms", deserialize_with = "millis")]
    pub stable_after: Duration,
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.2,
            breaker_failures: 10,
            breaker_cooldown: Duration::from_secs(30),
            stable_after: Duration::from_secs(10),
        }
    }
}

/// One retry decision from [`Backoff::next_delay`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Wait this long before the next attempt.
    pub delay: Duration,
    /// Consecutive failures so far, this one included.
    pub failures: u32,
    /// True if the breaker is open (the delay is the cooldown).
    pub breaker_open: bool,
}

/// The backoff state of one connection: counts consecutive failures, grows the delay and
/// opens the breaker. [`Backoff::reset`] it once a connection proved healthy.
///
/// As an [`Iterator`] it yields the successive delays (and never ends).
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: ReconnectPolicy,
    failures: u32,
}

impl Backoff {
    /// A fresh state (no failures) for `policy`.
    pub fn new(policy: ReconnectPolicy) -> Backoff {
        Backoff {
            policy,
            failures: 0,
        }
    }

    /// Records one failure and returns how long to wait before the next attempt.
    pub fn next_delay(&mut self) -> Retry {
        self.failures = self.failures.saturating_add(1);
        let p = &self.policy;
        if p.breaker_failures > 0 && self.failures >= p.breaker_failures {
            return Retry {
                delay: p.breaker_cooldown,
                failures: self.failures,
                breaker_open: true,
            };
        }
        let exp = (self.failures - 1).min(64) as i32;
        let base = p.initial.as_secs_f64() * p.multiplier.max(1.0).powi(exp);
        let capped = base.min(p.max.as_secs_f64());
        let jitter = p.jitter.clamp(0.0, 1.0);
        let factor = if jitter > 0.0 {
            1.0 + rand::rng().random_range(-jitter..=jitter)
        } else {
            1.0
        };
        let delay = Duration::from_secs_f64((capped * factor).max(0.0)).min(p.max);
        Retry {
            delay,
            failures: self.failures,
            breaker_open: false,
        }
    }

    /// Forgets the failures: the next delay is `initial` again and the breaker closes.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// A connection ended after it had been open for `lived`, having received data or not:
    /// it resets the backoff if it proved stable (see [`ReconnectPolicy::stable_after`]).
    pub fn connection_ended(&mut self, lived: Duration, received: bool) {
        if received && lived >= self.policy.stable_after {
            self.reset();
        }
    }

    /// Consecutive failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// True if the next failure (or the current one) keeps the breaker open.
    pub fn breaker_open(&self) -> bool {
        self.policy.breaker_failures > 0 && self.failures >= self.policy.breaker_failures
    }

    /// The policy.
    pub fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay().delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_opens_the_breaker() {
        let policy = ReconnectPolicy {
            jitter: 0.0,
            breaker_failures: 6,
            max: Duration::from_millis(500),
            ..ReconnectPolicy::default()
        };
        let mut b = Backoff::new(policy);
        let ms: Vec<u128> = b.by_ref().take(7).map(|d| d.as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 500, 500, 30_000, 30_000]);
        assert!(b.breaker_open());
        b.reset();
        assert_eq!(b.next_delay().delay, Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let mut b = Backoff::new(ReconnectPolicy::default());
        for _ in 0..1000 {
            b.reset();
            let d = b.next_delay().delay.as_secs_f64();
            assert!((0.08..=0.12).contains(&d), "{d}");
        }
    }

    #[test]
    fn deserializes_millis_and_rejects_unknown_keys() {
        let p: ReconnectPolicy =
            serde_json::from_str(r#"{"initial_ms": 50, "breaker_cooldown_ms": 1000}"#).unwrap();
        assert_eq!(p.initial, Duration::from_millis(50));
        assert_eq!(p.breaker_cooldown, Duration::from_secs(1));
        assert_eq!(p.max, Duration::from_secs(10));
        assert!(serde_json::from_str::<ReconnectPolicy>(r#"{"initial": 5}"#).is_err());
    }

    #[test]
    fn only_a_connection_that_stayed_up_resets_the_backoff() {
        let policy = ReconnectPolicy {
            jitter: 0.0,
            ..ReconnectPolicy::default()
        };
        let mut b = Backoff::new(policy);
        let first = b.next_delay().delay;
        // A flapping server: data arrives, the connection drops within a second.
        b.connection_ended(Duration::from_millis(800), true);
        let second = b.next_delay().delay;
        assert!(second > first, "{second:?} after {first:?}");
        b.connection_ended(Duration::from_secs(60), false);
        assert_eq!(b.failures(), 2, "no data: no proof of health");
        b.connection_ended(Duration::from_secs(10), true);
        assert_eq!(b.failures(), 0);
        assert_eq!(b.next_delay().delay, first);
    }
}
