//! The websocket connection resource against real loopback servers: reconnect and resubscribe,
//! stale detection, and stops that end every task and never reconnect.
//!
//! Every test runs in paused time on the current-thread runtime: loopback I/O is polled
//! before the clock moves, and the clock jumps to the next timer only when nothing else can
//! run. Backoffs, staleness, pacing, rotation and close grace are therefore virtual and
//! exact, a test takes no real time waiting for them, and "nothing happens" is shown by
//! letting virtual time run past every timer that could make it happen.

#[path = "support/netsrv.rs"]
mod netsrv;
mod support {
    pub(crate) use super::netsrv;
}

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use host::stop::Resource;
use host::transport::{CloseReason, ReconnectPolicy, WsConfig, WsConnection, WsOut, WsPhase};
use plugin_api::ConnId;
use support::netsrv::{Ev, Recorder, Server};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Virtual bound on an event: longer than every timer of these tests, so it fires only when
/// the event can no longer come (a hang fails at once instead of blocking the test).
const EVENT: Duration = Duration::from_secs(5);

/// How long a stop waits for the server's close frame after sending its own.
const CLOSE_GRACE: Duration = Duration::from_millis(50);

/// The timer wheel rounds a deadline up to the next millisecond.
const TICK: Duration = Duration::from_millis(1);

async fn next(rx: &mut mpsc::UnboundedReceiver<Ev>) -> Ev {
    tokio::time::timeout(EVENT, rx.recv())
        .await
        .expect("event in time")
        .expect("open channel")
}

/// The next event, without a bound (for waits longer than [`EVENT`]).
async fn recv(rx: &mut mpsc::UnboundedReceiver<Ev>) -> Ev {
    rx.recv().await.expect("open channel")
}

/// Skips events until one matches.
async fn until(rx: &mut mpsc::UnboundedReceiver<Ev>, want: impl Fn(&Ev) -> bool) -> Ev {
    loop {
        let ev = next(rx).await;
        if want(&ev) {
            return ev;
        }
    }
}

fn fast_policy() -> ReconnectPolicy {
    ReconnectPolicy {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        jitter: 0.0,
        ..ReconnectPolicy::default()
    }
}

fn config(url: &str) -> WsConfig {
    WsConfig {
        reconnect: fast_policy(),
        close_grace: CLOSE_GRACE,
        ..WsConfig::new(url)
    }
}

/// Stops `conn`, asserts it left no task or connection and waited for nothing but (at most)
/// the server's close frame: no backoff, handshake or stream outlasts a stop.
async fn stop_promptly(conn: &WsConnection) {
    let t = Instant::now();
    conn.stop().await.unwrap();
    let elapsed = t.elapsed();
    let counts = conn.counts();
    assert_eq!(counts.tasks, 0, "no task after stop");
    assert_eq!(counts.connections, 0, "no connection after stop");
    assert!(
        elapsed <= CLOSE_GRACE + TICK,
        "stop took {elapsed:?} of virtual time"
    );
}

/// Proves no reconnect after stop: the accept count does not move while virtual time runs
/// past the longest backoff (200 ms) and the connect timeout would have let one happen.
async fn no_reconnect_after(server: &Server, accepts: usize) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.accepts(), accepts, "no connect attempt after stop");
}

