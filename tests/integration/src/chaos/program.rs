//! The program a schedule runs against: on each venue it reads book tickers, trades and the
//! order book (and the relay venue's book tickers), keeps its orders' states from the
//! order stream, places and cancels orders. Every consumer runs in a task that counts what
//! it took and returns its stream's queue counters once the stream ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use host::exchange::{EventStream, ExchangeHandle, OrderBookStream, Update};
use plugin_api::{CancelOrder, Instrument, NewOrder, Num, OrderStatus, OrderType, Side};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::invariants::StreamTally;
use super::schedule::Target;

/// What the program knows of one of its orders.
#[derive(Debug, Clone)]
pub struct Known {
    /// The last status the order stream gave (`None`: placed, nothing heard yet).
    pub status: Option<OrderStatus>,
    /// The venue's order id, once heard.
    pub order_id: Option<String>,
    /// When the program last asked to cancel it.
    pub cancel_sent: Option<Instant>,
    /// A final status followed by a different one (`Filled then Open`), if that happened;
    /// the final status is kept.
    pub regressed: Option<String>,
}

/// The program's orders on one venue, by client id, and a wake-up on every update.
#[derive(Default)]
pub struct Book {
    /// Orders by client id.
    pub orders: Mutex<BTreeMap<String, Known>>,
    /// Notified on every order update.
    pub changed: Notify,
}

/// Consumers stop reading until this instant (milliseconds since `epoch`), to let their
/// queues fill: the slow-consumer fault.
#[derive(Clone)]
pub struct Stall {
    epoch: Instant,
    until_ms: Arc<AtomicU64>,
    depth: Arc<AtomicU64>,
}

impl Stall {
    fn new(depth: Arc<AtomicU64>) -> Stall {
        Stall {
            epoch: Instant::now(),
            until_ms: Arc::new(AtomicU64::new(0)),
            depth,
        }
    }

    /// Consumers stall for `ms` from now.
    pub fn for_ms(&self, ms: u64) {
        let until = self.epoch.elapsed().as_millis() as u64 + ms;
        self.until_ms.fetch_max(until, Ordering::SeqCst);
    }

    async fn honour(&self, depth: u64) {
        self.depth.fetch_max(depth, Ordering::Relaxed);
        let until = self.epoch + Duration::from_millis(self.until_ms.load(Ordering::Relaxed));
        if until > Instant::now() {
            tokio::time::sleep_until(until).await;
        }
    }
}

/// The running program of one seed.
pub struct Program {
    /// The exchange it trades on.
    pub ex: ExchangeHandle,
    /// Orders per venue.
    pub books: [Arc<Book>; 2],
    /// The consumer-stall switch.
    pub stall: Stall,
    consumers: Vec<(String, JoinHandle<StreamTally>)>,
    prefix: String,
    placed: u64,
}

impl Program {
    /// Opens every stream and starts its consumer; `run` makes the client ids unique.
    /// Consumers raise `depth` to their queue's depth as they read.
    pub async fn start(
        ex: ExchangeHandle,
        run: u64,
        depth: Arc<AtomicU64>,
    ) -> Result<Program, String> {
        let stall = Stall::new(depth);
        let mut consumers = Vec::new();
        let books = [Arc::new(Book::default()), Arc::new(Book::default())];
        for (i, name) in ["gate", "mexc"].into_iter().enumerate() {
            let v = ex.venue(name).map_err(|e| e.to_string())?;
            let tickers = v
                .book_tickers("BTC/USDT")
                .await
                .map_err(|e| e.to_string())?;
            consumers.push((
                format!("{name} book tickers"),
                tokio::spawn(consume(tickers, true, stall.clone())),
            ));
            let trades = v.trades("BTC/USDT").await.map_err(|e| e.to_string())?;
            consumers.push((
                format!("{name} trades"),
                tokio::spawn(consume(trades, false, stall.clone())),
            ));
            let book = v.order_book("BTC/USDT").await.map_err(|e| e.to_string())?;
            consumers.push((
                format!("{name} order book"),
                tokio::spawn(consume_book(book, stall.clone())),
            ));
            let fills = v.fills().await.map_err(|e| e.to_string())?;
            consumers.push((
                format!("{name} fills"),
                tokio::spawn(consume(fills, false, stall.clone())),
            ));
            let orders = v.orders().await.map_err(|e| e.to_string())?;
            consumers.push((
                format!("{name} orders"),
                tokio::spawn(track_orders(orders, books[i].clone())),
            ));
        }
        let relay = ex.venue("relay").map_err(|e| e.to_string())?;
        let tickers = relay
            .book_tickers("BTC/USDT")
            .await
            .map_err(|e| e.to_string())?;
        consumers.push((
            "relay book tickers".to_owned(),
            tokio::spawn(consume(tickers, true, stall.clone())),
        ));
        Ok(Program {
            ex,
            books,
            stall,
            consumers,
            prefix: format!("k{run}x"),
            placed: 0,
        })
    }

