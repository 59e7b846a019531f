//! The Prometheus text endpoint (`GET /metrics`, loopback only): lifecycle figures (live
//! tasks, reload and shutdown durations, forced and hung resources), per-venue message
//! counters and queue depths.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::Operator;

/// Connections served at once; a connection more is closed at once, unanswered.
pub const MAX_CONNECTIONS: usize = 64;

/// Binds `address` (must be loopback) and serves `/metrics` in the operator's task group,
/// at most [`MAX_CONNECTIONS`] connections at once, each bounded as [`super::http`] says.
pub(super) async fn serve(op: &Operator, address: SocketAddr) -> std::io::Result<SocketAddr> {
    if !address.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{address}: the metrics endpoint listens on loopback only"),
        ));
    }
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    super::serve::accept_loop(
        op,
        listener,
        "metrics",
        MAX_CONNECTIONS,
        |op, stream, token| async move {
            let service = service_fn(move |req| {
                let op = op.clone();
                async move { Ok::<_, Infallible>(respond(&op, req).await) }
            });
            super::http::serve_connection(TokioIo::new(stream), service, token).await
        },
    );
    Ok(bound)
}

async fn respond<B>(op: &Operator, req: Request<B>) -> Response<Full<Bytes>> {
    let (status, body) = if req.uri().path() == "/metrics" {
        (StatusCode::OK, render(op).await)
    } else {
        (
            StatusCode::NOT_FOUND,
            "not found: try /metrics\n".to_owned(),
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(super::scrape::CONTENT_TYPE),
    );
    response
}

/// The metrics text now.
pub async fn render(op: &Operator) -> String {
    super::scrape::render(op).await
}
