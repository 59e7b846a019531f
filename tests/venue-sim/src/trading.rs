//! Per-API-key balances and a minimal matching engine: crossing orders fill at once at the
//! simulated book's best price, others rest until cancelled. Every change is published as a
//! [`PrivateEvent`] for the venues' private websocket channels.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::sync::broadcast;

use crate::market::{price_dec, Market};
use crate::synthetic::now_ms;

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Buy,
    Sell,
}

/// Limit or market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderKind {
    Limit,
    Market,
}

/// Order lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderStatus {
    Open,
    Filled,
    Cancelled,
}

/// An order request, already parsed from the venue's wire format.
#[derive(Clone, Debug)]
pub(crate) struct NewOrder {
    pub(crate) symbol: usize,
    pub(crate) side: Side,
    pub(crate) kind: OrderKind,
    pub(crate) price: Option<Decimal>,
    /// Base quantity; for a market buy it may be absent when `quote_qty` is given.
    pub(crate) qty: Option<Decimal>,
    pub(crate) quote_qty: Option<Decimal>,
    pub(crate) client_id: String,
}

/// The engine's view of an order.
#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) client_id: String,
    pub(crate) symbol: usize,
    pub(crate) side: Side,
    pub(crate) kind: OrderKind,
    pub(crate) price: Decimal,
    pub(crate) qty: Decimal,
    pub(crate) filled: Decimal,
    pub(crate) filled_quote: Decimal,
    pub(crate) status: OrderStatus,
    pub(crate) create_ms: i64,
    pub(crate) update_ms: i64,
}

impl Order {
    pub(crate) fn left(&self) -> Decimal {
        self.qty - self.filled
    }

    pub(crate) fn avg_price(&self) -> Decimal {
        if self.filled.is_zero() {
            Decimal::ZERO
        } else {
            (self.filled_quote / self.filled).normalize()
        }
    }
}

/// One fill of one of the account's orders (always as taker here).
#[derive(Clone, Debug)]
pub(crate) struct Fill {
    pub(crate) trade_id: u64,
    pub(crate) order: Order,
    pub(crate) price: Decimal,
    pub(crate) qty: Decimal,
    pub(crate) ts_ms: i64,
}

/// An asset balance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Balance {
    pub(crate) available: Decimal,
    pub(crate) locked: Decimal,
}

/// What changed in an account.
#[derive(Clone, Debug)]
pub(crate) enum PrivateChange {
    Order(Order),
    Fill(Fill),
    Balance {
        asset: String,
        balance: Balance,
        available_change: Decimal,
        locked_change: Decimal,
    },
}

/// A change in the account of `key`.
#[derive(Clone, Debug)]
pub(crate) struct PrivateEvent {
    pub(crate) key: Arc<str>,
    pub(crate) ts_ms: i64,
    pub(crate) change: PrivateChange,
}

/// Why an order request or query failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TradeError {
    #[error("unknown API key")]
    UnknownKey,
    #[error("invalid parameter: {0}")]
    InvalidParam(&'static str),
    #[error("balance not enough")]
    InsufficientBalance,
    #[error("order not found")]
    OrderNotFound,
    #[error("no price to trade against")]
    NoPrice,
}

#[derive(Debug, Default)]
struct Account {
    balances: BTreeMap<String, Balance>,
    orders: BTreeMap<u64, Order>,
}

/// All accounts, behind one lock.
#[derive(Debug)]
pub(crate) struct Exchange {
    market: Arc<Market>,
    secrets: HashMap<String, String>,
    accounts: Mutex<(u64, HashMap<String, Account>)>,
    events: broadcast::Sender<PrivateEvent>,
}

impl Exchange {
    /// Accounts for `credentials`, each funded with `balances`.
    pub(crate) fn new(
        market: Arc<Market>,
        credentials: &[(String, String)],
        balances: &[(String, Decimal)],
    ) -> Self {
        let accounts = credentials
            .iter()
            .map(|(k, _)| {
                let mut a = Account::default();
                for (asset, amount) in balances {
                    a.balances.insert(
                        asset.clone(),
                        Balance {
                            available: *amount,
                            locked: Decimal::ZERO,
                        },
                    );
                }
                (k.clone(), a)
            })
            .collect();
        let (events, _) = broadcast::channel(4096);
        Self {
            market,
            secrets: credentials.iter().cloned().collect(),
            accounts: Mutex::new((1_000_000, accounts)),
            events,
        }
    }

