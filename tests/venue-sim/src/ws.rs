//! The websocket connection loop shared by both venues: reads client requests, forwards
//! market-data batches, replay streams and private events, and applies the fault switches to
//! every outgoing frame.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{SplitSink, StreamExt};
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast;
use tokio::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::faults::{Corruption, Faults, Kick};
use crate::replay::Replay;
use crate::stats::Stats;
use crate::synthetic::now_ms;
use crate::topics::{Batch, TopicSet};
use crate::trading::PrivateEvent;

/// What a session wants done after a client request.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    /// Control replies (acks, errors, pongs), sent in order.
    pub(crate) out: Vec<Message>,
    /// Topics subscribed by this request (replay streams start for them).
    pub(crate) started: Vec<u32>,
}

/// A venue's per-connection protocol state.
pub(crate) trait Session: Send + 'static {
    /// Handle one text frame from the client.
    fn on_text(&mut self, text: &str, reply: &mut Reply);
    /// The connection's public topic subscriptions.
    fn topics(&self) -> &TopicSet;
    /// Render a private account change if this connection subscribed to it.
    fn on_private(&mut self, ev: &PrivateEvent, out: &mut Vec<Message>);
    /// Subscription names for [`Stats`].
    fn subscription_names(&self) -> Vec<String>;
    /// When the venue would close this connection for inactivity, if ever.
    fn deadline(&self) -> Option<Instant> {
        None
    }
    /// Traffic happened (either direction) at `now`.
    fn activity(&mut self, _now: Instant) {}
    /// Whether data frames are binary (protobuf) rather than text.
    fn binary(&self) -> bool;
    /// Subscriptions the connection starts with (streams named in its URL): runs once when
    /// the websocket opens; only `reply.started` is used.
    fn opened(&mut self, _reply: &mut Reply) {}
    /// A message arrived from the client at `now` (any kind but close); `false` closes the
    /// connection (a venue's incoming message limit).
    fn incoming(&mut self, _now: Instant, _msg: &Message) -> bool {
        true
    }
    /// How often the server sends a protocol ping, if it does.
    fn ping_every(&self) -> Option<Duration> {
        None
    }
    /// The server sent a protocol ping at `now`.
    fn pinged(&mut self, _now: Instant) {}
    /// The frame to send for market-data `msg` of `topic` (a venue may wrap it per
    /// connection); `None` sends `msg` as it is.
    fn wrap(&self, _topic: u32, _msg: &Message) -> Option<Message> {
        None
    }
}

/// Everything a connection loop needs besides its session.
pub(crate) struct ConnCtx {
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) cancel: CancellationToken,
    pub(crate) market: Option<broadcast::Receiver<Batch>>,
    pub(crate) replay: Option<Arc<Replay>>,
    pub(crate) replay_rate: u32,
    pub(crate) replay_loop: bool,
    pub(crate) private: broadcast::Receiver<PrivateEvent>,
}

/// Why the loop stops.
enum End {
    /// Close politely with a close frame.
    Close(CloseCode),
    /// Drop the TCP connection without a close frame.
    Drop,
    /// The peer is gone or the simulator is stopping mid-send.
    Gone,
}

