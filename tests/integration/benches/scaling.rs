//! How the host's cost grows with its work: CPU per frame of the host runtime's threads (and
//! frames/s per core, its inverse) as connections, symbols per connection and consumers per
//! topic grow, and for two venues at once; resident memory per connection, per subscription
//! and per queued item. The Gate.io plugin (the release `.so`) reads `spot.book_ticker` from
//! a simulator in this process, on a runtime of its own whose threads are not counted.
//!
//! `cargo bench -p integration-tests --bench scaling`
//! (prints a table, writes `target/results/scaling.json` for `cargo xtask docs` and draws
//! `docs/img/scaling.svg`).
//!
//! - **Connections** 1, 4, 16, 64: as many Gate.io instances (one connection each), each
//!   subscribed to `BTC/USDT` with one consumer; the simulator's rate is divided by the
//!   count, so the host handles about the same frames per second at every point.
//! - **Symbols** 1, 10, 100 on one connection, one consumer each; the simulator's rate is over
//!   all symbols.
//! - **Consumers** 1, 4, 16 subscriptions to one topic; CPU per frame received.
//! - **Two venues**: Gate.io and MEXC (one connection each) against Gate.io alone.
//!
//! Each point is measured `SCALE_ROUNDS` times (default 3), the points interleaved by round.
//! A dimension's cost is the least-squares slope of CPU per frame (and of RSS) against it.
//! RSS per queued item: a subscription that is never read, queue capacity 65,536 with
//! backpressure, RSS read at two fill levels.
//!
//! Env: `SCALE_ROUNDS`; `SCALE_SECS` (window per point, default 2); `SCALE_RATE` (frames/s
//! the simulator offers in all, default 20,000).

use std::time::{Duration, Instant};

use host::{Host, HostOptions, StreamItem};
use integration_tests::threads::cpu_ns;
use integration_tests::{bench_command, env_or, plugin, simulator, slope, temp_dir};
use plugin_api::StreamKind;
use venue_sim::{SimHandle, Venue};

/// The thread name of the host's runtime.
const HOST_THREADS: &str = "scale-host";

/// One measured dimension.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dim {
    Connections,
    Symbols,
    Consumers,
    Venues,
}

impl Dim {
    fn id(self) -> &'static str {
        match self {
            Dim::Connections => "connections",
            Dim::Symbols => "symbols",
            Dim::Consumers => "consumers",
            Dim::Venues => "venues",
        }
    }

    fn points(self) -> &'static [u32] {
        match self {
            Dim::Connections => &[1, 4, 16, 64],
            Dim::Symbols => &[1, 10, 100],
            Dim::Consumers => &[1, 4, 16],
            Dim::Venues => &[1, 2],
        }
    }
}

/// What one point measured.
struct Point {
    cpu_per_frame_ns: f64,
    rss_bytes: f64,
    frames_per_s: f64,
}

fn rss_bytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb * 1024.0)
}

fn symbols(n: u32) -> Vec<String> {
    if n == 1 {
        return vec!["BTC/USDT".into()];
    }
    (0..n)
        .map(|i| {
            let a = (b'A' + (i / 26) as u8) as char;
            let b = (b'A' + (i % 26) as u8) as char;
            format!("Q{a}{b}/USDT")
        })
        .collect()
}

fn settings(sim: &SimHandle) -> String {
    serde_json::json!({ "ws_url": sim.ws_url(), "rest_url": format!("http://{}", sim.local_addr()) })
        .to_string()
}

fn new_host(tag: &str, capacity: Option<usize>) -> Host {
    let mut options = HostOptions {
        shadow_dir: Some(temp_dir(tag)),
        ..HostOptions::default()
    };
    if let Some(c) = capacity {
        options.queues.capacity = c;
        options.queues.book_ticker = host::pipeline::queue::Overflow::Backpressure;
    }
    Host::new(options).unwrap()
}

