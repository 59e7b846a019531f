//! The whole host pipeline — socket → Gate.io plugin parse (`.so`) → bounded queue →
//! consumer — against bare tokio-tungstenite loops over the same loopback in the same run:
//! throughput at the simulator's maximum rate, paced server→consumer latency, stop time while
//! streaming at full speed, and wake-ups of an idle connection. A second throughput row runs
//! the same path with the `fixture-relay` plugin, which turns each frame into one book ticker
//! without reading it: the host's own overhead, apart from a venue's parse.
//!
//! `cargo bench -p integration-tests --bench pipeline`
//! (prints tables and writes `target/results/pipeline.json`, which `cargo xtask docs` renders
//! into docs/PERFORMANCE.md, "Host pipeline"; the per-frame parse cost is `--bench parse`). Every figure is
//! printed next to its bare baseline from the same run; rounds are interleaved so both sides
//! see the same machine.
//!
//! Env:
//! - `PIPE_ROUNDS`: rounds of throughput and latency (default 5).
//! - `PIPE_WINDOW_MS`: throughput window per measurement (default 2000).
//! - `PIPE_IDLE_SECS`: idle window (default 10).
//! - `PIPE_ONLY`: comma-separated parts to run, the others are skipped (default: all), so a
//!   profiler can record one path alone. Throughput rows, interleaved per round: `bare`
//!   (read loop), `parse` (read + parse loop), `gate` (host with the Gate.io plugin; its
//!   shutdown gives the stop figures), `relay` (host with the relay plugin); `throughput`
//!   means all four. Then `latency` and `idle`. A table row whose baseline was skipped prints `-` for the ratio; for example
//!   `PIPE_ONLY=relay` runs only the relay path and `PIPE_ONLY=bare,relay` adds its ratio.
//! - `PIPE_RECV_MANY=1`: the host consumers drain their subscription with `recv_many` (up to
//!   256 items per call) instead of one `recv` per item.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use host::{Host, HostOptions, StreamItem};
use integration_tests::stamped::{gate_update, now_ns, stamping_server, Feed};
use integration_tests::threads::{cpu_ns, switches};
use integration_tests::{bench_command, env_or, gate_simulator, plugin, temp_dir};
use plugin_api::{Event, Num, StreamKind};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use venue_sim::SimHandle;

/// Target updates/s of the simulator's generator: above what it can produce, so it runs
/// saturated ("maximum rate").
const SIM_RATE: u32 = 2_000_000;
/// The simulator runtime's thread name.
const SIM_THREADS: &str = "pipe-sim";
/// The thread name of the runtime the host and the bare clients share.
const HOST_THREADS: &str = "pipe-host";
/// Paced latency: one frame every this often.
const PACE: Duration = Duration::from_micros(20);
/// Frames per latency round; the first `LAT_WARMUP` are not counted.
const LAT_FRAMES: u64 = 50_000;
const LAT_WARMUP: usize = 2_000;

/// Items a batch-draining consumer takes at most per `recv_many`.
const RECV_MANY: usize = 256;

/// `PIPE_RECV_MANY=1`: host consumers drain with `Subscription::recv_many` instead of `recv`.
fn recv_many() -> bool {
    env_or("PIPE_RECV_MANY", 0) == 1
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("building a runtime")
}

fn settings(ws_url: &str, rest_url: &str) -> String {
    serde_json::json!({ "ws_url": ws_url, "rest_url": rest_url }).to_string()
}

/// A host with the Gate.io plugin file loaded and the instance `gate` started.
async fn gate_host(tag: &str, ws_url: &str, rest_url: &str) -> Host {
    let host = Host::new(HostOptions {
        shadow_dir: Some(temp_dir(tag)),
        ..HostOptions::default()
    })
    .unwrap();
    host.load_plugin(&plugin("gateio_plugin")).await.unwrap();
    host.start_venue("gate", "gateio", &settings(ws_url, rest_url))
        .await
        .unwrap();
    host
}

/// A host with the relay plugin file loaded and the instance `relay` started against the
/// Gate.io endpoint `ws_url` (it subscribes as Gate.io expects and parses nothing).
async fn relay_host(tag: &str, ws_url: &str) -> Host {
    let host = Host::new(HostOptions {
        shadow_dir: Some(temp_dir(tag)),
        ..HostOptions::default()
    })
    .unwrap();
    host.load_plugin(&plugin("fixture_relay")).await.unwrap();
    let settings = serde_json::json!({
        "ws_url": ws_url,
        "subscribe": r#"{"time":0,"channel":"spot.book_ticker","event":"subscribe","payload":["{symbol}"]}"#,
        "symbol": "BTC/USDT",
    });
    host.start_venue("relay", "relay", &settings.to_string())
        .await
        .unwrap();
    host
}

