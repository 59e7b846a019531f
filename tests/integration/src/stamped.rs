//! Paced book-ticker feeds whose frames carry the instant they were sent, for latency
//! benchmarks, and the bare read + parse baseline they are compared against.
//!
//! [`stamping_server`] serves one venue's websocket protocol well enough for its plugin: it
//! accepts a connection, ignores what the client sends, and writes a `BTC/USDT` book ticker
//! per pace whose update id is the wall-clock time in ns (`CLOCK_REALTIME`, [`now_ns`])
//! taken just before the frame is written. The plugin passes the update id on as
//! `BookTicker::update_id`, so `now_ns() - update_id` at any later point of the same
//! process is the latency from the frame leaving the server.

use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use plugin_api::{BookTicker, Instrument, Num, Stamp};
use prost::Message as _;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::{self, Message};
use venue_sim::mexc::proto::{
    push_data_v3_api_wrapper::Body, PublicAggreBookTickerV3Api, PushDataV3ApiWrapper,
};

/// Wall-clock nanoseconds since the Unix epoch: the clock of the stamps, and the one the
/// host stamps `Stamp::received_ns` with.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The venue protocol a [`stamping_server`] speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// Gate.io spot v4: `spot.book_ticker` JSON text frames, the stamp in `u`.
    Gate,
    /// MEXC spot v3: protobuf `PushDataV3ApiWrapper` binary frames with a
    /// `publicAggreBookTicker` body, the stamp in `version`.
    Mexc,
}

impl Feed {
    /// The server's websocket path, as the venue's plugin expects it.
    fn path(self) -> &'static str {
        match self {
            Feed::Gate => "/ws/v4/",
            Feed::Mexc => "/ws",
        }
    }
}

/// Digits of a stamp: ns since the epoch have 19 until the year 2286.
const STAMP_DIGITS: usize = 19;
/// Paces shorter than this are kept by spinning (`yield_now`), longer ones by sleeping
/// (with the thread's timer slack at 1 ns, a sleep ends within a few µs of its deadline), so
/// a server paced at a realistic rate leaves the CPU to the client it feeds.
const SPIN_BELOW: Duration = Duration::from_micros(30);

/// One frame with room for a stamp: the bytes, and where the stamp's digits go.
struct Template {
    bytes: Vec<u8>,
    at: usize,
}

impl Template {
    fn new(feed: Feed) -> Template {
        let placeholder = "9".repeat(STAMP_DIGITS);
        let ms = now_ns() / 1_000_000;
        let bytes = match feed {
            Feed::Gate => format!(
                r#"{{"time":{},"time_ms":{ms},"channel":"spot.book_ticker","event":"update","result":{{"t":{ms},"u":{placeholder},"s":"BTC_USDT","b":"37000.1","B":"0.0423","a":"37000.2","A":"1.2901"}}}}"#,
                ms / 1000
            )
            .into_bytes(),
            Feed::Mexc => PushDataV3ApiWrapper {
                channel: "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT".into(),
                symbol: Some("BTCUSDT".into()),
                symbol_id: None,
                create_time: None,
                send_time: Some(ms as i64),
                body: Some(Body::PublicAggreBookTicker(PublicAggreBookTickerV3Api {
                    bid_price: "37000.10".into(),
                    bid_quantity: "0.0423".into(),
                    ask_price: "37000.30".into(),
                    ask_quantity: "1.2901".into(),
                    version: placeholder.clone(),
                    last_order_create_time: 0,
                })),
            }
            .encode_to_vec(),
        };
        let at = bytes
            .windows(STAMP_DIGITS)
            .position(|w| w == placeholder.as_bytes())
            .expect("the placeholder is in the frame");
        Template { bytes, at }
    }

    /// The frame stamped with `ns`.
    fn stamped(&self, feed: Feed, ns: u64) -> Message {
        let mut bytes = self.bytes.clone();
        let mut n = ns;
        for digit in bytes[self.at..self.at + STAMP_DIGITS].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
        match feed {
            Feed::Gate => Message::text(String::from_utf8(bytes).expect("ASCII")),
            Feed::Mexc => Message::binary(bytes),
        }
    }
}

