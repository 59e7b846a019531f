//! What the host does for a venue plugin's websocket connections and declarations, as
//! `docs/WRITING_A_PLUGIN.md` states it, shown with a probe venue linked in as a built-in
//! plugin (the same guarded adapter a plugin file exports) against a loopback websocket
//! server:
//! - the topics of one connection reach `subscribe` together, in one call; a topic added
//!   later comes alone, and one nobody wants any more goes to `unsubscribe`;
//! - after a drop (the server's, or one the plugin asks for with `Action::Reconnect`) the
//!   plugin sees `on_disconnected`, the connection keeps its `ConnId`, the same topics are
//!   subscribed again in one call, and consumers get a `Reconnect` gap;
//! - `max_subscriptions` spreads topics over several connections, each with its own id, and
//!   a connection left without topics is closed (its last unsubscribe frames may not go out);
//! - configured `endpoints` land at the top level of the settings, the secrets file's table
//!   under `credentials`; rejects are counted by reason in `ctl status` and the metrics, a
//!   failed call and an action naming nothing declared are counted and change nothing else;
//! - a declaration the host cannot stop in order is refused, naming the instance, the
//!   plugin and the resource; a plugin that declares no stream or handler binding gets
//!   `streams` and `handlers`.
//!
//! The probe writes what it was called with into the frames it returns, so the server sees
//! it. Every wait is for an event, bounded by `PATIENCE` against hangs.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use host::plugin::Builtin;
use host::transport::ReconnectPolicy;
use host::{Host, HostOptions, StreamItem, Subscription};
use plugin_api::{
    Action, BookTicker, ConnId, ConnectionDecl, ErrorKind, Event, GapReason, InFrame, Instrument,
    Num, OpenMode, OutFrame, Output, PluginError, Reject, ResourceDecl, ResourceKind, Stamp,
    StreamKind, Topic, Venue, VenueConfig, VenueDescriptor,
};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Bound on every wait: only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    ws_url: String,
    #[serde(default)]
    max_subscriptions: u32,
    /// A declaration mistake to make: `unlisted` (the connection is missing from
    /// `resources`), `unknown` (`resources` names a connection never declared), `dangling`
    /// (a dependency on no resource) or `cycle` (the connection and a queue depend on each
    /// other).
    mistake: Option<String>,
    /// Where the host puts the secrets file's table for this venue.
    credentials: Option<Credentials>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    api_key: String,
    #[allow(dead_code)]
    api_secret: String,
}

/// The probe venue: reports its calls in the frames it asks the host to send.
struct Probe {
    settings: Settings,
    /// `subscribe` and `unsubscribe` calls so far.
    calls: u32,
    /// `on_connected` calls per connection.
    connects: HashMap<ConnId, u32>,
    /// `on_disconnected` calls per connection.
    disconnects: HashMap<ConnId, u32>,
}

fn create(config: &VenueConfig) -> Result<Probe, PluginError> {
    let settings = serde_json::from_str(config.settings_json.as_str())
        .map_err(|e| PluginError::config(e.to_string()))?;
    Ok(Probe {
        settings,
        calls: 0,
        connects: HashMap::new(),
        disconnects: HashMap::new(),
    })
}

impl Probe {
    /// `VERB call=N conn=ID disconnects=D connects=C kind:SYMBOL,...` for one call, then `key=KEY` if
    /// the settings carry credentials.
    fn report(&mut self, verb: &str, conn: ConnId, topics: &[Topic]) -> Vec<OutFrame> {
        self.calls += 1;
        let topics: Vec<String> = topics
            .iter()
            .map(|t| format!("{}:{}", t.kind.name(), t.instrument.symbol.as_str()))
            .collect();
        let disconnects = self.disconnects.get(&conn).copied().unwrap_or(0);
        let connects = self.connects.get(&conn).copied().unwrap_or(0);
        let key = match &self.settings.credentials {
            Some(c) => format!(" key={}", c.api_key),
            None => String::new(),
        };
        vec![OutFrame::text(format!(
            "{verb} call={} conn={} disconnects={disconnects} connects={connects} {}{key}",
            self.calls,
            conn.0,
            topics.join(",")
        ))]
    }
}