/// Parses a ticker frame as the plugin reads it (borrowed strings, then exact decimals):
/// the fair "read + parse" baseline. Returns its update id (`None` for other frames, such
/// as the ack).
fn parse_ticker(text: &str) -> Option<u64> {
    let update = gate_update(text)?;
    let t = update.result;
    for n in [t.b, t.bq, t.a, t.aq] {
        std::hint::black_box(Num::parse(n).ok()?);
    }
    std::hint::black_box((update.channel, t.s));
    Some(t.u)
}

// ---------------------------------------------------------------------------------------
// Throughput and stop time against the simulator

/// One measured window: frames per second and what stopping took.
struct Window {
    rate: f64,
    stop: Duration,
    /// CPU ns of the host runtime's threads per frame.
    cpu_ns: f64,
}

impl Window {
    /// One round's figures for the round line.
    fn summary(&self, name: &str) -> String {
        format!(
            "{name} {:.0}/s (cancel+join {:.1} us)",
            self.rate,
            self.stop.as_secs_f64() * 1e6
        )
    }
}

/// Waits for the first counted item, warms up, then counts over `window`.
/// Also returns the CPU time the host runtime's threads used per item in the window.
async fn measure(counter: &AtomicU64, window: Duration) -> (u64, Duration, f64) {
    while counter.load(Ordering::Relaxed) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (n0, t0, c0) = (
        counter.load(Ordering::Relaxed),
        Instant::now(),
        cpu_ns(HOST_THREADS),
    );
    tokio::time::sleep(window).await;
    let n = counter.load(Ordering::Relaxed) - n0;
    let cpu = (cpu_ns(HOST_THREADS) - c0) as f64 / n.max(1) as f64;
    (n, t0.elapsed(), cpu)
}

/// A bare tokio-tungstenite reader subscribed to the simulator's book tickers, in a task that
/// a cancellation token stops; with `parse`, every frame is parsed as the plugin would.
async fn bare(sim: &SimHandle, window: Duration, parse: bool) -> Window {
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url())
        .await
        .unwrap();
    let sub = serde_json::json!({"time": 0, "channel": "spot.book_ticker", "event": "subscribe", "payload": ["BTC_USDT"]});
    futures_util::SinkExt::send(&mut ws, Message::text(sub.to_string()))
        .await
        .unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let token = CancellationToken::new();
    let task = tokio::spawn({
        let (counter, token) = (counter.clone(), token.clone());
        async move {
            let read = async {
                let mut n = 0u64;
                while let Some(Ok(m)) = ws.next().await {
                    if let Message::Text(t) = m {
                        if parse {
                            std::hint::black_box(parse_ticker(&t));
                        } else {
                            std::hint::black_box(&t);
                        }
                        n += 1;
                        counter.store(n, Ordering::Relaxed);
                    }
                }
            };
            tokio::select! {
                () = token.cancelled() => {}
                () = read => {}
            }
        }
    });
    let (n, el, cpu_ns) = measure(&counter, window).await;
    let t = Instant::now();
    token.cancel();
    task.await.unwrap();
    Window {
        rate: n as f64 / el.as_secs_f64(),
        stop: t.elapsed(),
        cpu_ns,
    }
}

/// Through the host: consumer-side events/s, plugin `frames_in`/s, and the shutdown report
/// taken while the stream runs at full speed.
struct Through {
    consumer: f64,
    frames_in: f64,
    dropped: u64,
    offered: u64,
    stop_ms: f64,
    total_ms: f64,
    tasks_after: usize,
    connections_after: usize,
    /// CPU ns of the host runtime's threads per event the consumer counted.
    cpu_ns: f64,
    /// Voluntary context switches of the simulator's threads in the window: a round in
    /// which they thrash is a round the simulator fed slowly (see docs/PERFORMANCE.md).
    sim_switches: u64,
}

