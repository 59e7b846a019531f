//! Holding consumer wake-ups back for the length of a burst.

use std::sync::Arc;

use super::{Consumer, Shared};

/// A queue whose consumer can be woken; lets a [`WakeBatch`] hold queues of any item type.
/// Consumer wake-ups held back while a producer delivers a burst of items (the frames a
/// socket reader found already buffered): each consumer is woken once per burst, by
/// [`WakeBatch::flush`] or when the batch is dropped, instead of once per item.
///
/// Items are visible to consumers as soon as they are pushed; only the wake-up waits. A push
/// that has to wait for room wakes its consumer at once, so a batch never stalls a full queue.
#[derive(Default)]
pub struct WakeBatch {
    pending: Vec<Arc<dyn Consumer>>,
}

impl std::fmt::Debug for WakeBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeBatch")
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl WakeBatch {
    /// An empty batch.
    pub fn new() -> WakeBatch {
        WakeBatch::default()
    }

    pub(super) fn defer<T: Send + 'static>(&mut self, queue: &Arc<Shared<T>>) {
        let this = Arc::as_ptr(queue) as *const ();
        if !self
            .pending
            .iter()
            .any(|q| Arc::as_ptr(q) as *const () == this)
        {
            self.pending.push(queue.clone());
        }
    }

    /// Wakes every consumer that received items since the last flush.
    pub fn flush(&mut self) {
        for queue in self.pending.drain(..) {
            queue.wake();
        }
    }
}

impl Drop for WakeBatch {
    fn drop(&mut self) {
        self.flush();
    }
}
