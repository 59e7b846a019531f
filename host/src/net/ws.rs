//! A reconnecting websocket connection resource: connect with a timeout, resubscribe after every
//! reconnect, protocol pings, application heartbeats, stale detection, rotation, outbound pacing,
//! and a stop that never reconnects.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use std::future::poll_fn;
use std::task::Poll;

use futures_util::{SinkExt, StreamExt};
use plugin_api::ConnId;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, trace, warn, Instrument};

use super::backoff::{Backoff, ReconnectPolicy};
use crate::resource::{Resource, ResourceCounts, TaskGroup, FORCE_GRACE};

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
    /// Reconnect ([`CloseReason::Rotation`]) once a connection has lived this long.
    pub max_lifetime: Option<Duration>,
    /// On stop, how long to wait for the server's close frame after sending ours.
    pub close_grace: Duration,
    /// Pace outbound frames to at most this many per second.
    pub max_outbound_per_sec: Option<u32>,
    /// Bound on TCP connect plus TLS and websocket handshakes.
    pub connect_timeout: Duration,
}

impl WsConfig {
    /// A config for `url` with the defaults: no heartbeat, ping, staleness or rotation,
    /// 100 ms close grace, no pacing, 10 s connect timeout.
    pub fn new(url: impl Into<String>) -> WsConfig {
        WsConfig {
            url: url.into(),
            reconnect: ReconnectPolicy::default(),
            heartbeat: None,
            protocol_ping: None,
            stale_after: None,
            max_lifetime: None,
            close_grace: Duration::from_millis(100),
            max_outbound_per_sec: None,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A received data frame, lent for the duration of one [`WsEvents::frame`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsIn<'a> {
    /// A text frame.
    Text(&'a str),
    /// A binary frame.
    Binary(&'a [u8]),
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
    /// The connection reached `max_lifetime` and is being replaced.
    Rotation,
    /// The resource is stopping; no reconnect follows.
    Stopped,
}

/// Callbacks into the owner (the venue driver). Async because the driver locks the plugin.
pub trait WsEvents: Send + Sync + 'static {
    /// A connection is open (first time or after reconnect/rotation). Returns the frames to
    /// send before anything else (subscriptions).
    fn opened(&self, conn: ConnId, reconnected: bool) -> BoxFuture<'_, Vec<WsOut>>;
    /// One received data frame. `received_ns` is the unix time in ns at receive.
    fn frame<'a>(&'a self, conn: ConnId, frame: WsIn<'a>, received_ns: u64) -> BoxFuture<'a, ()>;
    /// The connection dropped (error, close, stale, rotation, stop); a reconnect follows
    /// unless the reason is [`CloseReason::Stopped`].
    fn closed(&self, conn: ConnId, why: CloseReason) -> BoxFuture<'_, ()>;
    /// The application heartbeat frame, asked for every `heartbeat` period.
    fn heartbeat(&self, conn: ConnId) -> BoxFuture<'_, Option<WsOut>>;
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
    last_error: Mutex<Option<String>>,
}

impl Shared {
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
        let shared = Arc::new(Shared::default());
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
            last_error: s.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            is_connected: s.connected.load(Ordering::Relaxed),
            breaker_open: s.breaker_open.load(Ordering::Relaxed),
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
            shared.connected.store(false, Ordering::Relaxed);
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

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// An instant far enough away to stand for "never".
fn never() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 86_400)
}

/// How one session ended.
enum End {
    /// Dropped; `healthy` if at least one frame arrived (the backoff resets).
    Dropped { why: CloseReason, healthy: bool },
    /// The token was cancelled while the socket was open: close it politely.
    Stopping,
}

/// The connection task's state.
struct Task {
    id: ConnId,
    config: WsConfig,
    events: Arc<dyn WsEvents>,
    shared: Arc<Shared>,
    token: CancellationToken,
    rx: mpsc::Receiver<(WsOut, u64)>,
    /// Bumped at every connect; frames queued under an older epoch are discarded.
    epoch: Arc<AtomicU64>,
}

impl Task {
    async fn run(mut self) {
        let started = std::time::Instant::now();
        let mut backoff = Backoff::new(self.config.reconnect.clone());
        let mut reconnected = false;
        let token = self.token.clone();
        loop {
            let connect = tokio::time::timeout(
                self.config.connect_timeout,
                tokio_tungstenite::connect_async_with_config(self.config.url.as_str(), None, true),
            );
            let result = tokio::select! {
                biased;
                _ = token.cancelled() => break,
                r = connect => r,
            };
            let ws = match result {
                Ok(Ok((ws, _resp))) => ws,
                Ok(Err(e)) => {
                    self.failed(&format!("connect: {e}"));
                    if !self.wait_retry(&mut backoff).await {
                        break;
                    }
                    continue;
                }
                Err(_) => {
                    self.failed("connect timed out");
                    if !self.wait_retry(&mut backoff).await {
                        break;
                    }
                    continue;
                }
            };
            self.shared.breaker_open.store(false, Ordering::Relaxed);
            self.shared.connects.fetch_add(1, Ordering::Relaxed);
            self.shared.connected.store(true, Ordering::Relaxed);
            let epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
            info!(reconnected, "connected");
            let end = self.session(ws, reconnected, epoch).await;
            self.shared.connected.store(false, Ordering::Relaxed);
            reconnected = true;
            match end {
                End::Stopping => break,
                End::Dropped { why, healthy } => {
                    info!(reason = ?why, "disconnected");
                    let rotation = why == CloseReason::Rotation;
                    let closed = self.events.closed(self.id, why);
                    tokio::select! {
                        biased;
                        _ = token.cancelled() => break,
                        () = closed => {}
                    }
                    if healthy {
                        backoff.reset();
                    }
                    if !rotation && !self.wait_retry(&mut backoff).await {
                        break;
                    }
                }
            }
        }
        self.shared.connected.store(false, Ordering::Relaxed);
        let why = CloseReason::Stopped;
        let _ = tokio::time::timeout(self.config.close_grace, self.events.closed(self.id, why)).await;
        info!(elapsed_ms = started.elapsed().as_millis() as u64, "stopped");
    }

    fn failed(&self, error: &str) {
        self.shared.connect_failures.fetch_add(1, Ordering::Relaxed);
        self.shared.error(error);
        debug!(error, "connect failed");
    }

    /// Sleeps the backoff delay; false if the token was cancelled meanwhile.
    async fn wait_retry(&self, backoff: &mut Backoff) -> bool {
        let retry = backoff.next_delay();
        if retry.breaker_open {
            self.shared.breaker_open.store(true, Ordering::Relaxed);
            warn!(
                failures = retry.failures,
                cooldown_ms = retry.delay.as_millis() as u64,
                "circuit breaker open: too many consecutive failures"
            );
        } else {
            info!(
                attempt = retry.failures,
                delay_ms = retry.delay.as_millis() as u64,
                "reconnecting"
            );
        }
        tokio::select! {
            biased;
            _ = self.token.cancelled() => false,
            () = tokio::time::sleep(retry.delay) => true,
        }
    }

    /// Runs one open connection until it drops or the token is cancelled.
    async fn session(&mut self, mut ws: Ws, reconnected: bool, epoch: u64) -> End {
        let id = self.id;
        let config = &self.config;
        let events = &self.events;
        let shared = &self.shared;
        let rx = &mut self.rx;
        let grace = config.close_grace;
        let token = self.token.clone();
        let cancelled = token.cancelled();
        tokio::pin!(cancelled);
        let opened_at = Instant::now();
        let mut healthy = false;
        macro_rules! dropped {
            ($why:expr) => {
                return End::Dropped { why: $why, healthy }
            };
        }
        // Subscriptions first, paced like every other outbound frame.
        let mut pacer = Pacer::new(config.max_outbound_per_sec);
        let frames = tokio::select! {
            biased;
            _ = &mut cancelled => return close(ws, grace).await,
            f = events.opened(id, reconnected) => f,
        };
        for frame in frames {
            tokio::select! {
                biased;
                _ = &mut cancelled => return close(ws, grace).await,
                r = async { pacer.wait().await; ws.send(frame.into()).await } => {
                    pacer.sent();
                    if let Err(e) = r {
                        shared.error(&e);
                        dropped!(CloseReason::Error(e.to_string()));
                    }
                    shared.frames_out.fetch_add(1, Ordering::Relaxed);
                }
            }
        }

        let mut last_rx = Instant::now();
        let stale = config.stale_after;
        let stale_timer = sleep_until(stale.map_or_else(never, |d| last_rx + d));
        let rotate = sleep_until(config.max_lifetime.map_or_else(never, |d| opened_at + d));
        let period = |p: Option<Duration>| {
            let p = p.unwrap_or(Duration::from_secs(86_400 * 365));
            let mut i = tokio::time::interval_at(opened_at + p, p);
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            i
        };
        let mut ping = period(config.protocol_ping);
        let mut heartbeat = period(config.heartbeat);
        tokio::pin!(stale_timer, rotate);

        loop {
            // Checked here because, under a steady stream, the read branch wins before the
            // `cancelled` branch (polled last: polling it takes a lock) is reached.
            if token.is_cancelled() {
                return close(ws, grace).await;
            }
            let mut msg = tokio::select! {
                biased;
                out = async { pacer.wait().await; rx.recv().await } => {
                    let Some((frame, queued_in)) = out else { return close(ws, grace).await };
                    if queued_in < epoch {
                        shared.out_dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    pacer.sent();
                    trace!("send frame");
                    if let Err(e) = ws.send(frame.into()).await {
                        shared.error(&e);
                        dropped!(CloseReason::Error(e.to_string()));
                    }
                    shared.frames_out.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                _ = ping.tick(), if config.protocol_ping.is_some() => {
                    if let Err(e) = ws.send(Message::Ping(Default::default())).await {
                        shared.error(&e);
                        dropped!(CloseReason::Error(e.to_string()));
                    }
                    continue;
                }
                _ = heartbeat.tick(), if config.heartbeat.is_some() => {
                    let hb = tokio::select! {
                        biased;
                        f = events.heartbeat(id) => f,
                        _ = &mut cancelled => return close(ws, grace).await,
                    };
                    if let Some(frame) = hb {
                        if let Err(e) = ws.send(frame.into()).await {
                            shared.error(&e);
                            dropped!(CloseReason::Error(e.to_string()));
                        }
                        shared.frames_out.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
                () = &mut stale_timer, if stale.is_some() => {
                    let due = last_rx + stale.unwrap_or_default();
                    if due > Instant::now() {
                        stale_timer.as_mut().reset(due);
                    } else {
                        warn!(stale_ms = stale.unwrap_or_default().as_millis() as u64, "stale: nothing received");
                        dropped!(CloseReason::Stale);
                    }
                    continue;
                }
                () = &mut rotate, if config.max_lifetime.is_some() => {
                    info!("rotating connection");
                    let _ = tokio::time::timeout(config.close_grace, ws.close(None)).await;
                    dropped!(CloseReason::Rotation);
                }
                msg = ws.next() => msg,
                _ = &mut cancelled => return close(ws, grace).await,
            };
            // Handle this frame and up to READ_BURST - 1 more that are already buffered
            // before the other branches get their turn.
            let mut burst = 0;
            loop {
                let message = match msg {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        shared.error(&e);
                        dropped!(CloseReason::Error(e.to_string()));
                    }
                    None => dropped!(CloseReason::ClosedByServer),
                };
                let received_ns = unix_ns();
                if stale.is_some() {
                    last_rx = Instant::now();
                }
                let data = match &message {
                    Message::Text(t) => Some(WsIn::Text(t.as_str())),
                    Message::Binary(b) => Some(WsIn::Binary(b)),
                    Message::Ping(_) => {
                        // tungstenite queued the pong; flush it now.
                        if let Err(e) = ws.flush().await {
                            shared.error(&e);
                            dropped!(CloseReason::Error(e.to_string()));
                        }
                        None
                    }
                    Message::Close(_) => dropped!(CloseReason::ClosedByServer),
                    Message::Pong(_) | Message::Frame(_) => None,
                };
                if let Some(frame) = data {
                    healthy = true;
                    shared.frames_in.fetch_add(1, Ordering::Relaxed);
                    shared.bytes_in.fetch_add(message.len() as u64, Ordering::Relaxed);
                    trace!(len = message.len(), "frame");
                    tokio::select! {
                        biased;
                        () = events.frame(id, frame, received_ns) => {}
                        _ = &mut cancelled => return close(ws, grace).await,
                    }
                }
                burst += 1;
                if burst == READ_BURST {
                    break; // the cancellation check at the top of the loop comes next
                }
                match poll_fn(|cx| Poll::Ready(ws.poll_next_unpin(cx))).await {
                    Poll::Ready(next) => msg = next,
                    Poll::Pending => break,
                }
            }
        }
    }
}

/// Sends our close frame and waits at most `grace` for the server's.
async fn close(mut ws: Ws, grace: Duration) -> End {
    {
        let _ = tokio::time::timeout(grace, async {
            if ws.close(None).await.is_ok() {
                while let Some(Ok(_)) = ws.next().await {}
            }
        })
        .await;
    }
    End::Stopping
}

/// Spaces outbound frames by `1 / max_outbound_per_sec`.
struct Pacer {
    interval: Option<Duration>,
    next: Option<Instant>,
}

impl Pacer {
    fn new(per_sec: Option<u32>) -> Pacer {
        Pacer {
            interval: per_sec
                .filter(|n| *n > 0)
                .map(|n| Duration::from_secs(1) / n),
            next: None,
        }
    }

    /// Waits until the next frame may go; cancel-safe (it only sleeps).
    async fn wait(&self) {
        if let Some(next) = self.next {
            sleep_until(next).await;
        }
    }

    fn sent(&mut self) {
        if let Some(i) = self.interval {
            self.next = Some(Instant::now() + i);
        }
    }
}