impl Through {
    /// One round's figures for the round line.
    fn summary(&self, plugin: &str) -> String {
        format!(
            "host {plugin} consumer {:.0}/s (frames_in {:.0}/s, queue offered {} dropped {}, \
             simulator switches {}), stop {:.2} ms, shutdown {:.2} ms (after: {} tasks incl. \
             the consumer's, {} connections)",
            self.consumer,
            self.frames_in,
            self.offered,
            self.dropped,
            self.sim_switches,
            self.stop_ms,
            self.total_ms,
            self.tasks_after,
            self.connections_after,
        )
    }
}

async fn frames_in(host: &Host) -> u64 {
    host.instances().await[0].stats.frames_in
}

/// The plugin behind the host in a throughput round.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plugin {
    /// The Gate.io plugin: the venue's full parse.
    Gate,
    /// The relay fixture: one event per frame, no parse.
    Relay,
}

async fn through_host(sim: &SimHandle, window: Duration, plugin: Plugin) -> Through {
    let (host, venue) = match plugin {
        Plugin::Gate => {
            let rest = format!("http://{}", sim.local_addr());
            (gate_host("bench-pipe", &sim.ws_url(), &rest).await, "gate")
        }
        Plugin::Relay => (relay_host("bench-pipe-relay", &sim.ws_url()).await, "relay"),
    };
    let mut sub = host
        .subscribe(venue, "BTC/USDT", StreamKind::BookTicker)
        .unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let consumer = tokio::spawn({
        let counter = counter.clone();
        async move {
            let mut n = 0u64;
            let mut count = |item: StreamItem| {
                if let StreamItem::Event(Event::BookTicker(t)) = item {
                    std::hint::black_box(t);
                    n += 1;
                    counter.store(n, Ordering::Relaxed);
                }
            };
            if recv_many() {
                let mut batch = Vec::with_capacity(RECV_MANY);
                while sub.recv_many(&mut batch, RECV_MANY).await > 0 {
                    batch.drain(..).for_each(&mut count);
                }
            } else {
                while let Some(item) = sub.recv().await {
                    count(item);
                }
            }
            sub.stats()
        }
    });
    while counter.load(Ordering::Relaxed) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (n0, f0, t0) = (
        counter.load(Ordering::Relaxed),
        frames_in(&host).await,
        Instant::now(),
    );
    let sim0 = switches(SIM_THREADS);
    let cpu0 = cpu_ns(HOST_THREADS);
    tokio::time::sleep(window).await;
    let cpu1 = cpu_ns(HOST_THREADS);
    let sim1 = switches(SIM_THREADS);
    let (n1, f1, el) = (
        counter.load(Ordering::Relaxed),
        frames_in(&host).await,
        t0.elapsed(),
    );
    let (n, f_rate) = (n1 - n0, (f1 - f0) as f64 / el.as_secs_f64());
    let report = host.shutdown("bench").await;
    let stats = consumer.await.unwrap();
    Through {
        consumer: n as f64 / el.as_secs_f64(),
        frames_in: f_rate,
        dropped: stats.dropped(),
        offered: stats.offered,
        stop_ms: report.stop.elapsed_ms,
        total_ms: report.elapsed_ms,
        tasks_after: report.after.tasks,
        connections_after: report.after.connections,
        cpu_ns: (cpu1 - cpu0) as f64 / (n1 - n0).max(1) as f64,
        sim_switches: sim1 - sim0,
    }
}

// ---------------------------------------------------------------------------------------
// Paced latency against a server of our own that stamps the send time in `u`
// (`integration_tests::stamped::stamping_server`)

/// p50, p99, p99.9 in µs.
fn percentiles(mut v: Vec<u64>) -> [f64; 3] {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)] as f64 / 1e3;
    [at(0.5), at(0.99), at(0.999)]
}

async fn bare_latency(url: &str) -> [f64; 3] {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut lat = Vec::with_capacity(LAT_FRAMES as usize);
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            let Some(sent) = parse_ticker(&t) else {
                continue;
            };
            lat.push(now_ns().saturating_sub(sent));
            if lat.len() as u64 == LAT_FRAMES {
                break;
            }
        }
    }
    let _ = ws.close(None).await;
    percentiles(lat.split_off(LAT_WARMUP))
}

