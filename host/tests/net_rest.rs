//! The REST client resource against a loopback hyper server: timeouts, `Retry-After` feedback,
//! and stops that drain (or, forced, abandon) in-flight requests.
//!
//! Tests about timing run in paused time on the current-thread runtime: loopback I/O is
//! polled before the clock moves, so timeouts are virtual and exact, and a wait that must
//! not end is shown by letting the clock run while nothing else can.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use host::stop::Resource;
use host::transport::{retry_after, HttpRequest, RateLimiter, RestClient, RestError};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

/// A server with `/ok`, `/429` (Retry-After: 2) and `/slow` (answers once `release` is
/// notified); every request's path is reported on `arrived`.
struct Server {
    base: String,
    arrived: mpsc::UnboundedReceiver<String>,
    release: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    req: Request<Incoming>,
    arrived: mpsc::UnboundedSender<String>,
    release: Arc<Notify>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let _ = arrived.send(path.clone());
    let resp = match path.as_str() {
        "/429" => Response::builder()
            .status(429)
            .header("Retry-After", "2")
            .body(Full::new(Bytes::from_static(b"slow down"))),
        "/slow" => {
            release.notified().await;
            Response::builder().body(Full::new(Bytes::from_static(b"late")))
        }
        _ => Response::builder()
            .header(
                "X-Echo",
                req.headers()
                    .get("x-key")
                    .map_or("", |v| v.to_str().unwrap()),
            )
            .body(Full::new(Bytes::from_static(b"hello"))),
    };
    Ok(resp.unwrap())
}

async fn server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, arrived) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let rel = release.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (tx, rel) = (tx.clone(), rel.clone());
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req| handle(req, tx.clone(), rel.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    Server {
        base,
        arrived,
        release,
        task,
    }
}

fn client() -> RestClient {
    RestClient::new(Duration::from_secs(10))
}

#[tokio::test]
async fn sends_headers_and_reads_the_response() {
    let srv = server().await;
    let rest = client();
    let mut req = HttpRequest::get(format!("{}/ok", srv.base));
    req.headers.push(("X-Key".into(), "k1".into()));
    let resp = rest.send(req).await.unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(resp.header("x-echo"), Some("k1"));
    assert_eq!(retry_after(&resp), None);
    rest.stop().await.unwrap();
    assert_eq!(rest.counts().tasks, 0);
}

#[tokio::test(start_paused = true)]
async fn a_slow_server_times_out() {
    let srv = server().await;
    let rest = client();
    let timeout = Duration::from_millis(100);
    let req = HttpRequest {
        timeout: Some(timeout),
        ..HttpRequest::get(format!("{}/slow", srv.base))
    };
    let t0 = tokio::time::Instant::now();
    let err = rest.send(req).await.unwrap_err();
    let waited = t0.elapsed();
    assert!(
        matches!(err, RestError::Timeout { after, .. } if after == timeout),
        "{err:?}"
    );
    // The timer wheel rounds up to the next millisecond.
    assert!(
        waited >= timeout && waited <= timeout + Duration::from_millis(1),
        "timed out after {waited:?} of virtual time"
    );
    assert_eq!(rest.in_flight(), 0);
}

#[tokio::test]
async fn connect_refused_is_a_connect_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = client()
        .send(HttpRequest::get(format!("http://127.0.0.1:{port}/")))
        .await
        .unwrap_err();
    assert!(matches!(err, RestError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn too_many_requests_penalizes_the_limiter() {
    let srv = server().await;
    let resp = client()
        .send(HttpRequest::get(format!("{}/429", srv.base)))
        .await
        .unwrap();
    assert_eq!(resp.status, 429);
    let wait = retry_after(&resp).expect("Retry-After on 429");
    assert_eq!(wait, Duration::from_secs(2));

    tokio::time::pause(); // the rest is virtual time
    let limiter = RateLimiter::with("rest", 10, Duration::from_secs(1), false);
    let t0 = tokio::time::Instant::now();
    limiter.penalize(wait);
    limiter.acquire("", 1).await.unwrap();
    // The timer wheel rounds up to the next millisecond.
    let waited = t0.elapsed();
    assert!(
        waited >= wait && waited <= wait + Duration::from_millis(1),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_waits_for_the_request_in_flight_and_refuses_new_ones() {
    let mut srv = server().await;
    let rest = client();
    let url = format!("{}/slow", srv.base);
    let inflight = tokio::spawn({
        let rest = rest.clone();
        let url = url.clone();
        async move { rest.send(HttpRequest::get(url)).await }
    });
    assert_eq!(srv.arrived.recv().await.unwrap(), "/slow");
    assert_eq!(rest.in_flight(), 1);
    assert_eq!(rest.counts().tasks, 2, "the request and its connection");

    let mut stop = tokio::spawn(rest.stop());
    // The stop cannot finish while the request is in flight: the clock only moves on once
    // nothing else can run, so the stop got every chance to finish before this times out.
    assert!(tokio::time::timeout(Duration::from_millis(50), &mut stop)
        .await
        .is_err());
    let refused = rest.send(HttpRequest::get(url)).await.unwrap_err();
    assert!(matches!(refused, RestError::Stopped { .. }), "{refused:?}");

    srv.release.notify_one();
    let resp = inflight.await.unwrap().unwrap();
    assert_eq!(resp.body, b"late");
    stop.await.unwrap().unwrap();
    assert_eq!(rest.counts().tasks, 0);
}

#[tokio::test]
async fn the_http_clients_background_tasks_belong_to_it_until_it_stops() {
    let srv = server().await;
    let rest = client();
    for _ in 0..3 {
        rest.send(HttpRequest::get(format!("{}/ok", srv.base)))
            .await
            .unwrap();
    }
    // One connection, reused. Its task and the pool's idle reaper belong to the client, not
    // loose on the runtime, so the stop can wait for them.
    assert_eq!(rest.in_flight(), 0);
    assert_eq!(
        rest.counts().tasks,
        2,
        "the keep-alive connection and the idle reaper"
    );
    rest.stop().await.unwrap();
    assert_eq!(rest.counts().tasks, 0);
}

#[tokio::test(start_paused = true)]
async fn force_abandons_the_request_in_flight() {
    let mut srv = server().await;
    let rest = client();
    let inflight = tokio::spawn({
        let rest = rest.clone();
        let url = format!("{}/slow", srv.base);
        async move { rest.send(HttpRequest::get(url)).await }
    });
    assert_eq!(srv.arrived.recv().await.unwrap(), "/slow");
    let t0 = tokio::time::Instant::now();
    rest.force().await;
    let err = inflight.await.unwrap().unwrap_err();
    assert!(matches!(err, RestError::Stopped { .. }), "{err:?}");
    // At once: the aborted request and connection end without waiting out any grace.
    assert_eq!(t0.elapsed(), Duration::ZERO, "no virtual time passed");
    assert_eq!(rest.counts().tasks, 0);
}