struct Out<S> {
    sink: SplitSink<WebSocketStream<S>, Message>,
    faults: Faults,
    stats: Stats,
    cancel: CancellationToken,
    data_sent: u64,
    unflushed: u64,
    binary: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Out<S> {
    /// Queue one frame; `data` frames are subject to corruption and the drop-after count.
    async fn push(&mut self, msg: Message, data: bool) -> Result<(), End> {
        if self.faults.silent() || (data && self.faults.data_paused()) {
            return Ok(());
        }
        if let Some(d) = self.faults.delay() {
            self.flush().await?;
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = self.cancel.cancelled() => return Err(End::Gone),
            }
        }
        let msg = if data {
            match self.faults.take_corruption() {
                Some(c) => corrupt(msg, c, self.binary),
                None => msg,
            }
        } else {
            msg
        };
        // A client that stops reading must not block shutdown.
        tokio::select! {
            r = self.sink.feed(msg) => r.map_err(|_| End::Gone)?,
            _ = self.cancel.cancelled() => return Err(End::Gone),
        }
        self.unflushed += 1;
        if data {
            self.data_sent += 1;
            if self.data_sent >= self.faults.drop_after() {
                self.flush().await?;
                return Err(End::Drop);
            }
        }
        if self.faults.delay().is_some() {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), End> {
        let r = tokio::select! {
            r = self.sink.flush() => r,
            _ = self.cancel.cancelled() => return Err(End::Gone),
        };
        if self.unflushed > 0 {
            self.stats.frames_sent(self.unflushed);
            self.unflushed = 0;
        }
        r.map_err(|_| End::Gone)
    }

    async fn close(&mut self, code: CloseCode) {
        let frame = CloseFrame {
            code,
            reason: "".into(),
        };
        // Bounded: a client that stopped reading gets no close frame rather than a hang.
        let close = self.sink.send(Message::Close(Some(frame)));
        let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
    }
}

fn corrupt(msg: Message, c: Corruption, binary: bool) -> Message {
    match c {
        Corruption::Malformed if binary => {
            Message::Binary(Bytes::from_static(&[0xff, 0xff, 0xff, 0x0f]))
        }
        Corruption::Malformed => Message::text("{\"malformed"),
        Corruption::Truncated => {
            let data = msg.into_data();
            let half = data.slice(..data.len() / 2);
            if binary {
                Message::Binary(half)
            } else {
                Message::text(String::from_utf8_lossy(&half).into_owned())
            }
        }
    }
}

/// A replay stream of one topic on this connection.
struct Cursor {
    topic: u32,
    next: usize,
    delta_ms: i64,
}

/// Serve one websocket connection until the peer leaves, a fault ends it or the simulator stops.
pub(crate) async fn run<S, T>(ws: WebSocketStream<S>, mut session: T, mut ctx: ConnCtx)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    T: Session,
{
    let conn_id = ctx.stats.ws_opened();
    let opened = Instant::now();
    tracing::debug!(conn_id, "websocket connection opened");
    let (sink, mut stream) = ws.split();
    let mut out = Out {
        sink,
        faults: ctx.faults.clone(),
        stats: ctx.stats.clone(),
        cancel: ctx.cancel.clone(),
        data_sent: 0,
        unflushed: 0,
        binary: session.binary(),
    };
    let mut kicks = ctx.faults.kicks();
    let mut cursors: Vec<Cursor> = Vec::new();
    let mut replay_tick = tokio::time::interval(Duration::from_millis(10));
    let per_tick = (ctx.replay_rate / 100).max(1) as usize;
    let ping_every = session.ping_every();
    // Without pings the branch is disabled; the interval still needs a period.
    let period = ping_every.unwrap_or(Duration::from_secs(3600));
    let mut ping_tick = tokio::time::interval_at(Instant::now() + period, period);
    ping_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut opened_reply = Reply::default();
    session.opened(&mut opened_reply);
    start_replays(&ctx, opened_reply.started, &mut cursors);
    ctx.stats
        .set_subscriptions(conn_id, session.subscription_names());
    let end = loop {
        let deadline = session.deadline();
        let step: Result<(), End> = tokio::select! {
            _ = ctx.cancel.cancelled() => break End::Close(CloseCode::Away),
            k = kicks.recv() => match k {
                Ok(Kick::TcpDrop) => break End::Drop,
                Ok(Kick::CloseFrame) => break End::Close(CloseCode::Away),
                _ => Ok(()),
            },
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                break End::Close(CloseCode::Normal)
            }
            _ = ping_tick.tick(), if ping_every.is_some() && !ctx.faults.silent() => {
                session.pinged(Instant::now());
                match out.push(Message::Ping(Bytes::new()), false).await {
                    Ok(()) => out.flush().await,
                    Err(e) => Err(e),
                }
            }
            m = stream.next() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Gone,
                Some(Ok(msg)) if !session.incoming(Instant::now(), &msg) => {
                    tracing::debug!(conn_id, "over the incoming message limit");
                    break End::Close(CloseCode::Policy);
                }
                Some(Ok(Message::Text(t))) => {
                    on_request(&mut session, &mut out, &ctx, t.as_str(), &mut cursors, conn_id).await
                }
                Some(Ok(Message::Binary(b))) => {
                    let t = String::from_utf8_lossy(&b).into_owned();
                    on_request(&mut session, &mut out, &ctx, &t, &mut cursors, conn_id).await
                }
                Some(Ok(msg)) => {
                    // Ping (answered by tungstenite on the next flush) or pong.
                    if matches!(msg, Message::Pong(_)) {
                        ctx.stats.pong_received();
                    }
                    session.activity(Instant::now());
                    if ctx.faults.silent() { Ok(()) } else { out.flush().await }
                }
            },
            b = recv_batch(&mut ctx.market) => match b {
                Ok(batch) => send_batch(&mut session, &mut out, &batch, &cursors).await,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    ctx.stats.lagged(n);
                    Ok(())
                }
                Err(broadcast::error::RecvError::Closed) => {
                    ctx.market = None;
                    Ok(())
                }
            },
            ev = ctx.private.recv() => match ev {
                Ok(ev) => {
                    let mut msgs = Vec::new();
                    session.on_private(&ev, &mut msgs);
                    send_all(&mut session, &mut out, msgs, true).await
                }
                Err(_) => Ok(()),
            },
            _ = replay_tick.tick(), if !cursors.is_empty() => {
                play(&mut session, &mut out, &ctx, &mut cursors, per_tick).await
            }
        };
        if let Err(e) = step {
            break e;
        }
    };
    match end {
        End::Close(code) => {
            tracing::trace!(conn_id, ?code, "closing with a close frame");
            let _ = out.flush().await;
            out.close(code).await;
        }
        End::Drop | End::Gone => {}
    }
    drop(out);
    drop(stream);
    ctx.stats.ws_closed(conn_id);
    tracing::debug!(conn_id, elapsed = ?opened.elapsed(), "websocket connection closed");
}