/// Server → consumer, and the host-internal part (`Stamp.received_ns` → consumer).
async fn host_latency(url: &str) -> ([f64; 3], [f64; 3]) {
    let host = gate_host("bench-pipe-lat", url, "http://127.0.0.1:1").await;
    let mut sub = host
        .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
        .unwrap();
    let (mut lat, mut inner) = (Vec::new(), Vec::new());
    while let Some(item) = sub.recv().await {
        if let StreamItem::Event(Event::BookTicker(t)) = item {
            let now = now_ns();
            lat.push(now.saturating_sub(t.update_id));
            inner.push(now.saturating_sub(t.stamp.received_ns));
            if lat.len() as u64 == LAT_FRAMES {
                break;
            }
        }
    }
    let dropped = sub.stats().dropped();
    drop(sub);
    let _ = host.shutdown("bench").await;
    assert_eq!(dropped, 0, "a paced consumer must not lose tickers");
    (
        percentiles(lat.split_off(LAT_WARMUP)),
        percentiles(inner.split_off(LAT_WARMUP)),
    )
}

// ---------------------------------------------------------------------------------------
// Idle wake-ups

/// Worker parks of the current runtime and voluntary context switches of its threads.
fn wakeups(thread_name: &str) -> (u64, u64) {
    let m = tokio::runtime::Handle::current().metrics();
    let parks = (0..m.num_workers()).map(|w| m.worker_park_count(w)).sum();
    (parks, switches(thread_name))
}

/// Per second over `secs`: (worker parks, voluntary context switches).
async fn idle_window(thread_name: &str, secs: u64) -> (f64, f64) {
    // Let connection setup settle first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (p0, s0) = wakeups(thread_name);
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (p1, s1) = wakeups(thread_name);
    let el = t.elapsed().as_secs_f64();
    ((p1 - p0) as f64 / el, (s1 - s0) as f64 / el)
}

async fn idle_host(url: &str, thread_name: &str, secs: u64) -> (f64, f64, usize) {
    let host = gate_host("bench-pipe-idle", url, "http://127.0.0.1:1").await;
    let sub = host
        .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
        .unwrap();
    // Wait for the connection to be open.
    while host.instances().await[0].connections == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (parks, switches) = idle_window(thread_name, secs).await;
    let conns = host.instances().await[0].connections;
    drop(sub);
    let _ = host.shutdown("bench").await;
    (parks, switches, conns)
}

async fn idle_bare(url: &str, thread_name: &str, secs: u64) -> (f64, f64) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn({
        let token = token.clone();
        async move {
            tokio::select! {
                () = token.cancelled() => {}
                _ = async { while let Some(Ok(_)) = ws.next().await {} } => {}
            }
        }
    });
    let r = idle_window(thread_name, secs).await;
    token.cancel();
    task.await.unwrap();
    r
}

// ---------------------------------------------------------------------------------------

/// The parts of the bench that `PIPE_ONLY` selects (see the top of the file).
#[derive(Clone, Copy)]
struct Parts {
    bare: bool,
    parse: bool,
    gate: bool,
    relay: bool,
    latency: bool,
    idle: bool,
}

impl Parts {
    const ALL: Parts = Parts {
        bare: true,
        parse: true,
        gate: true,
        relay: true,
        latency: true,
        idle: true,
    };

    fn from_env() -> Parts {
        let list = std::env::var("PIPE_ONLY").unwrap_or_default();
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Parts::ALL;
        }
        let mut p = Parts {
            bare: false,
            parse: false,
            gate: false,
            relay: false,
            latency: false,
            idle: false,
        };
        for name in names {
            match name {
                "bare" => p.bare = true,
                "parse" => p.parse = true,
                "gate" => p.gate = true,
                "relay" => p.relay = true,
                "throughput" => (p.bare, p.parse, p.gate, p.relay) = (true, true, true, true),
                "latency" => p.latency = true,
                "idle" => p.idle = true,
                other => panic!(
                    "PIPE_ONLY: unknown part `{other}` \
                     (bare, parse, gate, relay, throughput, latency, idle)"
                ),
            }
        }
        p
    }

    fn throughput(self) -> bool {
        self.bare || self.parse || self.gate || self.relay
    }
}

/// The median of what was measured, `None` for a part that did not run.
fn median_of(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| median(v.to_vec()))
}

/// `v` in thousands per second, or `-`.
fn kps(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.0} k/s", v / 1e3))
}

/// `a / b` to two decimals, or `-` when either is missing.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}", a / b),
        _ => "-".into(),
    }
}

