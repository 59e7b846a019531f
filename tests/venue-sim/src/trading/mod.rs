//! Per-API-key balances and a minimal matching engine: an order that crosses the simulated
//! book fills at once at its best price and pays the taker fee; any other limit order rests
//! until the book reaches it, then fills at its own price and pays the maker fee (or until it
//! is cancelled). Every change is published as a [`PrivateEvent`] for the venues' private
//! websocket channels.
//!
//! Lock order, everywhere: the market's books (which hold each symbol's [`Resting`] index),
//! then the accounts. Placing and cancelling hold both, so the generator, which checks the
//! index after each book change with the books locked, never sees an order half placed.

mod resting;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::sync::broadcast;

pub(crate) use resting::{Entry, Resting};

use crate::config::Fees;
use crate::market::{price_dec, Book, Market, Symbol};
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
    /// Fees paid by its fills, in the asset received ([`Order::fee_asset`]).
    pub(crate) fee: Decimal,
    /// It rested on the book (did not cross when placed): its fills are maker fills.
    pub(crate) maker: bool,
    pub(crate) create_ms: i64,
    pub(crate) update_ms: i64,
}

impl Order {
    pub(crate) fn left(&self) -> Decimal {
        self.qty - self.filled
    }

    /// The asset its fees are charged in: the one it receives (base for a buy, quote for a
    /// sell).
    pub(crate) fn fee_asset<'a>(&self, sym: &'a Symbol) -> &'a str {
        match self.side {
            Side::Buy => &sym.base,
            Side::Sell => &sym.quote,
        }
    }

    pub(crate) fn avg_price(&self) -> Decimal {
        if self.filled.is_zero() {
            Decimal::ZERO
        } else {
            (self.filled_quote / self.filled).normalize()
        }
    }
}

/// One fill of one of the account's orders.
#[derive(Clone, Debug)]
pub(crate) struct Fill {
    pub(crate) trade_id: u64,
    pub(crate) order: Order,
    pub(crate) price: Decimal,
    pub(crate) qty: Decimal,
    /// The fee charged for this fill.
    pub(crate) fee: Decimal,
    /// The asset the fee was charged in: the one received.
    pub(crate) fee_asset: String,
    /// A resting order filled by the market (maker), not an order that crossed (taker).
    pub(crate) maker: bool,
    pub(crate) ts_ms: i64,
}

/// What one fill moves in an account: the asset given up, and the asset received less the fee
/// charged in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settlement {
    /// Given up: quote for a buy, base for a sell.
    pub(crate) paid_asset: String,
    /// How much of it.
    pub(crate) paid: Decimal,
    /// Received: base for a buy, quote for a sell. The fee is charged in it.
    pub(crate) received_asset: String,
    /// How much of it, before the fee.
    pub(crate) received: Decimal,
    /// The fee: `received × rate`, exact.
    pub(crate) fee: Decimal,
}

impl Settlement {
    /// A fill of `qty` base at `price` on `side`, paying `rate` (a fraction: 0.001 for
    /// 10 bps) of what it receives.
    pub(crate) fn of(
        sym: &Symbol,
        side: Side,
        qty: Decimal,
        price: Decimal,
        rate: Decimal,
    ) -> Self {
        let quote = qty * price;
        let (paid_asset, paid, received_asset, received) = match side {
            Side::Buy => (&sym.quote, quote, &sym.base, qty),
            Side::Sell => (&sym.base, qty, &sym.quote, quote),
        };
        Self {
            paid_asset: paid_asset.clone(),
            paid,
            received_asset: received_asset.clone(),
            received,
            fee: (received * rate).normalize(),
        }
    }
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

impl Account {
    /// Adds `available` and `locked` (either may be negative) to `asset`; the change to push.
    fn move_funds(&mut self, asset: &str, available: Decimal, locked: Decimal) -> PrivateChange {
        let b = self.balances.entry(asset.to_owned()).or_default();
        b.available += available;
        b.locked += locked;
        PrivateChange::Balance {
            asset: asset.to_owned(),
            balance: *b,
            available_change: available,
            locked_change: locked,
        }
    }
}

/// Every account, and the last id given to an order or a trade (one sequence for both).
#[derive(Debug)]
struct Accounts {
    last_id: u64,
    by_key: HashMap<String, Account>,
}

impl Accounts {
    fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }
}

/// All accounts, behind one lock.
#[derive(Debug)]
pub(crate) struct Exchange {
    market: Arc<Market>,
    fees: Fees,
    secrets: HashMap<String, String>,
    accounts: Mutex<Accounts>,
    events: broadcast::Sender<PrivateEvent>,
}

