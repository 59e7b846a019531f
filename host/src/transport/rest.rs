//! The REST client resource: one keep-alive HTTP client per venue with per-request timeouts,
//! tracked in-flight requests and a stop that lets them finish for a short while, then
//! aborts what is left. The client's connection tasks run
//! in the resource's own task group: they are counted, and none outlives the stop.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioTimer;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::stop::resource::{Resource, ResourceCounts, TaskGroup, FORCE_GRACE};

pub use hyper::Method;

/// How long a stop lets requests in flight finish before aborting them. Answers that come
/// this fast still reach the plugin; a request a venue sits on must not hold a shutdown
/// (the outcome of an aborted order is recovered by the plugin's reconcile on next start).
pub const STOP_DRAIN: Duration = Duration::from_millis(250);

/// A boxed error from the HTTP stack.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Https = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One request, already signed by the driver.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Full URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body (empty for none).
    pub body: Vec<u8>,
    /// Timeout for the whole exchange, body included; `None` uses the client's default.
    pub timeout: Option<Duration>,
}

impl HttpRequest {
    /// A `GET` of `url` with no headers and the default timeout.
    pub fn get(url: impl Into<String>) -> HttpRequest {
        HttpRequest {
            method: Method::GET,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
        }
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers with lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request produced no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestError {
    /// The client is stopped (or was forced while the request was in flight).
    #[error("REST client stopped; {url} not sent or abandoned")]
    Stopped {
        /// The request URL.
        url: String,
    },
    /// No complete response within the timeout.
    #[error("{url}: no response within {after:?}")]
    Timeout {
        /// The request URL.
        url: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The connection could not be made.
    #[error("{url}: connect failed")]
    Connect {
        /// The request URL.
        url: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The request could not be built (bad URL, method or header).
    #[error("{url}: invalid request: {reason}")]
    Invalid {
        /// The request URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Sending the request or reading the response failed.
    #[error("{url}: request failed")]
    Request {
        /// The request URL.
        url: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

/// The `Retry-After` of a `429`/`418` response, in seconds (`None` for other statuses or when
/// the header is missing or not a number of seconds).
pub fn retry_after(resp: &HttpResponse) -> Option<Duration> {
    if resp.status != 429 && resp.status != 418 {
        return None;
    }
    let secs: f64 = resp.header("retry-after")?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// A keep-alive HTTP client that tracks its in-flight requests.
///
/// `stop` refuses new requests and waits for the in-flight ones (each is bounded by its
/// timeout), then drops the connection pool; `force` abandons the in-flight ones.
#[derive(Debug, Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
}

/// Runs the HTTP client's background work (one task per open connection, the idle-pool
/// reaper) in the resource's task group instead of loose on the runtime.
#[derive(Clone)]
struct GroupExecutor(TaskGroup);

impl<F> hyper::rt::Executor<F> for GroupExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, work: F) {
        let token = self.0.token().clone();
        self.0.spawn(async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = work => {}
            }
        });
    }
}

struct Inner {
    client: Mutex<Option<Https>>,
    /// The client's connection tasks.
    connections: TaskGroup,
    default_timeout: Duration,
    /// Cancelled by `stop`: no new request.
    closing: CancellationToken,
    /// Cancelled by `force`: in-flight requests are abandoned.
    abort: CancellationToken,
    in_flight: TaskTracker,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("in_flight", &self.in_flight.len())
            .field("connections", &self.connections.live())
            .finish()
    }
}

/// The TLS settings every client shares: Mozilla's roots, parsed once per process rather
/// than for each venue instance's client (a few hundred KB of short-lived allocations on
/// every start and reload).
fn tls_config() -> rustls::ClientConfig {
    use hyper_rustls::ConfigBuilderExt;
    static CONFIG: std::sync::OnceLock<rustls::ClientConfig> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            rustls::ClientConfig::builder()
                .with_webpki_roots()
                .with_no_client_auth()
        })
        .clone()
}

impl RestClient {
    /// A client whose requests time out after `default_timeout` unless they say otherwise.
    /// `http://` and `https://` (rustls, Mozilla's roots) URLs; HTTP/1.1 with keep-alive.
    pub fn new(default_timeout: Duration) -> RestClient {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let connections = TaskGroup::new();
        let client = Client::builder(GroupExecutor(connections.clone()))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(https);
        RestClient {
            inner: Arc::new(Inner {
                client: Mutex::new(Some(client)),
                connections,
                default_timeout,
                closing: CancellationToken::new(),
                abort: CancellationToken::new(),
                in_flight: TaskTracker::new(),
            }),
        }
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.len()
    }