impl Venue for Probe {
    fn describe(&self) -> VenueDescriptor {
        let mut resources = vec![ResourceDecl::new("ws", ResourceKind::Connection)];
        match self.settings.mistake.as_deref() {
            Some("unlisted") => resources.clear(),
            Some("unknown") => resources.push(ResourceDecl::new("wss", ResourceKind::Connection)),
            Some("dangling") => resources[0] = resources[0].clone().depends_on("nowhere"),
            Some("cycle") => {
                resources[0] = resources[0].clone().depends_on("q");
                resources.push(ResourceDecl::new("q", ResourceKind::MessageQueue).depends_on("ws"));
            }
            _ => {}
        }
        VenueDescriptor {
            venue: "probe".into(),
            version: "1.0.0".into(),
            streams: vec![StreamKind::BookTicker, StreamKind::Trades].into(),
            trading: false,
            connections: vec![ConnectionDecl {
                name: "ws".into(),
                url: self.settings.ws_url.as_str().into(),
                open: OpenMode::OnDemand,
                kinds: vec![StreamKind::BookTicker, StreamKind::Trades].into(),
                max_subscriptions: self.settings.max_subscriptions,
                max_lifetime_ms: 0,
                max_outbound_per_sec: 0,
                heartbeat_ms: 0,
                stale_after_ms: 0,
            }]
            .into(),
            rest: None.into(),
            rate_limits: Vec::new().into(),
            timers: Vec::new().into(),
            resources: resources.into(),
        }
    }

    fn resolve(&self, symbol: &str) -> Option<Instrument> {
        let (base, quote) = symbol.split_once('/')?;
        Instrument::new(symbol, &format!("{base}{quote}"))
    }

    fn subscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        _now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        Ok(self.report("sub", conn, topics))
    }

    fn unsubscribe(
        &mut self,
        conn: ConnId,
        topics: &[Topic],
        _now_ms: u64,
    ) -> Result<Vec<OutFrame>, PluginError> {
        Ok(self.report("unsub", conn, topics))
    }

    fn on_connected(&mut self, conn: ConnId, name: &str) -> Result<Output, PluginError> {
        assert_eq!(name, "ws", "the declared name");
        *self.connects.entry(conn).or_default() += 1;
        Ok(Output::default())
    }

    fn on_disconnected(&mut self, conn: ConnId) -> Result<Output, PluginError> {
        *self.disconnects.entry(conn).or_default() += 1;
        Ok(Output::default())
    }

    /// `reconnect` asks for a fresh connection; `fail` is an error; `bogus` arms a timer
    /// never declared; `tick SYMBOL` is a book ticker; anything else a reject.
    fn on_frame(
        &mut self,
        conn: ConnId,
        frame: InFrame<'_>,
        received_ns: u64,
    ) -> Result<Output, PluginError> {
        let text = std::str::from_utf8(frame.data.as_slice()).unwrap_or("");
        let mut out = Output::default();
        if text == "fail" {
            return Err(PluginError::new(ErrorKind::Protocol, "cannot read `fail`"));
        }
        if text == "reconnect" {
            out.actions.push(Action::Reconnect(conn));
        } else if text == "bogus" {
            out.actions.push(Action::ArmTimer("never-declared".into()));
        } else if let Some(instrument) = text.strip_prefix("tick ").and_then(|s| self.resolve(s)) {
            out.events.push(Event::BookTicker(BookTicker {
                instrument,
                bid_price: Num::ZERO,
                bid_qty: Num::ZERO,
                ask_price: Num::ZERO,
                ask_qty: Num::ZERO,
                update_id: 1,
                stamp: Stamp {
                    venue_ts_ms: 0,
                    received_ns,
                },
            }));
        } else {
            out.rejects.push(Reject {
                reason: "unknown".into(),
                detail: text.into(),
            });
        }
        Ok(out)
    }
}

/// One accepted websocket connection, as the test drives it.
struct Peer {
    /// Text frames the host sent, in order.
    texts: mpsc::UnboundedReceiver<String>,
    /// `Some(text)` sends a frame; `None` drops the connection without a close frame.
    send: mpsc::UnboundedSender<Option<String>>,
}

impl Peer {
    async fn text(&mut self) -> String {
        tokio::time::timeout(PATIENCE, self.texts.recv())
            .await
            .expect("a frame in time")
            .expect("the connection is open")
    }

    fn send(&self, text: &str) {
        self.send.send(Some(text.to_owned())).unwrap();
    }

    fn drop_connection(&self) {
        self.send.send(None).unwrap();
    }

