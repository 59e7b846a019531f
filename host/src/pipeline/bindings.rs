//! Handler bindings: consumer callbacks bound to a venue's streams. They are recorded as a
//! resource of the venue instance and unbound (their tasks ended, the handlers dropped)
//! when it stops, so nothing keeps a consumer's handler alive after its owner stopped.
//! Across a reload or a restart they are carried over: the handlers keep running and see
//! the gap the streams send.

use std::future::Future;

use futures_util::future::BoxFuture;

use crate::pipeline::bus::{StreamItem, Subscription};
use crate::stop::resource::{Resource, ResourceCounts, TaskGroup};

/// The handlers bound to one venue instance.
#[derive(Debug, Default, Clone)]
pub struct Bindings {
    tasks: TaskGroup,
}

impl Bindings {
    /// Runs `handler` for every item of `subscription` until the instance stops or the stream
    /// ends. The handler is dropped when its task ends. `false` (and the handler dropped at
    /// once) if the bindings are stopped.
    pub fn bind<F, Fut>(&self, mut subscription: Subscription, mut handler: F) -> bool
    where
        F: FnMut(StreamItem) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let token = self.tasks.token().clone();
        self.tasks.spawn(async move {
            loop {
                let item = tokio::select! {
                    _ = token.cancelled() => break,
                    item = subscription.recv() => item,
                };
                match item {
                    Some(item) => handler(item).await,
                    None => break,
                }
            }
        })
    }

    /// Handlers still bound.
    pub fn live(&self) -> usize {
        self.tasks.live()
    }
}

impl Resource for Bindings {
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        self.tasks.stop()
    }

    /// The handlers stay bound to the next build of the instance.
    fn carry_over(&self) -> Option<BoxFuture<'static, Result<(), String>>> {
        Some(Box::pin(async { Ok(()) }))
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        self.tasks.force()
    }

    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            bindings: self.tasks.live(),
            ..self.tasks.counts()
        }
    }
}