/// Consumer tasks counting the events of `subs`; the count is shared.
fn consume(
    subs: Vec<host::Subscription>,
    counter: &std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    subs.into_iter()
        .map(|mut sub| {
            let counter = counter.clone();
            tokio::spawn(async move {
                while let Some(item) = sub.recv().await {
                    if let StreamItem::Event(e) = item {
                        std::hint::black_box(e);
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        })
        .collect()
}

/// Frames the host read (every instance's `frames_in`).
async fn frames_in(host: &Host) -> u64 {
    host.instances()
        .await
        .iter()
        .map(|i| i.stats.frames_in)
        .sum()
}

/// Sets up `dim` at `n`, streams for `window` and measures.
fn point(
    sim_rt: &tokio::runtime::Runtime,
    rt: &tokio::runtime::Runtime,
    dim: Dim,
    n: u32,
    rate: u32,
    window: Duration,
) -> Point {
    let syms = symbols(if dim == Dim::Symbols { n } else { 1 });
    let sym_refs: Vec<&str> = syms.iter().map(String::as_str).collect();
    let sim_rate = if dim == Dim::Connections {
        rate / n
    } else {
        rate
    };
    let gate = sim_rt.block_on(simulator(Venue::Gateio, &sym_refs, sim_rate.max(1)));
    let mexc = (dim == Dim::Venues && n == 2)
        .then(|| sim_rt.block_on(simulator(Venue::Mexc, &sym_refs, rate)));
    let measured = rt.block_on(async {
        let rss0 = rss_bytes();
        let host = new_host(&format!("bench-scale-{}-{n}", dim.id()), None);
        host.load_plugin(&plugin("gateio_plugin")).await.unwrap();
        let instances = if dim == Dim::Connections { n } else { 1 };
        let mut subs = Vec::new();
        for i in 0..instances {
            let name = format!("g{i}");
            host.start_venue(&name, "gateio", &settings(&gate))
                .await
                .unwrap();
            for s in &syms {
                let copies = if dim == Dim::Consumers { n } else { 1 };
                for _ in 0..copies {
                    subs.push(host.subscribe(&name, s, StreamKind::BookTicker).unwrap());
                }
            }
        }
        if let Some(m) = &mexc {
            host.load_plugin(&plugin("mexc_plugin")).await.unwrap();
            host.start_venue("m0", "mexc", &settings(m)).await.unwrap();
            subs.push(
                host.subscribe("m0", "BTC/USDT", StreamKind::BookTicker)
                    .unwrap(),
            );
        }
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let tasks = consume(subs, &counter);
        // Every instance's connection reads.
        let want = u64::from(instances) + u64::from(mexc.is_some());
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            let reading = host
                .instances()
                .await
                .iter()
                .filter(|i| i.stats.frames_in > 0)
                .count() as u64;
            if reading >= want {
                break;
            }
            assert!(
                Instant::now() < give_up,
                "{dim:?} {n}: instances not reading"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (f0, c0, t0) = (frames_in(&host).await, cpu_ns(HOST_THREADS), Instant::now());
        tokio::time::sleep(window).await;
        let (f1, c1, el) = (frames_in(&host).await, cpu_ns(HOST_THREADS), t0.elapsed());
        let rss = rss_bytes() - rss0;
        let frames = (f1 - f0).max(1) as f64;
        let _ = host.shutdown("bench").await;
        for t in tasks {
            let _ = t.await;
        }
        Point {
            cpu_per_frame_ns: (c1 - c0) as f64 / frames,
            rss_bytes: rss,
            frames_per_s: frames / el.as_secs_f64(),
        }
    });
    sim_rt.block_on(async {
        gate.shutdown().await;
        if let Some(m) = mexc {
            m.shutdown().await;
        }
    });
    measured
}

/// RSS per queued item: a subscription never read fills its queue (backpressure); RSS at a
/// quarter and at all of the capacity.
fn per_queued_item(
    sim_rt: &tokio::runtime::Runtime,
    rt: &tokio::runtime::Runtime,
    rate: u32,
) -> f64 {
    const CAPACITY: usize = 65_536;
    let gate = sim_rt.block_on(simulator(Venue::Gateio, &["BTC/USDT"], rate));
    let per_item = rt.block_on(async {
        let host = new_host("bench-scale-queue", Some(CAPACITY));
        host.load_plugin(&plugin("gateio_plugin")).await.unwrap();
        host.start_venue("g0", "gateio", &settings(&gate))
            .await
            .unwrap();
        let sub = host
            .subscribe("g0", "BTC/USDT", StreamKind::BookTicker)
            .unwrap();
        let at = |depth: usize| {
            let sub = &sub;
            async move {
                let give_up = Instant::now() + Duration::from_secs(120);
                while (sub.stats().depth as usize) < depth {
                    assert!(Instant::now() < give_up, "the queue did not fill");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (sub.stats().depth as f64, rss_bytes())
            }
        };
        let (d0, r0) = at(CAPACITY / 4).await;
        let (d1, r1) = at(CAPACITY).await;
        drop(sub);
        let _ = host.shutdown("bench").await;
        (r1 - r0) / (d1 - d0)
    });
    sim_rt.block_on(gate.shutdown());
    per_item
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let rounds = env_or("SCALE_ROUNDS", 3) as usize;
    let window = Duration::from_secs(env_or("SCALE_SECS", 2));
    let rate = env_or("SCALE_RATE", 20_000) as u32;
    plugin("gateio_plugin");
    plugin("mexc_plugin");
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("scale-sim")
        .enable_all()
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(HOST_THREADS)
        .enable_all()
        .build()
        .unwrap();
    let dims = [Dim::Connections, Dim::Symbols, Dim::Consumers, Dim::Venues];
    let mut res = xtask::results::Results::new("scaling", &bench_command("scaling", "SCALE_"));
    res.notes.push(format!(
        "{rounds} rounds of {} s per point; the simulator offers {rate} frames/s in all",
        window.as_secs()
    ));
    // [dim][point] -> per-round figures.
    let mut all: Vec<Vec<Vec<Point>>> = dims
        .iter()
        .map(|d| d.points().iter().map(|_| Vec::new()).collect())
        .collect();
    for round in 0..rounds {
        for (di, dim) in dims.iter().enumerate() {
            for (pi, &n) in dim.points().iter().enumerate() {
                let p = point(&sim_rt, &rt, *dim, n, rate, window);
                println!(
                    "  round {round}: {} {n}: {:.0} frames/s, CPU per frame {:.0} ns, RSS +{:.0} KiB",
                    dim.id(),
                    p.frames_per_s,
                    p.cpu_per_frame_ns,
                    p.rss_bytes / 1024.0
                );
                all[di][pi].push(p);
            }
        }
    }
    let queued = (0..rounds)
        .map(|_| per_queued_item(&sim_rt, &rt, rate))
        .collect::<Vec<f64>>();

    let mut plot_series = Vec::new();
    for (di, dim) in dims.iter().enumerate() {
        let points = dim.points();
        let first = format!("{}.{}.cpu", dim.id(), points[0]);
        for (pi, &n) in points.iter().enumerate() {
            let f = res.figure(
                &format!("{}.{n}.cpu", dim.id()),
                &format!("{n} {}: CPU per frame", dim.id()),
                "ns",
            );
            all[di][pi].iter().for_each(|p| {
                f.push(p.cpu_per_frame_ns);
            });
            if pi > 0 {
                f.against(&first);
            }
            let f = res.figure(
                &format!("{}.{n}.per_core", dim.id()),
                &format!("{n} {}: frames/s per core", dim.id()),
                "frames/s",
            );
            all[di][pi].iter().for_each(|p| {
                f.push(1e9 / p.cpu_per_frame_ns);
            });
        }
        // Slopes, one per round so their spread shows.
        let x: Vec<f64> = points.iter().map(|&n| f64::from(n)).collect();
        let cpu_slope = res.figure(
            &format!("slope.{}.cpu", dim.id()),
            &format!("CPU per frame per extra {}", unit_of(*dim)),
            "ns",
        );
        for r in 0..rounds {
            let y: Vec<f64> = all[di].iter().map(|p| p[r].cpu_per_frame_ns).collect();
            cpu_slope.push(slope(&x, &y));
        }
        if matches!(dim, Dim::Connections | Dim::Symbols) {
            let rss_slope = res.figure(
                &format!("slope.{}.rss", dim.id()),
                &format!("RSS per extra {}", unit_of(*dim)),
                "bytes",
            );
            for r in 0..rounds {
                let y: Vec<f64> = all[di].iter().map(|p| p[r].rss_bytes).collect();
                rss_slope.push(slope(&x, &y));
            }
        }
        plot_series.push((
            *dim,
            points
                .iter()
                .enumerate()
                .map(|(pi, &n)| {
                    let m = median(all[di][pi].iter().map(|p| p.cpu_per_frame_ns).collect());
                    (f64::from(n), m)
                })
                .collect::<Vec<_>>(),
        ));
    }
    let f = res.figure("rss.queued_item", "RSS per queued book ticker", "bytes");
    queued.iter().for_each(|v| {
        f.push(*v);
    });
    match res.write() {
        Ok(path) => println!("\nresults: {}", path.display()),
        Err(e) => eprintln!("writing the results: {e}"),
    }
    let svg = integration_tests::workspace().join("docs/img/scaling.svg");
    match draw(&plot_series, &svg) {
        Ok(()) => println!("plot: {}", svg.display()),
        Err(e) => eprintln!("drawing the plot: {e}"),
    }
}

fn unit_of(dim: Dim) -> &'static str {
    match dim {
        Dim::Connections => "connection",
        Dim::Symbols => "symbol on a connection",
        Dim::Consumers => "consumer of a topic",
        Dim::Venues => "venue",
    }
}

/// CPU per frame against each dimension's count (log scale), one line per dimension.
fn draw(series: &[(Dim, Vec<(f64, f64)>)], path: &std::path::Path) -> Result<(), String> {
    use plotters::prelude::*;
    std::fs::create_dir_all(path.parent().expect("a folder")).map_err(|e| e.to_string())?;
    let top = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        * 1.15;
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Host CPU per frame as work grows", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((1f64..100f64).log_scale(), 0f64..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("connections, symbols per connection, consumers per topic, venues")
        .y_desc("CPU per frame (ns)")
        .draw()
        .map_err(|e| e.to_string())?;
    let colors = [RED, BLUE, GREEN, BLACK];
    for ((dim, points), color) in series.iter().zip(colors) {
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(dim.id())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