    pub(crate) fn market(&self) -> &Market {
        &self.market
    }

    pub(crate) fn secret(&self, key: &str) -> Option<&str> {
        self.secrets.get(key).map(String::as_str)
    }

    pub(crate) fn events(&self) -> broadcast::Receiver<PrivateEvent> {
        self.events.subscribe()
    }

    pub(crate) fn balances(&self, key: &str) -> Result<BTreeMap<String, Balance>, TradeError> {
        let g = self.accounts.lock().unwrap();
        g.1.get(key)
            .map(|a| a.balances.clone())
            .ok_or(TradeError::UnknownKey)
    }

    pub(crate) fn order(&self, key: &str, id: u64) -> Result<Order, TradeError> {
        let g = self.accounts.lock().unwrap();
        let a = g.1.get(key).ok_or(TradeError::UnknownKey)?;
        a.orders.get(&id).cloned().ok_or(TradeError::OrderNotFound)
    }

    pub(crate) fn find_client_id(&self, key: &str, client_id: &str) -> Option<u64> {
        let g = self.accounts.lock().unwrap();
        let a = g.1.get(key)?;
        a.orders
            .values()
            .find(|o| o.client_id == client_id)
            .map(|o| o.id)
    }

    pub(crate) fn open_orders(
        &self,
        key: &str,
        symbol: Option<usize>,
    ) -> Result<Vec<Order>, TradeError> {
        let g = self.accounts.lock().unwrap();
        let a = g.1.get(key).ok_or(TradeError::UnknownKey)?;
        Ok(a.orders
            .values()
            .filter(|o| o.status == OrderStatus::Open && symbol.is_none_or(|s| s == o.symbol))
            .cloned()
            .collect())
    }