    fn book(&self, t: Target) -> &Arc<Book> {
        &self.books[t as usize]
    }

    async fn instrument(&self, t: Target) -> Result<Instrument, String> {
        let v = self.ex.venue(t.name()).map_err(|e| e.to_string())?;
        v.instrument("BTC/USDT").await.map_err(|e| e.to_string())
    }

    /// Places a limit buy of 0.001 BTC: far below the market (rests) or far above (fills).
    /// An order the exchange refused to send is not tracked.
    pub async fn place(&mut self, t: Target, crossing: bool) -> Result<(), String> {
        self.placed += 1;
        let client_id = format!("{}{}", self.prefix, self.placed);
        let order = NewOrder {
            instrument: self.instrument(t).await?,
            side: Side::Buy,
            order_type: OrderType::Limit,
            price: Num::parse(if crossing { "1000000" } else { "1" }).unwrap(),
            qty: Num::parse("0.001").unwrap(),
            quote_qty: Num::ZERO,
            client_id: client_id.as_str().into(),
        };
        let v = self.ex.venue(t.name()).map_err(|e| e.to_string())?;
        // Tracked before it is sent: its first update may come before `place` returns.
        self.book(t).orders.lock().unwrap().insert(
            client_id.clone(),
            Known {
                status: None,
                order_id: None,
                cancel_sent: None,
                regressed: None,
            },
        );
        if v.place(order).await.is_err() {
            self.book(t).orders.lock().unwrap().remove(&client_id);
        }
        Ok(())
    }

    /// Cancels every order believed open whose last cancel is older than `again` (all of
    /// them, with `None`: the first open one only).
    pub async fn cancel_open(&self, t: Target, again: Option<Duration>) -> Result<(), String> {
        let now = Instant::now();
        let due: Vec<String> = {
            let mut orders = self.book(t).orders.lock().unwrap();
            let mut due = Vec::new();
            for k in orders.values_mut() {
                let stale = match (again, k.cancel_sent) {
                    (_, None) => true,
                    (Some(again), Some(at)) => now - at >= again,
                    (None, Some(_)) => false,
                };
                if k.status == Some(OrderStatus::Open) && stale {
                    if let Some(id) = &k.order_id {
                        k.cancel_sent = Some(now);
                        due.push(id.clone());
                        if again.is_none() {
                            break;
                        }
                    }
                }
            }
            due
        };
        if due.is_empty() {
            return Ok(());
        }
        let instrument = self.instrument(t).await?;
        let v = self.ex.venue(t.name()).map_err(|e| e.to_string())?;
        for order_id in due {
            let _ = v
                .cancel(CancelOrder {
                    instrument,
                    order_id: order_id.as_str().into(),
                })
                .await;
        }
        Ok(())
    }

