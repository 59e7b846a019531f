//! The task behind a [`super::WsConnection`]: connect, run one session, back off, repeat,
//! until the token is cancelled.

use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use plugin_api::ConnId;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, trace, warn};

use super::{
    CloseReason, Shared, Ws, WsConfig, WsEvents, WsFrame, WsIn, WsOut, WsPhase, READ_BURST,
};
use crate::transport::backoff::Backoff;

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
    /// Dropped after `lived`; `received` if at least one frame arrived.
    Dropped {
        why: CloseReason,
        lived: Duration,
        received: bool,
    },
    /// The token was cancelled while the socket was open: close it politely.
    Stopping,
}

/// The connection task's state.
pub(super) struct Task {
    pub(super) id: ConnId,
    pub(super) config: WsConfig,
    pub(super) events: Arc<dyn WsEvents>,
    pub(super) shared: Arc<Shared>,
    pub(super) token: CancellationToken,
    pub(super) rx: mpsc::Receiver<(WsOut, u64)>,
    /// Bumped at every connect; frames queued under an older epoch are discarded.
    pub(super) epoch: Arc<AtomicU64>,
    /// Connect attempts failed in a row (for logging).
    pub(super) failing: u32,
}

/// Bytes a connection reads per `read` at most. tungstenite zero-fills this much of its
/// buffer before every read, including the one that finds the socket empty, so its default
/// (128 KiB) costs two 128 KiB memsets per wake-up: at the rates venues send (a few frames
/// per wake-up) that was the largest single item of a connection's CPU. Venue frames are a
/// few hundred bytes to a few KiB; a larger frame still arrives whole, over several reads.
const READ_BUFFER_BYTES: usize = 16 * 1024;

impl Task {
    pub(super) async fn run(mut self) {
        let started = std::time::Instant::now();
        let mut backoff = Backoff::new(self.config.reconnect.clone());
        let mut reconnected = false;
        let token = self.token.clone();
        loop {
            self.shared.set_phase(WsPhase::Connecting);
            let connect = tokio::time::timeout(
                self.config.connect_timeout,
                tokio_tungstenite::connect_async_with_config(
                    self.config.url.as_str(),
                    Some(WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES)),
                    true,
                ),
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
            self.shared.set_phase(WsPhase::Open);
            self.shared.connects.fetch_add(1, Ordering::Relaxed);
            let epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
            info!(reconnected, failed_attempts = self.failing, "connected");
            self.failing = 0;
            let end = self.session(ws, reconnected, epoch).await;
            self.shared.set_phase(WsPhase::Connecting);
            reconnected = true;
            match end {
                End::Stopping => break,
                End::Dropped {
                    why,
                    lived,
                    received,
                } => {
                    info!(reason = ?why, "disconnected");
                    let at_once = matches!(why, CloseReason::Rotation | CloseReason::Requested);
                    let closed = self.events.closed(self.id, why);
                    tokio::select! {
                        biased;
                        _ = token.cancelled() => break,
                        () = closed => {}
                    }
                    backoff.connection_ended(lived, received);
                    if !at_once && !self.wait_retry(&mut backoff).await {
                        break;
                    }
                }
            }
        }
        self.shared.set_phase(WsPhase::Stopped);
        let why = CloseReason::Stopped;
        let _ =
            tokio::time::timeout(self.config.close_grace, self.events.closed(self.id, why)).await;
        info!(elapsed_ms = started.elapsed().as_millis() as u64, "stopped");
    }

    /// Counts and reports a failed connect attempt. The first failure in a row and every
    /// doubling of the count are warnings (a venue that cannot connect must be visible
    /// without flooding the log); the others are debug lines.
    fn failed(&mut self, error: &str) {
        self.failing += 1;
        self.shared.connect_failures.fetch_add(1, Ordering::Relaxed);
        self.shared.error(error);
        self.events.connect_failed(self.id, error);
        let never_connected = self.shared.connects.load(Ordering::Relaxed) == 0;
        if self.failing.is_power_of_two() {
            warn!(
                error,
                failed_attempts = self.failing,
                never_connected,
                "connect failed"
            );
        } else {
            debug!(error, failed_attempts = self.failing, "connect failed");
        }
    }

