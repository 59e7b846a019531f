//! What one scrape of `/metrics` shows, encoded with `prometheus-client` in the Prometheus
//! text format: process and lifecycle figures, per-venue health and counters (monotonic
//! across reloads and restarts), and histograms of stop, reload, shutdown and delivery
//! times. Gauges and counters are read from the host at scrape time; histograms live in
//! the operator's records and the venues' tallies.

use prometheus_client::encoding::prometheus_text::encode;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::{Registry, Unit};

use super::Operator;
use crate::venue::{Health, State};

/// The `Content-Type` of what [`render`] returns.
pub(super) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

type Labels = Vec<(&'static str, String)>;

/// A gauge family filled at scrape time.
fn gauges() -> Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>> {
    Family::default()
}

/// Counter families are built from a snapshot as constant counters, one registry entry
/// per family, so a counter read from the host is exposed exactly as the host counted it.
struct Counters<'a> {
    registry: &'a mut Registry,
}

impl Counters<'_> {
    fn one(&mut self, name: &str, help: &str, value: u64) {
        self.registry.register(name, help, ConstCounter::new(value));
    }

    /// A counter family with one sample per label set.
    fn family(&mut self, name: &str, help: &str, samples: Vec<(Labels, u64)>) {
        let family: Family<Labels, prometheus_client::metrics::counter::Counter> =
            Family::default();
        for (labels, value) in samples {
            family.get_or_create(&labels).inc_by(value);
        }
        self.registry.register(name, help, family);
    }
}

/// The metrics text now.
pub(super) async fn render(op: &Operator) -> String {
    let mut registry = Registry::with_prefix("host");
    process(op, &mut registry).await;
    lifecycle(op, &mut registry);
    venues(op, &mut registry).await;
    bus(op, &mut registry);
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut text, &registry);
    text
}

async fn process(op: &Operator, registry: &mut Registry) {
    let host = op.host();
    let counts = host.counts_now();
    let gauge = |v: usize| ConstGauge::new(v as i64);
    registry.register(
        "live_tasks",
        "Tasks alive in the runtime",
        gauge(counts.tasks),
    );
    registry.register(
        "resource_tasks",
        "Tasks owned by venue resources",
        gauge(counts.resource_tasks),
    );
    registry.register(
        "subscriptions",
        "Live consumer subscriptions",
        gauge(counts.subscriptions),
    );
    registry.register(
        "connections",
        "Open venue connections",
        gauge(counts.connections),
    );
    registry.register("open_fds", "Open file descriptors", gauge(counts.fds));
    registry.register("threads", "Threads of the process", gauge(counts.threads));
    registry.register_with_unit(
        "rss",
        "Resident set size",
        Unit::Bytes,
        ConstGauge::new((counts.rss_kib * 1024) as i64),
    );
    registry.register(
        "plugins_loaded",
        "Loaded plugins",
        gauge(host.plugins().await.len()),
    );
}

fn lifecycle(op: &Operator, registry: &mut Registry) {
    let c = op.counters();
    let durations = op.records().durations.clone();
    let mut counters = Counters {
        registry: &mut *registry,
    };
    counters.family(
        "reloads",
        "Plugin reloads by result",
        vec![
            (vec![("result", "ok".into())], c.reloads_ok),
            (vec![("result", "failed".into())], c.reloads_failed),
        ],
    );
    counters.one(
        "resources_forced",
        "Resources aborted after their stop timeout (alert if rising)",
        c.resources_forced,
    );
    counters.one(
        "resources_failed",
        "Resources whose stop returned an error",
        c.resources_failed,
    );
    counters.one(
        "plugins_hung",
        "Instances stuck in a plugin call; their library stays mapped (alert if above 0)",
        c.hung,
    );
    counters.one(
        "plugin_files_refused",
        "Plugin files refused (untrusted, corrupt, incompatible)",
        c.refused,
    );
    counters.family(
        "config_reloads",
        "Configuration reloads by outcome",
        vec![
            (vec![("outcome", "applied".into())], c.config_applied),
            (
                vec![("outcome", "rolled_back".into())],
                c.config_rolled_back,
            ),
            (vec![("outcome", "rejected".into())], c.config_rejected),
        ],
    );
    registry.register_with_unit(
        "stop_duration",
        "Venue stops (ctl stop, configuration changes, the stop part of reloads)",
        Unit::Seconds,
        durations.stop,
    );
    registry.register_with_unit(
        "reload_duration",
        "Plugin reloads: stop, unload, load and start",
        Unit::Seconds,
        durations.reload,
    );
    registry.register_with_unit(
        "shutdown_duration",
        "Host shutdowns",
        Unit::Seconds,
        durations.shutdown,
    );
}

/// The NATS bus, when the host is on one.
fn bus(op: &Operator, registry: &mut Registry) {
    let Some(bus) = op.bus() else { return };
    let venue = |name: &str| -> Labels { vec![("venue", name.to_owned())] };
    let connected = gauges();
    connected
        .get_or_create(&Vec::new())
        .set(f64::from(u8::from(bus.connected())));
    registry.register(
        "bus_connected",
        "1 while the connection to the NATS server is up",
        connected,
    );
    let held = gauges();
    for name in bus.held() {
        held.get_or_create(&venue(&name)).set(1.0);
    }
    registry.register(
        "bus_lease_held",
        "1 for each venue whose lease this host holds",
        held,
    );
    let lag = gauges();
    let mut published = Vec::new();
    let mut dropped = Vec::new();
    for (name, stats) in bus.publishing() {
        lag.get_or_create(&venue(&name))
            .set(stats.lag_last_us as f64 / 1e6);
        published.push((venue(&name), stats.published));
        dropped.push((venue(&name), stats.dropped));
    }
    registry.register_with_unit(
        "bus_publish_lag",
        "From reading a frame to handing its last message to NATS",
        Unit::Seconds,
        lag,
    );
    let mut counters = Counters { registry };
    counters.family(
        "bus_published",
        "Messages published on the bus (JetStream: acknowledged)",
        published,
    );
    counters.family(
        "bus_dropped",
        "Messages that could not be published on the bus",
        dropped,
    );
}

