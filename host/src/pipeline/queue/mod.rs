//! A bounded queue between a producer (a socket reader) and one consumer, with an explicit
//! overflow policy and counters that account for every item: after the queue is gone,
//! `offered = delivered + dropped (by reason)`.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

mod counters;
mod wake;

pub use counters::{DropReason, Overflow, QueueStats};
pub use wake::WakeBatch;

struct State<T> {
    items: VecDeque<(u64, T)>,
    closed: bool,
    /// A producer found the queue full under backpressure and waits for room: the next
    /// receive wakes the waiting producers (otherwise a receive touches no `Notify`).
    producer_waiting: bool,
    /// Every counter but `depth` (that is `items.len()`).
    counts: QueueStats,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    capacity: usize,
    policy: Overflow,
    /// The one consumer's waker. A queue has a single consumer, so an [`AtomicWaker`]
    /// serves where a `Notify` would take its waiter list's lock twice per wait and once
    /// per wake-up.
    readable: AtomicWaker,
    writable: Notify,
}

/// The producing side. Cloneable.
pub struct QueueTx<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for QueueTx<T> {
    fn clone(&self) -> Self {
        QueueTx {
            shared: self.shared.clone(),
        }
    }
}

/// The consuming side; dropping it closes the queue and counts what was left as undelivered.
pub struct QueueRx<T> {
    shared: Arc<Shared<T>>,
}

/// Creates a queue of `capacity` (at least 1) items.
pub fn queue<T>(capacity: usize, policy: Overflow) -> (QueueTx<T>, QueueRx<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::with_capacity(capacity.clamp(1, 4096)),
            closed: false,
            producer_waiting: false,
            counts: QueueStats::default(),
        }),
        capacity: capacity.max(1),
        policy,
        readable: AtomicWaker::new(),
        writable: Notify::new(),
    });
    (
        QueueTx {
            shared: shared.clone(),
        },
        QueueRx { shared },
    )
}

impl<T> Shared<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Unlocks after the consumer took items: the room they leave wakes the producers that
    /// wait for it, if any (one that finds the queue full again sets the flag again).
    fn unlock_after_taking(&self, mut st: std::sync::MutexGuard<'_, State<T>>) {
        let waiting = std::mem::take(&mut st.producer_waiting);
        drop(st);
        if waiting {
            self.writable.notify_waiters();
        }
    }

    fn stats(&self) -> QueueStats {
        let st = self.lock();
        QueueStats {
            depth: st.items.len() as u64,
            ..st.counts
        }
    }
}

/// A queue whose consumer can be woken; lets a [`WakeBatch`] hold queues of any item type.
trait Consumer: Send + Sync {
    fn wake(&self);
}

impl<T: Send> Consumer for Shared<T> {
    fn wake(&self) {
        self.readable.wake();
    }
}

/// The queue is closed; the item was counted as dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("queue closed")]
pub struct Closed;

/// Why [`QueueTx::try_push_deferred`] did not place an item.
#[derive(Debug, PartialEq, Eq)]
pub enum TryPushError<T> {
    /// The queue is closed; the item was counted as dropped.
    Closed,
    /// The queue is full under [`Overflow::Backpressure`]: the item is handed back, not
    /// counted, and the consumer was woken to make room. Finish with
    /// [`QueueTx::push_deferred`], which waits.
    Full(T),
}

/// What [`QueueTx::try_offer`] did with an item.
enum Offer<T> {
    /// Placed (or conflated, or it pushed out the oldest): counted as offered.
    Placed,
    /// The queue is closed: counted as offered and dropped.
    Closed,
    /// Full under [`Overflow::Backpressure`]: handed back, not counted yet.
    Full(T),
}

impl<T> QueueTx<T> {
    /// Offers `item` under `key` (used by [`Overflow::LatestValueWins`]). Waits only under
    /// [`Overflow::Backpressure`] while the queue is full; the wait ends when the consumer
    /// takes an item or the queue closes. Cancel-safe: a cancelled push offered nothing.
    pub async fn push(&self, key: u64, item: T) -> Result<(), Closed> {
        self.offer(key, item, |queue| queue.readable.wake()).await
    }

    /// Like [`QueueTx::push`], but the consumer's wake-up waits in `wakes` until
    /// [`WakeBatch::flush`]: a producer delivering a burst wakes each consumer once per
    /// burst instead of once per item. The item itself is visible to the consumer at once.
    pub async fn push_deferred(
        &self,
        key: u64,
        item: T,
        wakes: &mut WakeBatch,
    ) -> Result<(), Closed>
    where
        T: Send + 'static,
    {
        self.offer(key, item, |queue| wakes.defer(queue)).await
    }

