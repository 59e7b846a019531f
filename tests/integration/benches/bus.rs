//! The NATS hop: what publishing a venue on the bus adds to the latency of its data, and
//! what each extra remote consumer costs.
//!
//! A stamping Gate.io server (`integration_tests::stamped`) writes one `BTC/USDT` book
//! ticker per pace whose update id is the wall-clock time it was sent. A host (the real
//! Gate.io plugin file, release build) runs the venue and publishes its book tickers on a
//! real `nats-server` on loopback. In the same run, on the same frames:
//!
//! - **in-process**: a subscription on the host itself (server → consumer);
//! - **over the bus**: `N` programs, each an `Exchange` with `nats.remote` and a connection
//!   of its own, reading the same book tickers (server → host → NATS → program). The added
//!   latency is taken per frame: the first program's receive time minus the in-process
//!   consumer's, for the same update id.
//! - **floor**: a bare `async-nats` publisher and subscriber through the same server at the
//!   same pace, the stamp in the payload: what any NATS hop costs here.
//! - **fan-out**: for `N` = 1, 2, 4, 8 programs, the server's CPU per published message
//!   (`/proc/PID/task/*/schedstat` of `nats-server`) and the programs' latency; the cost of
//!   one more consumer is the least-squares slope over `N`.
//!
//! Everything but the NATS server runs in this process on one runtime of two worker
//! threads; the machine has two cores. The hop (one program) is measured again at a fast
//! pace, where the threads rarely sleep between frames. Environment: `BUS_ROUNDS` (default
//! 3), `BUS_SECS` per point (default 4), `BUS_PACE_US` (default 1000: 1,000 frames/s),
//! `BUS_FAST_PACE_US` (default 100: 10,000 frames/s).

use std::collections::HashMap;
use std::time::Duration;

use host::config::{HostConfig, Secrets};
use host::exchange::{Exchange, Update};
use host::ops::Operator;
use host::StreamItem;
use integration_tests::nats::NatsServer;
use integration_tests::stamped::{now_ns, stamping_server, Feed};
use integration_tests::{bench_command, env_or, host_folders, plugin, slope, temp_dir};
use plugin_api::{Event, StreamKind};
use tokio::time::Instant;

/// The numbers of remote programs of the fan-out points.
const FAN_OUT: &[usize] = &[1, 2, 4, 8];

/// Frames at the start of each point that are not counted (connections settling).
const WARMUP: Duration = Duration::from_millis(500);