    /// Sleeps the backoff delay; false if the token was cancelled meanwhile.
    async fn wait_retry(&self, backoff: &mut Backoff) -> bool {
        let retry = backoff.next_delay();
        if retry.breaker_open {
            self.shared.set_phase(WsPhase::BreakerOpen);
            warn!(
                failures = retry.failures,
                cooldown_ms = retry.delay.as_millis() as u64,
                "circuit breaker open: too many consecutive failures"
            );
        } else {
            self.shared.set_phase(WsPhase::BackingOff);
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
        // The owner's reconnect requests: a count, and a wake-up for an idle session. A
        // request made before this session began is already served.
        let asked = shared.reconnects_asked.load(Ordering::Acquire);
        let reconnect_wake = shared.reconnect_wake.notified();
        tokio::pin!(reconnect_wake);
        let mut received = false;
        // Data frames of the current burst, kept across bursts for their capacity.
        let mut buffered: Vec<Message> = Vec::with_capacity(READ_BURST as usize);
        macro_rules! dropped {
            ($why:expr) => {
                return End::Dropped {
                    why: $why,
                    lived: opened_at.elapsed(),
                    received,
                }
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
        let mut last_data = last_rx;
        let stale = config.stale_after;
        let mut data_stale = shared.data_stale_after();
        let due = |last_rx: Instant, last_data: Instant, data_stale: Option<Duration>| {
            let any = stale.map(|d| last_rx + d);
            let data = data_stale.map(|d| last_data + d);
            any.into_iter().chain(data).min()
        };
        let stale_timer = sleep_until(due(last_rx, last_data, data_stale).unwrap_or_else(never));
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
            // The same for a reconnect the owner asked for: an atomic load here, where a
            // wake-up registered on every turn would take the `Notify`'s lock twice.
            if shared.reconnects_asked.load(Ordering::Acquire) != asked {
                info!("reconnecting at the owner's request");
                let _ = tokio::time::timeout(config.close_grace, ws.close(None)).await;
                dropped!(CloseReason::Requested);
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
                        // Paced like every frame the client sends: venues count heartbeats
                        // in their per-second message limits.
                        tokio::select! {
                            biased;
                            _ = &mut cancelled => return close(ws, grace).await,
                            () = pacer.wait() => {}
                        }
                        pacer.sent();
                        if let Err(e) = ws.send(frame.into()).await {
                            shared.error(&e);
                            dropped!(CloseReason::Error(e.to_string()));
                        }
                        shared.frames_out.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
                () = &mut stale_timer, if stale.is_some() || data_stale.is_some() => {
                    let now = Instant::now();
                    if let Some(d) = stale.filter(|d| last_rx + *d <= now) {
                        warn!(stale_ms = d.as_millis() as u64, "stale: nothing received");
                        dropped!(CloseReason::Stale);
                    }
                    if let Some(d) = data_stale.filter(|d| last_data + *d <= now) {
                        warn!(
                            no_data_ms = d.as_millis() as u64,
                            "stalled: frames arrive but no data; reconnecting"
                        );
                        shared.stalled.store(true, Ordering::Relaxed);
                        dropped!(CloseReason::NoData);
                    }
                    stale_timer.as_mut().reset(due(last_rx, last_data, data_stale).unwrap_or_else(never));
                    continue;
                }
                () = &mut rotate, if config.max_lifetime.is_some() => {
                    info!("rotating connection");
                    let _ = tokio::time::timeout(config.close_grace, ws.close(None)).await;
                    dropped!(CloseReason::Rotation);
                }
                msg = ws.next() => msg,
                // Only wakes the loop: the check at its top acts on the request.
                () = &mut reconnect_wake => {
                    reconnect_wake.set(shared.reconnect_wake.notified());
                    continue;
                }
                _ = &mut cancelled => return close(ws, grace).await,
            };
            // Take this frame and up to READ_BURST - 1 more that are already buffered, then
            // hand the data frames over in one call before the other branches get a turn.
            // One receive time for the burst: its frames were ready together, and a clock
            // read per frame cost 5% of the connection's CPU at full speed.
            let received_ns = unix_ns();
            let mut ended = None;
            let mut burst = 0;
            let mut bytes = 0;
            loop {
                let message = match msg {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        shared.error(&e);
                        ended = Some(CloseReason::Error(e.to_string()));
                        break;
                    }
                    None => {
                        ended = Some(CloseReason::ClosedByServer);
                        break;
                    }
                };
                match &message {
                    Message::Text(_) | Message::Binary(_) => {
                        trace!(len = message.len(), "frame");
                        bytes += message.len() as u64;
                        buffered.push(message);
                    }
                    Message::Ping(_) => {
                        // tungstenite queued the pong; flush it now.
                        if let Err(e) = ws.flush().await {
                            shared.error(&e);
                            ended = Some(CloseReason::Error(e.to_string()));
                            break;
                        }
                    }
                    Message::Close(_) => {
                        ended = Some(CloseReason::ClosedByServer);
                        break;
                    }
                    Message::Pong(_) | Message::Frame(_) => {}
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
            if stale.is_some() {
                last_rx = Instant::now();
            }
            // The owner may change the data threshold while the connection is open (topics
            // added or removed): re-arm the timer when it did.
            let now_data_stale = shared.data_stale_after();
            if now_data_stale != data_stale {
                data_stale = now_data_stale;
                last_data = Instant::now();
                stale_timer
                    .as_mut()
                    .reset(due(last_rx, last_data, data_stale).unwrap_or_else(never));
            }
            // Frames read before an error or the server's close are still delivered.
            if !buffered.is_empty() {
                received = true;
                shared
                    .frames_in
                    .fetch_add(buffered.len() as u64, Ordering::Relaxed);
                shared.bytes_in.fetch_add(bytes, Ordering::Relaxed);
                let frames: Vec<WsFrame<'_>> = buffered
                    .iter()
                    .filter_map(|m| {
                        let data = match m {
                            Message::Text(t) => WsIn::Text(t.as_str()),
                            Message::Binary(b) => WsIn::Binary(b),
                            _ => return None,
                        };
                        Some(WsFrame { data, received_ns })
                    })
                    .collect();
                let carried_data = tokio::select! {
                    biased;
                    data = events.frames(id, &frames) => Some(data),
                    _ = &mut cancelled => None,
                };
                drop(frames);
                buffered.clear();
                match carried_data {
                    None => return close(ws, grace).await,
                    Some(true) => {
                        if data_stale.is_some() {
                            last_data = Instant::now();
                        }
                        if shared.stalled.load(Ordering::Relaxed) {
                            shared.stalled.store(false, Ordering::Relaxed);
                            info!("data flows again");
                        }
                    }
                    Some(false) => {}
                }
            }
            if let Some(why) = ended {
                dropped!(why);
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

    /// Waits until the next frame may go; cancel-safe (it only sleeps). Once that time has
    /// passed it is ready at once, without a timer: the receive loop waits on the pacer on
    /// every turn, and even a timer already due takes the runtime's timer-wheel lock to be
    /// registered and fired.
    async fn wait(&self) {
        if let Some(next) = self.next.filter(|next| *next > Instant::now()) {
            sleep_until(next).await;
        }
    }

    fn sent(&mut self) {
        if let Some(i) = self.interval {
            self.next = Some(Instant::now() + i);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use plugin_api::{ConnectionDecl, OpenMode, StreamKind};

    use super::*;

    /// What a plugin declares is what its connections do, zeros meaning "none"; the host
    /// adds no websocket pings of its own (it answers the server's).
    #[test]
    fn a_declared_connection_takes_the_declared_rules_and_no_pings_of_the_host() {
        let mut decl = ConnectionDecl {
            name: "ws".into(),
            url: "wss://example.invalid/ws".into(),
            open: OpenMode::OnDemand,
            kinds: vec![StreamKind::Trades].into(),
            max_subscriptions: 0,
            max_lifetime_ms: 86_400_000,
            max_outbound_per_sec: 5,
            heartbeat_ms: 20_000,
            stale_after_ms: 60_000,
        };
        let url = decl.url.to_string();
        let c = WsConfig::from_decl(&decl, url.clone(), Default::default());
        assert_eq!(c.max_lifetime, Some(Duration::from_secs(86_400)));
        assert_eq!(c.max_outbound_per_sec, Some(5));
        assert_eq!(c.heartbeat, Some(Duration::from_secs(20)));
        assert_eq!(c.stale_after, Some(Duration::from_secs(60)));
        assert_eq!(c.protocol_ping, None);
        (decl.max_lifetime_ms, decl.max_outbound_per_sec) = (0, 0);
        (decl.heartbeat_ms, decl.stale_after_ms) = (0, 0);
        let c = WsConfig::from_decl(&decl, url, Default::default());
        assert_eq!(
            (
                c.max_lifetime,
                c.max_outbound_per_sec,
                c.heartbeat,
                c.stale_after
            ),
            (None, None, None, None)
        );
        assert_eq!(c.protocol_ping, None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_pacer_spaces_frames_and_lets_a_due_one_go_at_once() {
        let mut pacer = Pacer::new(Some(10));
        assert_eq!(pacer.wait().now_or_never(), Some(()), "nothing sent yet");
        pacer.sent();
        let sent = Instant::now();
        assert_eq!(pacer.wait().now_or_never(), None, "100 ms must pass");
        pacer.wait().await;
        assert_eq!(sent.elapsed(), Duration::from_millis(100));
        tokio::time::advance(Duration::from_millis(5)).await;
        assert_eq!(pacer.wait().now_or_never(), Some(()), "due: no wait");

        let mut unpaced = Pacer::new(None);
        unpaced.sent();
        assert_eq!(unpaced.wait().now_or_never(), Some(()));
    }
}
