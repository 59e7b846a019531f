//! What each venue last reported as available per asset, less what the run's fills spent
//! since that report: the base of the size caps. Assets received are not counted until the
//! venue reports them, so the estimate errs low.

use std::collections::HashMap;

use plugin_api::{Balance, Decimal};

use crate::config::VenueId;
use crate::exact::dec;

#[derive(Clone, Copy, Debug)]
struct Snapshot {
    available: Decimal,
    spent_since: Decimal,
    received_ns: u64,
}

/// Available balances per (venue, asset); asset names are compared in upper case.
#[derive(Clone, Debug, Default)]
pub struct Balances {
    snapshots: HashMap<(VenueId, String), Snapshot>,
}

impl Balances {
    /// No balance known.
    pub fn new() -> Balances {
        Balances::default()
    }

    /// Takes a venue's balance report; an older one than held (by receive time) is ignored.
    pub fn on_balance(&mut self, venue: VenueId, b: &Balance) {
        let key = (venue, b.asset.as_str().to_ascii_uppercase());
        if let Some(old) = self.snapshots.get(&key) {
            if b.stamp.received_ns < old.received_ns {
                return;
            }
        }
        self.snapshots.insert(
            key,
            Snapshot {
                available: dec(b.available),
                spent_since: Decimal::ZERO,
                received_ns: b.stamp.received_ns,
            },
        );
    }

    /// Records that one of the run's fills spent `amount` of `asset` on `venue` (a negative
    /// amount, such as a fee rebate, is ignored: it only ever lowers the estimate).
    pub fn on_spend(&mut self, venue: VenueId, asset: &str, amount: Decimal) {
        if amount <= Decimal::ZERO {
            return;
        }
        let key = (venue, asset.to_ascii_uppercase());
        if let Some(s) = self.snapshots.get_mut(&key) {
            s.spent_since = s.spent_since.checked_add(amount).unwrap_or(Decimal::MAX);
        }
    }

    /// The last reported amount less what was spent since; `None` if never reported.
    pub fn available(&self, venue: VenueId, asset: &str) -> Option<Decimal> {
        let s = self.snapshots.get(&(venue, asset.to_ascii_uppercase()))?;
        Some(
            s.available
                .checked_sub(s.spent_since)
                .unwrap_or(Decimal::ZERO)
                .max(Decimal::ZERO),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testutil::{config, ids};
    use crate::exact::d;
    use plugin_api::{Num, Stamp};

    fn balance(asset: &str, available: &str, received_ns: u64) -> Balance {
        Balance {
            asset: asset.into(),
            available: Num::parse(available).unwrap(),
            locked: Num::ZERO,
            stamp: Stamp {
                venue_ts_ms: 0,
                received_ns,
            },
        }
    }

    #[test]
    fn spends_lower_the_report_until_the_next_one() {
        let (gate, mexc) = ids(&config());
        let mut b = Balances::new();
        assert_eq!(b.available(gate, "USDT"), None);
        b.on_balance(gate, &balance("usdt", "1000", 10));
        b.on_spend(gate, "USDT", d("250.5"));
        assert_eq!(b.available(gate, "usdt"), Some(d("749.5")));
        assert_eq!(b.available(mexc, "USDT"), None);
        b.on_spend(gate, "USDT", d("800"));
        assert_eq!(b.available(gate, "USDT"), Some(d("0")), "never below zero");
        b.on_balance(gate, &balance("USDT", "900", 5));
        assert_eq!(
            b.available(gate, "USDT"),
            Some(d("0")),
            "older report ignored"
        );
        b.on_balance(gate, &balance("USDT", "900", 20));
        assert_eq!(b.available(gate, "USDT"), Some(d("900")));
    }
}
