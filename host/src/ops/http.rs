//! One HTTP/1 connection of the operator's endpoints, bounded: the client has
//! [`HEADER_TIMEOUT`] to send each request head, a head may be [`MAX_REQUEST`] bytes at
//! most, and once the endpoint stops the response in progress gets [`CLOSE_GRACE`].

use std::time::Duration;

use hyper_util::rt::TokioTimer;
use tokio_util::sync::CancellationToken;

/// How long a connection may finish the response in progress once the endpoint stops; a
/// client that never completes its request is dropped after it.
const CLOSE_GRACE: Duration = Duration::from_millis(100);

/// How long a client has to send a request's head, from the moment the server waits for it
/// (on connecting, then after each response: an idle kept-alive connection is closed after
/// it too). A scraper sends its request at once.
pub(super) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a connection buffers of a request, in bytes: a request whose head is longer
/// gets `431 Request Header Fields Too Large` and the connection is closed. A scrape is a
/// few hundred bytes.
pub(super) const MAX_REQUEST: usize = 16 * 1024;

/// Serves HTTP/1 on one connection within [`HEADER_TIMEOUT`] and [`MAX_REQUEST`] until the
/// client closes it or `token` is cancelled; then the response in progress gets
/// [`CLOSE_GRACE`] to finish.
pub(super) async fn serve_connection<I, S>(io: I, service: S, token: CancellationToken)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_REQUEST)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = token.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::service::service_fn;
    use hyper::Response;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::time::Instant;

    use super::*;

    /// Serves a connection whose client end is returned, answering every request `ok`, until
    /// `token` is cancelled.
    fn served_until(token: CancellationToken) -> (DuplexStream, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let service = service_fn(|_req| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });
        let conn = serve_connection(TokioIo::new(server), service, token);
        (client, tokio::spawn(conn))
    }

    /// [`served_until`] an endpoint that never stops.
    fn served() -> (DuplexStream, tokio::task::JoinHandle<()>) {
        served_until(CancellationToken::new())
    }

    /// What the server sends until it closes the connection, and when it closed it.
    async fn until_closed(client: &mut DuplexStream) -> (String, Instant) {
        let mut received = Vec::new();
        let _ = client.read_to_end(&mut received).await;
        (
            String::from_utf8_lossy(&received).into_owned(),
            Instant::now(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_sent_request_is_closed_after_the_header_timeout() {
        let start = Instant::now();
        let (mut client, conn) = served();
        client
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let (received, closed) = until_closed(&mut client).await;
        conn.await.unwrap();
        assert_eq!(closed - start, HEADER_TIMEOUT, "{received}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_sent_request_is_dropped_a_grace_after_the_endpoint_stops() {
        let token = CancellationToken::new();
        let (mut client, conn) = served_until(token.clone());
        client
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        tokio::task::yield_now().await;
        let stop = Instant::now();
        token.cancel();
        let (_, closed) = until_closed(&mut client).await;
        conn.await.unwrap();
        assert!(closed - stop <= CLOSE_GRACE, "{:?}", closed - stop);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_closed_after_the_header_timeout() {
        let start = Instant::now();
        let (mut client, conn) = served();
        let (received, closed) = until_closed(&mut client).await;
        conn.await.unwrap();
        assert_eq!(received, "");
        assert_eq!(closed - start, HEADER_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_is_closed_a_header_timeout_after_its_last_response() {
        let (mut client, conn) = served();
        client
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut first = [0; 17];
        client.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
        let answered = Instant::now();
        let (_, closed) = until_closed(&mut client).await;
        conn.await.unwrap();
        assert_eq!(closed - answered, HEADER_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_head_over_the_limit_is_refused() {
        let (mut client, conn) = served();
        let head = format!(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
            "x".repeat(MAX_REQUEST)
        );
        client.write_all(head.as_bytes()).await.unwrap();
        let (received, _) = until_closed(&mut client).await;
        conn.await.unwrap();
        assert!(
            received.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
            "{received}"
        );
    }
}
