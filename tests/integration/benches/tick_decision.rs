//! Tick → decision latency of the arbitrage engine through the venue plugins, against the
//! same program with the venue code linked statically and against a bare websocket read +
//! parse loop, over loopback, in the same run.
//!
//! `cargo bench -p integration-tests --bench tick_decision`
//! (prints tables and writes `target/results/tick_decision.json`, which `cargo xtask docs`
//! renders into docs/PERFORMANCE.md, "Tick → decision").
//!
//! A **tick** is the instant a stamping server writes a book-ticker frame: its send time
//! rides in the frame's update id (Gate.io `u`, MEXC `version`; see
//! `integration_tests::stamped`, the server of the pipeline bench's latency row). The
//! **decision** is `Engine::on_event` returning for that ticker, an opportunity or a skip:
//! the evaluation is the same. A Gate.io server (JSON text) and a MEXC server (protobuf
//! binary), each paced at the rate under test, feed three paths in turn:
//!
//! - `plugin`: `Exchange::start` with both plugin files in its plugin folder; one consumer
//!   task reads both venues' `book_tickers("BTC/USDT")` and feeds the engine.
//! - `static`: the same program and configuration with the folder empty and the plugins'
//!   code linked into this binary, `Exchange::start_with` and `host::plugin::Builtin`.
//! - `bare`: one task with two tokio-tungstenite clients: read a frame, parse it as a
//!   hand-written client would (borrowed serde_json, prost), build the same
//!   `Event::BookTicker` and call the same engine.
//! - `hop` (a diagnostic, not a goal): `bare` split in two tasks, the reading and parsing
//!   one handing each ticker to the engine's over a bounded tokio mpsc channel: what one
//!   task hop costs on this machine, the hop the host's paths make between a connection's
//!   reader and the program's task.
//!
//! Each run takes `TICK_SECS`; ticks sent in its first half second are not counted
//! (connecting, warm-up). Rounds are interleaved and the order of the paths rotates from one round to the
//! next, so every path sees the same machine. Percentiles are of every tick of every round
//! (HDR histograms, 3 significant digits, "pooled"), and each round's are compared with the
//! same round's bare ones ("per round": their median and range). On a shared machine one
//! bad round sets a pooled tail, so the goals are judged on both. Each path also reports
//! where the time goes: send → receive (the server's stamp to the reader's clock read after
//! the socket read), receive → consumer (to the consumer holding the ticker, before the
//! engine runs), and its runtime threads' time on a CPU and waiting for one per tick.
//!
//! Env:
//! - `TICK_ROUNDS`: rounds (default 15).
//! - `TICK_SECS`: seconds per path per round (default 4). Short runs, many rounds: the
//!   machine's load changes by the second, and each path should see as much of it.
//! - `TICK_RATES`: frames per second per venue, comma-separated (default `1000,5000,20000`).
//! - `TICK_VENUES`: `gate` for Gate.io alone, else both (default).
//! - `TICK_ONLY`: comma-separated paths to run (`plugin`, `static`, `bare`, `hop`; default
//!   all), so a profiler can record one alone. A ratio whose side was skipped prints `-`.

use std::path::Path;
use std::time::Duration;

use arbitrage::{Config, Engine, VenueId};
use hdrhistogram::Histogram;
use host::config::{HostConfig, Secrets};
use host::exchange::{BookTickers, Exchange, Update};
use host::plugin::Builtin;
use integration_tests::stamped::{now_ns, stamping_server, BareFeed, Feed};
use integration_tests::threads::sched_ns;
use integration_tests::{bench_command, env_or, plugin, temp_dir};
use plugin_api::{Balance, BookTicker, Event, Num, Stamp};

/// Ticks sent this long after a run started are counted; earlier ones warm up.
const WARMUP: Duration = Duration::from_millis(500);
/// The thread name of the runtime the exchange and the bare clients share.
const HOST_THREADS: &str = "tick-host";

/// One way from the socket to the engine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Way {
    Plugin,
    Static,
    Bare,
    Hop,
}

impl Way {
    const ALL: [Way; 4] = [Way::Plugin, Way::Static, Way::Bare, Way::Hop];