    /// Place an order: fill it at once if it crosses the book, otherwise rest it.
    pub(crate) fn place(&self, key: &str, req: NewOrder) -> Result<Order, TradeError> {
        let (best_bid, best_ask) = {
            let books = self.market.lock();
            let b = books
                .get(req.symbol)
                .ok_or(TradeError::InvalidParam("symbol"))?;
            (
                b.best_bid().map(|x| price_dec(x.0)),
                b.best_ask().map(|x| price_dec(x.0)),
            )
        };
        let sym = &self.market.symbols[req.symbol];
        let (base, quote) = (sym.base.clone(), sym.quote.clone());
        let touch = match req.side {
            Side::Buy => best_ask,
            Side::Sell => best_bid,
        };
        let crosses = match (req.kind, req.price, touch) {
            (OrderKind::Market, _, Some(_)) => true,
            (OrderKind::Market, _, None) => return Err(TradeError::NoPrice),
            (OrderKind::Limit, None, _) => return Err(TradeError::InvalidParam("price")),
            (OrderKind::Limit, Some(p), Some(t)) => match req.side {
                Side::Buy => p >= t,
                Side::Sell => p <= t,
            },
            (OrderKind::Limit, Some(_), None) => false,
        };
        let fill_price = if crosses { touch } else { None };
        let qty = match (req.qty, req.quote_qty, fill_price) {
            (Some(q), _, _) => q,
            (None, Some(qq), Some(p)) => (qq / p).round_dp(crate::market::QTY_DECIMALS),
            _ => return Err(TradeError::InvalidParam("quantity")),
        };
        if qty <= Decimal::ZERO {
            return Err(TradeError::InvalidParam("quantity"));
        }
        let now = now_ms();
        let mut g = self.accounts.lock().unwrap();
        g.0 += 1;
        let id = g.0;
        let acct = g.1.get_mut(key).ok_or(TradeError::UnknownKey)?;
        let limit_price = req.price.or(fill_price).unwrap_or_default();
        // Funds needed: quote for buys (at the worse of limit and fill price), base for sells.
        let (need_asset, need) = match req.side {
            Side::Buy => (
                quote.clone(),
                qty * limit_price.max(fill_price.unwrap_or_default()),
            ),
            Side::Sell => (base.clone(), qty),
        };
        let have = acct
            .balances
            .get(&need_asset)
            .map(|b| b.available)
            .unwrap_or_default();
        if have < need {
            return Err(TradeError::InsufficientBalance);
        }
        let mut order = Order {
            id,
            client_id: req.client_id,
            symbol: req.symbol,
            side: req.side,
            kind: req.kind,
            price: limit_price,
            qty,
            filled: Decimal::ZERO,
            filled_quote: Decimal::ZERO,
            status: OrderStatus::Open,
            create_ms: now,
            update_ms: now,
        };
        let mut changes = Vec::new();
        let mut bal_change = |acct: &mut Account, asset: &str, avail: Decimal, locked: Decimal| {
            let b = acct.balances.entry(asset.to_owned()).or_default();
            b.available += avail;
            b.locked += locked;
            changes.push(PrivateChange::Balance {
                asset: asset.to_owned(),
                balance: *b,
                available_change: avail,
                locked_change: locked,
            });
        };
        if let Some(p) = fill_price {
            let cost = qty * p;
            order.filled = qty;
            order.filled_quote = cost;
            order.status = OrderStatus::Filled;
            match req.side {
                Side::Buy => {
                    bal_change(acct, &quote, -cost, Decimal::ZERO);
                    bal_change(acct, &base, qty, Decimal::ZERO);
                }
                Side::Sell => {
                    bal_change(acct, &base, -qty, Decimal::ZERO);
                    bal_change(acct, &quote, cost, Decimal::ZERO);
                }
            }
        } else {
            bal_change(acct, &need_asset, -need, need);
        }
        acct.orders.insert(id, order.clone());
        drop(g);
        let key: Arc<str> = Arc::from(key);
        let send = |change| {
            let _ = self.events.send(PrivateEvent {
                key: key.clone(),
                ts_ms: now,
                change,
            });
        };
        if order.status == OrderStatus::Filled {
            let mut opened = order.clone();
            opened.status = OrderStatus::Open;
            opened.filled = Decimal::ZERO;
            opened.filled_quote = Decimal::ZERO;
            send(PrivateChange::Order(opened));
            send(PrivateChange::Fill(Fill {
                trade_id: id,
                order: order.clone(),
                price: fill_price.unwrap_or_default(),
                qty,
                ts_ms: now,
            }));
        }
        send(PrivateChange::Order(order.clone()));
        for c in changes {
            send(c);
        }
        Ok(order)
    }

    /// Cancel a resting order and release its locked funds.
    pub(crate) fn cancel(&self, key: &str, id: u64) -> Result<Order, TradeError> {
        let now = now_ms();
        let mut g = self.accounts.lock().unwrap();
        let acct = g.1.get_mut(key).ok_or(TradeError::UnknownKey)?;
        let order = acct.orders.get_mut(&id).ok_or(TradeError::OrderNotFound)?;
        if order.status != OrderStatus::Open {
            return Err(TradeError::OrderNotFound);
        }
        order.status = OrderStatus::Cancelled;
        order.update_ms = now;
        let order = order.clone();
        let sym = &self.market.symbols[order.symbol];
        let (asset, amount) = match order.side {
            Side::Buy => (sym.quote.clone(), order.left() * order.price),
            Side::Sell => (sym.base.clone(), order.left()),
        };
        let b = acct.balances.entry(asset.clone()).or_default();
        b.available += amount;
        b.locked -= amount;
        let balance = *b;
        drop(g);
        let key: Arc<str> = Arc::from(key);
        let _ = self.events.send(PrivateEvent {
            key: key.clone(),
            ts_ms: now,
            change: PrivateChange::Order(order.clone()),
        });
        let _ = self.events.send(PrivateEvent {
            key,
            ts_ms: now,
            change: PrivateChange::Balance {
                asset,
                balance,
                available_change: amount,
                locked_change: -amount,
            },
        });
        Ok(order)
    }
}
