//! What a pool's websocket connections report back: each opened, received, dropped or
//! heartbeat moment becomes a plugin call through the instance's [`Port`].

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use abi_stable::std_types::RSlice;
use futures_util::future::BoxFuture;
use plugin_api::{ConnId, FrameKind, GapReason, InFrame, OutFrame};

use super::ConnPool;
use crate::pipeline::message_queue::MessageQueue;
use crate::pipeline::publish::gap_event;
use crate::transport::{CloseReason, WsEvents, WsFrame, WsIn, WsOut};
use crate::venue::driver::now_ns;
use crate::venue::port::{Callback, Port};

/// What the connections of one pool report back to.
pub(super) struct PoolEvents {
    /// The declared connection name.
    pub(super) name: String,
    pub(super) port: Weak<dyn Port>,
    pub(super) pool: Weak<ConnPool>,
    /// The declared message queue the connections' frames pass through, if any.
    pub(super) queue: Option<MessageQueue>,
}

/// A plugin's outbound frame as a websocket message.
pub(super) fn out(frame: OutFrame) -> WsOut {
    match frame.kind {
        FrameKind::Text => WsOut::Text(String::from_utf8_lossy(&frame.data).into_owned()),
        FrameKind::Binary => WsOut::Binary(frame.data.to_vec()),
    }
}

impl WsEvents for PoolEvents {
    fn opened(&self, conn: ConnId, reconnected: bool) -> BoxFuture<'_, Vec<WsOut>> {
        Box::pin(async move {
            let (Some(port), Some(pool)) = (self.port.upgrade(), self.pool.upgrade()) else {
                return Vec::new();
            };
            port.tally()
                .counters
                .connects
                .fetch_add(1, Ordering::Relaxed);
            let _ = port.callback(Callback::Connected(conn, &self.name)).await;
            let topics = pool.topics_of(conn);
            if reconnected {
                let received_ns = now_ns();
                let gaps = topics
                    .iter()
                    .map(|t| gap_event(t.instrument, t.kind, GapReason::Reconnect, received_ns))
                    .collect();
                port.publish(gaps).await;
            }
            if topics.is_empty() {
                return Vec::new();
            }
            let frames = port.topic_frames(conn, &topics, true).await;
            frames.into_iter().map(out).collect()
        })
    }

    fn frames<'a>(&'a self, conn: ConnId, frames: &'a [WsFrame<'a>]) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(port) = self.port.upgrade() else {
                return false;
            };
            let passage = match &self.queue {
                Some(queue) => match queue.enter(frames.len()) {
                    Some(p) => Some(p),
                    None => return false, // the queue stopped; counted there
                },
                None => None,
            };
            let frames: Vec<(InFrame<'_>, u64)> = frames
                .iter()
                .map(|f| {
                    let (kind, data) = match f.data {
                        WsIn::Text(t) => (FrameKind::Text, t.as_bytes()),
                        WsIn::Binary(b) => (FrameKind::Binary, b),
                    };
                    let frame = InFrame {
                        kind,
                        data: RSlice::from_slice(data),
                    };
                    (frame, f.received_ns)
                })
                .collect();
            let events = port.frames(conn, &frames).await;
            drop(passage);
            events > 0
        })
    }

    fn closed(&self, conn: ConnId, why: CloseReason) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if why == CloseReason::Stopped {
                return;
            }
            let Some(port) = self.port.upgrade() else {
                return;
            };
            tracing::info!(venue = %port.name(), connection = %self.name, conn = conn.0, ?why, "connection lost");
            let counters = &port.tally().counters;
            counters.reconnects.fetch_add(1, Ordering::Relaxed);
            if why == CloseReason::NoData {
                counters.stalls.fetch_add(1, Ordering::Relaxed);
            }
            let _ = port.callback(Callback::Disconnected(conn)).await;
        })
    }

    fn connect_failed(&self, _conn: ConnId, error: &str) {
        if let Some(port) = self.port.upgrade() {
            port.tally().connect_failed(error);
        }
    }

    fn heartbeat(&self, conn: ConnId) -> BoxFuture<'_, Option<WsOut>> {
        Box::pin(async move {
            let port: Arc<dyn Port> = self.port.upgrade()?;
            port.heartbeat(conn).await.map(out)
        })
    }
}