    /// Resolves when the host closed the connection.
    async fn closed(&mut self) {
        let end = tokio::time::timeout(PATIENCE, async {
            while self.texts.recv().await.is_some() {}
        });
        end.await.expect("the host closes the connection");
    }
}

/// A loopback websocket server handing each accepted connection to the test.
async fn server() -> (String, mpsc::UnboundedReceiver<Peer>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (peers_tx, peers) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (texts_tx, texts) = mpsc::unbounded_channel();
            let (send, mut commands) = mpsc::unbounded_channel();
            if peers_tx.send(Peer { texts, send }).is_err() {
                return;
            }
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                loop {
                    tokio::select! {
                        m = ws.next() => match m {
                            Some(Ok(Message::Text(t))) => { let _ = texts_tx.send(t.to_string()); }
                            Some(Ok(_)) => {}
                            _ => return,
                        },
                        c = commands.recv() => match c {
                            Some(Some(t)) => { if ws.send(Message::text(t)).await.is_err() { return } }
                            _ => return,
                        },
                    }
                }
            });
        }
    });
    (url, peers)
}

async fn next_peer(peers: &mut mpsc::UnboundedReceiver<Peer>) -> Peer {
    tokio::time::timeout(PATIENCE, peers.recv())
        .await
        .expect("a connection in time")
        .expect("the server runs")
}

/// A `sub`/`unsub` frame of the probe, read back.
#[derive(Debug, PartialEq)]
struct Call {
    verb: String,
    conn: u64,
    disconnects: u32,
    /// `on_connected` calls for this connection before this call.
    connects: u32,
    topics: BTreeSet<String>,
}

fn call(frame: &str) -> Call {
    let parts: Vec<&str> = frame.split(' ').collect();
    let field = |i: usize, name: &str| {
        parts[i]
            .strip_prefix(name)
            .unwrap_or_else(|| panic!("{frame}"))
            .parse::<u64>()
            .unwrap()
    };
    Call {
        verb: parts[0].to_owned(),
        conn: field(2, "conn="),
        disconnects: field(3, "disconnects=") as u32,
        connects: field(4, "connects=") as u32,
        topics: parts[5].split(',').map(str::to_owned).collect(),
    }
}

fn topics(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|t| (*t).to_owned()).collect()
}

async fn host() -> Host {
    let host = Host::new(HostOptions {
        reconnect: ReconnectPolicy {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            jitter: 0.0,
            ..ReconnectPolicy::default()
        },
        ..HostOptions::default()
    })
    .unwrap();
    host.add_builtin(Builtin::new("probe", "1.0.0", create))
        .await
        .unwrap();
    host
}