    /// Like [`QueueTx::push_deferred`], but never waits: the path a producer takes for
    /// each item of a burst, falling back to `push_deferred` only when this reports
    /// [`TryPushError::Full`].
    pub fn try_push_deferred(
        &self,
        key: u64,
        item: T,
        wakes: &mut WakeBatch,
    ) -> Result<(), TryPushError<T>>
    where
        T: Send + 'static,
    {
        self.try_place(key, item, |queue| wakes.defer(queue))
    }

    /// Places `item` if it need not wait; `wake` tells the consumer. A full queue under
    /// backpressure wakes its consumer at once (its wake-up may be waiting in a batch that is
    /// flushed only after the producer got room) and hands the item back.
    fn try_place(
        &self,
        key: u64,
        item: T,
        wake: impl FnOnce(&Arc<Shared<T>>),
    ) -> Result<(), TryPushError<T>> {
        match self.try_offer(key, item) {
            Offer::Placed => {
                wake(&self.shared);
                Ok(())
            }
            Offer::Closed => Err(TryPushError::Closed),
            Offer::Full(item) => {
                self.shared.readable.wake();
                Err(TryPushError::Full(item))
            }
        }
    }

    /// Places `item`, waiting for room under backpressure; `wake` tells the consumer.
    async fn offer(
        &self,
        key: u64,
        item: T,
        wake: impl FnOnce(&Arc<Shared<T>>),
    ) -> Result<(), Closed> {
        let s = &self.shared;
        // Fast path: room, or a policy that never waits. No waiter is registered.
        let mut item = match self.try_place(key, item, wake) {
            Ok(()) => return Ok(()),
            Err(TryPushError::Closed) => return Err(Closed),
            Err(TryPushError::Full(item)) => item,
        };
        // Full under backpressure (the consumer is awake): wait for room.
        loop {
            let writable = s.writable.notified();
            tokio::pin!(writable);
            writable.as_mut().enable();
            item = match self.try_offer(key, item) {
                Offer::Placed => {
                    s.readable.wake();
                    return Ok(());
                }
                Offer::Closed => return Err(Closed),
                Offer::Full(item) => item,
            };
            writable.await;
        }
    }

    fn try_offer(&self, key: u64, item: T) -> Offer<T> {
        let s = &self.shared;
        let mut st = s.lock();
        if st.closed {
            st.counts.offered += 1;
            st.counts.count(DropReason::Closed, 1);
            return Offer::Closed;
        }
        if st.items.len() >= s.capacity && s.policy == Overflow::Backpressure {
            st.producer_waiting = true;
            return Offer::Full(item);
        }
        st.counts.offered += 1;
        self.place(&mut st, key, item);
        Offer::Placed
    }

    fn place(&self, st: &mut State<T>, key: u64, item: T) {
        let s = &self.shared;
        if st.items.len() < s.capacity {
            st.items.push_back((key, item));
            return;
        }
        if s.policy == Overflow::LatestValueWins {
            // The newest queued value of the key is replaced where it stands, so the
            // consumer still sees each key's values in order.
            if let Some(slot) = st.items.iter_mut().rev().find(|(k, _)| *k == key) {
                slot.1 = item;
                // Test-only mutant (feature `mutant-uncounted-drop`, never in a real
                // build): the replaced value is dropped without being counted. The chaos
                // suite must catch it.
                #[cfg(not(feature = "mutant-uncounted-drop"))]
                st.counts.count(DropReason::Conflated, 1);
                return;
            }
        }
        st.items.pop_front();
        #[cfg(not(feature = "mutant-uncounted-drop"))]
        st.counts.count(DropReason::Overflow, 1);
        st.items.push_back((key, item));
    }

    /// Queues a control marker (a gap, the end of the stream) even when the queue is full:
    /// markers must never wait behind a slow consumer, and never replace data.
    pub fn push_marker(&self, item: T) -> Result<(), Closed> {
        let s = &self.shared;
        let mut st = s.lock();
        st.counts.offered += 1;
        if st.closed {
            st.counts.count(DropReason::Closed, 1);
            return Err(Closed);
        }
        st.items.push_back((u64::MAX, item));
        drop(st);
        s.readable.wake();
        Ok(())
    }

    /// Closes the queue: later pushes are dropped (counted), the consumer drains what is
    /// queued and then sees the end.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.readable.wake();
        self.shared.writable.notify_waiters();
    }

    /// Counters now.
    pub fn stats(&self) -> QueueStats {
        self.shared.stats()
    }
}

impl<T> QueueRx<T> {
    /// The next item, or `None` once the queue is closed and drained. Cancel-safe.
    pub async fn recv(&mut self) -> Option<T> {
        self.when_readable(|| self.try_recv()).await
    }

    /// Waits for at least one item, then moves every queued item, up to `limit`, into
    /// `buf` under one lock; returns how many. `0` once the queue is closed and drained (or
    /// `limit` is 0). Cancel-safe. For consumers that handle whatever has piled up at once.
    pub async fn recv_many(&mut self, buf: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        self.when_readable(|| self.try_recv_many(buf, limit)).await
    }

