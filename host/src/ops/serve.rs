//! Serving a listener in a task group: accept until the group's token is cancelled, each
//! connection on its own task of the group, so shutting the group down stops and joins them.

use std::future::Future;

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
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
/// task of the group. The connection must end once the token is cancelled. A failed accept
/// is logged as "`{what}` accept failed" and the loop goes on.
pub(super) fn accept_loop<L, F, C>(op: &Operator, listener: L, what: &'static str, connection: F)
where
    L: Listener,
    F: Fn(Operator, L::Stream, CancellationToken) -> C + Send + 'static,
    C: Future<Output = ()> + Send + 'static,
{
    let tasks = op.inner.tasks.clone();
    let op = op.clone();
    let token = tasks.token().clone();
    tasks.clone().spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = token.cancelled() => break,
                r = listener.next_stream() => match r {
                    Ok(stream) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "{what} accept failed");
                        continue;
                    }
                },
            };
            tasks.spawn(connection(op.clone(), stream, token.clone()));
        }
    });
}
