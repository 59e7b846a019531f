//! A reconnecting websocket connection resource: connect with a timeout, resubscribe after every
//! reconnect, protocol pings, application heartbeats, stale detection, rotation, outbound pacing,
//! and a stop that never reconnects.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use plugin_api::{ConnId, ConnectionDecl};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::backoff::ReconnectPolicy;
use crate::stop::resource::{Resource, ResourceCounts, TaskGroup, FORCE_GRACE};

mod task;

use task::Task;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Frames the [`WsSender`] queue holds before `send` waits.
const OUTBOUND_QUEUE: usize = 1024;

/// Buffered frames read in a row before outbound frames and timers get a turn.
const READ_BURST: u32 = 32;

/// Settings of one websocket connection.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Reconnect backoff and circuit breaker.
    pub reconnect: ReconnectPolicy,
    /// Call [`WsEvents::heartbeat`] this often.
    pub heartbeat: Option<Duration>,
    /// Send a websocket protocol ping this often.
    pub protocol_ping: Option<Duration>,
    /// Reconnect ([`CloseReason::Stale`]) when nothing arrived for this long.
    pub stale_after: Option<Duration>,
    /// Reconnect ([`CloseReason::NoData`]) when no frame carried data (as judged by
    /// [`WsEvents::frames`]) for this long, although other frames (pongs, acks) still
    /// arrive. Can be changed while connected with [`WsConnection::set_data_stale_after`].
    pub data_stale_after: Option<Duration>,
    /// Reconnect ([`CloseReason::Rotation`]) once a connection has lived this long.
    pub max_lifetime: Option<Duration>,
    /// On stop, how long to wait for the server's close frame after sending ours.
    pub close_grace: Duration,
    /// Pace the frames the client sends (subscriptions, queued frames, heartbeats; not the
    /// pongs that answer the server's pings) to at most this many per second.
    pub max_outbound_per_sec: Option<u32>,
    /// Bound on TCP connect plus TLS and websocket handshakes.
    pub connect_timeout: Duration,
}

impl WsConfig {
    /// A config for `url` with the venue's rules from its [`ConnectionDecl`] (zeros mean
    /// "none") and the host's reconnect policy.
    pub fn from_decl(
        decl: &ConnectionDecl,
        url: impl Into<String>,
        reconnect: ReconnectPolicy,
    ) -> WsConfig {
        let ms = |v: u64| (v > 0).then(|| Duration::from_millis(v));
        WsConfig {
            reconnect,
            heartbeat: ms(decl.heartbeat_ms),
            stale_after: ms(decl.stale_after_ms),
            max_lifetime: ms(decl.max_lifetime_ms),
            max_outbound_per_sec: (decl.max_outbound_per_sec > 0)
                .then_some(decl.max_outbound_per_sec),
            ..WsConfig::new(url)
        }
    }