/// The next item of `sub` that is not a book ticker.
async fn gap(sub: &mut Subscription) -> plugin_api::Gap {
    loop {
        let item = tokio::time::timeout(PATIENCE, sub.recv())
            .await
            .expect("an item in time")
            .expect("the stream is open");
        match item {
            StreamItem::Event(Event::Gap(g)) => return g,
            StreamItem::Event(Event::BookTicker(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_come_in_one_call_and_a_reconnect_keeps_the_conn_id_resubscribes_and_gaps() {
    let (url, mut peers) = server().await;
    let host = host().await;
    // Two consumers before the venue starts: their topics share the first connection.
    let mut btc = host
        .subscribe("p", "BTC/USDT", StreamKind::BookTicker)
        .unwrap();
    let mut eth = host.subscribe("p", "ETH/USDT", StreamKind::Trades).unwrap();
    let settings = serde_json::json!({ "ws_url": url }).to_string();
    host.start_venue("p", "probe", &settings).await.unwrap();

    let mut peer = next_peer(&mut peers).await;
    let first = call(&peer.text().await);
    let both = topics(&["book_ticker:BTC/USDT", "trades:ETH/USDT"]);
    assert_eq!(
        (
            first.verb.as_str(),
            first.disconnects,
            first.connects,
            &first.topics
        ),
        ("sub", 0, 1, &both),
        "on_connected, then both topics in the first and only subscribe call"
    );
    let conn = first.conn;
    peer.send("tick BTC/USDT");
    match tokio::time::timeout(PATIENCE, btc.recv()).await.unwrap() {
        Some(StreamItem::Event(Event::BookTicker(t))) => {
            assert_eq!(t.instrument.symbol.as_str(), "BTC/USDT")
        }
        other => panic!("{other:?}"),
    }

    // The server drops the connection: same id, the plugin heard of the drop first, the
    // same topics in one call, and a gap for each.
    peer.drop_connection();
    let mut peer = next_peer(&mut peers).await;
    let again = call(&peer.text().await);
    assert_eq!(
        again,
        Call {
            verb: "sub".into(),
            conn,
            disconnects: 1,
            connects: 2,
            topics: both.clone()
        }
    );
    for (sub, kind, symbol) in [
        (&mut btc, StreamKind::BookTicker, "BTC/USDT"),
        (&mut eth, StreamKind::Trades, "ETH/USDT"),
    ] {
        let g = gap(sub).await;
        assert_eq!(
            (g.reason, g.kind, g.instrument.symbol.as_str()),
            (GapReason::Reconnect, kind, symbol)
        );
    }

    // A topic added while connected comes alone; one given up goes to `unsubscribe`.
    let sol = host
        .subscribe("p", "SOL/USDT", StreamKind::BookTicker)
        .unwrap();
    let added = call(&peer.text().await);
    assert_eq!(
        (added.verb.as_str(), added.conn, &added.topics),
        ("sub", conn, &topics(&["book_ticker:SOL/USDT"]))
    );
    drop(sol);
    let removed = call(&peer.text().await);
    assert_eq!(
        (removed.verb.as_str(), removed.conn, &removed.topics),
        ("unsub", conn, &topics(&["book_ticker:SOL/USDT"]))
    );

    // The plugin asks for a reconnect: the same as a drop.
    peer.send("reconnect");
    peer.closed().await;
    let mut peer = next_peer(&mut peers).await;
    let asked = call(&peer.text().await);
    assert_eq!(
        asked,
        Call {
            verb: "sub".into(),
            conn,
            disconnects: 2,
            connects: 3,
            topics: both
        }
    );
    assert_eq!(gap(&mut btc).await.reason, GapReason::Reconnect);
    assert_eq!(gap(&mut eth).await.reason, GapReason::Reconnect);

    let report = host.shutdown("test").await;
    assert!(report.tasks_left.is_empty(), "{report:#?}");
    assert_eq!(report.after.connections, 0, "{report:#?}");
    peer.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_subscriptions_spreads_topics_an_empty_connection_closes_missing_resources_are_added() {
    let (url, mut peers) = server().await;
    let host = host().await;
    let _btc = host
        .subscribe("p", "BTC/USDT", StreamKind::BookTicker)
        .unwrap();
    let eth = host
        .subscribe("p", "ETH/USDT", StreamKind::BookTicker)
        .unwrap();
    let settings = serde_json::json!({ "ws_url": url, "max_subscriptions": 1 }).to_string();
    host.start_venue("p", "probe", &settings).await.unwrap();

    let mut a = next_peer(&mut peers).await;
    let mut b = next_peer(&mut peers).await;
    let (first, second) = (call(&a.text().await), call(&b.text().await));
    assert_ne!(first.conn, second.conn, "one id per connection");
    let mut placed: Vec<&BTreeSet<String>> = vec![&first.topics, &second.topics];
    placed.sort();
    assert_eq!(
        placed,
        [
            &topics(&["book_ticker:BTC/USDT"]),
            &topics(&["book_ticker:ETH/USDT"])
        ]
    );

    // The connection whose only topic nobody wants any more is closed. The unsubscribe
    // frame for that topic is queued just before, and may or may not go out first.
    let (mut gone, gone_topics) = match first.topics.contains("book_ticker:ETH/USDT") {
        true => (a, first.topics),
        false => (b, second.topics),
    };
    drop(eth);
    let sent = tokio::time::timeout(PATIENCE, async {
        let mut sent = Vec::new();
        while let Some(text) = gone.texts.recv().await {
            sent.push(call(&text));
        }
        sent
    });
    for unsub in sent.await.expect("the host closes the connection") {
        assert_eq!(
            (unsub.verb.as_str(), &unsub.topics),
            ("unsub", &gone_topics)
        );
    }

    // The probe declares only its connection: the host added a stream and a handler
    // binding for it, and stops them with the rest.
    let report = host.stop_venue("p").await.unwrap();
    let kinds: HashMap<&str, &str> = report
        .resources
        .iter()
        .map(|r| (r.name.as_str(), r.kind))
        .collect();
    assert_eq!(kinds.get("streams"), Some(&"stream"), "{report:#?}");
    assert_eq!(
        kinds.get("handlers"),
        Some(&"handler_binding"),
        "{report:#?}"
    );
    assert_eq!(kinds.get("ws"), Some(&"connection"), "{report:#?}");
    let _ = host.shutdown("test").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declaration_the_host_cannot_stop_in_order_is_refused_naming_it() {
    let host = host().await;
    for (mistake, names) in [
        (
            "unlisted",
            ["`ws`", "is declared but `resources` has no connection"],
        ),
        ("unknown", ["`wss`", "has no matching declaration"]),
        ("dangling", ["`ws`", "depends on unknown `nowhere`"]),
        (
            "cycle",
            ["dependency cycle through ws -> q", "bad declaration"],
        ),
    ] {
        let settings = serde_json::json!({ "ws_url": "ws://127.0.0.1:9", "mistake": mistake });
        let err = host
            .start_venue("p", "probe", &settings.to_string())
            .await
            .unwrap_err()
            .to_string();
        for part in ["p: ", "plugin `probe`"].iter().chain(names.iter()) {
            assert!(err.contains(part), "{mistake}: {err:?} should name {part}");
        }
        assert!(host.state("p").await.is_none(), "nothing was started");
    }
    let _ = host.shutdown("test").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_settings_reach_the_plugin_and_rejects_are_counted_by_reason() {
    let (url, mut peers) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let secrets = dir.path().join("secrets.toml");
    std::fs::write(
        &secrets,
        "[venues.p]\napi_key = \"K1\"\napi_secret = \"S1\"\n",
    )
    .unwrap();
    let file = dir.path().join("host.toml");
    let toml = format!(
        r#"plugins_dir = "{plugins}"
secrets_file = "{secrets}"
[watch]
plugins = false
config = false
[control]
enabled = false
[metrics]
enabled = false
[venues.p]
plugin = "probe"
symbols = ["BTC/USDT"]
channels = ["book_ticker"]
endpoints = {{ ws_url = "{url}" }}
"#,
        plugins = plugins.display(),
        secrets = secrets.display(),
    );
    std::fs::write(&file, toml).unwrap();
    let (config, secrets) = host::config::HostConfig::load_with_secrets(Some(&file)).unwrap();
    let builtin = Builtin::new("probe", "1.0.0", create);
    let op = host::ops::Operator::start_with(config, secrets, Some(file), vec![builtin])
        .await
        .unwrap();
    let mut btc = op
        .host()
        .subscribe("p", "BTC/USDT", StreamKind::BookTicker)
        .unwrap();

    // `ws_url` from `endpoints` and `credentials` from the secrets file: the probe refuses
    // settings it does not know, so both arrived where it reads them.
    let mut peer = next_peer(&mut peers).await;
    let sub = peer.text().await;
    assert!(sub.starts_with("sub ") && sub.ends_with(" key=K1"), "{sub}");

    // Two rejects, an error and an undeclared action, then a ticker: frames of a connection
    // are handled in order, and a frame's actions run before the next frame is read, so
    // once the ticker is here all of them are counted; the error changed nothing else (the
    // instance runs on).
    peer.send("junk");
    peer.send("fail");
    peer.send("bogus");
    peer.send("more junk");
    peer.send("tick BTC/USDT");
    loop {
        match tokio::time::timeout(PATIENCE, btc.recv()).await.unwrap() {
            Some(StreamItem::Event(Event::BookTicker(_))) => break,
            Some(StreamItem::Event(Event::Gap(_))) => {}
            other => panic!("{other:?}"),
        }
    }
    let status = op.status().await;
    let venue = status.venues.iter().find(|v| v.name == "p").unwrap();
    assert_eq!(
        venue.rejects_by_reason.get("unknown"),
        Some(&2),
        "{venue:#?}"
    );
    let metrics = host::ops::metrics::render(&op).await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("host_venue_rejected_total{") && l.contains("reason=\"unknown\""))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(
        line.contains("venue=\"p\"") && line.ends_with(" 2"),
        "{line}"
    );
    let line = metrics
        .lines()
        .find(|l| l.starts_with("host_venue_call_errors_total{venue=\"p\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(line.ends_with(" 1"), "{line}");
    assert_eq!(venue.state, "running", "{venue:#?}");
    // An action naming nothing declared is not carried out, and counted.
    let instances = op.host().instances().await;
    let p = instances.iter().find(|i| i.name.as_str() == "p").unwrap();
    assert_eq!(p.stats.actions_failed, 1, "{:#?}", p.stats);
    let _ = op.shutdown("test").await;
}
