//! Loopback test servers and a recording [`WsEvents`] for the `net_*` tests and the bench.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use host::transport::{CloseReason, WsEvents, WsFrame, WsIn, WsOut};
use plugin_api::ConnId;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the client side saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    Opened(bool),
    Frame(String),
    Closed(CloseReason),
    Heartbeat,
    ConnectFailed(String),
}

/// Records every callback on a channel; `opened` answers with `subscribe`. A text frame
/// starting with `pong` carries no data (like a venue's application pong); every other
/// frame does.
pub struct Recorder {
    pub tx: mpsc::UnboundedSender<Ev>,
    pub subscribe: Vec<WsOut>,
    pub heartbeat: Option<WsOut>,
}

impl Recorder {
    pub fn new(subscribe: &[&str]) -> (Arc<Recorder>, mpsc::UnboundedReceiver<Ev>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let subscribe = subscribe
            .iter()
            .map(|s| WsOut::Text((*s).to_owned()))
            .collect();
        (
            Arc::new(Recorder {
                tx,
                subscribe,
                heartbeat: None,
            }),
            rx,
        )
    }
}

impl WsEvents for Recorder {
    fn opened(&self, _conn: ConnId, reconnected: bool) -> BoxFuture<'_, Vec<WsOut>> {
        let _ = self.tx.send(Ev::Opened(reconnected));
        Box::pin(async move { self.subscribe.clone() })
    }
    fn frames<'a>(&'a self, _conn: ConnId, frames: &'a [WsFrame<'a>]) -> BoxFuture<'a, bool> {
        let mut data = false;
        for frame in frames {
            let text = match frame.data {
                WsIn::Text(t) => t.to_owned(),
                WsIn::Binary(b) => format!("{b:?}"),
            };
            data |= !text.starts_with("pong");
            let _ = self.tx.send(Ev::Frame(text));
        }
        Box::pin(async move { data })
    }
    fn connect_failed(&self, _conn: ConnId, error: &str) {
        let _ = self.tx.send(Ev::ConnectFailed(error.to_owned()));
    }
    fn closed(&self, _conn: ConnId, why: CloseReason) -> BoxFuture<'_, ()> {
        let _ = self.tx.send(Ev::Closed(why));
        Box::pin(async {})
    }
    fn heartbeat(&self, _conn: ConnId) -> BoxFuture<'_, Option<WsOut>> {
        let _ = self.tx.send(Ev::Heartbeat);
        Box::pin(async move { self.heartbeat.clone() })
    }
}

/// A TCP server on 127.0.0.1:0 that counts accepts, reports each on a channel and hands the
/// stream to `serve(index, stream)` in its own task.
pub struct Server {
    pub url: String,
    pub accepts: Arc<AtomicUsize>,
    pub accepted: mpsc::UnboundedReceiver<usize>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start<F, Fut>(serve: F) -> Server
    where
        F: Fn(usize, TcpStream) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let accepts = Arc::new(AtomicUsize::new(0));
        let (tx, accepted) = mpsc::unbounded_channel();
        let count = accepts.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(n);
                tokio::spawn(serve(n, stream));
            }
        });
        Server {
            url,
            accepts,
            accepted,
            task,
        }
    }

    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
