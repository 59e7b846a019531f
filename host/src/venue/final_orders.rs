//! Orders that reached a final state. A venue can report an order twice by two routes (the
//! REST answer and the private websocket), and the websocket's "open" can arrive after the
//! fill or the cancel. Passing it on would show a finished order open again; the driver
//! drops such an update instead, counted as the reject [`LATE_ORDER_UPDATE`].

use std::collections::{HashMap, HashSet, VecDeque};

use plugin_api::{OrderStatus, OrderUpdate};

/// The reject reason of an update that came after its order was final.
pub(crate) const LATE_ORDER_UPDATE: &str = "order_update_after_final";

/// How many final orders are remembered; the oldest is forgotten first.
const REMEMBERED: usize = 4096;

/// The final orders of one instance, by venue order id and by client id, and which ids name
/// the same order (an update that carries both says so; a later one may carry only one).
#[derive(Debug, Default)]
pub(crate) struct FinalOrders {
    keys: HashSet<String>,
    oldest: VecDeque<String>,
    /// Each id's other id, both ways.
    aliases: HashMap<String, String>,
    oldest_alias: VecDeque<String>,
}

/// True for the states an order never leaves.
fn is_final(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Filled | OrderStatus::Cancelled | OrderStatus::Rejected
    )
}

/// The keys an update names its order by.
fn keys(update: &OrderUpdate) -> impl Iterator<Item = String> + '_ {
    [("o:", &update.order_id), ("c:", &update.client_id)]
        .into_iter()
        .filter(|(_, id)| !id.is_empty())
        .map(|(prefix, id)| format!("{prefix}{id}"))
}

impl FinalOrders {
    /// Whether `update` may be passed on: false for a non-final update of an order already
    /// final. A final update is remembered.
    pub(crate) fn admit(&mut self, update: &OrderUpdate) -> bool {
        let named: Vec<String> = keys(update).collect();
        if let [a, b] = named.as_slice() {
            self.link(a, b);
        }
        let mut all = named.clone();
        all.extend(named.iter().filter_map(|k| self.aliases.get(k).cloned()));
        if !is_final(update.status) {
            return !all.iter().any(|k| self.keys.contains(k));
        }
        for key in all {
            if self.keys.insert(key.clone()) {
                self.oldest.push_back(key);
            }
        }
        while self.oldest.len() > REMEMBERED {
            if let Some(k) = self.oldest.pop_front() {
                self.keys.remove(&k);
            }
        }
        true
    }

    /// Records that `a` and `b` name the same order.
    fn link(&mut self, a: &str, b: &str) {
        if self.aliases.get(a).is_some_and(|x| x == b) {
            return;
        }
        self.aliases.insert(a.to_owned(), b.to_owned());
        self.aliases.insert(b.to_owned(), a.to_owned());
        self.oldest_alias.push_back(a.to_owned());
        while self.oldest_alias.len() > REMEMBERED {
            if let Some(k) = self.oldest_alias.pop_front() {
                if let Some(other) = self.aliases.remove(&k) {
                    self.aliases.remove(&other);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::Instrument;

    fn update(order_id: &str, client_id: &str, status: OrderStatus) -> OrderUpdate {
        OrderUpdate {
            instrument: Instrument::new("BTC/USDT", "BTC_USDT").unwrap(),
            order_id: order_id.into(),
            client_id: client_id.into(),
            side: plugin_api::Side::Buy,
            price: Default::default(),
            qty: Default::default(),
            filled_qty: Default::default(),
            status,
            stamp: Default::default(),
        }
    }

    #[test]
    fn an_open_after_the_fill_is_dropped_by_either_id() {
        let mut f = FinalOrders::default();
        assert!(f.admit(&update("1", "", OrderStatus::Open)));
        assert!(f.admit(&update("1", "c1", OrderStatus::Filled)));
        assert!(!f.admit(&update("1", "", OrderStatus::Open)));
        assert!(!f.admit(&update("", "c1", OrderStatus::Unknown)));
        // A second final report (a cancel answer after the fill) still passes.
        assert!(f.admit(&update("1", "c1", OrderStatus::Cancelled)));
        // Other orders are not affected.
        assert!(f.admit(&update("2", "c2", OrderStatus::Open)));
    }

    #[test]
    fn ids_seen_together_name_one_order_afterwards() {
        let mut f = FinalOrders::default();
        // The acknowledgement carries both ids; the fill only the client id; the late
        // websocket update only the venue's id.
        assert!(f.admit(&update("7", "c7", OrderStatus::Open)));
        assert!(f.admit(&update("", "c7", OrderStatus::Filled)));
        assert!(!f.admit(&update("7", "", OrderStatus::Open)));
    }

    #[test]
    fn the_oldest_final_orders_are_forgotten_first() {
        let mut f = FinalOrders::default();
        for i in 0..=REMEMBERED {
            f.admit(&update(&i.to_string(), "", OrderStatus::Cancelled));
        }
        assert!(f.admit(&update("0", "", OrderStatus::Open)), "forgotten");
        assert!(!f.admit(&update("1", "", OrderStatus::Open)), "remembered");
        assert!(f.keys.len() <= REMEMBERED);
    }
}