    /// A config for `url` with the defaults: no heartbeat, ping, staleness or rotation,
    /// 100 ms close grace, no pacing, 10 s connect timeout.
    pub fn new(url: impl Into<String>) -> WsConfig {
        WsConfig {
            url: url.into(),
            reconnect: ReconnectPolicy::default(),
            heartbeat: None,
            protocol_ping: None,
            stale_after: None,
            data_stale_after: None,
            max_lifetime: None,
            close_grace: Duration::from_millis(100),
            max_outbound_per_sec: None,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A received data frame's payload, lent for the duration of one [`WsEvents::frames`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsIn<'a> {
    /// A text frame.
    Text(&'a str),
    /// A binary frame.
    Binary(&'a [u8]),
}

/// A received data frame with the unix time in ns at which the host took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsFrame<'a> {
    /// The payload.
    pub data: WsIn<'a>,
    /// Unix time in ns when the frame was ready to read. The frames of one burst (found
    /// buffered together) share the time the first of them was ready.
    pub received_ns: u64,
}

/// A frame to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsOut {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

impl From<WsOut> for Message {
    fn from(out: WsOut) -> Message {
        match out {
            WsOut::Text(t) => Message::text(t),
            WsOut::Binary(b) => Message::binary(b),
        }
    }
}

/// Why a connection dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// A read or write failed.
    Error(String),
    /// The server sent a close frame or ended the stream.
    ClosedByServer,
    /// Nothing arrived for `stale_after`.
    Stale,
    /// Frames arrived but none carried data for `data_stale_after`: the server answers
    /// pings while its data has stopped.
    NoData,
    /// The connection reached `max_lifetime` and is being replaced.
    Rotation,
    /// The owner asked for a fresh connection ([`WsConnection::reconnect`]).
    Requested,
    /// The resource is stopping; no reconnect follows.
    Stopped,
}

/// Callbacks into the owner (the venue driver). Async because the driver locks the plugin.
pub trait WsEvents: Send + Sync + 'static {
    /// A connection is open (first time or after reconnect/rotation). Returns the frames to
    /// send before anything else (subscriptions).
    fn opened(&self, conn: ConnId, reconnected: bool) -> BoxFuture<'_, Vec<WsOut>>;
    /// The data frames that were already buffered when the connection read (up to 32, in
    /// order), handed over together so the owner can process a burst under one lock and wake
    /// its consumers once. Returns true if any of them carried data (not only acks or
    /// pongs): that is what `data_stale_after` watches.
    fn frames<'a>(&'a self, conn: ConnId, frames: &'a [WsFrame<'a>]) -> BoxFuture<'a, bool>;
    /// The connection dropped (error, close, stale, rotation, stop); a reconnect follows
    /// unless the reason is [`CloseReason::Stopped`].
    fn closed(&self, conn: ConnId, why: CloseReason) -> BoxFuture<'_, ()>;
    /// The application heartbeat frame, asked for every `heartbeat` period.
    fn heartbeat(&self, conn: ConnId) -> BoxFuture<'_, Option<WsOut>>;
    /// A connect attempt failed with `error`; a retry follows after the backoff.
    fn connect_failed(&self, conn: ConnId, error: &str) {
        let _ = (conn, error);
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WsPhase {
    /// Open and reading.
    Open,
    /// A connect attempt (the first, or after a drop) is in progress.
    #[default]
    Connecting,
    /// Waiting out the backoff before the next connect attempt.
    BackingOff,
    /// Waiting out the circuit breaker's cooldown after too many failures in a row.
    BreakerOpen,
    /// Stopped; no reconnect follows.
    Stopped,
}

impl WsPhase {
    const ALL: [WsPhase; 5] = [
        WsPhase::Open,
        WsPhase::Connecting,
        WsPhase::BackingOff,
        WsPhase::BreakerOpen,
        WsPhase::Stopped,
    ];

    fn from_u8(v: u8) -> WsPhase {
        WsPhase::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(WsPhase::Stopped)
    }
}

/// The connection is stopped: the frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("websocket connection is stopped")]
pub struct WsClosed;

/// A snapshot of a connection's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsStats {
    /// Successful connects (first one included).
    pub connects: u64,
    /// Successful connects after the first one.
    pub reconnects: u64,
    /// Failed connect attempts.
    pub connect_failures: u64,
    /// Data frames received.
    pub frames_in: u64,
    /// Frames sent (subscriptions, heartbeats and queued frames; not pings).
    pub frames_out: u64,
    /// Payload bytes received in data frames.
    pub bytes_in: u64,
    /// Queued frames discarded because they were queued before the current connection opened.
    pub out_dropped: u64,
    /// The last connect, read or write error.
    pub last_error: Option<String>,
    /// True while a connection is open.
    pub is_connected: bool,
    /// True while the circuit breaker is open.
    pub breaker_open: bool,
    /// Where the connection is now.
    pub phase: WsPhase,
    /// True from a [`CloseReason::NoData`] drop until data flows again.
    pub stalled: bool,
}

#[derive(Debug, Default)]
struct Shared {
    connects: AtomicU64,
    connect_failures: AtomicU64,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    out_dropped: AtomicU64,
    connected: AtomicBool,
    breaker_open: AtomicBool,
    /// A [`WsPhase`] as its index.
    phase: AtomicU8,
    stalled: AtomicBool,
    /// `data_stale_after` in ms; 0: off.
    data_stale_ms: AtomicU64,
    /// Reconnects asked for with [`WsConnection::reconnect`] so far; a session drops its
    /// connection when this moves past what it was when the session began.
    reconnects_asked: AtomicU64,
    /// Wakes the session to look at `reconnects_asked`.
    reconnect_wake: tokio::sync::Notify,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn set_phase(&self, phase: WsPhase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
        self.breaker_open
            .store(phase == WsPhase::BreakerOpen, Ordering::Relaxed);
        self.connected
            .store(phase == WsPhase::Open, Ordering::Relaxed);
    }

    fn data_stale_after(&self) -> Option<Duration> {
        match self.data_stale_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    fn error(&self, e: impl ToString) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    }
}

/// Queues frames on a [`WsConnection`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WsSender {
    tx: mpsc::Sender<(WsOut, u64)>,
    epoch: Arc<AtomicU64>,
    token: CancellationToken,
}