/// p50 and p99 of `v` (ns), in µs.
fn percentiles(mut v: Vec<u64>) -> [f64; 2] {
    if v.is_empty() {
        return [f64::NAN; 2];
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)] as f64 / 1e3;
    [at(0.5), at(0.99)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Writes a host configuration (Gate.io on `ws_url`, its book tickers published on the
/// bus at `nats`) or, with `remote`, a program's, and reads it back.
fn config(dir: &std::path::Path, ws_url: &str, nats: &str, remote: Option<usize>) -> HostConfig {
    let (plugins, shadow) = host_folders(dir);
    let installed = plugins.join("gateio.so");
    if !installed.exists() {
        std::fs::copy(plugin("gateio_plugin"), &installed).expect("installing the plugin");
    }
    let head = format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n\
         [control]\nenabled = false\n[metrics]\nenabled = false\n[log]\nfilter = \"warn\"\n",
        plugins.display(),
        shadow.display()
    );
    let text = match remote {
        None => format!(
            "{head}[nats]\nenabled = true\nurl = \"{nats}\"\nleases = false\n\
             [venues.gate]\nplugin = \"gateio\"\nsymbols = [\"BTC/USDT\"]\nchannels = [\"book_ticker\"]\n\
             endpoints = {{ ws_url = \"{ws_url}\", rest_url = \"http://127.0.0.1:1\" }}\n"
        ),
        Some(i) => format!(
            "{head}[nats]\nenabled = true\nremote = true\nurl = \"{nats}\"\nconsumer = \"bench-{i}\"\n\
             [venues.gate]\nplugin = \"gateio\"\n"
        ),
    };
    let file = dir.join(match remote {
        None => "host.toml".to_owned(),
        Some(i) => format!("program-{i}.toml"),
    });
    std::fs::write(&file, text).expect("writing a configuration");
    HostConfig::load(Some(&file)).expect("a valid configuration")
}

/// One point's figures.
struct Point {
    /// In-process p50, p99 (µs, server → consumer).
    local: [f64; 2],
    /// Over the bus, every program's frames together: p50, p99.
    remote: [f64; 2],
    /// The first program's receive minus the in-process receive, per frame: p50, p99.
    added: [f64; 2],
    /// NATS server CPU per published message, ns.
    server_ns: f64,
    /// Frames counted in-process.
    frames: usize,
}

/// Reads book tickers until `until`: (update id, receive time) after the warm-up.
async fn collect_local(
    mut sub: host::Subscription,
    from: Instant,
    until: Instant,
) -> Vec<(u64, u64)> {
    let mut got = Vec::new();
    loop {
        let item = tokio::select! {
            item = sub.recv() => item,
            () = tokio::time::sleep_until(until) => break,
        };
        match item {
            Some(StreamItem::Event(Event::BookTicker(t))) if Instant::now() >= from => {
                got.push((t.update_id, now_ns()))
            }
            Some(_) => {}
            None => break,
        }
    }
    got
}

async fn collect_remote(
    mut tickers: host::exchange::BookTickers,
    from: Instant,
    until: Instant,
) -> Vec<(u64, u64)> {
    let mut got = Vec::new();
    loop {
        let update = tokio::select! {
            update = tickers.recv() => update,
            () = tokio::time::sleep_until(until) => break,
        };
        match update {
            Some(Update::Item(t)) if Instant::now() >= from => got.push((t.update_id, now_ns())),
            Some(_) => {}
            None => break,
        }
    }
    got
}

/// One fan-out point: `n` programs and the in-process consumer over `window`.
async fn point(
    op: &Operator,
    programs: &[HostConfig],
    nats: &NatsServer,
    window: Duration,
) -> Point {
    let mut exchanges = Vec::new();
    let mut streams = Vec::new();
    for config in programs {
        let exchange = Exchange::start(config.clone(), Secrets::default())
            .await
            .expect("a remote exchange");
        let tickers = exchange
            .venue("gate")
            .expect("the venue")
            .book_tickers("BTC/USDT")
            .await
            .expect("book tickers over the bus");
        streams.push(tickers);
        exchanges.push(exchange);
    }
    let sub = op
        .host()
        .subscribe("gate", "BTC/USDT", StreamKind::BookTicker)
        .expect("a subscription");
    let from = Instant::now() + WARMUP;
    let until = from + window;
    // The server's CPU from the end of the warm-up, which the consumers skip too.
    let server_before = async {
        tokio::time::sleep_until(from).await;
        nats.cpu_ns()
    };
    let remote =
        futures_util::future::join_all(streams.into_iter().map(|s| collect_remote(s, from, until)));
    let (local, remote, server_before) =
        tokio::join!(collect_local(sub, from, until), remote, server_before);
    let server_ns = nats.cpu_ns().saturating_sub(server_before) as f64;
    for exchange in exchanges {
        let _ = exchange.shutdown("bench point done").await;
    }
    let latency = |v: &[(u64, u64)]| -> Vec<u64> {
        v.iter()
            .map(|(sent, at)| at.saturating_sub(*sent))
            .collect()
    };
    let at_local: HashMap<u64, u64> = local.iter().copied().collect();
    let added: Vec<u64> = remote[0]
        .iter()
        .filter_map(|(id, at)| Some(at.saturating_sub(*at_local.get(id)?)))
        .collect();
    let all_remote: Vec<u64> = remote.iter().flat_map(|r| latency(r)).collect();
    Point {
        local: percentiles(latency(&local)),
        remote: percentiles(all_remote),
        added: percentiles(added),
        server_ns: server_ns / local.len().max(1) as f64,
        frames: local.len(),
    }
}

/// The floor: `window` of a bare publisher (stamping each message as it sends it, at
/// `pace`) and subscriber through the server at `url`; p50, p99 in µs.
async fn bare_hop(url: &str, pace: Duration, window: Duration) -> [f64; 2] {
    use futures_util::StreamExt;
    let publisher = async_nats::connect(url).await.expect("a publisher");
    let subscriber = async_nats::connect(url).await.expect("a subscriber");
    let mut messages = subscriber
        .subscribe("bench.floor")
        .await
        .expect("a subscription");
    subscriber.flush().await.expect("the subscription in place");
    let from = Instant::now() + WARMUP;
    let until = from + window;
    let send = async {
        let mut tick = tokio::time::interval(pace);
        while Instant::now() < until {
            tick.tick().await;
            let stamp = now_ns().to_le_bytes().to_vec();
            let _ = publisher.publish("bench.floor", stamp.into()).await;
        }
    };
    let receive = async {
        let mut got = Vec::new();
        loop {
            let message = tokio::select! {
                m = messages.next() => m,
                () = tokio::time::sleep_until(until) => break,
            };
            let Some(message) = message else { break };
            let Ok(bytes) = <[u8; 8]>::try_from(message.payload.as_ref()) else {
                continue;
            };
            if Instant::now() >= from {
                got.push(now_ns().saturating_sub(u64::from_le_bytes(bytes)));
            }
        }
        got
    };
    let ((), got) = tokio::join!(send, receive);
    percentiles(got)
}

fn main() {
    let rounds = env_or("BUS_ROUNDS", 3);
    let window = Duration::from_secs(env_or("BUS_SECS", 4));
    let pace = Duration::from_micros(env_or("BUS_PACE_US", 1000));
    let fast = Duration::from_micros(env_or("BUS_FAST_PACE_US", 100));
    let nats = NatsServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-bus")
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = temp_dir("bench-bus");
    // Per round: the fan-out points at `pace`, the hop alone at `fast`; the floor at both.
    let mut points: Vec<Vec<Point>> = Vec::new();
    let mut fast_points: Vec<Point> = Vec::new();
    let mut floors = Vec::new();
    for round in 0..rounds {
        for (pace, fan_out) in [(pace, FAN_OUT), (fast, &FAN_OUT[..1])] {
            let pace_us = pace.as_micros();
            // The floor's publisher is paced by tokio's timer, whose ticks are a millisecond
            // apart: at a faster pace it would send bursts, so it runs at the slow pace only.
            if fan_out.len() > 1 {
                let floor = rt.block_on(bare_hop(&nats.url, pace, window));
                println!(
                    "round {round}, 1 per {pace_us} µs: bare NATS hop p50 {:.1} p99 {:.1} µs",
                    floor[0], floor[1]
                );
                floors.push(floor);
            }
            let url = stamping_server(Feed::Gate, Some(pace));
            let host_config = config(&dir, &url, &nats.url, None);
            let programs: Vec<HostConfig> = (0..*fan_out.last().unwrap_or(&1))
                .map(|i| config(&dir, &url, &nats.url, Some(i)))
                .collect();
            let row = rt.block_on(async {
                let op = Operator::start(host_config, Secrets::default(), None)
                    .await
                    .expect("the host");
                let mut row = Vec::new();
                for &n in fan_out {
                    let p = point(&op, &programs[..n], &nats, window).await;
                    println!(
                        "round {round}, 1 per {pace_us} µs, n={n}: {} frames; in-process p50 {:.1} p99 {:.1} µs; over the bus p50 {:.1} p99 {:.1} µs; added p50 {:.1} p99 {:.1} µs; server {:.0} ns/msg",
                        p.frames, p.local[0], p.local[1], p.remote[0], p.remote[1], p.added[0], p.added[1], p.server_ns
                    );
                    row.push(p);
                }
                let _ = op.shutdown("bench round done").await;
                row
            });
            if fan_out.len() == 1 {
                fast_points.extend(row);
            } else {
                points.push(row);
            }
        }
    }
    record(&points, &floors, pace, (&fast_points, fast));
}

/// One figure: id, label, unit, one value per round, its baseline.
type Row = (String, String, &'static str, Vec<f64>, Option<&'static str>);

/// The hop alone at the fast pace: one point per round, and the pace.
type Fast<'a> = (&'a [Point], Duration);