    fn name(self) -> &'static str {
        match self {
            Way::Plugin => "plugin",
            Way::Static => "static",
            Way::Bare => "bare",
            Way::Hop => "hop",
        }
    }

    /// The paths `TICK_ONLY` selects.
    fn selected() -> Vec<Way> {
        let only = std::env::var("TICK_ONLY").unwrap_or_default();
        let names: Vec<&str> = only
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Way::ALL.to_vec();
        }
        for n in &names {
            assert!(
                Way::ALL.iter().any(|w| w.name() == *n),
                "TICK_ONLY: unknown path `{n}` (plugin, static, bare, hop)"
            );
        }
        Way::ALL
            .into_iter()
            .filter(|w| names.contains(&w.name()))
            .collect()
    }
}

/// The machine's load averages (1, 5, 15 min), for the record: the two cores are shared.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

// ---------------------------------------------------------------------------------------
// The program: the arbitrage engine, fed book tickers of two venues

/// Both venues at their taker fees, `BTC/USDT`; the servers' quotes never cross, so every
/// tick is evaluated to the end and skipped (below the spread threshold).
const ENGINE_CONFIG: &str = r#"{
    "venues": [
        {"name": "gate", "taker_fee_bps": "10"},
        {"name": "mexc", "taker_fee_bps": "5"}
    ],
    "symbols": [{"symbol": "BTC/USDT", "max_qty": "1", "qty_step": "0.0001"}]
}"#;

/// The consumer's side: the engine, and the latency of each counted tick by venue.
struct Consumer {
    engine: Engine,
    ids: [VenueId; 2],
    /// Ticks sent before this (ns since the epoch) are warm-up.
    count_from_ns: u64,
    latency: [Histogram<u64>; 2],
    /// Server stamp → receive stamp, ns.
    to_receive: Histogram<u64>,
    /// Receive stamp → the consumer holding the ticker, ns.
    to_consumer: Histogram<u64>,
    /// The runtime threads' (on CPU, waiting for a CPU) ns when the first tick was counted.
    sched_from: Option<(u64, u64)>,
}

impl Consumer {
    /// A fresh engine with balances on both venues, counting ticks sent `WARMUP` from now.
    fn new() -> Consumer {
        let config: Config = serde_json::from_str(ENGINE_CONFIG).expect("engine config");
        let mut engine = Engine::new(config).expect("engine");
        let ids = [
            engine.venue_id("gate").expect("gate"),
            engine.venue_id("mexc").expect("mexc"),
        ];
        for id in ids {
            for (asset, amount) in [("USDT", "100000"), ("BTC", "2")] {
                let balance = Event::Balance(Balance {
                    asset: asset.into(),
                    available: Num::parse(amount).expect("a number"),
                    locked: Num::ZERO,
                    stamp: Stamp::default(),
                });
                let _ = engine.on_event(id, &balance, now_ns());
            }
        }
        Consumer {
            engine,
            ids,
            count_from_ns: now_ns() + WARMUP.as_nanos() as u64,
            latency: [histogram(), histogram()],
            to_receive: histogram(),
            to_consumer: histogram(),
            sched_from: None,
        }
    }

    /// The tick → decision path's last step: the engine evaluates `ticker` of venue `v`
    /// (0 Gate.io, 1 MEXC), which the consumer holds since `got_ns`; its latency from the
    /// server's stamp, and its receive → consumer part, are recorded.
    fn on_ticker(&mut self, v: usize, ticker: BookTicker, got_ns: u64) {
        let (sent_ns, received_ns) = (ticker.update_id, ticker.stamp.received_ns);
        let event = Event::BookTicker(ticker);
        let decided = self.engine.on_event(self.ids[v], &event, now_ns());
        let decided_ns = now_ns();
        std::hint::black_box(&decided);
        if sent_ns >= self.count_from_ns {
            if self.sched_from.is_none() {
                self.sched_from = Some(sched_ns(HOST_THREADS));
            }
            self.latency[v].saturating_record(decided_ns.saturating_sub(sent_ns));
            self.to_receive
                .saturating_record(received_ns.saturating_sub(sent_ns));
            self.to_consumer
                .saturating_record(got_ns.saturating_sub(received_ns));
        }
    }

