//! The listening socket: accepts TCP connections (applying the accept faults), serves REST over
//! hyper HTTP/1.1 and upgrades websocket requests on the venue's websocket path.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{SimConfig, Source, Venue};
use crate::faults::{AcceptMode, Faults, RestFault};
use crate::market::Market;
use crate::replay::Replay;
use crate::stats::Stats;
use crate::topics::{Batch, TopicTable};
use crate::trading::Exchange;
use crate::ws::ConnCtx;
use crate::{binance, gateio, mexc};

/// A REST response body.
pub(crate) type Body = Full<Bytes>;

/// Shared state of one running simulator.
pub(crate) struct App {
    pub(crate) cfg: SimConfig,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) topics: Arc<TopicTable>,
    pub(crate) market_tx: Option<broadcast::Sender<Batch>>,
    pub(crate) replay: Option<Arc<Replay>>,
    pub(crate) market: Arc<Market>,
    pub(crate) exchange: Arc<Exchange>,
    /// MEXC listen keys → API key.
    pub(crate) listen_keys: Mutex<HashMap<String, String>>,
}

impl App {
    /// Server time for signing checks and time endpoints.
    pub(crate) fn now_ms(&self) -> i64 {
        self.cfg
            .frozen_time_ms
            .unwrap_or_else(crate::synthetic::now_ms)
    }

    pub(crate) fn conn_ctx(&self) -> ConnCtx {
        ConnCtx {
            faults: self.faults.clone(),
            stats: self.stats.clone(),
            cancel: self.cancel.clone(),
            market: self.market_tx.as_ref().map(|t| t.subscribe()),
            replay: self.replay.clone(),
            replay_rate: self.cfg.rate,
            replay_loop: self.cfg.replay_loop && self.cfg.source == Source::Replay,
            private: self.exchange.events(),
        }
    }
}

/// A parsed REST request.
pub(crate) struct RestRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
}

impl RestRequest {
    /// First value of query parameter `name` (not URL-decoded; simulator clients send plain
    /// values).
    pub(crate) fn param<'a>(&'a self, name: &str) -> Option<&'a str> {
        param_in(&self.query, name)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// First value of `name` in an `a=b&c=d` string.
