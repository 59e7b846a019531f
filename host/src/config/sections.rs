//! The plain sections of the configuration: `[watch]`, `[trust]`, `[rate_limits]`,
//! `[stale]`, `[control]`, `[metrics]` and `[log]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use plugin_api::StreamKind;

use serde::{Deserialize, Serialize};

/// Watching the plugin folder and the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// Watch the plugin folder: load new files, reload replaced ones, unload removed ones.
    pub plugins: bool,
    /// Re-read the configuration file when it changes (SIGHUP always does).
    pub config: bool,
    /// Quiet time per path before a change is acted on, in milliseconds.
    pub debounce_ms: u64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            plugins: true,
            config: true,
            debounce_ms: 100,
        }
    }
}

/// Which plugin files the host agrees to load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// Refuse plugin files and their folders when writable by group or other users or
    /// owned by another user than the host's (or root).
    pub check_permissions: bool,
    /// If not empty, the only SHA-256 digests (hex) of plugin files allowed.
    pub allowed_sha256: Vec<String>,
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            check_permissions: true,
            allowed_sha256: Vec::new(),
        }
    }
}

/// A rate limit replacing the one a plugin declares under the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitOverride {
    /// Permits per window.
    pub capacity: u32,
    /// Window length in milliseconds.
    pub window_ms: u64,
}

/// How long each kind of data may pause while its connection stays up (the server still
/// answering pings and acks) before the connection counts as stalled and is replaced. A
/// connection watches the smallest threshold among the kinds it carries; 0 turns a kind's
/// check off. Trades and private streams are off by default: a quiet market or account
/// sends nothing for long stretches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaleThresholds {
    /// Best bid and offer, ms.
    pub book_ticker_ms: u64,
    /// Public trades, ms.
    pub trades_ms: u64,
    /// Order-book depth, ms.
    pub depth_ms: u64,
    /// The account's orders, ms.
    pub orders_ms: u64,
    /// The account's fills, ms.
    pub fills_ms: u64,
    /// The account's balances, ms.
    pub balances_ms: u64,
}

impl Default for StaleThresholds {
    fn default() -> Self {
        StaleThresholds {
            book_ticker_ms: 60_000,
            trades_ms: 0,
            depth_ms: 60_000,
            orders_ms: 0,
            fills_ms: 0,
            balances_ms: 0,
        }
    }
}

impl StaleThresholds {
    /// The threshold of `kind`, `None` if its check is off.
    pub fn of(&self, kind: StreamKind) -> Option<Duration> {
        let ms = match kind {
            StreamKind::BookTicker => self.book_ticker_ms,
            StreamKind::Trades => self.trades_ms,
            StreamKind::Depth => self.depth_ms,
            StreamKind::Orders => self.orders_ms,
            StreamKind::Fills => self.fills_ms,
            StreamKind::Balances => self.balances_ms,
        };
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// The threshold of a connection carrying `kinds`: the smallest of theirs.
    pub fn of_all(&self, kinds: impl IntoIterator<Item = StreamKind>) -> Option<Duration> {
        kinds.into_iter().filter_map(|k| self.of(k)).min()
    }
}

/// The control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// Serve the control socket.
    pub enabled: bool,
    /// Path of the Unix socket (created with mode 0600).
    pub socket: PathBuf,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            enabled: true,
            socket: PathBuf::from("target/host.sock"),
        }
    }
}

/// The Prometheus text endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// Loopback address to listen on (port 0: any free port).
    pub address: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            address: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A `tracing_subscriber` filter, e.g. `info` or `host=debug`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Human,
            filter: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// The NATS bus (`[nats]`): off by default. A host with it on publishes its venues'
/// streams and answers order requests for them, and with `leases` runs each venue only
/// while it holds the venue's lease. A program whose configuration sets `remote` reaches
/// its venues through the bus instead of loading plugins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Connect to NATS at all.
    pub enabled: bool,
    /// The server (`nats://127.0.0.1:4222`).
    pub url: String,
    /// The first token of every subject, stream and bucket name (letters, digits, `-`, `_`).
    pub prefix: String,
    /// This process's name on the bus (in leases and connection names; default: the
    /// machine's host name and the process id).
    pub name: Option<String>,
    /// Hold each venue by a lease: of several hosts configured for one venue, the one
    /// holding its lease runs it and the others stand by.
    pub leases: bool,
    /// Milliseconds a lease lives without renewal; the holder renews it three times as
    /// often. A standby takes a venue this long after its holder last renewed.
    pub lease_ttl_ms: u64,
    /// Programs: the exchange's venues are the ones hosts serve on the bus, by the names of
    /// `[venues]`; nothing is loaded here.
    pub remote: bool,
    /// Programs: the name of their durable JetStream consumers, so that a program started
    /// again under the same name gets the orders and fills it missed.
    pub consumer: String,
    /// Programs: milliseconds a request waits for a host to answer for its venue, trying
    /// again meanwhile (an order with the same client id): a failover in progress, or
    /// the hosts still starting when the program starts.
    pub request_patience_ms: u64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            enabled: false,
            url: "nats://127.0.0.1:4222".into(),
            prefix: "mkt".into(),
            name: None,
            leases: true,
            lease_ttl_ms: 1000,
            remote: false,
            consumer: "program".into(),
            request_patience_ms: 5000,
        }
    }
}