    fn finish(self, dropped: u64) -> Run {
        let (evaluations, decided, _) = self.engine.counts();
        let (run0, wait0) = self.sched_from.unwrap_or_default();
        let (run1, wait1) = sched_ns(HOST_THREADS);
        let ticks = self.latency.iter().map(Histogram::len).sum::<u64>().max(1) as f64;
        Run {
            cpu_per_tick_us: (run1 - run0) as f64 / ticks / 1e3,
            wait_per_tick_us: (wait1 - wait0) as f64 / ticks / 1e3,
            to_receive: self.to_receive,
            to_consumer: self.to_consumer,
            latency: self.latency,
            evaluations,
            decided,
            dropped,
        }
    }
}

/// What one run of one path measured.
struct Run {
    /// Tick → decision, ns, by venue (0 Gate.io, 1 MEXC).
    latency: [Histogram<u64>; 2],
    /// The server's stamp → the receive stamp, ns.
    to_receive: Histogram<u64>,
    /// The receive stamp → the consumer holding the ticker, ns.
    to_consumer: Histogram<u64>,
    /// Time the runtime's threads ran, per counted tick, µs (everything they did: reading,
    /// the host's work or the bare parse, the engine, the runtime's own).
    cpu_per_tick_us: f64,
    /// Time the runtime's threads waited for a CPU while runnable, per counted tick, µs:
    /// what the rest of the machine cost them.
    wait_per_tick_us: f64,
    evaluations: u64,
    decided: u64,
    /// Tickers the subscription queues replaced before the consumer took them.
    dropped: u64,
}

impl Run {
    fn both(&self) -> Histogram<u64> {
        let mut h = self.latency[0].clone();
        h.add(&self.latency[1]).expect("same bounds");
        h
    }
}

// ---------------------------------------------------------------------------------------
// The three paths

/// The stamping servers of one rate.
struct Servers {
    gate: String,
    mexc: Option<String>,
}

