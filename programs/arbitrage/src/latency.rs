//! Latency recorders in nanoseconds, from a tick's receive stamp to the decision and to the
//! order leaving, with their percentiles (HdrHistogram, 3 significant digits).

use hdrhistogram::{CreationError, Histogram};
use serde::Serialize;

/// The largest latency recorded as itself: 60 s (larger ones count as 60 s).
pub const MAX_RECORDED_NS: u64 = 60_000_000_000;

/// Percentiles of one recorder, in nanoseconds (all zero when empty).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest.
    pub max_ns: u64,
}

/// One latency distribution.
#[derive(Clone, Debug)]
pub struct Recorder {
    histogram: Histogram<u64>,
}

impl Recorder {
    /// An empty recorder for 1 ns to [`MAX_RECORDED_NS`] at 3 significant digits.
    pub fn new() -> Result<Recorder, CreationError> {
        Ok(Recorder {
            histogram: Histogram::new_with_bounds(1, MAX_RECORDED_NS, 3)?,
        })
    }

    /// Records `to_ns − from_ns` (0 if the clock went backwards).
    pub fn record(&mut self, from_ns: u64, to_ns: u64) {
        self.histogram
            .saturating_record(to_ns.saturating_sub(from_ns));
    }

    /// The percentiles so far.
    pub fn percentiles(&self) -> Percentiles {
        let h = &self.histogram;
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50_ns: h.value_at_quantile(0.5),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }
}

/// The program's two recorders.
#[derive(Clone, Debug)]
pub struct Latency {
    /// Receive stamp of the tick → the decision (every tick evaluated, traded or not).
    pub tick_to_decision: Recorder,
    /// Receive stamp of the tick → an order of its opportunity sent (one sample per leg).
    pub tick_to_send: Recorder,
}

impl Latency {
    /// Both empty.
    pub fn new() -> Result<Latency, CreationError> {
        Ok(Latency {
            tick_to_decision: Recorder::new()?,
            tick_to_send: Recorder::new()?,
        })
    }
}

/// Both recorders' percentiles.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct LatencyReport {
    /// Tick → decision.
    pub tick_to_decision: Percentiles,
    /// Tick → order sent.
    pub tick_to_send: Percentiles,
}

impl From<&Latency> for LatencyReport {
    fn from(l: &Latency) -> LatencyReport {
        LatencyReport {
            tick_to_decision: l.tick_to_decision.percentiles(),
            tick_to_send: l.tick_to_send.percentiles(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_thousand() {
        let mut r = Recorder::new().unwrap();
        // Values below 2048 are exact at 3 significant digits.
        for v in 1..=1000u64 {
            r.record(5_000, 5_000 + v);
        }
        assert_eq!(
            r.percentiles(),
            Percentiles {
                count: 1000,
                p50_ns: 500,
                p99_ns: 990,
                p999_ns: 999,
                max_ns: 1000,
            }
        );
    }

    #[test]
    fn large_values_within_a_thousandth_and_clamped() {
        let mut r = Recorder::new().unwrap();
        r.record(0, 1_234_567);
        let p = r.percentiles();
        assert!(p.max_ns.abs_diff(1_234_567) <= 1_235, "{p:?}");
        r.record(10, 0);
        r.record(0, u64::MAX);
        let p = r.percentiles();
        assert_eq!(p.count, 3);
        assert!(p.max_ns >= MAX_RECORDED_NS && p.max_ns <= MAX_RECORDED_NS / 1000 * 1001);
    }

    #[test]
    fn empty_is_all_zero() {
        let l = Latency::new().unwrap();
        assert_eq!(LatencyReport::from(&l), LatencyReport::default());
    }
}