/// The median of the per-round ratios `a[i] / b[i]` (each pair measured in the same round)
/// with their range, or `-`. Rounds differ a lot on a small VM (see docs/PERFORMANCE.md), so
/// the range is part of the result.
fn round_ratios(a: &[f64], b: &[f64]) -> String {
    if a.is_empty() || a.len() != b.len() {
        return "-".into();
    }
    let r: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
    let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = r.iter().copied().fold(0.0, f64::max);
    format!("{:.2} (rounds {lo:.2}–{hi:.2})", median(r))
}

/// Per-round figures of the throughput rows (empty for parts that did not run).
#[derive(Default)]
struct Rounds {
    bare: Vec<f64>,
    parse: Vec<f64>,
    bare_stop_ms: Vec<f64>,
    gate: Vec<f64>,
    gate_frames: Vec<f64>,
    gate_stop_ms: Vec<f64>,
    gate_total_ms: Vec<f64>,
    relay: Vec<f64>,
    relay_frames: Vec<f64>,
    relay_offered: u64,
    relay_dropped: u64,
    bare_cpu: Vec<f64>,
    gate_cpu: Vec<f64>,
    relay_cpu: Vec<f64>,
}

/// One throughput round on a fresh simulator: the selected rows one after another.
fn throughput_round(
    round: usize,
    parts: Parts,
    window: Duration,
    sim_rt: &tokio::runtime::Runtime,
    rt: &tokio::runtime::Runtime,
    r: &mut Rounds,
) {
    let sim = sim_rt.block_on(gate_simulator(SIM_RATE));
    let mut line = Vec::new();
    if parts.bare {
        let w = rt.block_on(bare(&sim, window, false));
        line.push(w.summary("bare"));
        r.bare.push(w.rate);
        r.bare_stop_ms.push(w.stop.as_secs_f64() * 1e3);
        r.bare_cpu.push(w.cpu_ns);
    }
    if parts.parse {
        let w = rt.block_on(bare(&sim, window, true));
        line.push(w.summary("bare+parse"));
        r.parse.push(w.rate);
    }
    if parts.gate {
        let th = rt.block_on(through_host(&sim, window, Plugin::Gate));
        line.push(th.summary("gate"));
        r.gate.push(th.consumer);
        r.gate_cpu.push(th.cpu_ns);
        r.gate_frames.push(th.frames_in);
        r.gate_stop_ms.push(th.stop_ms);
        r.gate_total_ms.push(th.total_ms);
    }
    if parts.relay {
        let th = rt.block_on(through_host(&sim, window, Plugin::Relay));
        line.push(th.summary("relay"));
        r.relay.push(th.consumer);
        r.relay_cpu.push(th.cpu_ns);
        r.relay_frames.push(th.frames_in);
        r.relay_offered += th.offered;
        r.relay_dropped += th.dropped;
    }
    let lagged = sim.stats().snapshot().lagged;
    sim_rt.block_on(sim.shutdown());
    println!("  round {round}: {}; sim lagged {lagged}", line.join(", "));
}

