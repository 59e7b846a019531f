//! A declared message queue: the path of frames from the connections that use it, through
//! the plugin, into the bus. It counts the bursts in flight on that path; stopping it waits
//! for them to be delivered and then refuses further frames, each counted as dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::Notify;

use crate::stop::resource::{Resource, ResourceCounts};

/// One declared message queue. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct MessageQueue {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    closed: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
    refused: AtomicU64,
}

/// A burst on its way through the queue; the queue counts it until dropped.
#[derive(Debug)]
pub struct Passage<'a> {
    inner: &'a Inner,
}

impl Drop for Passage<'_> {
    fn drop(&mut self) {
        if self.inner.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

impl MessageQueue {
    /// An open queue.
    pub fn new() -> MessageQueue {
        MessageQueue::default()
    }

    /// Lets a burst of `frames` frames in, or refuses it (counted) once the queue stopped.
    pub fn enter(&self, frames: usize) -> Option<Passage<'_>> {
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        let passage = Passage { inner: &self.inner };
        if self.inner.closed.load(Ordering::Acquire) {
            self.inner
                .refused
                .fetch_add(frames as u64, Ordering::Relaxed);
            return None;
        }
        Some(passage)
    }

    /// Frames refused because the queue was stopped.
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// Bursts on their way through now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }
}

impl Resource for MessageQueue {
    /// Refuses new frames and waits for the bursts in flight to be delivered.
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            inner.closed.store(true, Ordering::Release);
            loop {
                let idle = inner.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if inner.in_flight.load(Ordering::Acquire) == 0 {
                    return Ok(());
                }
                idle.await;
            }
        })
    }

    /// Nothing of its own to abort: the bursts belong to the connections' tasks.
    fn force(&self) -> BoxFuture<'static, ()> {
        self.inner.closed.store(true, Ordering::Release);
        Box::pin(async {})
    }

    fn counts(&self) -> ResourceCounts {
        ResourceCounts::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn stop_waits_for_the_burst_in_flight_then_refuses() {
        let queue = MessageQueue::new();
        let passage = queue.enter(3).unwrap();
        let stop = tokio::spawn(queue.stop());
        tokio::task::yield_now().await;
        assert!(!stop.is_finished(), "a burst is still in flight");
        assert!(queue.enter(2).is_none(), "closed to new bursts");
        assert_eq!(queue.refused(), 2);
        drop(passage);
        stop.await.unwrap().unwrap();
        assert_eq!(queue.in_flight(), 0);
    }
}