#[tokio::test(start_paused = true)]
async fn reconnects_after_a_drop_and_resubscribes() {
    let (subs_tx, mut subs) = mpsc::unbounded_channel();
    let server = Server::start(move |n, tcp| {
        let subs = subs_tx.clone();
        async move {
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                let _ = subs.send((n, t.to_string()));
            }
            ws.send(Message::text(format!("data{n}-a"))).await.unwrap();
            ws.send(Message::text(format!("data{n}-b"))).await.unwrap();
            if n == 0 {
                drop(ws); // mid-stream: no close frame
                return;
            }
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
    let (events, mut rx) = Recorder::new(&["subscribe"]);
    let conn = WsConnection::start(ConnId(1), config(&server.url), events);

    assert_eq!(next(&mut rx).await, Ev::Opened(false));
    assert_eq!(next(&mut rx).await, Ev::Frame("data0-a".into()));
    assert_eq!(next(&mut rx).await, Ev::Frame("data0-b".into()));
    assert!(matches!(
        next(&mut rx).await,
        Ev::Closed(CloseReason::Error(_) | CloseReason::ClosedByServer)
    ));
    assert_eq!(next(&mut rx).await, Ev::Opened(true), "reconnected");
    assert_eq!(
        next(&mut rx).await,
        Ev::Frame("data1-a".into()),
        "data flows again"
    );
    assert_eq!(subs.recv().await.unwrap(), (0, "subscribe".into()));
    assert_eq!(
        subs.recv().await.unwrap(),
        (1, "subscribe".into()),
        "resubscribed"
    );

    let stats = conn.stats();
    assert_eq!((stats.connects, stats.reconnects), (2, 1));
    assert!(stats.is_connected);
    assert_eq!(conn.counts().connections, 1);
    stop_promptly(&conn).await;
    assert_eq!(
        until(&mut rx, |e| matches!(e, Ev::Closed(_))).await,
        Ev::Closed(CloseReason::Stopped)
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_is_detected_as_stale() {
    let server = Server::start(|n, tcp| async move {
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        ws.send(Message::text(format!("hello{n}"))).await.unwrap();
        while let Some(Ok(_)) = ws.next().await {} // then silence, but keep reading
    })
    .await;
    let (events, mut rx) = Recorder::new(&[]);
    let stale = Duration::from_millis(150);
    let conn = WsConnection::start(
        ConnId(2),
        WsConfig {
            stale_after: Some(stale),
            ..config(&server.url)
        },
        events,
    );
    assert_eq!(
        until(&mut rx, |e| matches!(e, Ev::Frame(_))).await,
        Ev::Frame("hello0".into())
    );
    let silent_since = Instant::now();
    assert_eq!(next(&mut rx).await, Ev::Closed(CloseReason::Stale));
    let detected = silent_since.elapsed();
    assert!(
        detected >= stale && detected <= stale + TICK,
        "at stale_after, not before: {detected:?}"
    );
    assert_eq!(next(&mut rx).await, Ev::Opened(true));
    assert_eq!(next(&mut rx).await, Ev::Frame("hello1".into()));
    stop_promptly(&conn).await;
}

#[tokio::test(start_paused = true)]
async fn a_server_that_answers_pings_but_sends_no_data_is_detected_as_stalled() {
    // The first connection sends one data frame, then answers every heartbeat with a pong
    // and nothing else: alive to `stale_after`, stalled to `data_stale_after`.
    let server = Server::start(|n, tcp| async move {
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        ws.send(Message::text(format!("data{n}"))).await.unwrap();
        while let Some(Ok(m)) = ws.next().await {
            if m.is_text() {
                ws.send(Message::text("pong")).await.unwrap();
                if n > 0 {
                    ws.send(Message::text(format!("data{n}"))).await.unwrap();
                }
            }
        }
    })
    .await;
    let (recorder, mut rx) = Recorder::new(&[]);
    let events = std::sync::Arc::new(support::netsrv::Recorder {
        tx: recorder.tx.clone(),
        subscribe: Vec::new(),
        heartbeat: Some(WsOut::Text("ping".into())),
    });
    let no_data = Duration::from_millis(400);
    let conn = WsConnection::start(
        ConnId(9),
        WsConfig {
            heartbeat: Some(Duration::from_millis(50)),
            stale_after: Some(Duration::from_millis(150)),
            data_stale_after: Some(no_data),
            ..config(&server.url)
        },
        events,
    );
    assert_eq!(
        until(&mut rx, |e| matches!(e, Ev::Frame(_))).await,
        Ev::Frame("data0".into())
    );
    let data_since = Instant::now();
    assert_eq!(conn.stats().phase, WsPhase::Open);
    // Pongs keep coming (so `stale_after` never fires), then the data threshold does.
    let closed = until(&mut rx, |e| matches!(e, Ev::Closed(_))).await;
    assert_eq!(closed, Ev::Closed(CloseReason::NoData));
    let detected = data_since.elapsed();
    assert!(
        detected >= no_data && detected <= no_data + Duration::from_millis(60),
        "at data_stale_after, not before: {detected:?}"
    );
    let stats = conn.stats();
    assert!(stats.stalled, "stalled until data flows again");
    assert_ne!(stats.phase, WsPhase::Open);
    assert_eq!(next(&mut rx).await, Ev::Opened(true), "reconnected");
    assert_eq!(
        until(&mut rx, |e| e == &Ev::Frame("data1".into())).await,
        Ev::Frame("data1".into())
    );
    assert!(!conn.stats().stalled, "data flows again");
    stop_promptly(&conn).await;
    assert_eq!(conn.stats().phase, WsPhase::Stopped);
}

#[tokio::test(start_paused = true)]
async fn a_venue_nobody_listens_for_is_reported_as_never_connected() {
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("ws://{}/", listener.local_addr().unwrap())
    }; // closed again: connects are refused
    let (events, mut rx) = Recorder::new(&[]);
    let conn = WsConnection::start(ConnId(10), config(&url), events);
    for _ in 0..3 {
        let Ev::ConnectFailed(error) = next(&mut rx).await else {
            panic!("a connect failure first");
        };
        assert!(error.contains("connect"), "{error}");
    }
    let stats = conn.stats();
    assert_eq!(stats.connects, 0);
    assert!(stats.connect_failures >= 3);
    assert!(stats.last_error.is_some_and(|e| e.contains("refused")));
    assert!(
        matches!(
            stats.phase,
            WsPhase::BackingOff | WsPhase::Connecting | WsPhase::BreakerOpen
        ),
        "{:?}",
        stats.phase
    );
    stop_promptly(&conn).await;
}

#[tokio::test(start_paused = true)]
async fn a_server_dropping_every_few_frames_sees_growing_delays_then_the_breaker() {
    // Every connection gets three data frames, then the TCP connection is dropped: data
    // arrives each time, but no connection stays up long enough to count as healthy.
    let server = Server::start(|n, tcp| async move {
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        for i in 0..3 {
            ws.send(Message::text(format!("data{n}-{i}")))
                .await
                .unwrap();
        }
        drop(ws);
    })
    .await;
    let (events, mut rx) = Recorder::new(&[]);
    let cooldown = Duration::from_secs(2);
    let policy = ReconnectPolicy {
        breaker_failures: 5,
        breaker_cooldown: cooldown,
        stable_after: Duration::from_secs(1),
        ..fast_policy()
    };
    let conn = WsConnection::start(
        ConnId(11),
        WsConfig {
            reconnect: policy,
            ..config(&server.url)
        },
        events,
    );
    let mut opened = Vec::new();
    while opened.len() < 7 {
        if let Ev::Opened(_) = next(&mut rx).await {
            opened.push(Instant::now());
        }
    }
    let delays: Vec<Duration> = opened.windows(2).map(|w| w[1] - w[0]).collect();
    // 20, 40, 80, 160, 200 ms (the cap), then the breaker's cooldown.
    for (i, pair) in delays[..4].windows(2).enumerate() {
        assert!(pair[1] > pair[0], "delay {i} grows: {delays:?}");
    }
    assert!(delays[4] >= Duration::from_millis(200), "{delays:?}");
    assert!(
        delays[5] >= cooldown,
        "the breaker holds it off: {delays:?}"
    );
    stop_promptly(&conn).await;
}

#[tokio::test(start_paused = true)]
async fn stop_during_backoff_never_reconnects() {
    // Every connection is accepted, then closed at once: the client loops through backoff.
    let server = Server::start(|_, tcp| async move {
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let _ = ws.close(None).await;
    })
    .await;
    let (events, mut rx) = Recorder::new(&[]);
    let policy = ReconnectPolicy {
        initial: Duration::from_millis(100),
        ..fast_policy()
    };
    let conn = WsConnection::start(
        ConnId(3),
        WsConfig {
            reconnect: policy,
            ..config(&server.url)
        },
        events,
    );
    assert_eq!(next(&mut rx).await, Ev::Opened(false));
    assert_eq!(next(&mut rx).await, Ev::Closed(CloseReason::ClosedByServer));
    // The task is now sleeping its 100 ms backoff; the stop does not wait it out.
    let accepts = server.accepts();
    stop_promptly(&conn).await;
    no_reconnect_after(&server, accepts).await;
}

#[tokio::test(start_paused = true)]
async fn stop_during_a_handshake_that_never_answers() {
    // Accepts TCP, never says a word.
    let server = Server::start(|_, tcp| async move {
        let _hold = tcp;
        std::future::pending::<()>().await;
    })
    .await;
    let mut server = server;
    let (events, mut rx) = Recorder::new(&[]);
    let conn = WsConnection::start(ConnId(4), config(&server.url), events);
    tokio::time::timeout(EVENT, server.accepted.recv())
        .await
        .unwrap();
    stop_promptly(&conn).await;
    no_reconnect_after(&server, 1).await;
    assert_eq!(
        next(&mut rx).await,
        Ev::Closed(CloseReason::Stopped),
        "opened was never called"
    );
    assert_eq!(conn.stats().connects, 0);
}

#[tokio::test(start_paused = true)]
async fn stop_during_a_full_speed_stream() {
    let server = Server::start(|_, tcp| async move {
        let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let (mut tx, mut rx) = ws.split();
        let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
        let frame = Message::text("x".repeat(200));
        for _ in 0..5_000_000 {
            if tx.send(frame.clone()).await.is_err() {
                break;
            }
        }
        reader.abort();
    })
    .await;
    let (events, mut rx) = Recorder::new(&[]);
    let conn = WsConnection::start(ConnId(5), config(&server.url), events);
    // Wait until frames flow.
    for _ in 0..1000 {
        until(&mut rx, |e| matches!(e, Ev::Frame(_))).await;
    }
    assert!(conn.stats().frames_in >= 1000);
    stop_promptly(&conn).await;
    no_reconnect_after(&server, 1).await;
}

#[tokio::test(start_paused = true)]
async fn sends_paced_frames_heartbeats_and_refuses_after_stop() {
    let (got_tx, mut got) = mpsc::unbounded_channel();
    let server = Server::start(move |_, tcp| {
        let got = got_tx.clone();
        async move {
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    let _ = got.send((Instant::now(), t.to_string()));
                }
            }
        }
    })
    .await;
    let (events, mut rx) = Recorder::new(&["sub"]);
    let events = std::sync::Arc::new(support::netsrv::Recorder {
        tx: events.tx.clone(),
        subscribe: events.subscribe.clone(),
        heartbeat: Some(WsOut::Text("hb".into())),
    });
    let conn = WsConnection::start(
        ConnId(6),
        WsConfig {
            max_outbound_per_sec: Some(20), // one per 50 ms
            heartbeat: Some(Duration::from_millis(400)),
            protocol_ping: Some(Duration::from_millis(100)),
            ..config(&server.url)
        },
        events,
    );
    assert_eq!(next(&mut rx).await, Ev::Opened(false));
    let sender = conn.sender();
    for i in 0..3 {
        sender.send(WsOut::Text(format!("m{i}"))).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.push(
            tokio::time::timeout(EVENT, got.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let texts: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["sub", "m0", "m1", "m2", "hb"]);
    for pair in seen[..4].windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= Duration::from_millis(50), "paced: {gap:?}");
    }
    stop_promptly(&conn).await;
    assert!(sender.send(WsOut::Text("late".into())).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn rotates_before_max_lifetime_and_answers_server_pings() {
    let (pong_tx, mut pongs) = mpsc::unbounded_channel();
    let server = Server::start(move |n, tcp| {
        let pongs = pong_tx.clone();
        async move {
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            ws.send(Message::Ping(b"p".to_vec().into())).await.unwrap();
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Pong(p) = m {
                    let _ = pongs.send((n, p.to_vec()));
                }
            }
        }
    })
    .await;
    let (events, mut rx) = Recorder::new(&["sub"]);
    let max_lifetime = Duration::from_millis(200);
    let conn = WsConnection::start(
        ConnId(7),
        WsConfig {
            max_lifetime: Some(max_lifetime),
            ..config(&server.url)
        },
        events,
    );
    assert_eq!(next(&mut rx).await, Ev::Opened(false));
    let opened = Instant::now();
    let pong = tokio::time::timeout(EVENT, pongs.recv()).await.unwrap();
    assert_eq!(pong, Some((0, b"p".to_vec())), "server ping answered");
    assert_eq!(next(&mut rx).await, Ev::Closed(CloseReason::Rotation));
    let lived = opened.elapsed();
    assert!(lived <= max_lifetime + TICK, "rotated after {lived:?}");
    assert_eq!(
        next(&mut rx).await,
        Ev::Opened(true),
        "replaced at once, no backoff"
    );
    let replaced = opened.elapsed() - lived;
    assert!(
        replaced < fast_policy().initial,
        "replaced after {replaced:?}, no backoff"
    );
    let pong = tokio::time::timeout(EVENT, pongs.recv()).await.unwrap();
    assert_eq!(pong, Some((1, b"p".to_vec())));
    stop_promptly(&conn).await;
}

/// Stale detection after a long silence: the runtime auto-advances the 30 s as soon as it is
/// idle (loopback I/O is polled before the clock moves).
#[tokio::test(start_paused = true)]
async fn stale_after_thirty_virtual_seconds() {
    let server = Server::start(|n, tcp| async move {
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        ws.send(Message::text(format!("hello{n}"))).await.unwrap();
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    let (events, mut rx) = Recorder::new(&[]);
    let stale = Duration::from_secs(30);
    let conn = WsConnection::start(
        ConnId(8),
        WsConfig {
            stale_after: Some(stale),
            connect_timeout: Duration::from_secs(3600),
            ..config(&server.url)
        },
        events,
    );
    assert_eq!(recv(&mut rx).await, Ev::Opened(false));
    assert_eq!(recv(&mut rx).await, Ev::Frame("hello0".into()));
    let silent_since = tokio::time::Instant::now();
    assert_eq!(recv(&mut rx).await, Ev::Closed(CloseReason::Stale));
    let detected = silent_since.elapsed();
    assert!(
        detected >= stale && detected < stale + Duration::from_millis(10),
        "{detected:?}"
    );
    assert_eq!(recv(&mut rx).await, Ev::Opened(true));
    assert_eq!(recv(&mut rx).await, Ev::Frame("hello1".into()));
    conn.stop().await.unwrap();
    assert_eq!(conn.counts().tasks, 0);
}

/// Any frame resets `stale_after`, protocol pings included (each answered with a pong): a
/// server that only pings is alive to it, and one that stops pinging is stale
/// `stale_after` after its last ping.
#[tokio::test(start_paused = true)]
async fn server_pings_are_answered_and_keep_stale_after_from_firing() {
    let pinging = Duration::from_millis(500);
    let (pong_tx, mut pongs) = mpsc::unbounded_channel();
    let server = Server::start(move |n, tcp| {
        let pongs = pong_tx.clone();
        async move {
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            if n > 0 {
                while let Some(Ok(_)) = ws.next().await {}
                return;
            }
            let until = Instant::now() + pinging;
            while Instant::now() < until {
                ws.send(Message::Ping(b"p".to_vec().into())).await.unwrap();
                match tokio::time::timeout(Duration::from_millis(50), ws.next()).await {
                    Ok(Some(Ok(Message::Pong(_)))) => {
                        let _ = pongs.send(());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Ok(Some(Ok(_))) => {}
                    other => panic!("no pong: {other:?}"),
                }
            }
            // Silent from here on, the socket left open.
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
    let (events, mut rx) = Recorder::new(&[]);
    let stale = Duration::from_millis(150);
    let conn = WsConnection::start(
        ConnId(9),
        WsConfig {
            stale_after: Some(stale),
            ..config(&server.url)
        },
        events,
    );
    assert_eq!(next(&mut rx).await, Ev::Opened(false));
    let opened = Instant::now();
    assert_eq!(next(&mut rx).await, Ev::Closed(CloseReason::Stale));
    let lived = opened.elapsed();
    assert!(
        lived >= pinging + stale - Duration::from_millis(100),
        "pings kept it alive: stale after {lived:?}"
    );
    let mut answered = 0;
    while pongs.try_recv().is_ok() {
        answered += 1;
    }
    assert!(answered >= 4, "every ping answered: {answered}");
    stop_promptly(&conn).await;
}

/// A heartbeat due while frames are queued waits its turn like they do: every frame the
/// client sends counts against `max_outbound_per_sec`.
#[tokio::test(start_paused = true)]
async fn heartbeats_are_paced_with_the_other_frames() {
    let (got_tx, mut got) = mpsc::unbounded_channel();
    let server = Server::start(move |_, tcp| {
        let got = got_tx.clone();
        async move {
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    let _ = got.send((Instant::now(), t.to_string()));
                }
            }
        }
    })
    .await;
    let (events, mut rx) = Recorder::new(&["sub"]);
    let events = std::sync::Arc::new(support::netsrv::Recorder {
        tx: events.tx.clone(),
        subscribe: events.subscribe.clone(),
        heartbeat: Some(WsOut::Text("hb".into())),
    });
    let conn = WsConnection::start(
        ConnId(10),
        WsConfig {
            max_outbound_per_sec: Some(20), // one per 50 ms
            heartbeat: Some(Duration::from_millis(100)),
            ..config(&server.url)
        },
        events,
    );
    assert_eq!(next(&mut rx).await, Ev::Opened(false));
    let sender = conn.sender();
    for i in 0..4 {
        sender.send(WsOut::Text(format!("m{i}"))).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 6 {
        let frame = tokio::time::timeout(EVENT, got.recv()).await.unwrap();
        seen.push(frame.unwrap());
    }
    assert!(seen.iter().any(|(_, t)| t == "hb"), "{seen:?}");
    for pair in seen.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= Duration::from_millis(50), "paced: {seen:?}");
    }
    stop_promptly(&conn).await;
}