/// Starts a blocking websocket server of `feed` on a loopback port, on a thread of its own,
/// and returns its URL. It serves one connection at a time: with `pace`, it writes a
/// stamped book ticker every `pace` until the client goes away (a write fails), ignoring
/// whatever the client sends; without, it sends nothing and answers until the client
/// closes (an idle connection). Short paces are kept by spinning, long ones by sleeping.
pub fn stamping_server(feed: Feed, pace: Option<Duration>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let url = format!(
        "ws://{}{}",
        listener.local_addr().expect("a bound address"),
        feed.path()
    );
    std::thread::Builder::new()
        .name("stamp-server".into())
        .spawn(move || {
            // SAFETY: prctl(PR_SET_TIMERSLACK) only changes this thread's timer slack
            // (default 50 µs), which makes its sleeps end that much closer to the deadline.
            unsafe {
                libc::prctl(libc::PR_SET_TIMERSLACK, 1);
            }
            let template = Template::new(feed);
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let _ = tcp.set_nodelay(true);
                let Ok(mut ws) = tungstenite::accept(tcp) else {
                    continue;
                };
                match pace {
                    Some(pace) => stream(&mut ws, &template, feed, pace),
                    None => idle(&mut ws),
                }
            }
        })
        .expect("spawning the server thread");
    url
}

/// Writes a stamped frame every `pace` until a write fails.
fn stream<S: std::io::Read + std::io::Write>(
    ws: &mut tungstenite::WebSocket<S>,
    template: &Template,
    feed: Feed,
    pace: Duration,
) {
    let mut next = Instant::now() + Duration::from_millis(20);
    loop {
        let now = Instant::now();
        if now < next {
            if pace < SPIN_BELOW {
                while Instant::now() < next {
                    std::thread::yield_now();
                }
            } else {
                std::thread::sleep(next - now);
            }
        }
        next += pace;
        let frame = template.stamped(feed, now_ns());
        if ws.send(frame).is_err() {
            return;
        }
    }
}

/// Answers pings and the close until the client is gone.
fn idle<S: std::io::Read + std::io::Write>(ws: &mut tungstenite::WebSocket<S>) {
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The bare client: what a hand-written client does with the same frames

/// A client websocket.
type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A hand-written client of a Gate.io and (optionally) a MEXC [`stamping_server`]: what
/// the latency benchmarks' bare baseline reads with.
pub struct BareFeed {
    gate: Ws,
    mexc: Option<Ws>,
    /// The one MEXC market it reads.
    btc: Instrument,
}

impl BareFeed {
    /// Connects to the servers at `gate` and `mexc` and subscribes as each venue expects.
    pub async fn connect(gate: &str, mexc: Option<&str>) -> BareFeed {
        let connect = |url: String| async move {
            let (ws, _) = tokio_tungstenite::connect_async(url)
                .await
                .expect("connecting");
            ws
        };
        let mut gate = connect(gate.to_owned()).await;
        let subscribe =
            r#"{"time":0,"channel":"spot.book_ticker","event":"subscribe","payload":["BTC_USDT"]}"#;
        gate.send(Message::text(subscribe)).await.unwrap();
        let mexc = match mexc {
            Some(url) => {
                let mut ws = connect(url.to_owned()).await;
                let subscribe = r#"{"method":"SUBSCRIPTION","params":["spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"]}"#;
                ws.send(Message::text(subscribe)).await.unwrap();
                Some(ws)
            }
            None => None,
        };
        BareFeed {
            gate,
            mexc,
            btc: Instrument::new("BTC/USDT", "BTCUSDT").expect("an instrument"),
        }
    }

    /// The next book ticker of either venue, read and parsed: (0 for Gate.io or 1 for MEXC,
    /// the ticker), received at the time it was read. Cancel-safe. Panics if a connection
    /// ends.
    pub async fn next(&mut self) -> (usize, BookTicker) {
        loop {
            tokio::select! {
                m = self.gate.next() => match m {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(t) = gate_book_ticker(&text, now_ns()) {
                            return (0, t);
                        }
                    }
                    Some(Ok(_)) => {}
                    other => panic!("the gate connection ended: {other:?}"),
                },
                m = async {
                    match &mut self.mexc {
                        Some(ws) => ws.next().await,
                        None => std::future::pending().await,
                    }
                } => match m {
                    Some(Ok(Message::Binary(data))) => {
                        if let Some(t) = mexc_book_ticker(&data, self.btc, now_ns()) {
                            return (1, t);
                        }
                    }
                    Some(Ok(_)) => {}
                    other => panic!("the mexc connection ended: {other:?}"),
                },
            }
        }
    }

    /// Closes both connections.
    pub async fn close(mut self) {
        let _ = self.gate.close(None).await;
        if let Some(mut ws) = self.mexc {
            let _ = ws.close(None).await;
        }
    }
}