impl Exchange {
    /// Accounts for `credentials`, each funded with `balances`, trading at `fees`.
    pub(crate) fn new(
        market: Arc<Market>,
        credentials: &[(String, String)],
        balances: &[(String, Decimal)],
        fees: Fees,
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
            fees,
            secrets: credentials.iter().cloned().collect(),
            accounts: Mutex::new(Accounts {
                last_id: 1_000_000,
                by_key: accounts,
            }),
            events,
        }
    }

    pub(crate) fn market(&self) -> &Market {
        &self.market
    }

    /// The fee rates charged.
    pub(crate) fn fees(&self) -> &Fees {
        &self.fees
    }

    pub(crate) fn secret(&self, key: &str) -> Option<&str> {
        self.secrets.get(key).map(String::as_str)
    }

    pub(crate) fn events(&self) -> broadcast::Receiver<PrivateEvent> {
        self.events.subscribe()
    }

    pub(crate) fn balances(&self, key: &str) -> Result<BTreeMap<String, Balance>, TradeError> {
        let g = self.accounts.lock().unwrap();
        g.by_key
            .get(key)
            .map(|a| a.balances.clone())
            .ok_or(TradeError::UnknownKey)
    }

    pub(crate) fn order(&self, key: &str, id: u64) -> Result<Order, TradeError> {
        let g = self.accounts.lock().unwrap();
        let a = g.by_key.get(key).ok_or(TradeError::UnknownKey)?;
        a.orders.get(&id).cloned().ok_or(TradeError::OrderNotFound)
    }

    pub(crate) fn find_client_id(&self, key: &str, client_id: &str) -> Option<u64> {
        let g = self.accounts.lock().unwrap();
        let a = g.by_key.get(key)?;
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
        let a = g.by_key.get(key).ok_or(TradeError::UnknownKey)?;
        Ok(a.orders
            .values()
            .filter(|o| o.status == OrderStatus::Open && symbol.is_none_or(|s| s == o.symbol))
            .cloned()
            .collect())
    }

    /// Every order of `key` (open and finished), optionally of one symbol, oldest first.
    pub(crate) fn orders(
        &self,
        key: &str,
        symbol: Option<usize>,
    ) -> Result<Vec<Order>, TradeError> {
        let g = self.accounts.lock().unwrap();
        let a = g.by_key.get(key).ok_or(TradeError::UnknownKey)?;
        Ok(a.orders
            .values()
            .filter(|o| symbol.is_none_or(|s| s == o.symbol))
            .cloned()
            .collect())
    }

    /// Place an order: fill it at once at the touch if it crosses the book (taker fee),
    /// otherwise rest it with its funds locked until the book reaches it
    /// ([`Exchange::fill_reached`]) or it is cancelled.
    pub(crate) fn place(&self, key: &str, req: NewOrder) -> Result<Order, TradeError> {
        let mut books = self.market.lock();
        let book = books
            .get_mut(req.symbol)
            .ok_or(TradeError::InvalidParam("symbol"))?;
        let best_bid = book.best_bid().map(|x| price_dec(x.0));
        let best_ask = book.best_ask().map(|x| price_dec(x.0));
        let sym = &self.market.symbols[req.symbol];
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
        let mut accounts = self.accounts.lock().unwrap();
        let id = accounts.next_id();
        let acct = accounts.by_key.get_mut(key).ok_or(TradeError::UnknownKey)?;
        let limit_price = req.price.or(fill_price).unwrap_or_default();
        // Funds needed: quote for buys (at the worse of limit and fill price), base for sells.
        let (need_asset, need) = match req.side {
            Side::Buy => (
                &sym.quote,
                qty * limit_price.max(fill_price.unwrap_or_default()),
            ),
            Side::Sell => (&sym.base, qty),
        };
        let have = acct
            .balances
            .get(need_asset)
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
            fee: Decimal::ZERO,
            maker: fill_price.is_none(),
            create_ms: now,
            update_ms: now,
        };
        let key: Arc<str> = Arc::from(key);
        let mut changes = Vec::new();
        if let Some(p) = fill_price {
            let s = Settlement::of(sym, req.side, qty, p, self.fees.taker_rate());
            order.filled = qty;
            order.filled_quote = qty * p;
            order.fee = s.fee;
            order.status = OrderStatus::Filled;
            let mut opened = order.clone();
            opened.status = OrderStatus::Open;
            opened.filled = Decimal::ZERO;
            opened.filled_quote = Decimal::ZERO;
            opened.fee = Decimal::ZERO;
            changes.push(PrivateChange::Order(opened));
            changes.push(PrivateChange::Fill(Fill {
                trade_id: id,
                order: order.clone(),
                price: p,
                qty,
                fee: s.fee,
                fee_asset: s.received_asset.clone(),
                maker: false,
                ts_ms: now,
            }));
            changes.push(PrivateChange::Order(order.clone()));
            changes.push(acct.move_funds(&s.paid_asset, -s.paid, Decimal::ZERO));
            changes.push(acct.move_funds(&s.received_asset, s.received - s.fee, Decimal::ZERO));
        } else {
            changes.push(PrivateChange::Order(order.clone()));
            changes.push(acct.move_funds(need_asset, -need, need));
            book.resting.insert(
                order.side,
                order.price,
                Entry {
                    key: key.clone(),
                    id,
                },
            );
        }
        acct.orders.insert(id, order.clone());
        drop(accounts);
        drop(books);
        self.send(key, now, changes);
        Ok(order)
    }

    /// Cancel a resting order and release its locked funds.
    pub(crate) fn cancel(&self, key: &str, id: u64) -> Result<Order, TradeError> {
        let now = now_ms();
        let mut books = self.market.lock();
        let mut accounts = self.accounts.lock().unwrap();
        let acct = accounts.by_key.get_mut(key).ok_or(TradeError::UnknownKey)?;
        let order = acct.orders.get_mut(&id).ok_or(TradeError::OrderNotFound)?;
        if order.status != OrderStatus::Open {
            return Err(TradeError::OrderNotFound);
        }
        order.status = OrderStatus::Cancelled;
        order.update_ms = now;
        let order = order.clone();
        if let Some(book) = books.get_mut(order.symbol) {
            book.resting.remove(order.side, order.price, id);
        }
        let sym = &self.market.symbols[order.symbol];
        let (asset, amount) = match order.side {
            Side::Buy => (&sym.quote, order.left() * order.price),
            Side::Sell => (&sym.base, order.left()),
        };
        let released = acct.move_funds(asset, amount, -amount);
        drop(accounts);
        drop(books);
        self.send(
            Arc::from(key),
            now,
            vec![PrivateChange::Order(order.clone()), released],
        );
        Ok(order)
    }

    /// Fill every resting order of symbol `sym` that `book` now reaches (a buy priced at or
    /// above the best ask, a sell at or below the best bid): in full, at the order's own
    /// price, as maker, paying the maker fee. Called with the books locked, after each change
    /// of `book`; costs next to nothing when no order rests. Each fill is pushed like one of
    /// an order that crossed: the fill, the order (filled), the balances (the locked funds
    /// paid, the asset received less the fee).
    pub(crate) fn fill_reached(&self, sym: usize, book: &mut Book, ts_ms: i64) {
        if book.resting.is_empty() {
            return;
        }
        let best_bid = book.best_bid().map(|b| b.0);
        let best_ask = book.best_ask().map(|a| a.0);
        if !book.resting.reached(best_bid, best_ask) {
            return;
        }
        let reached = book.resting.take_reached(best_bid, best_ask);
        let symbol = &self.market.symbols[sym];
        let mut pushes = Vec::with_capacity(reached.len());
        let mut accounts = self.accounts.lock().unwrap();
        for entry in reached {
            let trade_id = accounts.next_id();
            let Some(acct) = accounts.by_key.get_mut(&*entry.key) else {
                continue;
            };
            let Some(order) = acct.orders.get_mut(&entry.id) else {
                continue;
            };
            if order.status != OrderStatus::Open {
                continue;
            }
            let (qty, price) = (order.left(), order.price);
            let s = Settlement::of(symbol, order.side, qty, price, self.fees.maker_rate());
            order.filled += qty;
            order.filled_quote += qty * price;
            order.fee += s.fee;
            order.status = OrderStatus::Filled;
            order.update_ms = ts_ms;
            let order = order.clone();
            let changes = vec![
                PrivateChange::Fill(Fill {
                    trade_id,
                    order: order.clone(),
                    price,
                    qty,
                    fee: s.fee,
                    fee_asset: s.received_asset.clone(),
                    maker: true,
                    ts_ms,
                }),
                PrivateChange::Order(order),
                acct.move_funds(&s.paid_asset, Decimal::ZERO, -s.paid),
                acct.move_funds(&s.received_asset, s.received - s.fee, Decimal::ZERO),
            ];
            pushes.push((entry.key, changes));
        }
        drop(accounts);
        for (key, changes) in pushes {
            self.send(key, ts_ms, changes);
        }
    }

    /// Publishes `changes` of `key`'s account, in order.
    fn send(&self, key: Arc<str>, ts_ms: i64, changes: Vec<PrivateChange>) {
        for change in changes {
            // No receiver (no private connection) is fine: nobody is told.
            let _ = self.events.send(PrivateEvent {
                key: key.clone(),
                ts_ms,
                change,
            });
        }
    }
}