fn main() {
    let rounds = env_or("PIPE_ROUNDS", 5) as usize;
    let window = Duration::from_millis(env_or("PIPE_WINDOW_MS", 2000));
    let idle_secs = env_or("PIPE_IDLE_SECS", 10);
    let parts = Parts::from_env();
    // Build the plugin files before anything is timed.
    plugin("gateio_plugin");
    plugin("fixture_relay");
    // The simulator runs on its own runtime; the host and the bare clients share another.
    let sim_rt = runtime(SIM_THREADS);
    let name = HOST_THREADS;
    let rt = runtime(name);

    println!("Host pipeline: Gate.io book_ticker, {rounds} interleaved rounds, median\n");
    let mut r = Rounds::default();
    if parts.throughput() {
        for round in 0..rounds {
            throughput_round(round, parts, window, &sim_rt, &rt, &mut r);
        }
    }
    let (b, bp) = (median_of(&r.bare), median_of(&r.parse));
    let (h, hf) = (median_of(&r.gate), median_of(&r.gate_frames));
    let (rl, rlf) = (median_of(&r.relay), median_of(&r.relay_frames));

    let mut lat_rounds: LatencyRounds = (Vec::new(), Vec::new(), Vec::new());
    let latency = parts.latency.then(|| {
        let lat_url = stamping_server(Feed::Gate, Some(PACE));
        let (mut lb, mut lh, mut li) = (vec![], vec![], vec![]);
        for _ in 0..rounds {
            lb.push(rt.block_on(bare_latency(&lat_url)));
            let (through, inner) = rt.block_on(host_latency(&lat_url));
            lh.push(through);
            li.push(inner);
        }
        let med = |v: &[[f64; 3]], i: usize| median(v.iter().map(|p| p[i]).collect());
        let lat = |v: &[[f64; 3]]| [med(v, 0), med(v, 1), med(v, 2)];
        let medians = (lat(&lb), lat(&lh), lat(&li));
        lat_rounds = (lb, lh, li);
        medians
    });

    let idle = parts.idle.then(|| {
        let idle_url = stamping_server(Feed::Gate, None);
        let host = rt.block_on(idle_host(&idle_url, name, idle_secs));
        let bare = rt.block_on(idle_bare(&idle_url, name, idle_secs));
        (host, bare)
    });

    println!("\n| measure | host pipeline | bare baseline(s), same run | ratio |");
    println!("| --- | --- | --- | --- |");
    if parts.gate {
        println!(
            "| book_ticker frames/s at the simulator's max rate (consumer side) | {} (plugin frames_in {}) | read {}; read + parse {} | {} of read; {} of read + parse |",
            kps(h),
            kps(hf),
            kps(b),
            kps(bp),
            round_ratios(&r.gate, &r.bare),
            round_ratios(&r.gate, &r.parse)
        );
    }
    if parts.relay {
        println!(
            "| host overhead: same path, relay plugin (no parse), frames/s (consumer side) | {} (plugin frames_in {}; queue dropped {} of {} offered) | read {} | {} of read; Gate.io host {} of relay host |",
            kps(rl),
            kps(rlf),
            r.relay_dropped,
            r.relay_offered,
            kps(b),
            round_ratios(&r.relay, &r.bare),
            round_ratios(&r.gate, &r.relay)
        );
    }
    if parts.relay || parts.gate {
        let ns = |v: &[f64]| median_of(v).map_or("-".into(), |v| format!("{v:.0} ns"));
        println!(
            "| CPU time of the host runtime's threads per frame (reader, plugin, queue, consumer; 10 ms ticks) | relay {}; Gate.io {} | read {} | relay {}; Gate.io {} |",
            ns(&r.relay_cpu),
            ns(&r.gate_cpu),
            ns(&r.bare_cpu),
            round_ratios(&r.relay_cpu, &r.bare_cpu),
            round_ratios(&r.gate_cpu, &r.bare_cpu),
        );
    }
    if let Some((lb, lh, li)) = latency {
        println!(
            "| server → consumer latency, paced 1 per {} us, p50 / p99 / p99.9 | {:.1} / {:.1} / {:.1} us (host-internal, Stamp.received_ns → consumer: {:.1} / {:.1} / {:.1} us) | read + parse {:.1} / {:.1} / {:.1} us | {:.2} / {:.2} / {:.2} |",
            PACE.as_micros(),
            lh[0], lh[1], lh[2], li[0], li[1], li[2], lb[0], lb[1], lb[2],
            lh[0] / lb[0], lh[1] / lb[1], lh[2] / lb[2]
        );
    }
    if parts.gate {
        let (hstop, htotal) = (median_of(&r.gate_stop_ms), median_of(&r.gate_total_ms));
        let bstop = median_of(&r.bare_stop_ms);
        println!(
            "| cancel → every task finished, streaming at full speed | stop phase {:.2} ms; whole shutdown (unload included) {:.2} ms | cancel token + join read task {} | {}x (stop phase) |",
            hstop.unwrap_or(f64::NAN),
            htotal.unwrap_or(f64::NAN),
            bstop.map_or("-".into(), |v| format!("{:.1} us", v * 1e3)),
            ratio(hstop, bstop)
        );
    }
    if let Some(((ip, is, conns), (bpk, bsw))) = idle {
        println!(
            "| idle connection ({idle_secs} s, subscribed, heartbeats only), per second | {ip:.2} worker parks, {is:.2} voluntary context switches ({conns} connection open) | {bpk:.2} parks, {bsw:.2} switches | {:+.2} switches/s |",
            is - bsw
        );
    }
    let settings = format!(
        "{rounds} rounds, {} ms windows, idle {idle_secs} s",
        window.as_millis()
    );
    record(&r, &lat_rounds, idle, &settings);
}