fn record(points: &[Vec<Point>], floors: &[[f64; 2]], pace: Duration, fast: Fast<'_>) {
    let mut res = xtask::results::Results::new("bus", &bench_command("bus", "BUS_"));
    res.notes.push(format!(
        "1 book ticker per {} µs (`fast.*`: per {} µs); host, programs and the stamping server in one process, nats-server 2.15.1 on loopback",
        pace.as_micros(),
        fast.1.as_micros(),
    ));
    let (fast_points, _) = fast;
    // One value per round: of the first fan-out point, of point `i`, of the floor.
    let at = |i: usize, f: fn(&Point) -> f64| points.iter().map(|r| f(&r[i])).collect::<Vec<f64>>();
    let floor = |q: usize| floors.iter().map(|f| f[q]).collect::<Vec<f64>>();
    let x: Vec<f64> = FAN_OUT.iter().map(|&n| n as f64).collect();
    let slopes = |f: fn(&Point) -> f64| {
        let per_round = |r: &Vec<Point>| slope(&x, &r.iter().map(f).collect::<Vec<f64>>());
        points.iter().map(per_round).collect::<Vec<f64>>()
    };
    let mut rows: Vec<Row> = Vec::new();
    for (q, name) in [(0, "p50"), (1, "p99")] {
        let pick: [fn(&Point) -> f64; 3] = match q {
            0 => [|p| p.local[0], |p| p.remote[0], |p| p.added[0]],
            _ => [|p| p.local[1], |p| p.remote[1], |p| p.added[1]],
        };
        rows.extend([
            (
                format!("hop.bare.{name}"),
                format!("publish → receive {name}, bare async-nats clients"),
                "µs",
                floor(q),
                None,
            ),
            (
                format!("hop.local.{name}"),
                format!("server → consumer {name}, in-process"),
                "µs",
                at(0, pick[0]),
                None,
            ),
            (
                format!("hop.remote.{name}"),
                format!("server → consumer {name}, over NATS (1 program)"),
                "µs",
                at(0, pick[1]),
                Some(if q == 0 {
                    "hop.local.p50"
                } else {
                    "hop.local.p99"
                }),
            ),
            (
                format!("hop.added.{name}"),
                format!("added by the NATS hop {name} (same frames)"),
                "µs",
                at(0, pick[2]),
                Some(if q == 0 {
                    "hop.bare.p50"
                } else {
                    "hop.bare.p99"
                }),
            ),
        ]);
    }
    for (i, &n) in FAN_OUT.iter().enumerate() {
        rows.extend([
            (
                format!("fanout.n{n}.server"),
                format!("{n} programs: nats-server CPU per message"),
                "ns",
                at(i, |p| p.server_ns),
                None,
            ),
            (
                format!("fanout.n{n}.p50"),
                format!("{n} programs: server → program p50"),
                "µs",
                at(i, |p| p.remote[0]),
                None,
            ),
            (
                format!("fanout.n{n}.p99"),
                format!("{n} programs: server → program p99"),
                "µs",
                at(i, |p| p.remote[1]),
                None,
            ),
        ]);
    }
    for (q, name) in [(0, "p50"), (1, "p99")] {
        let pick = |f: fn(&Point, usize) -> f64| fast_points.iter().map(|p| f(p, q)).collect();
        let local_id = if q == 0 {
            "fast.local.p50"
        } else {
            "fast.local.p99"
        };
        rows.extend([
            (
                local_id.to_owned(),
                format!("server → consumer {name}, in-process"),
                "µs",
                pick(|p, q| p.local[q]),
                None,
            ),
            (
                format!("fast.remote.{name}"),
                format!("server → consumer {name}, over NATS (1 program)"),
                "µs",
                pick(|p, q| p.remote[q]),
                Some(local_id),
            ),
            (
                format!("fast.added.{name}"),
                format!("added by the NATS hop {name} (same frames)"),
                "µs",
                pick(|p, q| p.added[q]),
                None,
            ),
        ]);
    }
    rows.push((
        "fast.server".into(),
        "nats-server CPU per message (1 program)".into(),
        "ns",
        fast_points.iter().map(|p| p.server_ns).collect(),
        Some("fanout.n1.server"),
    ));
    rows.extend([
        (
            "slope.server".into(),
            "each extra program: nats-server CPU per message".into(),
            "ns",
            slopes(|p| p.server_ns),
            None,
        ),
        (
            "slope.p50".into(),
            "each extra program: p50 latency".into(),
            "µs",
            slopes(|p| p.remote[0]),
            None,
        ),
        (
            "slope.p99".into(),
            "each extra program: p99 latency".into(),
            "µs",
            slopes(|p| p.remote[1]),
            None,
        ),
    ]);
    for (id, label, unit, values, base) in rows {
        let figure = res.figure(&id, &label, unit);
        for v in values {
            figure.push(v);
        }
        if let Some(base) = base {
            figure.against(base);
        }
    }
    println!(
        "\nadded by the hop, median of rounds: p50 {:.1} µs, p99 {:.1} µs (bare NATS hop p50 {:.1} µs)",
        median(at(0, |p| p.added[0])),
        median(at(0, |p| p.added[1])),
        median(floor(0)),
    );
    match res.write() {
        Ok(path) => println!("results: {}", path.display()),
        Err(e) => eprintln!("writing the results: {e}"),
    }
}