async fn recv_batch(
    rx: &mut Option<broadcast::Receiver<Batch>>,
) -> Result<Batch, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn on_request<S, T>(
    session: &mut T,
    out: &mut Out<S>,
    ctx: &ConnCtx,
    text: &str,
    cursors: &mut Vec<Cursor>,
    conn_id: u64,
) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: Session,
{
    ctx.stats.ws_request();
    session.activity(Instant::now());
    let mut reply = Reply::default();
    session.on_text(text, &mut reply);
    ctx.stats
        .set_subscriptions(conn_id, session.subscription_names());
    start_replays(ctx, reply.started, cursors);
    send_all(session, out, reply.out, false).await
}

/// Starts (or restarts) the replay stream of each topic in `started` that has captures.
fn start_replays(ctx: &ConnCtx, started: Vec<u32>, cursors: &mut Vec<Cursor>) {
    let Some(replay) = &ctx.replay else {
        return;
    };
    for topic in started {
        if let Some(delta_ms) = replay.delta_ms(topic, now_ms()) {
            cursors.retain(|c| c.topic != topic);
            cursors.push(Cursor {
                topic,
                next: 0,
                delta_ms,
            });
        }
    }
}

async fn send_all<S, T>(
    session: &mut T,
    out: &mut Out<S>,
    msgs: Vec<Message>,
    data: bool,
) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: Session,
{
    if msgs.is_empty() {
        return Ok(());
    }
    for m in msgs {
        out.push(m, data).await?;
    }
    session.activity(Instant::now());
    out.flush().await
}

/// Sends the frames of `batch` whose topics the session subscribed to, except topics still
/// playing their captures first (`replaying`).
async fn send_batch<S, T>(
    session: &mut T,
    out: &mut Out<S>,
    batch: &Batch,
    replaying: &[Cursor],
) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: Session,
{
    let mut any = false;
    for f in batch.iter() {
        if session.topics().contains(f.topic) && !replaying.iter().any(|c| c.topic == f.topic) {
            let msg = session
                .wrap(f.topic, &f.msg)
                .unwrap_or_else(|| f.msg.clone());
            out.push(msg, true).await?;
            any = true;
        }
    }
    if any {
        session.activity(Instant::now());
        out.flush().await?;
    }
    Ok(())
}

async fn play<S, T>(
    session: &mut T,
    out: &mut Out<S>,
    ctx: &ConnCtx,
    cursors: &mut Vec<Cursor>,
    per_tick: usize,
) -> Result<(), End>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: Session,
{
    let Some(replay) = &ctx.replay else {
        return Ok(());
    };
    cursors.retain(|c| session.topics().contains(c.topic));
    let mut sent = false;
    for c in cursors.iter_mut() {
        for _ in 0..per_tick {
            let frames = replay.frames(c.topic);
            if c.next >= frames.len() {
                if !ctx.replay_loop {
                    break;
                }
                c.next = 0;
                c.delta_ms = replay.delta_ms(c.topic, now_ms()).unwrap_or(c.delta_ms);
            }
            let msg = replay.render(c.topic, c.next, c.delta_ms);
            let msg = session.wrap(c.topic, &msg).unwrap_or(msg);
            c.next += 1;
            out.push(msg, true).await?;
            sent = true;
        }
    }
    let len = |c: &Cursor| replay.frames(c.topic).len();
    cursors.retain(|c| ctx.replay_loop || c.next < len(c));
    if sent {
        session.activity(Instant::now());
        out.flush().await?;
    }
    Ok(())
}