/// A Gate.io `spot.book_ticker` update as a hand-written client reads it: serde_json into
/// borrowed strings, nothing else classified.
#[derive(Deserialize)]
pub struct GateUpdate<'a> {
    /// `spot.book_ticker`.
    #[serde(borrow)]
    pub channel: &'a str,
    /// The ticker.
    #[serde(borrow)]
    pub result: GateTicker<'a>,
}

/// The `result` of a Gate.io `spot.book_ticker` update.
#[derive(Deserialize)]
pub struct GateTicker<'a> {
    /// Update id (the stamp, from a [`stamping_server`]).
    pub u: u64,
    /// Currency pair, `BTC_USDT`.
    #[serde(borrow)]
    pub s: &'a str,
    /// Best bid price.
    pub b: &'a str,
    /// Best bid size.
    #[serde(rename = "B")]
    pub bq: &'a str,
    /// Best ask price.
    pub a: &'a str,
    /// Best ask size.
    #[serde(rename = "A")]
    pub aq: &'a str,
}

/// Parses a Gate.io book-ticker frame (`None` for other frames, such as an ack).
pub fn gate_update(text: &str) -> Option<GateUpdate<'_>> {
    serde_json::from_str(text).ok()
}

/// A Gate.io book-ticker frame parsed into the event a plugin would make of it, received
/// at `received_ns`: borrowed serde_json, the four decimals with `Num::parse`, the pair
/// spelled the normalized way. `None` for other frames.
pub fn gate_book_ticker(text: &str, received_ns: u64) -> Option<BookTicker> {
    let update = gate_update(text)?;
    let t = update.result;
    let (base, quote) = t.s.split_once('_')?;
    let mut normalized = [0u8; plugin_api::SYMBOL_CAPACITY];
    let len = base.len() + 1 + quote.len();
    let out = normalized.get_mut(..len)?;
    out[..base.len()].copy_from_slice(base.as_bytes());
    out[base.len()] = b'/';
    out[base.len() + 1..].copy_from_slice(quote.as_bytes());
    let normalized = std::str::from_utf8(out).ok()?;
    Some(BookTicker {
        instrument: Instrument::new(normalized, t.s)?,
        bid_price: Num::parse(t.b).ok()?,
        bid_qty: Num::parse(t.bq).ok()?,
        ask_price: Num::parse(t.a).ok()?,
        ask_qty: Num::parse(t.aq).ok()?,
        update_id: t.u,
        stamp: Stamp {
            venue_ts_ms: 0,
            received_ns,
        },
    })
}

/// A MEXC aggregated book-ticker push decoded into the event a plugin would make of it,
/// received at `received_ns`: prost into the schema's structs, the four decimals with
/// `Num::parse`, the version as the update id; `instrument` is the one market this client
/// reads. `None` for other frames.
pub fn mexc_book_ticker(
    data: &[u8],
    instrument: Instrument,
    received_ns: u64,
) -> Option<BookTicker> {
    let push = PushDataV3ApiWrapper::decode(data).ok()?;
    let Some(Body::PublicAggreBookTicker(t)) = push.body else {
        return None;
    };
    Some(BookTicker {
        instrument,
        bid_price: Num::parse(&t.bid_price).ok()?,
        bid_qty: Num::parse(&t.bid_quantity).ok()?,
        ask_price: Num::parse(&t.ask_price).ok()?,
        ask_qty: Num::parse(&t.ask_quantity).ok()?,
        update_id: t.version.parse().ok()?,
        stamp: Stamp {
            venue_ts_ms: push.send_time.unwrap_or(0).max(0) as u64,
            received_ns,
        },
    })
}