    /// Tasks of the client's open connections (and its idle-pool timer).
    pub fn connection_tasks(&self) -> usize {
        self.inner.connections.live()
    }

    /// Sends `req` and reads the whole response within its timeout.
    pub async fn send(&self, req: HttpRequest) -> Result<HttpResponse, RestError> {
        let inner = &*self.inner;
        // Register before checking `closing`, so `stop` either refuses us or waits for us.
        let _in_flight = inner.in_flight.token();
        let client = match inner
            .client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            Some(c) if !inner.closing.is_cancelled() => c.clone(),
            _ => return Err(RestError::Stopped { url: req.url }),
        };
        let after = req.timeout.unwrap_or(inner.default_timeout);
        let url = req.url;
        let invalid = |reason: String| RestError::Invalid {
            url: url.clone(),
            reason,
        };
        let uri: hyper::Uri = url.parse().map_err(|e| invalid(format!("{e}")))?;
        let mut builder = hyper::Request::builder().method(req.method).uri(uri);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::from(req.body)))
            .map_err(|e| invalid(e.to_string()))?;
        let exchange = async {
            let resp = client.request(request).await.map_err(|e| {
                let connect = e.is_connect();
                (connect, BoxError::from(e))
            })?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| (false, BoxError::from(e)))?
                .to_bytes()
                .to_vec();
            Ok::<_, (bool, BoxError)>(HttpResponse {
                status,
                headers,
                body,
            })
        };
        let result = tokio::select! {
            biased;
            _ = inner.abort.cancelled() => return Err(RestError::Stopped { url }),
            r = tokio::time::timeout(after, exchange) => r,
        };
        match result {
            Err(_) => Err(RestError::Timeout { url, after }),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err((true, source))) => Err(RestError::Connect { url, source }),
            Ok(Err((false, source))) => Err(RestError::Request { url, source }),
        }
    }

    fn drop_pool(&self) {
        self.inner
            .client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

impl Resource for RestClient {
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let this = self.clone();
        Box::pin(async move {
            this.inner.closing.cancel();
            this.inner.in_flight.close();
            let drained = tokio::time::timeout(STOP_DRAIN, this.inner.in_flight.wait()).await;
            if drained.is_err() {
                tracing::info!(
                    requests = this.inner.in_flight.len(),
                    after_ms = STOP_DRAIN.as_millis() as u64,
                    "aborting requests still in flight"
                );
                this.inner.abort.cancel();
                this.inner.in_flight.wait().await;
            }
            this.drop_pool();
            // Idle keep-alive connections close here.
            this.inner.connections.shutdown().await;
            Ok(())
        })
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move {
            this.inner.closing.cancel();
            this.inner.abort.cancel();
            this.inner.in_flight.close();
            let _ = tokio::time::timeout(FORCE_GRACE, this.inner.in_flight.wait()).await;
            this.drop_pool();
            this.inner.connections.abort(FORCE_GRACE).await;
        })
    }

    /// In-flight requests and open connections count as tasks.
    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            tasks: self.inner.in_flight.len() + self.inner.connections.live(),
            ..ResourceCounts::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers `/fast` at once and never answers anything else.
    async fn server() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0; 4096];
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if buf[..n].starts_with(b"GET /fast") {
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .await;
                    }
                    // Hold the connection open without answering.
                    let _ = stream.read(&mut buf).await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_stop_aborts_a_request_the_server_sits_on_after_the_drain() {
        let addr = server().await;
        let client = RestClient::new(Duration::from_secs(600));
        let slow = tokio::spawn({
            let client = client.clone();
            async move {
                client
                    .send(HttpRequest::get(format!("http://{addr}/slow")))
                    .await
            }
        });
        let fast = client
            .send(HttpRequest::get(format!("http://{addr}/fast")))
            .await
            .unwrap();
        assert_eq!(fast.body, b"ok");
        // One thread: the slow request registered at its first poll, while the fast one
        // (sent after it) waited for its answer.
        assert_eq!(client.in_flight(), 1);
        client.stop().await.unwrap();
        assert!(matches!(
            slow.await.unwrap(),
            Err(RestError::Stopped { .. })
        ));
        assert_eq!(client.counts().tasks, 0);
    }
}
