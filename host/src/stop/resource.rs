//! What the shutdown coordinator stops: the [`Resource`] trait and [`TaskGroup`], the owned
//! set of tasks most resources are built on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use plugin_api::ResourceKind;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Live counts a resource reports before and after shutdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResourceCounts {
    /// Tasks still running.
    pub tasks: usize,
    /// Open connections.
    pub connections: usize,
    /// Live subscriptions.
    pub subscriptions: usize,
    /// Bound handlers.
    pub bindings: usize,
}

impl std::ops::Add for ResourceCounts {
    type Output = ResourceCounts;
    fn add(self, o: ResourceCounts) -> ResourceCounts {
        ResourceCounts {
            tasks: self.tasks + o.tasks,
            connections: self.connections + o.connections,
            subscriptions: self.subscriptions + o.subscriptions,
            bindings: self.bindings + o.bindings,
        }
    }
}

/// Something that must be stopped: a connection, a queue, a timer, a REST client...
///
/// `stop` must honour cancellation: it resolves once everything it owns has finished. The
/// coordinator bounds it with a timeout and then calls `force`.
pub trait Resource: Send + Sync + 'static {
    /// Asks the resource to stop and resolves when it has; an `Err` is logged and reported.
    fn stop(&self) -> BoxFuture<'static, Result<(), String>>;

    /// What stopping means when its owner is reloaded or restarted and its consumers stay:
    /// a stream sends a gap and keeps its subscriptions, handler bindings keep running.
    /// `None` (the default): the resource is not carried over; it stops.
    fn carry_over(&self) -> Option<BoxFuture<'static, Result<(), String>>> {
        None
    }

    /// The forced path after the timeout: abort whatever is left. Resolves when the aborted
    /// tasks are gone, which the coordinator waits for only briefly.
    fn force(&self) -> BoxFuture<'static, ()>;

    /// Current live counts.
    fn counts(&self) -> ResourceCounts {
        ResourceCounts::default()
    }
}

/// An owned set of tasks sharing one cancellation token.
///
/// Every task is spawned through the group, so none is detached: `shutdown` cancels the token
/// and waits for all of them; `abort` is the forced path.
#[derive(Clone, Debug)]
pub struct TaskGroup {
    inner: Arc<GroupInner>,
}

#[derive(Debug)]
struct GroupInner {
    token: CancellationToken,
    tracker: TaskTracker,
    aborts: Mutex<Vec<AbortHandle>>,
    live: Arc<AtomicUsize>,
}

/// A group nobody holds any more cannot be stopped by anyone: its tasks are cancelled, so
/// nothing the host started outlives the objects that own it.
impl Drop for GroupInner {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// Decrements the group's live count when a task ends, however it ends.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl TaskGroup {
    /// A group with a fresh token.
    pub fn new() -> TaskGroup {
        TaskGroup::with_token(CancellationToken::new())
    }

    /// A group whose token is a child of `parent` (cancelled with it).
    pub fn child_of(parent: &CancellationToken) -> TaskGroup {
        TaskGroup::with_token(parent.child_token())
    }

    fn with_token(token: CancellationToken) -> TaskGroup {
        TaskGroup {
            inner: Arc::new(GroupInner {
                token,
                tracker: TaskTracker::new(),
                aborts: Mutex::new(Vec::new()),
                live: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    /// The token every task of the group must observe at each wait.
    pub fn token(&self) -> &CancellationToken {
        &self.inner.token
    }

    /// Spawns a task owned by the group. After `shutdown` began, the task is not started
    /// and `false` is returned.
    pub fn spawn<F>(&self, future: F) -> bool
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if self.inner.tracker.is_closed() {
            return false;
        }
        self.inner.live.fetch_add(1, Ordering::Relaxed);
        let guard = LiveGuard(self.inner.live.clone());
        let handle = self.inner.tracker.spawn(async move {
            let _guard = guard;
            future.await;
        });
        let mut aborts = self.inner.aborts.lock().unwrap_or_else(|p| p.into_inner());
        aborts.retain(|h| !h.is_finished());
        aborts.push(handle.abort_handle());
        true
    }

    /// Tasks not yet finished.
    pub fn live(&self) -> usize {
        self.inner.live.load(Ordering::Relaxed)
    }

    /// Cancels the token and waits until every task has finished.
    pub async fn shutdown(&self) {
        // Test-only mutant (feature `mutant-ignore-cancel`, never in a real build): the
        // group ignores the stop request, so only the coordinator's forced path ends its
        // tasks. The chaos suite must catch it.
        #[cfg(not(feature = "mutant-ignore-cancel"))]
        self.inner.token.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }

    /// Aborts every task and waits at most `grace` for them to go (a task stuck in a
    /// synchronous call cannot be aborted until the call returns).
    pub async fn abort(&self, grace: Duration) {
        self.inner.token.cancel();
        self.inner.tracker.close();
        for handle in self
            .inner
            .aborts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            handle.abort();
        }
        let _ = tokio::time::timeout(grace, self.inner.tracker.wait()).await;
    }

    /// Waits until every task has finished, without cancelling (use after `abort`).
    pub async fn finished(&self) {
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }
}

impl Default for TaskGroup {
    fn default() -> Self {
        TaskGroup::new()
    }
}

/// How long `force` waits for aborted tasks to disappear.
pub const FORCE_GRACE: Duration = Duration::from_millis(20);

/// A group of tasks is the simplest resource: stopping cancels and joins them, forcing
/// aborts them. Resources built on a group delegate to it.
impl Resource for TaskGroup {
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let tasks = self.clone();
        Box::pin(async move {
            tasks.shutdown().await;
            Ok(())
        })
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        let tasks = self.clone();
        Box::pin(async move { tasks.abort(FORCE_GRACE).await })
    }

    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            tasks: self.live(),
            ..ResourceCounts::default()
        }
    }
}

/// The identity and stop settings of a registered resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// The owner: a venue instance name, or `host`.
    pub owner: String,
    /// Name, unique per owner.
    pub name: String,
    /// Kind.
    pub kind: ResourceKind,
    /// Lower stops first among resources free to stop.
    pub priority: u8,
    /// Names (same owner) of resources this one uses; they stop after it.
    pub depends_on: Vec<String>,
    /// How long `stop` may take before `force`.
    pub timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_joins_every_task() {
        let group = TaskGroup::new();
        for _ in 0..3 {
            let token = group.token().clone();
            group.spawn(async move { token.cancelled().await });
        }
        assert_eq!(group.live(), 3);
        group.shutdown().await;
        assert_eq!(group.live(), 0);
        group.spawn(async {});
        assert_eq!(group.live(), 0, "no task starts after shutdown");
    }

    #[tokio::test]
    async fn abort_ends_tasks_that_ignore_the_token() {
        let group = TaskGroup::new();
        group.spawn(std::future::pending());
        group.abort(Duration::from_secs(5)).await;
        assert_eq!(group.live(), 0);
    }
}
