//! Helpers shared by the integration tests: websocket and HTTP clients, timeouts, fixtures.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use venue_sim::{SimConfig, SimHandle, Simulator, Source, Venue};

/// A websocket client connection.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for any single wait in tests (they wait on events, this only stops a hang).
pub const WAIT: Duration = Duration::from_secs(10);

/// Read a fixture file from the vendored fixtures.
pub fn fixture(rel: &str) -> String {
    let p = format!("{}/../fixtures/venues/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Start a simulator on a free loopback port.
pub async fn start(cfg: SimConfig) -> SimHandle {
    Simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A config with the given venue and source.
pub fn config(venue: Venue, source: Source) -> SimConfig {
    let mut c = SimConfig::new(venue);
    c.source = source;
    c
}

/// Connect a websocket client.
pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    ws
}

/// Send a text frame.
pub async fn send(ws: &mut Ws, text: impl Into<String>) {
    ws.send(Message::text(text.into())).await.unwrap();
}

/// Next message (text, binary or close); panics on timeout.
pub async fn next(ws: &mut Ws) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("no frame within the wait bound")
}

/// Next text frame parsed as JSON (skipping pings/pongs).
pub async fn next_json(ws: &mut Ws) -> serde_json::Value {
    loop {
        match next(ws).await {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Next text frame whose JSON satisfies `pred`.
pub async fn next_json_where(
    ws: &mut Ws,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    loop {
        let v = next_json(ws).await;
        if pred(&v) {
            return v;
        }
    }
}

/// Next binary frame.
pub async fn next_binary(ws: &mut Ws) -> Bytes {
    loop {
        match next(ws).await {
            Some(Ok(Message::Binary(b))) => return b,
            Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh connection.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let driver = tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .expect("http timed out")
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    driver.abort();
    Resp {
        status,
        headers,
        body,
    }
}

/// Unix time now, ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A signed MEXC request: returns (path_and_query, headers).
pub fn mexc_signed(path: &str, params: &str, key: &str, secret: &str) -> String {
    let q = format!("{params}&timestamp={}", now_ms());
    let q = q.trim_start_matches('&').to_owned();
    let sig = venue_sim::mexc::sign::sign(secret, &q);
    let _ = key;
    format!("{path}?{q}&signature={sig}")
}

/// Gate REST auth headers for a request.
pub fn gate_headers(
    method: &str,
    path: &str,
    query: &str,
    body: &str,
    key: &str,
    secret: &str,
) -> Vec<(String, String)> {
    let ts = (now_ms() / 1000).to_string();
    let payload = venue_sim::gateio::sign::rest_payload(method, path, query, body.as_bytes(), &ts);
    let sign = venue_sim::gateio::sign::sign(secret, &payload);
    vec![
        ("KEY".into(), key.into()),
        ("Timestamp".into(), ts),
        ("SIGN".into(), sign),
    ]
}

/// A Gate websocket request on a private channel, with its `auth` signed now.
pub fn auth_req(
    channel: &str,
    event: &str,
    payload: serde_json::Value,
    key: &str,
    secret: &str,
) -> String {
    use venue_sim::gateio::sign;
    let time = now_ms() / 1000;
    let sign = sign::sign(secret, &sign::ws_payload(channel, event, time));
    serde_json::json!({"time": time, "channel": channel, "event": event, "payload": payload,
           "auth": {"method": "api_key", "KEY": key, "SIGN": sign}})
    .to_string()
}

/// Borrow owned header pairs.
pub fn hdrs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}
