//! The REST client resource: one keep-alive HTTP client per venue with per-request timeouts,
//! tracked in-flight requests and a stop that drains them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::resource::{Resource, ResourceCounts, FORCE_GRACE};

pub use reqwest::Method;

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
        source: reqwest::Error,
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
        source: reqwest::Error,
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

#[derive(Debug)]
struct Inner {
    client: Mutex<Option<reqwest::Client>>,
    default_timeout: Duration,
    /// Cancelled by `stop`: no new request.
    closing: CancellationToken,
    /// Cancelled by `force`: in-flight requests are abandoned.
    abort: CancellationToken,
    in_flight: TaskTracker,
}

impl RestClient {
    /// A client whose requests time out after `default_timeout` unless they say otherwise.
    pub fn new(default_timeout: Duration) -> Result<RestClient, reqwest::Error> {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .no_proxy()
            .build()?;
        Ok(RestClient {
            inner: Arc::new(Inner {
                client: Mutex::new(Some(client)),
                default_timeout,
                closing: CancellationToken::new(),
                abort: CancellationToken::new(),
                in_flight: TaskTracker::new(),
            }),
        })
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.len()
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
        let mut builder = client.request(req.method, url.as_str());
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !req.body.is_empty() {
            builder = builder.body(req.body);
        }
        let request = builder.build().map_err(|e| RestError::Invalid {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let exchange = async {
            let resp = client.execute(request).await?;
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
            let body = resp.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(HttpResponse {
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
            Ok(Err(e)) if e.is_timeout() => Err(RestError::Timeout { url, after }),
            Ok(Err(e)) if e.is_connect() => Err(RestError::Connect { url, source: e }),
            Ok(Err(e)) if e.is_builder() => Err(RestError::Invalid {
                url,
                reason: e.to_string(),
            }),
            Ok(Err(e)) => Err(RestError::Request { url, source: e }),
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
            this.inner.in_flight.wait().await;
            this.drop_pool();
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
        })
    }

    /// In-flight requests count as tasks.
    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            tasks: self.inner.in_flight.len(),
            ..ResourceCounts::default()
        }
    }
}
