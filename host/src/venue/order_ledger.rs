//! What the host knows of an instance's orders, over all its builds.
//!
//! - **Final orders.** A venue can report an order twice by two routes (the REST answer and
//!   the private websocket), and the websocket's "open" can arrive after the fill or the
//!   cancel. Passing it on would show a finished order open again; the driver drops such an
//!   update instead, counted as the reject [`LATE_ORDER_UPDATE`].
//! - **Unsettled orders.** Orders placed with a client id that have not reached a final
//!   state. A new build of the instance (a plugin reload, a restart) gets them with
//!   `Venue::recover_orders` and looks them up: the build that placed them took their
//!   answers and lookups with it.

use std::collections::{HashMap, HashSet, VecDeque};

use plugin_api::{KnownOrder, NewOrder, OrderStatus, OrderUpdate};

/// The reject reason of an update that came after its order was final.
pub(crate) const LATE_ORDER_UPDATE: &str = "order_update_after_final";

/// How many final orders are remembered; the oldest is forgotten first.
const REMEMBERED: usize = 4096;

/// How many unsettled orders are kept; past it the oldest is forgotten (and not recovered).
const UNSETTLED: usize = 65_536;

/// The orders of one instance: the final ones, by venue order id and by client id, which
/// ids name the same order (an update that carries both says so; a later one may carry
/// only one), and the unsettled ones.
#[derive(Debug, Default)]
pub(crate) struct OrderLedger {
    keys: HashSet<String>,
    oldest: VecDeque<String>,
    /// Each id's other id, both ways.
    aliases: HashMap<String, String>,
    oldest_alias: VecDeque<String>,
    /// Unsettled orders by client id, with the order they were placed in.
    unsettled: HashMap<String, (u64, KnownOrder)>,
    placed: u64,
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

impl OrderLedger {
    /// Records `order` as placed at `now_ms` (unsettled until a final update names it).
    /// An order without a client id is not recorded: nothing could look it up.
    pub(crate) fn placed(&mut self, order: &NewOrder, now_ms: u64) {
        if order.client_id.is_empty() {
            return;
        }
        self.placed += 1;
        let known = KnownOrder {
            order: order.clone(),
            order_id: "".into(),
            placed_ms: now_ms,
        };
        self.unsettled
            .insert(order.client_id.to_string(), (self.placed, known));
        if self.unsettled.len() > UNSETTLED {
            let oldest = self.unsettled.iter().min_by_key(|(_, (n, _))| *n);
            if let Some(client_id) = oldest.map(|(c, _)| c.clone()) {
                tracing::warn!(%client_id, "more than {UNSETTLED} unsettled orders: the oldest is no longer tracked");
                self.unsettled.remove(&client_id);
            }
        }
    }

    /// Forgets the order with `client_id` placed last: its request was never sent.
    pub(crate) fn not_sent(&mut self, client_id: &str) {
        self.unsettled.remove(client_id);
    }

    /// The unsettled orders, oldest first.
    pub(crate) fn unsettled(&self) -> Vec<KnownOrder> {
        let mut all: Vec<_> = self.unsettled.values().collect();
        all.sort_by_key(|(n, _)| *n);
        all.into_iter().map(|(_, k)| k.clone()).collect()
    }

    /// Whether `update` may be passed on: false for a non-final update of an order already
    /// final. A final update is remembered, and settles its order.
    pub(crate) fn admit(&mut self, update: &OrderUpdate) -> bool {
        let named: Vec<String> = keys(update).collect();
        if let [a, b] = named.as_slice() {
            self.link(a, b);
        }
        let mut all = named.clone();
        all.extend(named.iter().filter_map(|k| self.aliases.get(k).cloned()));
        let client_id = all.iter().find_map(|k| k.strip_prefix("c:"));
        let unsettled = client_id.and_then(|c| self.unsettled.get_mut(c));
        if !is_final(update.status) {
            let passes = !all.iter().any(|k| self.keys.contains(k));
            if let (true, Some((_, known))) = (passes, unsettled) {
                if !update.order_id.is_empty() {
                    known.order_id = update.order_id.clone();
                }
            }
            return passes;
        }
        if let Some(c) = client_id.map(str::to_owned) {
            self.unsettled.remove(&c);
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
        let mut f = OrderLedger::default();
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
        let mut f = OrderLedger::default();
        // The acknowledgement carries both ids; the fill only the client id; the late
        // websocket update only the venue's id.
        assert!(f.admit(&update("7", "c7", OrderStatus::Open)));
        assert!(f.admit(&update("", "c7", OrderStatus::Filled)));
        assert!(!f.admit(&update("7", "", OrderStatus::Open)));
    }

    fn order(client_id: &str) -> NewOrder {
        NewOrder {
            instrument: Instrument::new("BTC/USDT", "BTC_USDT").unwrap(),
            side: plugin_api::Side::Buy,
            order_type: plugin_api::OrderType::Limit,
            price: Default::default(),
            qty: Default::default(),
            quote_qty: Default::default(),
            client_id: client_id.into(),
        }
    }

    fn unsettled(f: &OrderLedger) -> Vec<(String, String, u64)> {
        f.unsettled()
            .into_iter()
            .map(|k| (k.order.client_id.into(), k.order_id.into(), k.placed_ms))
            .collect()
    }

    #[test]
    fn placed_orders_stay_unsettled_until_a_final_update_names_them_by_either_id() {
        let mut f = OrderLedger::default();
        f.placed(&order("a"), 10);
        f.placed(&order("b"), 20);
        f.placed(&order("c"), 30);
        f.placed(&order(""), 40);
        f.not_sent("c");
        assert_eq!(
            unsettled(&f),
            [("a".into(), "".into(), 10), ("b".into(), "".into(), 20)]
        );
        // The acknowledgement gives the venue's id; the fill names only that id.
        assert!(f.admit(&update("9", "a", OrderStatus::Open)));
        assert_eq!(unsettled(&f)[0], ("a".into(), "9".into(), 10));
        assert!(f.admit(&update("9", "", OrderStatus::Filled)));
        // Unknown is not final: still unsettled.
        assert!(f.admit(&update("", "b", OrderStatus::Unknown)));
        assert_eq!(unsettled(&f), [("b".into(), "".into(), 20)]);
        assert!(f.admit(&update("", "b", OrderStatus::Rejected)));
        assert!(f.unsettled().is_empty());
    }

    #[test]
    fn the_oldest_final_orders_are_forgotten_first() {
        let mut f = OrderLedger::default();
        for i in 0..=REMEMBERED {
            f.admit(&update(&i.to_string(), "", OrderStatus::Cancelled));
        }
        assert!(f.admit(&update("0", "", OrderStatus::Open)), "forgotten");
        assert!(!f.admit(&update("1", "", OrderStatus::Open)), "remembered");
        assert!(f.keys.len() <= REMEMBERED);
    }
}