impl WsSender {
    /// Queues `frame`, waiting while the queue is full; fails at once when the connection is
    /// stopped. Frames go out paced by `max_outbound_per_sec`; a frame queued while the
    /// connection was down is discarded (counted in [`WsStats::out_dropped`]) because
    /// [`WsEvents::opened`] rebuilds the state after a reconnect.
    pub async fn send(&self, frame: WsOut) -> Result<(), WsClosed> {
        let epoch = self.epoch.load(Ordering::Acquire);
        tokio::select! {
            biased;
            _ = self.token.cancelled() => Err(WsClosed),
            r = self.tx.send((frame, epoch)) => r.map_err(|_| WsClosed),
        }
    }
}

/// One websocket connection and the task that keeps it open. See the module docs.
#[derive(Debug)]
pub struct WsConnection {
    id: ConnId,
    tasks: TaskGroup,
    shared: Arc<Shared>,
    sender: WsSender,
}

impl WsConnection {
    /// Starts connecting in the background; the task lives in the connection's own
    /// [`TaskGroup`], stopped through [`Resource::stop`].
    pub fn start(id: ConnId, config: WsConfig, events: Arc<dyn WsEvents>) -> WsConnection {
        let tasks = TaskGroup::new();
        let shared = Arc::new(Shared {
            phase: AtomicU8::new(WsPhase::Connecting as u8),
            data_stale_ms: AtomicU64::new(
                config
                    .data_stale_after
                    .map_or(0, |d| d.as_millis().max(1) as u64),
            ),
            ..Shared::default()
        });
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let epoch = Arc::new(AtomicU64::new(0));
        let sender = WsSender {
            tx,
            epoch: epoch.clone(),
            token: tasks.token().clone(),
        };
        let span = tracing::info_span!("ws", conn = id.0, url = %config.url);
        let task = Task {
            id,
            config,
            events,
            shared: shared.clone(),
            token: tasks.token().clone(),
            rx,
            epoch,
            failing: 0,
        };
        tasks.spawn(task.run().instrument(span));
        WsConnection {
            id,
            tasks,
            shared,
            sender,
        }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Changes `data_stale_after` (`None`: off); an open connection applies it at once.
    pub fn set_data_stale_after(&self, after: Option<Duration>) {
        let ms = after.map_or(0, |d| d.as_millis().max(1) as u64);
        self.shared.data_stale_ms.store(ms, Ordering::Relaxed);
    }

    /// Drops the open connection and connects again at once (no backoff), under the same
    /// id: the owner sees [`WsEvents::closed`] with [`CloseReason::Requested`], then
    /// [`WsEvents::opened`] with `reconnected`. Does nothing while no connection is open
    /// (one is being made already).
    pub fn reconnect(&self) {
        self.shared.reconnects_asked.fetch_add(1, Ordering::AcqRel);
        self.shared.reconnect_wake.notify_one();
    }

    /// A handle to queue frames.
    pub fn sender(&self) -> WsSender {
        self.sender.clone()
    }

    /// The counters now.
    pub fn stats(&self) -> WsStats {
        let s = &self.shared;
        let connects = s.connects.load(Ordering::Relaxed);
        WsStats {
            connects,
            reconnects: connects.saturating_sub(1),
            connect_failures: s.connect_failures.load(Ordering::Relaxed),
            frames_in: s.frames_in.load(Ordering::Relaxed),
            frames_out: s.frames_out.load(Ordering::Relaxed),
            bytes_in: s.bytes_in.load(Ordering::Relaxed),
            out_dropped: s.out_dropped.load(Ordering::Relaxed),
            last_error: s
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            is_connected: s.connected.load(Ordering::Relaxed),
            breaker_open: s.breaker_open.load(Ordering::Relaxed),
            phase: WsPhase::from_u8(s.phase.load(Ordering::Relaxed)),
            stalled: s.stalled.load(Ordering::Relaxed),
        }
    }
}

impl Resource for WsConnection {
    fn stop(&self) -> BoxFuture<'static, Result<(), String>> {
        let tasks = self.tasks.clone();
        Box::pin(async move {
            tasks.shutdown().await;
            Ok(())
        })
    }

    fn force(&self) -> BoxFuture<'static, ()> {
        let tasks = self.tasks.clone();
        let shared = self.shared.clone();
        Box::pin(async move {
            tasks.abort(FORCE_GRACE).await;
            shared.set_phase(WsPhase::Stopped);
        })
    }

    fn counts(&self) -> ResourceCounts {
        ResourceCounts {
            tasks: self.tasks.live(),
            connections: usize::from(self.shared.connected.load(Ordering::Relaxed)),
            ..ResourceCounts::default()
        }
    }
}
