//! When a venue's account is trusted again after a gap in its private streams: once a balance
//! the venue reported after the gap arrives (the plugin re-reads the account and its open
//! orders when the private connection opens again). The merged feed does not order events
//! across streams, so that balance may be taken before the gap marker itself: receive times
//! decide, not arrival order.

use std::collections::BTreeMap;

use arbitrage::VenueId;

/// Per venue: the gap waiting for a newer balance, and the newest balance seen.
#[derive(Debug, Default)]
pub(crate) struct Resync {
    gap_ns: BTreeMap<VenueId, u64>,
    balance_ns: BTreeMap<VenueId, u64>,
}

impl Resync {
    /// A private gap received at `gap_ns`: true if the venue must pause (no balance newer
    /// than the gap was seen yet).
    pub(crate) fn on_gap(&mut self, venue: VenueId, gap_ns: u64) -> bool {
        if self.balance_ns.get(&venue).is_some_and(|&b| b > gap_ns) {
            return false;
        }
        let gap = self.gap_ns.entry(venue).or_insert(gap_ns);
        *gap = (*gap).max(gap_ns);
        true
    }

    /// A balance received at `balance_ns`: true if it ends the venue's pause.
    pub(crate) fn on_balance(&mut self, venue: VenueId, balance_ns: u64) -> bool {
        let newest = self.balance_ns.entry(venue).or_insert(balance_ns);
        *newest = (*newest).max(balance_ns);
        match self.gap_ns.get(&venue) {
            Some(&gap) if balance_ns > gap => {
                self.gap_ns.remove(&venue);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venue() -> VenueId {
        let config: arbitrage::Config = serde_json::from_str(
            r#"{"venues": [{"name": "a", "taker_fee_bps": "0"}, {"name": "b", "taker_fee_bps": "0"}],
                "symbols": [{"symbol": "BTC/USDT", "max_qty": "1", "qty_step": "0.1"}]}"#,
        )
        .unwrap();
        config.venue_id("a").unwrap()
    }

    #[test]
    fn a_gap_pauses_until_a_newer_balance() {
        let (mut r, v) = (Resync::default(), venue());
        assert!(!r.on_balance(v, 5), "no pause to end");
        assert!(r.on_gap(v, 10));
        assert!(!r.on_balance(v, 9), "older than the gap");
        assert!(r.on_balance(v, 11));
        assert!(!r.on_balance(v, 12), "resumed once");
    }

    #[test]
    fn a_newer_balance_taken_before_the_gap_marker_means_no_pause() {
        let (mut r, v) = (Resync::default(), venue());
        assert!(!r.on_balance(v, 20));
        assert!(
            !r.on_gap(v, 10),
            "the account was re-read after the gap already"
        );
        assert!(r.on_gap(v, 30), "a later gap pauses again");
    }
}