    /// Tries `take` until it gives a result, waiting for the producer's wake-up between
    /// tries. The first try registers no waker (the fast path when items are ready); after
    /// registering, `take` is tried again, so an item pushed in between is never missed.
    async fn when_readable<R>(&self, mut take: impl FnMut() -> Option<R>) -> R {
        poll_fn(|cx| {
            if let Some(ready) = take() {
                return Poll::Ready(ready);
            }
            self.shared.readable.register(cx.waker());
            match take() {
                Some(ready) => Poll::Ready(ready),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// `Some(n > 0)` items moved, `Some(0)` when closed and drained, `None` when empty.
    fn try_recv_many(&self, buf: &mut Vec<T>, limit: usize) -> Option<usize> {
        let s = &self.shared;
        let mut st = s.lock();
        let n = st.items.len().min(limit);
        if n == 0 {
            return st.closed.then_some(0);
        }
        buf.extend(st.items.drain(..n).map(|(_, item)| item));
        st.counts.delivered += n as u64;
        s.unlock_after_taking(st);
        Some(n)
    }

    /// `Some(Some(item))`, `Some(None)` when closed and drained, `None` when empty.
    fn try_recv(&self) -> Option<Option<T>> {
        let s = &self.shared;
        let mut st = s.lock();
        match st.items.pop_front() {
            Some((_, item)) => {
                st.counts.delivered += 1;
                s.unlock_after_taking(st);
                Some(Some(item))
            }
            None if st.closed => Some(None),
            None => None,
        }
    }

    /// Counters now.
    pub fn stats(&self) -> QueueStats {
        self.shared.stats()
    }
}

impl<T> QueueRx<T> {
    /// Closes the queue and counts what is still in it as undelivered (what dropping the
    /// receiver does), so the final counters can be read before the receiver goes.
    pub fn close_and_count(&mut self) {
        {
            let mut st = self.shared.lock();
            st.closed = true;
            let left = st.items.len() as u64;
            st.items.clear();
            st.counts.count(DropReason::Undelivered, left);
        }
        self.shared.writable.notify_waiters();
    }
}

impl<T> Drop for QueueRx<T> {
    fn drop(&mut self) {
        self.close_and_count();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn accounted(s: QueueStats) -> bool {
        s.offered == s.delivered + s.dropped() + s.depth
    }

    #[tokio::test]
    async fn latest_value_wins_conflates_by_key() {
        let (tx, mut rx) = queue(2, Overflow::LatestValueWins);
        tx.push(1, "a1").await.unwrap();
        tx.push(2, "b1").await.unwrap();
        tx.push(1, "a2").await.unwrap();
        tx.push(3, "c1").await.unwrap();
        assert_eq!(rx.recv().await, Some("b1"));
        assert_eq!(rx.recv().await, Some("c1"));
        let s = rx.stats();
        assert_eq!((s.dropped_conflated, s.dropped_overflow), (1, 1));
        assert!(accounted(s), "{s:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn backpressure_waits_and_never_drops() {
        let (tx, mut rx) = queue(1, Overflow::Backpressure);
        tx.push(0, 1).await.unwrap();
        let producer = tokio::spawn({
            let tx = tx.clone();
            async move { tx.push(0, 2).await }
        });
        tokio::task::yield_now().await;
        assert!(!producer.is_finished(), "second push must wait for room");
        assert_eq!(rx.recv().await, Some(1));
        producer.await.unwrap().unwrap();
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.stats().dropped(), 0);
    }

    #[tokio::test]
    async fn close_drains_then_ends_and_counts_late_and_left_items() {
        let (tx, mut rx) = queue(8, Overflow::DropOldest);
        for i in 0..5 {
            tx.push(0, i).await.unwrap();
        }
        tx.close();
        assert_eq!(tx.push(0, 99).await, Err(Closed));
        assert_eq!(rx.recv().await, Some(0));
        assert_eq!(rx.recv().await, Some(1));
        drop(rx);
        let s = tx.stats();
        assert_eq!(s.offered, 6);
        assert_eq!(s.delivered, 2);
        assert_eq!(s.dropped_closed, 1);
        assert_eq!(s.dropped_undelivered, 3);
        assert!(accounted(s), "{s:?}");
    }

    #[tokio::test]
    async fn a_waiting_producer_is_released_when_the_consumer_goes() {
        let (tx, rx) = queue(1, Overflow::Backpressure);
        tx.push(0, 1).await.unwrap();
        let producer = tokio::spawn({
            let tx = tx.clone();
            async move { tx.push(0, 2).await }
        });
        tokio::task::yield_now().await;
        drop(rx);
        assert_eq!(producer.await.unwrap(), Err(Closed));
        assert!(accounted(tx.stats()));
    }

    #[tokio::test]
    async fn markers_never_wait_on_a_full_queue() {
        let (tx, mut rx) = queue(1, Overflow::Backpressure);
        tx.push(0, 1).await.unwrap();
        tx.push_marker(2).unwrap();
        tx.close();
        assert_eq!(tx.push_marker(3), Err(Closed));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        assert!(accounted(rx.stats()));
    }

    #[tokio::test]
    async fn latest_value_wins_keeps_one_keys_values_in_order() {
        let (tx, mut rx) = queue(3, Overflow::LatestValueWins);
        for v in 1..=5 {
            tx.push(0, v).await.unwrap();
        }
        // 4 replaced 3 and 5 replaced 4, each in the newest slot: never out of order.
        let got = [rx.recv().await, rx.recv().await, rx.recv().await];
        assert_eq!(got, [Some(1), Some(2), Some(5)]);
        assert_eq!(rx.stats().dropped_conflated, 2);
        assert!(accounted(rx.stats()));
    }

    #[tokio::test(start_paused = true)]
    async fn deferred_wakes_wait_for_the_flush() {
        let (tx, mut rx) = queue(8, Overflow::Backpressure);
        let consumer = tokio::spawn(async move { (rx.recv().await, rx) });
        tokio::task::yield_now().await;
        let mut wakes = WakeBatch::new();
        tx.push_deferred(0, 1, &mut wakes).await.unwrap();
        tx.push_deferred(0, 2, &mut wakes).await.unwrap();
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        assert!(!consumer.is_finished(), "woken before the flush");
        wakes.flush();
        let (first, mut rx) = consumer.await.unwrap();
        assert_eq!(first, Some(1));
        assert_eq!(rx.recv().await, Some(2), "one wake-up, both items");
    }

    #[tokio::test(start_paused = true)]
    async fn a_deferred_push_into_a_full_queue_wakes_the_consumer() {
        let (tx, mut rx) = queue(1, Overflow::Backpressure);
        let consumer = tokio::spawn(async move {
            let a = rx.recv().await;
            let b = rx.recv().await;
            (a, b)
        });
        tokio::task::yield_now().await;
        let mut wakes = WakeBatch::new();
        let both = async {
            tx.push_deferred(0, 1, &mut wakes).await.unwrap();
            tx.push_deferred(0, 2, &mut wakes).await.unwrap();
        };
        // Without the wake-up before waiting for room, this would wait forever.
        tokio::time::timeout(Duration::from_secs(1), both)
            .await
            .expect("the second push stalled behind a held-back wake-up");
        drop(wakes);
        assert_eq!(consumer.await.unwrap(), (Some(1), Some(2)));
    }

    #[tokio::test]
    async fn try_push_hands_back_what_a_full_queue_would_make_wait_for() {
        let (tx, mut rx) = queue(1, Overflow::Backpressure);
        let mut wakes = WakeBatch::new();
        assert_eq!(tx.try_push_deferred(0, 1, &mut wakes), Ok(()));
        assert_eq!(
            tx.try_push_deferred(0, 2, &mut wakes),
            Err(TryPushError::Full(2))
        );
        assert_eq!(tx.stats().offered, 1, "a handed-back item is not offered");
        assert_eq!(rx.recv().await, Some(1));
        tx.close();
        assert_eq!(
            tx.try_push_deferred(0, 3, &mut wakes),
            Err(TryPushError::Closed)
        );
        let s = rx.stats();
        assert_eq!((s.offered, s.delivered, s.dropped_closed), (2, 1, 1));
        assert!(accounted(s));
    }

    #[tokio::test(start_paused = true)]
    async fn recv_many_takes_what_piled_up_and_frees_room_for_waiting_producers() {
        let (tx, mut rx) = queue(3, Overflow::Backpressure);
        for v in 1..=3 {
            tx.push(0, v).await.unwrap();
        }
        let producer = tokio::spawn({
            let tx = tx.clone();
            async move { tx.push(0, 4).await }
        });
        tokio::task::yield_now().await;
        assert!(!producer.is_finished(), "the queue is full");
        let mut buf = Vec::new();
        assert_eq!(rx.recv_many(&mut buf, 2).await, 2);
        assert_eq!(buf, [1, 2]);
        producer.await.unwrap().unwrap();
        assert_eq!(rx.recv_many(&mut buf, 10).await, 2);
        assert_eq!(buf, [1, 2, 3, 4]);
        tx.close();
        assert_eq!(rx.recv_many(&mut buf, 10).await, 0, "closed and drained");
        let s = rx.stats();
        assert_eq!((s.offered, s.delivered, s.depth), (4, 4, 0));
        assert!(accounted(s));
    }
}
