//! The Prometheus text endpoint (`GET /metrics`, loopback only): lifecycle figures (live
//! tasks, reload and shutdown durations, forced and hung resources), per-venue message
//! counters and queue depths.

use std::convert::Infallible;
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::Operator;

/// How long a connection may finish the response in progress once the endpoint stops; a
/// client that never completes its request is dropped after it.
const CLOSE_GRACE: Duration = Duration::from_millis(100);

/// Binds `address` (must be loopback) and serves `/metrics` in the operator's task group.
pub(super) async fn serve(op: &Operator, address: SocketAddr) -> std::io::Result<SocketAddr> {
    if !address.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{address}: the metrics endpoint listens on loopback only"),
        ));
    }
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    super::serve::accept_loop(op, listener, "metrics", |op, stream, token| async move {
        let service = service_fn(move |req| {
            let op = op.clone();
            async move { Ok::<_, Infallible>(respond(&op, req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => {}
            _ = token.cancelled() => {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
            }
        }
    });
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
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {value}");
        } else {
            let _ = writeln!(self.0, "{name}{{{}}} {value}", labels.join(","));
        }
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// The metrics text now.
pub async fn render(op: &Operator) -> String {
    let host = op.host();
    let counts = host.counts_now();
    let c = op.counters();
    let mut t = Text(String::new());
    t.one(
        "host_live_tasks",
        "gauge",
        "Tasks alive in the runtime.",
        counts.tasks,
    );
    t.one(
        "host_resource_tasks",
        "gauge",
        "Tasks owned by venue resources.",
        counts.resource_tasks,
    );
    t.one(
        "host_subscriptions",
        "gauge",
        "Live consumer subscriptions.",
        counts.subscriptions,
    );
    t.one(
        "host_connections",
        "gauge",
        "Open venue connections.",
        counts.connections,
    );
    t.one(
        "host_open_fds",
        "gauge",
        "Open file descriptors.",
        counts.fds,
    );
    t.one(
        "host_threads",
        "gauge",
        "Threads of the process.",
        counts.threads,
    );
    t.one(
        "host_rss_bytes",
        "gauge",
        "Resident set size.",
        counts.rss_kib * 1024,
    );
    t.one(
        "host_plugins_loaded",
        "gauge",
        "Loaded plugins.",
        host.plugins().await.len(),
    );
    t.family("host_reloads_total", "counter", "Plugin reloads by result.");
    t.sample("host_reloads_total", &[("result", "ok")], c.reloads_ok);
    t.sample(
        "host_reloads_total",
        &[("result", "failed")],
        c.reloads_failed,
    );
    t.one(
        "host_reload_duration_ms_sum",
        "counter",
        "Sum of completed reload durations (stop + unload + load + start), ms.",
        c.reload_ms_sum,
    );
    t.one(
        "host_reload_duration_ms_last",
        "gauge",
        "The last completed reload's duration, ms (NaN: none yet).",
        c.reload_ms_last.unwrap_or(f64::NAN),
    );
    t.one(
        "host_shutdown_duration_ms_last",
        "gauge",
        "The last shutdown's duration, ms (NaN: none yet).",
        c.shutdown_ms_last.unwrap_or(f64::NAN),
    );
    t.one(
        "host_resources_forced_total",
        "counter",
        "Resources aborted after their stop timeout (alert if rising).",
        c.resources_forced,
    );
    t.one(
        "host_resources_failed_total",
        "counter",
        "Resources whose stop returned an error.",
        c.resources_failed,
    );
    t.one(
        "host_plugins_hung_total",
        "counter",
        "Instances stuck in a plugin call; their library stays mapped (alert if above 0).",
        c.hung,
    );
    t.one(
        "host_plugin_files_refused_total",
        "counter",
        "Plugin files refused (untrusted, corrupt, incompatible).",
        c.refused,
    );
    t.family(
        "host_config_reloads_total",
        "counter",
        "Configuration reloads by outcome.",
    );
    t.sample(
        "host_config_reloads_total",
        &[("outcome", "applied")],
        c.config_applied,
    );
    t.sample(
        "host_config_reloads_total",
        &[("outcome", "rolled_back")],
        c.config_rolled_back,
    );
    t.sample(
        "host_config_reloads_total",
        &[("outcome", "rejected")],
        c.config_rejected,
    );
    let venues = host.instances().await;
    let per_venue: [(&str, &str, &str); 10] = [
        (
            "host_venue_up",
            "gauge",
            "1 if the venue instance is running.",
        ),
        (
            "host_venue_messages_in_total",
            "counter",
            "Frames handed to the plugin.",
        ),
        (
            "host_venue_messages_out_total",
            "counter",
            "Events delivered to the bus.",
        ),
        (
            "host_venue_messages_abandoned_total",
            "counter",
            "Events the plugin produced that a stop kept from the bus.",
        ),
        (
            "host_venue_rejected_total",
            "counter",
            "Frames or parts the plugin rejected.",
        ),
        (
            "host_venue_queue_offered_total",
            "counter",
            "Items offered to consumer queues.",
        ),
        (
            "host_venue_queue_delivered_total",
            "counter",
            "Items handed to consumers.",
        ),
        (
            "host_venue_queue_dropped_total",
            "counter",
            "Items dropped on the way to consumers.",
        ),
        (
            "host_venue_queue_depth",
            "gauge",
            "Items waiting in consumer queues.",
        ),
        (
            "host_venue_faults",
            "gauge",
            "Faults (plugin panics) counted in the restart window; at `restart.max_faults` the venue fails.",
        ),
    ];
    let rows: Vec<(String, [u64; 10])> = venues
        .iter()
        .map(|i| {
            let q = host.bus().venue_stats(i.name.as_str());
            let up = u64::from(i.state == crate::State::Running);
            let values = [
                up,
                i.stats.frames_in,
                i.stats.events_out,
                i.stats.events_abandoned,
                i.stats.rejected,
                q.offered,
                q.delivered,
                q.dropped(),
                q.depth,
                i.faults as u64,
            ];
            (i.name.to_string(), values)
        })
        .collect();
    for (k, (name, kind, help)) in per_venue.iter().enumerate() {
        t.family(name, kind, help);
        for (venue, values) in &rows {
            t.sample(name, &[("venue", venue)], values[k]);
        }
    }
    t.family(
        "host_venue_state",
        "gauge",
        "1 for the venue's life-cycle state (running, stopping, stopped, restarting, failed...).",
    );
    for i in &venues {
        let state = i.state.to_string();
        t.sample(
            "host_venue_state",
            &[("venue", i.name.as_str()), ("state", &state)],
            1,
        );
    }
    t.0
}
