//! REST requests the plugin asks for: rate-limited, signed by the plugin, sent by the
//! host's client, answered back to the plugin. In-flight requests are a resource: stopping
//! it ends the waits for a rate limit at once (each answered "stopped") and lets the
//! requests already on the wire finish for [`crate::transport::STOP_DRAIN`], then aborts
//! them (each answered "stopped").

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use plugin_api::{RestDecl, RestRequest, RestResponse};

use crate::stop::resource::{Resource, ResourceCounts, TaskGroup, FORCE_GRACE};
use crate::transport::{retry_after, HttpRequest, Method, RateLimiter, RestClient};
use crate::venue::port::{Callback, Port};

/// The REST client of a venue instance plus the requests it is carrying out.
pub(crate) struct RestExec {
    base_url: String,
    timeout: Duration,
    client: RestClient,
    limiters: HashMap<String, Arc<RateLimiter>>,
    port: Weak<dyn Port>,
    tasks: TaskGroup,
    /// Carries `venue` and `resource` into the logs of the requests' tasks.
    span: tracing::Span,
}

impl RestExec {
    /// A client for `decl` of the instance `venue`, using the instance's `limiters`.
    pub(crate) fn new(
        venue: &str,
        decl: &RestDecl,
        limiters: HashMap<String, Arc<RateLimiter>>,
        port: Weak<dyn Port>,
    ) -> RestExec {
        let timeout = Duration::from_millis(decl.timeout_ms.max(1));
        RestExec {
            base_url: decl.base_url.trim_end_matches('/').to_owned(),
            timeout,
            client: RestClient::new(timeout),
            limiters,
            port,
            tasks: TaskGroup::new(),
            span: tracing::info_span!("rest", venue, resource = %decl.name),
        }
    }

    /// Starts carrying out `request`; the answer goes to the plugin's `on_rest_response`.
    pub(crate) fn submit(&self, request: RestRequest) -> Result<(), String> {
        let limiter = if request.limit_group.is_empty() {
            None
        } else {
            Some(
                self.limiters
                    .get(request.limit_group.as_str())
                    .cloned()
                    .ok_or_else(|| {
                        format!("no rate limit `{}` was declared", request.limit_group)
                    })?,
            )
        };
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("bad HTTP method `{}`", request.method))?;
        let port = self.port.clone();
        let client = self.client.clone();
        let base = self.base_url.clone();
        let timeout = self.timeout;
        let token = self.tasks.token().clone();
        let span = self.span.clone();
        let started = self.tasks.spawn(tracing::Instrument::instrument(
            async move {
                let tag = request.tag;
                if let Some(limiter) = &limiter {
                    let wait = limiter.acquire(request.limit_key.as_str(), request.weight);
                    let acquired = tokio::select! {
                        _ = token.cancelled() => Err(()),
                        r = wait => r.map_err(|_| ()),
                    };
                    if acquired.is_err() {
                        answer(
                            &port,
                            failed(tag, "stopped while waiting for the rate limit"),
                        )
                        .await;
                        return;
                    }
                }
                let request = if request.signed {
                    let Some(p) = port.upgrade() else { return };
                    match p.sign(request).await {
                        Ok(r) => r,
                        Err(e) => {
                            drop(p);
                            answer(&port, failed(tag, &format!("signing failed: {e}"))).await;
                            return;
                        }
                    }
                } else {
                    request
                };
                let mut url = format!("{base}{}", request.path);
                if !request.query.is_empty() {
                    url.push('?');
                    url.push_str(&request.query);
                }
                let http = HttpRequest {
                    method,
                    url,
                    headers: request
                        .headers
                        .iter()
                        .map(|h| (h.name.to_string(), h.value.to_string()))
                        .collect(),
                    body: request.body.as_bytes().to_vec(),
                    timeout: Some(timeout),
                };
                let response = match client.send(http).await {
                    Ok(resp) => {
                        if let (Some(limiter), Some(wait)) = (&limiter, retry_after(&resp)) {
                            limiter.penalize(wait);
                        }
                        RestResponse {
                            tag,
                            status: resp.status,
                            body: String::from_utf8_lossy(&resp.body).into_owned().into(),
                            error: Default::default(),
                        }
                    }
                    Err(e) => failed(tag, &e.to_string()),
                };
                answer(&port, response).await;
            },
            span,
        ));
        match started {
            true => Ok(()),
            false => Err("the REST client is stopped".into()),
        }
    }
}

fn failed(tag: u64, why: &str) -> RestResponse {
    RestResponse {
        tag,
        status: 0,
        body: Default::default(),
        error: why.into(),
    }
}

async fn answer(port: &Weak<dyn Port>, response: RestResponse) {
    if let Some(p) = port.upgrade() {
        let _ = p.callback(Callback::RestResponse(response)).await;
    }
}

impl Resource for RestExec {
    /// Ends the waits for a rate limit (each request answered "stopped"), refuses new
    /// requests and lets those in flight finish for a short drain, then aborts them: the
    /// requests' tasks end when the client stops.
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let tasks = self.tasks.clone();
        let client = self.client.clone();
        Box::pin(async move {
            let ((), stopped) = tokio::join!(tasks.shutdown(), client.stop());
            stopped
        })
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        let tasks = self.tasks.clone();
        let client = self.client.clone();
        Box::pin(async move {
            tasks.abort(FORCE_GRACE).await;
            client.force().await;
        })
    }

    /// The requests' tasks and the client's connection tasks.
    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            tasks: self.tasks.live() + self.client.connection_tasks(),
            ..ResourceCounts::default()
        }
    }
}