async fn venues(op: &Operator, registry: &mut Registry) {
    let host = op.host();
    let instances = host.instances().await;
    let now_ms = crate::venue::now_ms();
    let venue = |name: &str| -> Labels { vec![("venue", name.to_owned())] };

    let up = gauges();
    let health = gauges();
    let state = gauges();
    let depth = gauges();
    let faults = gauges();
    let data_age = gauges();
    let mut samples: [Vec<(Labels, u64)>; 12] = Default::default();
    let mut rejected = Vec::new();
    for i in &instances {
        let name = i.name.as_str();
        let q = host.bus().venue_stats(name);
        let s = &i.stats;
        let running = i.state == State::Running;
        up.get_or_create(&venue(name))
            .set(f64::from(u8::from(running && i.health == Health::Running)));
        for h in Health::ALL {
            let mut labels = venue(name);
            labels.push(("health", h.name().to_owned()));
            health
                .get_or_create(&labels)
                .set(f64::from(u8::from(running && i.health == h)));
        }
        let mut labels = venue(name);
        labels.push(("state", i.state.to_string()));
        state.get_or_create(&labels).set(1.0);
        depth.get_or_create(&venue(name)).set(q.depth as f64);
        faults.get_or_create(&venue(name)).set(i.faults as f64);
        if let Some(at) = s.last_data_unix_ms {
            data_age
                .get_or_create(&venue(name))
                .set(now_ms.saturating_sub(at) as f64 / 1e3);
        }
        let values = [
            s.frames_in,
            s.events_out,
            s.events_abandoned,
            s.connects,
            s.connect_failures,
            s.reconnects,
            s.stalls,
            s.gaps,
            q.offered,
            q.delivered,
            q.dropped(),
            s.call_errors,
        ];
        for (k, v) in values.into_iter().enumerate() {
            samples[k].push((venue(name), v));
        }
        for (reason, n) in &s.rejects_by_reason {
            let mut labels = venue(name);
            labels.push(("reason", reason.clone()));
            rejected.push((labels, *n));
        }
    }
    registry.register(
        "venue_up",
        "1 if the venue is running with every connection open and its data flowing",
        up,
    );
    registry.register(
        "venue_health",
        "1 for the health of a running venue's worst connection (running, connecting, backing_off, breaker_open, stalled)",
        health,
    );
    registry.register(
        "venue_state",
        "1 for the venue's life-cycle state (running, stopping, stopped, restarting, failed...)",
        state,
    );
    registry.register(
        "venue_queue_depth",
        "Items waiting in consumer queues",
        depth,
    );
    registry.register(
        "venue_faults",
        "Faults (plugin panics) counted in the restart window; at `restart.max_faults` the venue fails",
        faults,
    );
    registry.register_with_unit(
        "venue_last_data_age",
        "Time since a frame last carried data",
        Unit::Seconds,
        data_age,
    );
    let helps: [(&str, &str); 12] = [
        ("venue_messages_in", "Frames handed to the plugin"),
        ("venue_messages_out", "Events delivered to the bus"),
        (
            "venue_messages_abandoned",
            "Events the plugin produced that a stop kept from the bus",
        ),
        ("venue_connects", "Websocket connections opened"),
        (
            "venue_connect_failures",
            "Connect attempts that failed (refused, timed out, handshake rejected)",
        ),
        ("venue_reconnects", "Connections lost and replaced"),
        (
            "venue_stalls",
            "Connections replaced because their data stopped while the server still answered",
        ),
        (
            "venue_gaps",
            "Gap markers delivered (reconnects and sequence gaps)",
        ),
        ("venue_queue_offered", "Items offered to consumer queues"),
        ("venue_queue_delivered", "Items handed to consumers"),
        (
            "venue_queue_dropped",
            "Items dropped on the way to consumers, every reason",
        ),
        ("venue_call_errors", "Plugin calls that returned an error"),
    ];
    let mut counters = Counters {
        registry: &mut *registry,
    };
    for ((name, help), samples) in helps.into_iter().zip(samples) {
        counters.family(name, help, samples);
    }
    counters.family(
        "venue_rejected",
        "Frames or parts the plugin rejected, by reason",
        rejected,
    );
    registry.register_with_unit(
        "venue_delivery_latency",
        "From a burst of frames being read to its events being queued for consumers",
        Unit::Seconds,
        DeliveryLatencies(host.delivery_latencies()),
    );
}

/// The venues' delivery histograms as one labelled family.
#[derive(Debug)]
struct DeliveryLatencies(
    Vec<(
        crate::InstanceName,
        std::sync::Arc<crate::venue::latency::LatencyHistogram>,
    )>,
);

impl prometheus_client::encoding::EncodeMetric for DeliveryLatencies {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder,
    ) -> Result<(), std::fmt::Error> {
        for (name, histogram) in &self.0 {
            let labels = [("venue", name.as_str())];
            let (sum, count, buckets) = histogram.snapshot();
            encoder
                .encode_family(&labels)?
                .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                    sum, count, &buckets, None,
                )?;
        }
        Ok(())
    }

    fn metric_type(&self) -> prometheus_client::metrics::MetricType {
        prometheus_client::metrics::MetricType::Histogram
    }
}