pub(crate) fn param_in<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Accept connections until cancelled.
pub(crate) async fn accept_loop(listener: TcpListener, app: Arc<App>) {
    loop {
        let (stream, _) = tokio::select! {
            _ = app.cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        app.stats.tcp_accepted();
        match app.faults.accept_mode() {
            AcceptMode::Refuse => drop(stream),
            AcceptMode::Hang => {
                let cancel = app.cancel.clone();
                // Never answered, but let go once the client gives up (its close is read
                // as the end of the stream), so a hung connection does not hold an fd
                // until the simulator stops.
                app.tracker.spawn(async move {
                    let mut stream = stream;
                    let mut sink = [0u8; 1024];
                    loop {
                        tokio::select! {
                            () = cancel.cancelled() => break,
                            read = tokio::io::AsyncReadExt::read(&mut stream, &mut sink) => {
                                if matches!(read, Ok(0) | Err(_)) {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
            AcceptMode::Normal => {
                let app2 = app.clone();
                app.tracker.spawn(serve_conn(stream, app2));
            }
        }
    }
}

async fn serve_conn(stream: tokio::net::TcpStream, app: Arc<App>) {
    let _ = stream.set_nodelay(true);
    let svc_app = app.clone();
    let svc = hyper::service::service_fn(move |req| {
        let app = svc_app.clone();
        async move { Ok::<_, Infallible>(handle(req, app).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = app.cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

fn is_upgrade(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

async fn handle(mut req: Request<Incoming>, app: Arc<App>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let ws_path = match app.cfg.venue {
        Venue::Gateio => path == "/ws/v4/" || path == "/ws/v4",
        Venue::Mexc => path == "/ws",
        Venue::Binance => path == "/ws" || path.starts_with("/ws/") || path == "/stream",
    };
    if ws_path && is_upgrade(&req) {
        return upgrade(&mut req, &path, &query, &app);
    }
    if app.cfg.venue == Venue::Binance {
        app.stats.rest_request(format!("{} {}", req.method(), path));
        return json(
            StatusCode::NOT_FOUND,
            r#"{"code":-1,"msg":"venue-sim serves no Binance REST"}"#,
        );
    }
    app.stats.rest_request(format!("{} {}", req.method(), path));
    let fault = app.faults.rest_fault(req.method(), &path);
    match fault.clone() {
        Some(RestFault::TooManyRequests { retry_after_secs }) => {
            let mut r = match app.cfg.venue {
                Venue::Gateio => gateio::rest::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TOO_MANY_REQUESTS",
                    "Request Rate limit Exceeded",
                ),
                Venue::Mexc | Venue::Binance => {
                    mexc::rest::error(StatusCode::TOO_MANY_REQUESTS, 429, "Too Many Requests")
                }
            };
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return r;
        }
        Some(RestFault::ServerError { status }) => return server_error(&app, status),
        Some(RestFault::Slow { delay }) => {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = app.cancel.cancelled() => {
                    return json(StatusCode::SERVICE_UNAVAILABLE, "{}");
                }
            }
        }
        Some(RestFault::ServedThenServerError { .. }) | None => {}
    }
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return json(StatusCode::BAD_REQUEST, "{}"),
    };
    let rest = RestRequest {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body,
    };
    let served = match app.cfg.venue {
        Venue::Gateio => gateio::rest::handle(&app, &rest),
        Venue::Mexc | Venue::Binance => mexc::rest::handle(&app, &rest),
    };
    match fault {
        Some(RestFault::ServedThenServerError { status }) => server_error(&app, status),
        _ => served,
    }
}

/// The venue's internal-error answer with `status` (a 5xx).
fn server_error(app: &App, status: u16) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match app.cfg.venue {
        Venue::Gateio => gateio::rest::error(status, "SERVER_ERROR", "Internal server error"),
        Venue::Mexc | Venue::Binance => mexc::rest::error(status, 500, "Internal error"),
    }
}

fn upgrade(req: &mut Request<Incoming>, path: &str, query: &str, app: &Arc<App>) -> Response<Body> {
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return json(StatusCode::BAD_REQUEST, "{}");
    };
    let accept = derive_accept_key(key.as_bytes());
    // Build the venue session first so a bad listen key is refused before the upgrade.
    enum Sess {
        Gate(gateio::ws::GateSession),
        Mexc(mexc::ws::MexcSession),
        Binance(binance::ws::BinanceSession),
    }
    let session = match app.cfg.venue {
        Venue::Gateio => Sess::Gate(gateio::ws::GateSession::new(app)),
        Venue::Mexc => match mexc::ws::MexcSession::new(app, param_in(query, "listenKey")) {
            Ok(s) => Sess::Mexc(s),
            Err(resp) => return resp,
        },
        Venue::Binance => match binance::ws::BinanceSession::new(app, path, query) {
            Ok(s) => Sess::Binance(s),
            Err(resp) => return resp,
        },
    };
    let on_upgrade = hyper::upgrade::on(req);
    let ctx = app.conn_ctx();
    let span = tracing::debug_span!("ws", venue = ?app.cfg.venue);
    let task = async move {
        let upgraded = tokio::select! {
            u = on_upgrade => match u {
                Ok(u) => u,
                Err(_) => return,
            },
            _ = ctx.cancel.cancelled() => return,
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        match session {
            Sess::Gate(s) => crate::ws::run(ws, s, ctx).await,
            Sess::Mexc(s) => crate::ws::run(ws, s, ctx).await,
            Sess::Binance(s) => crate::ws::run(ws, s, ctx).await,
        }
    };
    app.tracker
        .spawn(tracing::Instrument::instrument(task, span));
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}
