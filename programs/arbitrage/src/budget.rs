//! Each venue's order-rate budget (a generic cell rate algorithm on the runtime's clock), so
//! that a decision is only taken when both legs can go out at once instead of one waiting
//! in a rate limiter while the other fills.

/// An order budget: `per_sec` orders a second on average, up to `burst` at once.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OrderBudget {
    interval_ns: u64,
    tolerance_ns: u64,
    /// Theoretical arrival time of the next order.
    tat_ns: u64,
}

impl OrderBudget {
    /// A full budget; `per_sec` and `burst` of 0 are taken as 1.
    pub fn new(per_sec: u32, burst: u32) -> OrderBudget {
        let interval_ns = 1_000_000_000 / u64::from(per_sec.max(1));
        OrderBudget {
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(u64::from(burst.max(1)) - 1),
            tat_ns: 0,
        }
    }

    /// True if an order may be sent at `now_ns`.
    pub fn can_send(&self, now_ns: u64) -> bool {
        self.tat_ns.saturating_sub(self.tolerance_ns) <= now_ns
    }

    /// Spends one order at `now_ns`; false (and nothing spent) if none is available.
    pub fn take(&mut self, now_ns: u64) -> bool {
        if !self.can_send(now_ns) {
            return false;
        }
        self.tat_ns = self.tat_ns.max(now_ns).saturating_add(self.interval_ns);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn burst_then_rate() {
        // 5 a second (one per 200 ms), 2 at once.
        let mut b = OrderBudget::new(5, 2);
        let t0 = 1_000 * MS;
        assert!(b.take(t0));
        assert!(b.take(t0));
        assert!(!b.can_send(t0));
        assert!(!b.take(t0 + 199 * MS));
        assert!(b.take(t0 + 200 * MS));
        assert!(!b.take(t0 + 200 * MS));
        // A long pause refills to the burst, not beyond.
        assert!(b.take(t0 + 10_000 * MS));
        assert!(b.take(t0 + 10_000 * MS));
        assert!(!b.take(t0 + 10_000 * MS));
    }

    #[test]
    fn burst_of_one_is_a_plain_rate() {
        let mut b = OrderBudget::new(10, 1);
        assert!(b.take(0));
        assert!(!b.take(99 * MS));
        assert!(b.take(100 * MS));
    }
}
