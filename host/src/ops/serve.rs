//! Serving a listener in a task group: accept until the group's token is cancelled, each
//! connection on its own task of the group, so shutting the group down stops and joins them.
//! A listener serves a bounded number of connections at once and pauses after failed accepts.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::Operator;

/// A listener that yields connected streams.
pub(super) trait Listener: Send + Sync + 'static {
    /// The stream of one connection.
    type Stream: Send + 'static;

    /// Waits for the next connection.
    fn next_stream(&self) -> impl Future<Output = std::io::Result<Self::Stream>> + Send + '_;
}

impl Listener for UnixListener {
    type Stream = UnixStream;

    async fn next_stream(&self) -> std::io::Result<UnixStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

impl Listener for TcpListener {
    type Stream = TcpStream;

    async fn next_stream(&self) -> std::io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

/// Spawns in the operator's task group a loop accepting connections from `listener` until the
/// group's token is cancelled, running `connection(op, stream, token)` for each on its own
/// task of the group. The connection must end once the token is cancelled. At most
/// `max_connections` are served at once; one more is accepted and closed at once (see
/// [`Admission`]), so clients that hold connections cannot make the process hold a file
/// descriptor and a task for each. A failed accept is logged as "`{what}` accept failed" and
/// retried after a pause (see [`next_connection`]).
pub(super) fn accept_loop<L, F, C>(
    op: &Operator,
    listener: L,
    what: &'static str,
    max_connections: usize,
    connection: F,
) where
    L: Listener,
    F: Fn(Operator, L::Stream, CancellationToken) -> C + Send + 'static,
    C: Future<Output = ()> + Send + 'static,
{
    let tasks = op.inner.tasks.clone();
    let op = op.clone();
    let token = tasks.token().clone();
    tasks.clone().spawn(async move {
        let mut failures = 0;
        let mut admission = Admission::new(max_connections);
        while let Some(stream) = next_connection(&listener, &token, what, &mut failures).await {
            let Some(permit) = admission.admit(what) else {
                drop(stream);
                continue;
            };
            let connection = connection(op.clone(), stream, token.clone());
            tasks.spawn(async move {
                connection.await;
                drop(permit);
            });
        }
    });
}

/// The connections a listener serves at once: each holds a permit until its task ends. A
/// connection accepted while every permit is taken is refused (closed at once, unread) and
/// counted; the first refusal and each power of two of the count are logged, so a crowd of
/// clients costs a few lines, not one each.
struct Admission {
    permits: Arc<Semaphore>,
    limit: usize,
    refused: u64,
}

impl Admission {
    fn new(limit: usize) -> Admission {
        Admission {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            refused: 0,
        }
    }

    /// A permit for one more connection, or `None` if `limit` are being served (the refusal
    /// is counted, and logged if the count is a power of two).
    fn admit(&mut self, what: &str) -> Option<OwnedSemaphorePermit> {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                self.refused += 1;
                if self.refused.is_power_of_two() {
                    tracing::warn!(
                        refused = self.refused,
                        limit = self.limit,
                        "{what} at its connection limit; closing new connections at once"
                    );
                }
                None
            }
        }
    }
}

/// The first pause after a failed accept; it doubles with each failure in a row.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between accepts that keep failing.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// The next connection, or `None` once `token` is cancelled. An accept that fails (out of
/// file descriptors, say: the pending connection stays queued and the next accept fails at
/// once) is retried after a pause that doubles up to a second, so a listener that keeps
/// failing costs a few wake-ups a second instead of a core and a flood of log lines; the
/// first failure and every doubling of the count are logged.
async fn next_connection<L: Listener>(
    listener: &L,
    token: &CancellationToken,
    what: &str,
    failures: &mut u32,
) -> Option<L::Stream> {
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => return None,
            r = listener.next_stream() => r,
        };
        match accepted {
            Ok(stream) => {
                if *failures > 0 {
                    tracing::info!(failures = *failures, "{what} accepting again");
                }
                *failures = 0;
                return Some(stream);
            }
            Err(error) => {
                *failures += 1;
                if failures.is_power_of_two() {
                    tracing::warn!(%error, failures = *failures, "{what} accept failed; retrying after a pause");
                }
                let pause = FIRST_PAUSE
                    .saturating_mul(1 << (*failures - 1).min(16))
                    .min(LONGEST_PAUSE);
                tokio::select! {
                    _ = token.cancelled() => return None,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn connections_over_the_limit_are_refused_until_one_ends() {
        let mut admission = Admission::new(2);
        let first = admission.admit("test").expect("first admitted");
        let _second = admission.admit("test").expect("second admitted");
        assert!(admission.admit("test").is_none(), "third refused");
        assert!(admission.admit("test").is_none(), "fourth refused");
        assert_eq!(admission.refused, 2);
        drop(first);
        assert!(
            admission.admit("test").is_some(),
            "a freed permit admits again"
        );
        assert_eq!(admission.refused, 2);
    }

    /// Counts the warnings logged while it is the default subscriber.
    struct Warnings(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if *event.metadata().level() == tracing::Level::WARN {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[test]
    fn refusals_are_logged_at_the_first_and_each_power_of_two() {
        use tracing_subscriber::layer::SubscriberExt;
        let warnings = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(Warnings(warnings.clone()));
        let _default = tracing::subscriber::set_default(subscriber);
        let mut admission = Admission::new(1);
        let _held = admission.admit("test").expect("admitted");
        for _ in 0..1000 {
            assert!(admission.admit("test").is_none());
        }
        // 1, 2, 4, ... 512.
        assert_eq!(warnings.load(Ordering::Relaxed), 10);
    }

    /// A listener whose every accept fails at once, like one out of file descriptors.
    struct Exhausted {
        accepts: AtomicUsize,
    }

    impl Listener for Exhausted {
        type Stream = ();

        async fn next_stream(&self) -> std::io::Result<()> {
            self.accepts.fetch_add(1, Ordering::Relaxed);
            Err(std::io::Error::from_raw_os_error(24)) // EMFILE
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_listener_is_retried_after_growing_pauses_not_in_a_spin() {
        let listener = Exhausted {
            accepts: AtomicUsize::new(0),
        };
        let token = CancellationToken::new();
        let stop = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            stop.cancel();
        });
        let mut failures = 0;
        let next = next_connection(&listener, &token, "test", &mut failures).await;
        assert!(next.is_none(), "ends when cancelled");
        // 10, 20, ... 640 ms, then once a second: 8 tries in the first 1.27 s and one a
        // second after that, about 17 in 10 s, where a spin makes millions.
        let accepts = listener.accepts.load(Ordering::Relaxed);
        assert!((15..=20).contains(&accepts), "{accepts} accepts in 10 s");
        assert_eq!(failures as usize, accepts);
    }
}
