//! A histogram of delivery latency that a connection's task records into without a lock:
//! one atomic add per bucket, count and sum. Observed once per burst of frames, so a
//! mutex-guarded histogram showed up in profiles of the receive path; this one is read
//! only when the metrics endpoint is scraped.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bounds of the finite buckets: 1 µs, doubling, up to about 0.5 s.
const BUCKETS: usize = 20;
const FIRST_NS: u64 = 1_000;

/// Counts of latencies by bucket, with their number and sum.
#[derive(Debug, Default)]
pub(crate) struct LatencyHistogram {
    /// Non-cumulative counts: `[i]` holds latencies in `(bound(i - 1), bound(i)]`; the last
    /// one, everything above the largest bound.
    counts: [AtomicU64; BUCKETS + 1],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

/// The upper bound of finite bucket `i`, in ns.
fn bound_ns(i: usize) -> u64 {
    FIRST_NS << i
}

/// The bucket of a latency of `ns`.
fn bucket(ns: u64) -> usize {
    if ns <= FIRST_NS {
        return 0;
    }
    // `q` lies in [2^(k-1), 2^k) for a latency in (bound(k - 1), bound(k)].
    let q = ns.div_ceil(FIRST_NS) - 1;
    ((u64::BITS - q.leading_zeros()) as usize).min(BUCKETS)
}

impl LatencyHistogram {
    /// Records one latency.
    pub(crate) fn observe_ns(&self, ns: u64) {
        self.counts[bucket(ns)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Sum in seconds, count, and `(upper bound in seconds, count)` per bucket (not
    /// cumulative; the last bound is `f64::MAX`, written as `+Inf`), as the Prometheus
    /// encoder takes them.
    pub(crate) fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets = (0..=BUCKETS)
            .map(|i| {
                let upper = if i == BUCKETS {
                    f64::MAX
                } else {
                    bound_ns(i) as f64 / 1e9
                };
                (upper, self.counts[i].load(Ordering::Relaxed))
            })
            .collect();
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, self.count.load(Ordering::Relaxed), buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_latency_lands_in_the_bucket_whose_bound_first_holds_it() {
        for (ns, want) in [
            (0, 0),
            (1_000, 0),
            (1_001, 1),
            (2_000, 1),
            (2_001, 2),
            (4_000, 2),
            (bound_ns(BUCKETS - 1), BUCKETS - 1),
            (bound_ns(BUCKETS - 1) + 1, BUCKETS),
            (u64::MAX, BUCKETS),
        ] {
            assert_eq!(bucket(ns), want, "{ns} ns");
        }
    }

    #[test]
    fn a_snapshot_has_every_bucket_the_count_and_the_sum() {
        let h = LatencyHistogram::default();
        h.observe_ns(1_500);
        h.observe_ns(1_500);
        h.observe_ns(10_000_000_000);
        let (sum, count, buckets) = h.snapshot();
        assert_eq!(count, 3);
        assert!((sum - 10.000_003).abs() < 1e-9, "{sum}");
        assert_eq!(buckets.len(), BUCKETS + 1);
        assert_eq!(buckets[1], (2e-6, 2));
        assert_eq!(buckets[BUCKETS], (f64::MAX, 1));
    }
}