    /// Cancels what is open (again every `again`) until every order the program placed is
    /// final on its side (filled, cancelled or rejected); gives up after `patience` with
    /// the orders still not final.
    pub async fn settle_orders(&self, patience: Duration) -> Result<(), Vec<String>> {
        let give_up = Instant::now() + patience;
        let again = Duration::from_millis(300);
        loop {
            for t in [Target::Gate, Target::Mexc] {
                let _ = self.cancel_open(t, Some(again)).await;
            }
            let pending = self.not_final();
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= give_up {
                return Err(pending);
            }
            // The next update, or the next round of cancels.
            let changed = futures_util::future::select(
                Box::pin(self.books[0].changed.notified()),
                Box::pin(self.books[1].changed.notified()),
            );
            let _ = tokio::time::timeout(again, changed).await;
        }
    }

    /// `venue client_id status` of every order not yet final.
    pub fn not_final(&self) -> Vec<String> {
        let mut left = Vec::new();
        for t in [Target::Gate, Target::Mexc] {
            for (id, k) in self.book(t).orders.lock().unwrap().iter() {
                if !matches!(
                    k.status,
                    Some(OrderStatus::Filled | OrderStatus::Cancelled | OrderStatus::Rejected)
                ) {
                    left.push(format!("{} {id} {:?}", t.name(), k.status));
                }
            }
        }
        left
    }

    /// Waits (at most `patience`) for every consumer to see its stream end (after the
    /// exchange shut down) and returns what each saw, or the streams that did not end.
    pub async fn finish(self, patience: Duration) -> Result<Vec<StreamTally>, Vec<String>> {
        let give_up = Instant::now() + patience;
        let mut tallies = Vec::new();
        let mut open = Vec::new();
        for (name, mut c) in self.consumers {
            match tokio::time::timeout_at(give_up, &mut c).await {
                Ok(tally) => tallies.push(tally.expect("a consumer task panicked")),
                Err(_) => {
                    c.abort();
                    open.push(name);
                }
            }
        }
        if open.is_empty() {
            Ok(tallies)
        } else {
            Err(open)
        }
    }
}

async fn consume<T>(mut s: EventStream<T>, may_drop: bool, stall: Stall) -> StreamTally {
    let mut seen = 0;
    while s.recv().await.is_some() {
        seen += 1;
        stall.honour(s.stats().depth).await;
    }
    StreamTally {
        name: format!("{} {} {}", s.venue(), s.kind().name(), s.symbol()),
        seen,
        counts_items: true,
        may_drop,
        stats: s.stats(),
    }
}

async fn consume_book(mut s: OrderBookStream, stall: Stall) -> StreamTally {
    let mut seen = 0;
    while s.recv().await.is_some() {
        seen += 1;
        stall.honour(s.stats().depth).await;
    }
    StreamTally {
        name: format!("{} order book {}", s.venue(), s.symbol()),
        seen,
        counts_items: false,
        may_drop: false,
        stats: s.stats(),
    }
}

async fn track_orders(mut s: EventStream<plugin_api::OrderUpdate>, book: Arc<Book>) -> StreamTally {
    let mut seen = 0;
    while let Some(u) = s.recv().await {
        seen += 1;
        if let Update::Item(o) = u {
            let mut orders = book.orders.lock().unwrap();
            if let Some(k) = orders.get_mut(o.client_id.as_str()) {
                match k.status {
                    Some(
                        was
                        @ (OrderStatus::Filled | OrderStatus::Cancelled | OrderStatus::Rejected),
                    ) if was != o.status => {
                        k.regressed
                            .get_or_insert(format!("{was:?} then {:?}", o.status));
                    }
                    _ => k.status = Some(o.status),
                }
                k.order_id = Some(o.order_id.to_string());
            }
            drop(orders);
            book.changed.notify_waiters();
        }
    }
    StreamTally {
        name: format!("{} orders", s.venue()),
        seen,
        counts_items: true,
        may_drop: false,
        stats: s.stats(),
    }
}