/// The next update of a stream, or never for a venue not in the run.
async fn next(stream: &mut Option<BookTickers>) -> Option<Update<BookTicker>> {
    match stream {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// `plugin` or `static`: the exchange from `config`, with `builtins` (none: the files).
async fn exchange_run(config: HostConfig, builtins: Vec<Builtin>, mexc: bool, secs: u64) -> Run {
    let exchange = Exchange::start_with(
        config,
        Secrets::default(),
        builtins,
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("the exchange starts");
    let gate = exchange
        .venue("gate")
        .unwrap()
        .book_tickers("BTC/USDT")
        .await
        .unwrap();
    let mexc = match mexc {
        true => Some(
            exchange
                .venue("mexc")
                .unwrap()
                .book_tickers("BTC/USDT")
                .await
                .unwrap(),
        ),
        false => None,
    };
    let consumer = tokio::spawn(async move {
        let (mut gate, mut mexc) = (Some(gate), mexc);
        let mut c = Consumer::new();
        let end = tokio::time::sleep(Duration::from_secs(secs));
        tokio::pin!(end);
        loop {
            tokio::select! {
                u = next(&mut gate) => match u {
                    Some(Update::Item(t)) => c.on_ticker(0, t, now_ns()),
                    Some(Update::Gap(g)) => panic!("gap on gate: {g:?}"),
                    None => panic!("the gate stream ended"),
                },
                u = next(&mut mexc) => match u {
                    Some(Update::Item(t)) => c.on_ticker(1, t, now_ns()),
                    Some(Update::Gap(g)) => panic!("gap on mexc: {g:?}"),
                    None => panic!("the mexc stream ended"),
                },
                () = &mut end => break,
            }
        }
        let dropped = [&gate, &mexc]
            .into_iter()
            .flatten()
            .map(|s| s.stats().dropped())
            .sum();
        c.finish(dropped)
    });
    let run = consumer.await.expect("the consumer task");
    let report = exchange.shutdown("end of run").await;
    if !report.tasks_left.is_empty() || report.after.resource_tasks > 0 {
        println!("  warning: shutdown left tasks: {:?}", report.tasks_left);
    }
    run
}

/// `bare`: one task reads both venues' sockets, parses and feeds the engine. With `hop`,
/// a second task reads and parses and hands each ticker over a bounded channel.
async fn bare_run(servers: &Servers, hop: bool, secs: u64) -> Run {
    let mut feed = BareFeed::connect(&servers.gate, servers.mexc.as_deref()).await;
    if !hop {
        let consumer = tokio::spawn(async move {
            let mut c = Consumer::new();
            let end = tokio::time::sleep(Duration::from_secs(secs));
            tokio::pin!(end);
            loop {
                tokio::select! {
                    (v, t) = feed.next() => c.on_ticker(v, t, now_ns()),
                    () = &mut end => break,
                }
            }
            feed.close().await;
            c.finish(0)
        });
        return consumer.await.expect("the consumer task");
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let reader = tokio::spawn(async move {
        loop {
            let ticker = feed.next().await;
            if tx.send(ticker).await.is_err() {
                break;
            }
        }
        feed.close().await;
    });
    let consumer = tokio::spawn(async move {
        let mut c = Consumer::new();
        let end = tokio::time::sleep(Duration::from_secs(secs));
        tokio::pin!(end);
        loop {
            tokio::select! {
                Some((v, t)) = rx.recv() => c.on_ticker(v, t, now_ns()),
                () = &mut end => break,
            }
        }
        // Dropping the receiver ends the reader at its next send.
        drop(rx);
        c.finish(0)
    });
    let run = consumer.await.expect("the consumer task");
    reader.await.expect("the reader task");
    run
}

// ---------------------------------------------------------------------------------------
// Configuration of the exchange paths

/// The folders and configurations of the two exchange paths.
struct Setup {
    plugin: HostConfig,
    linked: HostConfig,
}

/// A folder no one else may write to (the host's trust rule for plugin and shadow folders).
fn private_dir(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Configurations naming the servers: one whose plugin folder holds both plugin files,
/// one whose folder is empty (the built-in plugins serve).
fn setup(servers: &Servers, rate: u64) -> Setup {
    let dir = temp_dir(&format!("bench-tick-{rate}"));
    let files = dir.join("plugins");
    let empty = dir.join("empty");
    let shadow = dir.join("shadow");
    private_dir(&files, 0o755);
    private_dir(&empty, 0o755);
    private_dir(&shadow, 0o700);
    for (lib, name) in [("gateio_plugin", "gateio.so"), ("mexc_plugin", "mexc.so")] {
        std::fs::hard_link(plugin(lib), files.join(name))
            .or_else(|_| std::fs::copy(plugin(lib), files.join(name)).map(drop))
            .unwrap();
    }
    let mut venues = format!(
        "[venues.gate]\nplugin = \"gateio\"\nendpoints = {{ ws_url = \"{}\", rest_url = \"http://127.0.0.1:1\" }}\n",
        servers.gate
    );
    if let Some(mexc) = &servers.mexc {
        venues.push_str(&format!(
            "[venues.mexc]\nplugin = \"mexc\"\nendpoints = {{ ws_url = \"{mexc}\", rest_url = \"http://127.0.0.1:1\" }}\n\
             settings = {{ fetch_exchange_info = false, symbols = [{{ symbol = \"BTCUSDT\", base = \"BTC\", quote = \"USDT\" }}] }}\n"
        ));
    }
    let config = |plugins: &Path, file: &str| {
        let path = dir.join(file);
        std::fs::write(
            &path,
            format!(
                "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n\
                 [control]\nenabled = false\n[metrics]\nenabled = false\n{venues}",
                plugins.display(),
                shadow.display()
            ),
        )
        .unwrap();
        HostConfig::load(Some(&path)).expect("the bench's configuration")
    };
    Setup {
        plugin: config(&files, "plugin.toml"),
        linked: config(&empty, "static.toml"),
    }
}

/// The venue code of both plugins, linked into this binary.
fn builtins() -> Vec<Builtin> {
    vec![
        Builtin::new("gateio", "0.1.0", gateio_plugin::GateioVenue::from_config),
        Builtin::new("mexc", "0.1.0", mexc_plugin::create),
    ]
}

// ---------------------------------------------------------------------------------------
// Figures

/// p50, p99, p99.9 and max in µs.
fn quantiles(h: &Histogram<u64>) -> [f64; 4] {
    let us = |v: u64| v as f64 / 1e3;
    [
        us(h.value_at_quantile(0.5)),
        us(h.value_at_quantile(0.99)),
        us(h.value_at_quantile(0.999)),
        us(h.max()),
    ]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `(median, lowest, highest)` of `v`.
fn spread(v: Vec<f64>) -> Spread {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(v), lo, hi)
}

/// Everything measured at one rate: per path, one [`Run`] per round.
struct Rate {
    rate: u64,
    runs: Vec<(Way, Vec<Run>)>,
}

/// `(median, lowest, highest)` over rounds.
type Spread = (f64, f64, f64);
/// A figure pooled over rounds, and its [`Spread`] over rounds.
type Figure = (f64, Spread);

/// How path `a` compares with path `b` at one rate, pooled and per round.
struct Comparison {
    /// p50 of `a` minus p50 of `b`, µs.
    p50_diff: Figure,
    /// p50, p99, p99.9 of `a` over `b`.
    ratios: [Figure; 3],
}

impl Rate {
    fn runs(&self, way: Way) -> Option<&[Run]> {
        self.runs
            .iter()
            .find(|(w, _)| *w == way)
            .map(|(_, r)| r.as_slice())
    }

    /// All rounds' ticks of `way` (venue `v`, or both).
    fn pooled(&self, way: Way, v: Option<usize>) -> Option<Histogram<u64>> {
        let runs = self.runs(way)?;
        let mut h = histogram();
        for r in runs {
            match v {
                Some(v) => h.add(&r.latency[v]),
                None => h.add(r.both()),
            }
            .expect("same bounds");
        }
        Some(h)
    }

    fn compare(&self, a: Way, b: Way) -> Option<Comparison> {
        let (ra, rb) = (self.runs(a)?, self.runs(b)?);
        let (pa, pb) = (
            quantiles(&self.pooled(a, None)?),
            quantiles(&self.pooled(b, None)?),
        );
        let rounds: Vec<([f64; 4], [f64; 4])> = ra
            .iter()
            .zip(rb)
            .map(|(a, b)| (quantiles(&a.both()), quantiles(&b.both())))
            .collect();
        let ratio = |i: usize| {
            let per_round = rounds.iter().map(|(a, b)| a[i] / b[i]).collect();
            (pa[i] / pb[i], spread(per_round))
        };
        Some(Comparison {
            p50_diff: (
                pa[0] - pb[0],
                spread(rounds.iter().map(|(a, b)| a[0] - b[0]).collect()),
            ),
            ratios: [ratio(0), ratio(1), ratio(2)],
        })
    }

    fn print(&self, venues: &[&str]) {
        let rate = self.rate;
        for (way, runs) in &self.runs {
            let h = self.pooled(*way, None).expect("ran");
            let [p50, p99, p999, max] = quantiles(&h);
            let per_round: Vec<[f64; 4]> = runs.iter().map(|r| quantiles(&r.both())).collect();
            let m = |i: usize| median(per_round.iter().map(|q| q[i]).collect());
            let part = |pick: fn(&Run) -> &Histogram<u64>| {
                let mut h = histogram();
                for r in runs.iter() {
                    h.add(pick(r)).expect("same bounds");
                }
                quantiles(&h)
            };
            let (tr, tc) = (part(|r| &r.to_receive), part(|r| &r.to_consumer));
            let dropped: u64 = runs.iter().map(|r| r.dropped).sum();
            let cpu = median(runs.iter().map(|r| r.cpu_per_tick_us).collect());
            let wait = median(runs.iter().map(|r| r.wait_per_tick_us).collect());
            let decided: u64 = runs.iter().map(|r| r.decided).sum();
            let evaluations: u64 = runs.iter().map(|r| r.evaluations).sum();
            let by_venue: Vec<String> = (0..venues.len())
                .map(|v| {
                    let q = quantiles(&self.pooled(*way, Some(v)).expect("ran"));
                    format!("{} {:.1} / {:.1} / {:.1}", venues[v], q[0], q[1], q[2])
                })
                .collect();
            println!(
                "| {rate} | {} | {} | {p50:.1} / {p99:.1} / {p999:.1} | {:.1} / {:.1} / {:.1} | {max:.0} | {:.1} / {:.1} | {:.1} / {:.1} | {cpu:.1} / {wait:.1} | {} | {dropped} | {evaluations} ({decided} decided) |",
                way.name(),
                h.len(),
                m(0),
                m(1),
                m(2),
                tr[0],
                tr[1],
                tc[0],
                tc[1],
                by_venue.join("; "),
            );
        }
    }

    fn print_comparisons(&self) {
        let rate = self.rate;
        let pairs = [
            (Way::Plugin, Way::Bare),
            (Way::Static, Way::Bare),
            (Way::Plugin, Way::Static),
            (Way::Hop, Way::Bare),
        ];
        for (a, b) in pairs {
            let Some(c) = self.compare(a, b) else {
                continue;
            };
            let (d, (dm, dlo, dhi)) = c.p50_diff;
            let r =
                |(pooled, (m, lo, hi)): Figure| format!("{pooled:.2}; {m:.2} ({lo:.2}–{hi:.2})");
            println!(
                "| {rate} | {} vs {} | {d:+.1}; {dm:+.1} ({dlo:+.1}–{dhi:+.1}) | {} | {} | {} |",
                a.name(),
                b.name(),
                r(c.ratios[0]),
                r(c.ratios[1]),
                r(c.ratios[2]),
            );
        }
    }

    /// The goals, judged on the pooled percentiles and on the per-round medians.
    fn print_goals(&self) {
        let (Some(pb), Some(ps)) = (
            self.compare(Way::Plugin, Way::Bare),
            self.compare(Way::Plugin, Way::Static),
        ) else {
            return;
        };
        let met = |pooled: bool, rounds: bool| match (pooled, rounds) {
            (true, true) => "met",
            (false, false) => "NOT met",
            (true, false) => "met pooled, not per round",
            (false, true) => "met per round, not pooled",
        };
        let (d, (dm, _, _)) = pb.p50_diff;
        let (r99, (r99m, _, _)) = pb.ratios[1];
        let worst =
            |pick: fn(&Figure) -> f64| ps.ratios.iter().map(pick).fold(f64::NEG_INFINITY, f64::max);
        let (sp, sm) = (worst(|r| r.0), worst(|r| r.1 .0));
        println!(
            "goals at {}/s (pooled; per-round median): p50 within 5 µs of bare: {d:+.1}; {dm:+.1} µs, {}. p99 within 1.2x bare: {r99:.2}; {r99m:.2}, {}. plugin/static ≤ 1.05 at p50, p99 and p99.9: worst {sp:.2}; {sm:.2}, {}.",
            self.rate,
            met(d <= 5.0, dm <= 5.0),
            met(r99 <= 1.2, r99m <= 1.2),
            met(sp <= 1.05, sm <= 1.05),
        );
    }
}

fn main() {
    let rounds = env_or("TICK_ROUNDS", 15) as usize;
    let secs = env_or("TICK_SECS", 4);
    let rates: Vec<u64> = std::env::var("TICK_RATES")
        .unwrap_or_else(|_| "1000,5000,20000".into())
        .split(',')
        .map(|r| r.trim().parse().expect("TICK_RATES: frames per second"))
        .collect();
    let mexc = std::env::var("TICK_VENUES").map_or(true, |v| v.trim() != "gate");
    let venues: &[&str] = if mexc { &["gate", "mexc"] } else { &["gate"] };
    let ways = Way::selected();
    // Build the plugin files before anything is timed.
    plugin("gateio_plugin");
    plugin("mexc_plugin");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(HOST_THREADS)
        .enable_all()
        .build()
        .expect("a runtime");

    println!(
        "Tick → decision: {} BTC/USDT book tickers, {rounds} interleaved rounds of {secs} s per path\n",
        venues.join(" + ")
    );
    let mut results = Vec::new();
    for &rate in &rates {
        let pace = Duration::from_nanos(1_000_000_000 / rate);
        let servers = Servers {
            gate: stamping_server(Feed::Gate, Some(pace)),
            mexc: mexc.then(|| stamping_server(Feed::Mexc, Some(pace))),
        };
        let setup = setup(&servers, rate);
        let mut runs: Vec<(Way, Vec<Run>)> = ways.iter().map(|w| (*w, Vec::new())).collect();
        for round in 0..rounds {
            let mut line = Vec::new();
            for i in 0..runs.len() {
                let (way, done) = &mut runs[(i + round) % ways.len()];
                let run = rt.block_on(async {
                    match way {
                        Way::Plugin => {
                            exchange_run(setup.plugin.clone(), Vec::new(), mexc, secs).await
                        }
                        Way::Static => {
                            exchange_run(setup.linked.clone(), builtins(), mexc, secs).await
                        }
                        Way::Bare => bare_run(&servers, false, secs).await,
                        Way::Hop => bare_run(&servers, true, secs).await,
                    }
                });
                let [p50, p99, p999, _] = quantiles(&run.both());
                line.push(format!(
                    "{} {p50:.1}/{p99:.1}/{p999:.1} µs (cpu {:.1}, wait {:.1})",
                    way.name(),
                    run.cpu_per_tick_us,
                    run.wait_per_tick_us
                ));
                done.push(run);
            }
            println!(
                "  {rate}/s round {round}: {} (load {})",
                line.join(", "),
                load()
            );
        }
        results.push(Rate { rate, runs });
    }

    println!("\n| frames/s per venue | path | ticks | pooled p50 / p99 / p99.9 µs | per-round median p50 / p99 / p99.9 µs | max µs | send → receive p50 / p99 µs | receive → consumer p50 / p99 µs | runtime threads per tick: on CPU / waiting for a CPU µs (per-round median) | by venue, pooled p50 / p99 / p99.9 µs | dropped | evaluations |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &results {
        r.print(venues);
    }
    println!("\n| frames/s per venue | comparison | p50 difference µs: pooled; per round median (range) | p50 ratio: pooled; per round | p99 ratio | p99.9 ratio |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for r in &results {
        r.print_comparisons();
    }
    println!();
    for r in &results {
        r.print_goals();
    }
    record(&results, rounds, secs);
}

/// Writes the run's figures for `cargo xtask docs`: per rate and path, one value per round
/// (so ratios pair rounds), ids `r<rate>.<path>.<p50|p99|p99.9|cpu>`; the plugin path also
/// against the static one (`r<rate>.plugin_static.*`) and its p50 excess over bare in µs
/// (`r<rate>.plugin.p50_excess`).
fn record(results: &[Rate], rounds: usize, secs: u64) {
    let mut res =
        xtask::results::Results::new("tick_decision", &bench_command("tick_decision", "TICK_"));
    res.notes
        .push(format!("{rounds} rounds of {secs} s per path"));
    for rate in results {
        let r = rate.rate;
        for (way, runs) in &rate.runs {
            let q: Vec<[f64; 4]> = runs.iter().map(|run| quantiles(&run.both())).collect();
            let base = (*way != Way::Bare && rate.runs(Way::Bare).is_some()).then_some("bare");
            for (i, name) in ["p50", "p99", "p99.9"].iter().enumerate() {
                let f = res.figure(
                    &format!("r{r}.{}.{name}", way.name()),
                    &format!("{r}/s per venue, {}, tick → decision {name}", way.name()),
                    "µs",
                );
                q.iter().for_each(|v| {
                    f.push(v[i]);
                });
                if let Some(b) = base {
                    f.against(&format!("r{r}.{b}.{name}"));
                }
            }
            let f = res.figure(
                &format!("r{r}.{}.cpu", way.name()),
                &format!(
                    "{r}/s per venue, {}, runtime threads' CPU per tick",
                    way.name()
                ),
                "µs",
            );
            runs.iter().for_each(|run| {
                f.push(run.cpu_per_tick_us);
            });
            if let Some(b) = base {
                f.against(&format!("r{r}.{b}.cpu"));
            }
        }
        if let (Some(p), Some(_)) = (rate.runs(Way::Plugin), rate.runs(Way::Static)) {
            for (i, name) in ["p50", "p99", "p99.9"].iter().enumerate() {
                let f = res.figure(
                    &format!("r{r}.plugin_static.{name}"),
                    &format!("{r}/s per venue, plugin against static, {name}"),
                    "µs",
                );
                p.iter().for_each(|run| {
                    f.push(quantiles(&run.both())[i]);
                });
                f.against(&format!("r{r}.static.{name}"));
            }
        }
        if let Some(c) = rate.compare(Way::Plugin, Way::Bare) {
            let (pooled, _) = c.p50_diff;
            let per_round: Vec<f64> = rate
                .runs(Way::Plugin)
                .into_iter()
                .flatten()
                .zip(rate.runs(Way::Bare).into_iter().flatten())
                .map(|(a, b)| quantiles(&a.both())[0] - quantiles(&b.both())[0])
                .collect();
            let f = res.figure(
                &format!("r{r}.plugin.p50_excess"),
                &format!("{r}/s per venue, plugin p50 minus bare p50 (pooled {pooled:+.1} µs)"),
                "µs",
            );
            per_round.iter().for_each(|v| {
                f.push(*v);
            });
        }
    }
    match res.write() {
        Ok(path) => println!("\nresults: {}", path.display()),
        Err(e) => eprintln!("writing the results: {e}"),
    }
}