/// Latency percentiles (p50, p99, p99.9) per round: bare, host at the consumer, inside the host.
type LatencyRounds = (Vec<[f64; 3]>, Vec<[f64; 3]>, Vec<[f64; 3]>);

/// Idle wake-ups per second: host (parks, switches, connections), bare (parks, switches).
type IdleRates = ((f64, f64, usize), (f64, f64));

/// Writes the run's figures (one value per round) for `cargo xtask docs`.
fn record(r: &Rounds, (lb, lh, li): &LatencyRounds, idle: Option<IdleRates>, settings: &str) {
    let mut res = xtask::results::Results::new("pipeline", &bench_command("pipeline", "PIPE_"));
    res.notes.push(settings.to_string());
    let mut add = |id: &str, label: &str, unit: &str, v: &[f64], base: Option<&str>| {
        if v.is_empty() {
            return;
        }
        let f = res.figure(id, label, unit);
        v.iter().for_each(|x| {
            f.push(*x);
        });
        if let Some(b) = base {
            f.against(b);
        }
    };
    add(
        "throughput.read",
        "frames/s, bare read loop",
        "frames/s",
        &r.bare,
        None,
    );
    add(
        "throughput.parse",
        "frames/s, bare read + parse loop",
        "frames/s",
        &r.parse,
        None,
    );
    add(
        "throughput.relay",
        "frames/s, host with the relay plugin (no parse)",
        "frames/s",
        &r.relay,
        Some("throughput.read"),
    );
    add(
        "throughput.gate",
        "frames/s, host with the Gate.io plugin",
        "frames/s",
        &r.gate,
        Some("throughput.read"),
    );
    add(
        "throughput.gate_vs_parse",
        "frames/s, host with the Gate.io plugin, against read + parse",
        "frames/s",
        &r.gate,
        Some("throughput.parse"),
    );
    add(
        "cpu.read",
        "CPU per frame, bare read loop",
        "ns",
        &r.bare_cpu,
        None,
    );
    add(
        "cpu.relay",
        "CPU per frame of the runtime's threads, relay plugin",
        "ns",
        &r.relay_cpu,
        Some("cpu.read"),
    );
    add(
        "cpu.gate",
        "CPU per frame of the runtime's threads, Gate.io plugin",
        "ns",
        &r.gate_cpu,
        Some("cpu.read"),
    );
    let names = ["p50", "p99", "p99.9"];
    for (i, q) in names.iter().enumerate() {
        let pick = |v: &[[f64; 3]]| v.iter().map(|p| p[i]).collect::<Vec<f64>>();
        let bare = format!("latency.parse.{q}");
        add(
            &bare,
            &format!("server → consumer {q}, bare read + parse"),
            "µs",
            &pick(lb),
            None,
        );
        add(
            &format!("latency.host.{q}"),
            &format!("server → consumer {q}, host with the Gate.io plugin"),
            "µs",
            &pick(lh),
            Some(&bare),
        );
        add(
            &format!("latency.inner.{q}"),
            &format!("receive → consumer {q}, inside the host"),
            "µs",
            &pick(li),
            None,
        );
    }
    add(
        "stop.bare",
        "cancel → task joined, bare read loop at full speed",
        "ms",
        &r.bare_stop_ms,
        None,
    );
    add(
        "stop.gate",
        "stop phase of the shutdown, Gate.io at full speed",
        "ms",
        &r.gate_stop_ms,
        Some("stop.bare"),
    );
    add(
        "stop.gate_total",
        "whole shutdown, unload included, Gate.io at full speed",
        "ms",
        &r.gate_total_ms,
        Some("stop.bare"),
    );
    if let Some(((ip, is, _), (bp, bs))) = idle {
        add(
            "idle.bare.parks",
            "idle bare reader: worker parks per second",
            "/s",
            &[bp],
            None,
        );
        add(
            "idle.host.parks",
            "idle host connection: worker parks per second",
            "/s",
            &[ip],
            Some("idle.bare.parks"),
        );
        add(
            "idle.bare.switches",
            "idle bare reader: voluntary context switches per second",
            "/s",
            &[bs],
            None,
        );
        add(
            "idle.host.switches",
            "idle host connection: voluntary context switches per second",
            "/s",
            &[is],
            Some("idle.bare.switches"),
        );
    }
    match res.write() {
        Ok(path) => println!("\nresults: {}", path.display()),
        Err(e) => eprintln!("writing the results: {e}"),
    }
}
