//! Frames per second through [`WsConnection`] (server → socket → `WsEvents::frames`) against a
//! bare tokio-tungstenite read loop over the same loopback in the same run, and the time from
//! `stop()` to every task finished. Run with
//! `cargo bench -p host --bench ws_throughput`; figures are medians of 3 runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use host::stop::Resource;
use host::transport::{CloseReason, WsConfig, WsConnection, WsEvents, WsFrame, WsIn, WsOut};
use plugin_api::ConnId;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

const FRAMES: u64 = 1_000_000;
const RUNS: usize = 3;

/// A 212-byte Gate.io `spot.book_ticker` update.
fn frame() -> String {
    let mut f = String::from(
        r#"{"time":1700000000,"time_ms":1700000000123,"channel":"spot.book_ticker","event":"update","result":{"t":1700000000120,"u":48733182,"s":"BTC_USDT","b":"37000.1","B":"0.0423","a":"37000.2","A":"1.2901"}"#,
    );
    while f.len() < 211 {
        f.insert(f.len() - 1, ' ');
    }
    f.push('}');
    f
}

/// Serves `count` frames per connection as fast as possible (0: none, stay silent), then
/// waits for the client's close.
async fn server(count: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                tcp.set_nodelay(true).unwrap();
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let (mut tx, mut rx) = ws.split();
                let reader =
                    tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
                let msg = Message::text(frame());
                for i in 0..count {
                    if tx.feed(msg.clone()).await.is_err() {
                        break;
                    }
                    if i % 64 == 63 && tx.flush().await.is_err() {
                        break;
                    }
                }
                let _ = tx.flush().await;
                let _ = reader.await;
            });
        }
    });
    url
}

async fn bare(url: &str) -> f64 {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .unwrap();
    let t = Instant::now();
    let mut n = 0u64;
    while let Some(Ok(m)) = ws.next().await {
        if matches!(m, Message::Text(_)) {
            n += 1;
            if n == FRAMES {
                break;
            }
        }
    }
    n as f64 / t.elapsed().as_secs_f64()
}

struct Counter {
    n: AtomicU64,
    target: u64,
    done: Notify,
    opened: Notify,
    started: std::sync::Mutex<Option<Instant>>,
}

impl WsEvents for Counter {
    fn opened(&self, _: ConnId, _: bool) -> BoxFuture<'_, Vec<WsOut>> {
        *self.started.lock().unwrap() = Some(Instant::now());
        self.opened.notify_one();
        Box::pin(async { Vec::new() })
    }
    fn frames<'a>(&'a self, _: ConnId, frames: &'a [WsFrame<'a>]) -> BoxFuture<'a, bool> {
        for frame in frames {
            if let WsIn::Text(t) = frame.data {
                std::hint::black_box(t);
                if self.n.fetch_add(1, Ordering::Relaxed) + 1 == self.target {
                    self.done.notify_one();
                }
            }
        }
        Box::pin(async { true })
    }
    fn closed(&self, _: ConnId, _: CloseReason) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
    fn heartbeat(&self, _: ConnId) -> BoxFuture<'_, Option<WsOut>> {
        Box::pin(async { None })
    }
}

fn counter(target: u64) -> Arc<Counter> {
    Arc::new(Counter {
        n: AtomicU64::new(0),
        target,
        done: Notify::new(),
        opened: Notify::new(),
        started: Default::default(),
    })
}

/// Frames/s through a `WsConnection`, then the stop time with the stream still running.
async fn resource(url: &str) -> (f64, Duration) {
    let events = counter(FRAMES);
    let conn = WsConnection::start(ConnId(1), WsConfig::new(url), events.clone());
    events.done.notified().await;
    let started = events.started.lock().unwrap().unwrap();
    let rate = FRAMES as f64 / started.elapsed().as_secs_f64();
    let t = Instant::now();
    conn.stop().await.unwrap();
    let stop = t.elapsed();
    assert_eq!(conn.counts().tasks, 0);
    (rate, stop)
}

/// Stop time of an idle open connection (close handshake included) vs cancelling a bare idle
/// read-loop task.
async fn idle_stop(url: &str) -> (Duration, Duration) {
    let events = counter(u64::MAX);
    let conn = WsConnection::start(ConnId(2), WsConfig::new(url), events.clone());
    events.opened.notified().await;
    let t = Instant::now();
    conn.stop().await.unwrap();
    let ours = t.elapsed();

    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let child = token.clone();
    let task = tokio::spawn(async move {
        tokio::select! { _ = child.cancelled() => {}, _ = ws.next() => {} }
    });
    tokio::task::yield_now().await;
    let t = Instant::now();
    token.cancel();
    task.await.unwrap();
    (ours, t.elapsed())
}

fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let streaming = server(FRAMES * 4).await;
        let silent = server(0).await;
        let (mut bares, mut ours, mut stops, mut idle, mut idle_bare) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..RUNS {
            bares.push(bare(&streaming).await);
            let (rate, stop) = resource(&streaming).await;
            ours.push(rate);
            stops.push(stop);
            let (i, b) = idle_stop(&silent).await;
            idle.push(i);
            idle_bare.push(b);
        }
        let (b, o) = (median(bares), median(ours));
        println!("frames ({FRAMES} x 212 B, median of {RUNS}):");
        println!("  bare tokio-tungstenite read loop : {:>10.0} frames/s", b);
        println!(
            "  WsConnection -> WsEvents::frame  : {:>10.0} frames/s  ({:.2} x bare)",
            o,
            o / b
        );
        let (s, i, ib) = (median(stops), median(idle), median(idle_bare));
        println!("stop -> all tasks finished:");
        println!(
            "  streaming at full speed          : {:>8.1} us",
            s.as_secs_f64() * 1e6
        );
        println!(
            "  idle (close handshake included)  : {:>8.1} us",
            i.as_secs_f64() * 1e6
        );
        println!(
            "  bare: cancel + join idle reader  : {:>8.1} us  (idle stop = {:.1} x bare)",
            ib.as_secs_f64() * 1e6,
            i.as_secs_f64() / ib.as_secs_f64()
        );
    });
}
