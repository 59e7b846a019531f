//! The chaos soak: the chaos suite's schedules (`integration_tests::chaos`) back to back
//! for a chosen time, sampling the process once a second: RSS, fds, threads, live tasks of
//! the running exchange, the deepest consumer queue and the hot reloads so far.
//!
//! ```text
//! cargo run -p integration-tests --example soak -- --minutes 30 [--from SEED]
//! ```
//!
//! Writes `target/results/soak.csv` (the samples), `target/results/soak.svg` (their plot)
//! and `target/results/soak.json` (the figures, for the docs). Exits 1 if any seed broke
//! an invariant (each is printed with its replay command as it happens).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use host::stop::process::ProcessCounts;
use integration_tests::chaos::plot::{svg, Series};
use integration_tests::chaos::runner::Probe;
use integration_tests::chaos::{run_seed, World, WARM_UP_SEED};

/// One second's sample.
#[derive(Clone, Copy)]
struct Sample {
    secs: f64,
    rss_kib: u64,
    fds: usize,
    threads: usize,
    tasks: usize,
    queue_depth: u64,
    reloads: u64,
    schedules: u64,
    failures: u64,
}

fn arg(args: &[String], name: &str) -> Option<f64> {
    let i = args.iter().position(|a| a == name)?;
    let v = args.get(i + 1)?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name} {v:?} is not a number")),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let minutes = arg(&args, "--minutes").unwrap_or(30.0);
    let mut seed = arg(&args, "--from").unwrap_or(0.0) as u64;
    let mut world = World::start("soak");
    if let Err(b) = run_seed(&mut world, WARM_UP_SEED, None) {
        eprintln!("the warm-up broke: {b}");
    }

    let probe = Arc::new(Probe::default());
    let schedules = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let sampler = {
        let (probe, schedules, failures, done) = (
            probe.clone(),
            schedules.clone(),
            failures.clone(),
            done.clone(),
        );
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            let mut next = started;
            while !done.load(Ordering::SeqCst) {
                next += Duration::from_secs(1);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                let p = ProcessCounts::now();
                let tasks = probe
                    .runtime
                    .lock()
                    .unwrap()
                    .as_ref()
                    .map_or(0, |h| h.metrics().num_alive_tasks());
                samples.push(Sample {
                    secs: started.elapsed().as_secs_f64(),
                    rss_kib: p.rss_kib,
                    fds: p.fds,
                    threads: p.threads,
                    tasks,
                    queue_depth: probe.queue_depth.swap(0, Ordering::Relaxed),
                    reloads: probe.reloads.load(Ordering::Relaxed),
                    schedules: schedules.load(Ordering::Relaxed),
                    failures: failures.load(Ordering::Relaxed),
                });
            }
            samples
        })
    };

    // The sampler's thread is part of the process every seed comes back to.
    world.take_baseline();
    let base = world.baseline.unwrap();
    let until = started + Duration::from_secs_f64(minutes * 60.0);
    while Instant::now() < until {
        if let Err(b) = run_seed(&mut world, seed, Some(&probe)) {
            eprintln!("{b}");
            failures.fetch_add(1, Ordering::Relaxed);
        }
        schedules.fetch_add(1, Ordering::Relaxed);
        seed += 1;
    }
    done.store(true, Ordering::SeqCst);
    let samples = sampler.join().expect("the sampler panicked");
    world.shutdown();

    let dir = xtask::results::dir();
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from(
        "seconds,rss_kib,fds,threads,live_tasks,max_queue_depth,reloads,schedules,failures\n",
    );
    for s in &samples {
        csv.push_str(&format!(
            "{:.1},{},{},{},{},{},{},{},{}\n",
            s.secs,
            s.rss_kib,
            s.fds,
            s.threads,
            s.tasks,
            s.queue_depth,
            s.reloads,
            s.schedules,
            s.failures
        ));
    }
    std::fs::write(dir.join("soak.csv"), csv).unwrap();
    let t: Vec<f64> = samples.iter().map(|s| s.secs / 60.0).collect();
    let col = |f: fn(&Sample) -> f64| samples.iter().map(f).collect::<Vec<f64>>();
    let series = [
        Series {
            title: "RSS (MiB)",
            values: col(|s| s.rss_kib as f64 / 1024.0),
        },
        Series {
            title: "open fds",
            values: col(|s| s.fds as f64),
        },
        Series {
            title: "threads",
            values: col(|s| s.threads as f64),
        },
        Series {
            title: "live tasks of the running exchange",
            values: col(|s| s.tasks as f64),
        },
        Series {
            title: "deepest consumer queue in the second",
            values: col(|s| s.queue_depth as f64),
        },
        Series {
            title: "hot reloads (cumulative)",
            values: col(|s| s.reloads as f64),
        },
        Series {
            title: "schedules run (cumulative)",
            values: col(|s| s.schedules as f64),
        },
        Series {
            title: "broken seeds (cumulative)",
            values: col(|s| s.failures as f64),
        },
    ];
    let n = schedules.load(Ordering::Relaxed);
    let f = failures.load(Ordering::Relaxed);
    std::fs::write(
        dir.join("soak.svg"),
        svg(
            &format!("Chaos soak: {n} schedules in {minutes} min, sampled once a second"),
            &t,
            &series,
        ),
    )
    .unwrap();

    let mut r = xtask::results::Results::new(
        "soak",
        &format!("cargo run -p integration-tests --example soak -- --minutes {minutes}"),
    );
    let first = samples.first().copied();
    let last = samples.last().copied();
    let rss = |s: Option<Sample>| s.map_or(0.0, |s| s.rss_kib as f64 / 1024.0);
    r.figure("rss.start", "RSS after the first second", "MiB")
        .push(rss(first));
    r.figure("rss.end", "RSS at the end", "MiB").push(rss(last));
    r.figure("rss.max", "RSS, highest sample", "MiB")
        .push(samples.iter().map(|s| s.rss_kib).max().unwrap_or(0) as f64 / 1024.0);
    r.figure(
        "fds.over_baseline",
        "open fds, highest sample above the baseline",
        "fds",
    )
    .push(samples.iter().map(|s| s.fds).max().unwrap_or(0) as f64 - base.fds as f64);
    r.figure(
        "threads.over_baseline",
        "threads, highest sample above the baseline",
        "threads",
    )
    .push(samples.iter().map(|s| s.threads).max().unwrap_or(0) as f64 - base.threads as f64);
    r.figure(
        "fds.end_over_baseline",
        "open fds at the end above the baseline",
        "fds",
    )
    .push(last.map_or(0.0, |s| s.fds as f64 - base.fds as f64));
    r.figure(
        "threads.end_over_baseline",
        "threads at the end above the baseline",
        "threads",
    )
    .push(last.map_or(0.0, |s| s.threads as f64 - base.threads as f64));
    r.figure(
        "tasks.max",
        "live tasks of the running exchange, highest sample",
        "tasks",
    )
    .push(samples.iter().map(|s| s.tasks).max().unwrap_or(0) as f64);
    r.figure("queue.max", "deepest consumer queue", "items")
        .push(samples.iter().map(|s| s.queue_depth).max().unwrap_or(0) as f64);
    r.figure("reloads", "hot reloads", "reloads")
        .push(probe.reloads.load(Ordering::Relaxed) as f64);
    r.figure("schedules", "schedules run", "schedules")
        .push(n as f64);
    r.figure("failures", "schedules that broke an invariant", "schedules")
        .push(f as f64);
    r.figure("minutes", "duration", "min").push(minutes);
    r.notes.push(format!(
        "baseline: {} fds, {} threads, {} KiB RSS after a warm-up schedule",
        base.fds, base.threads, base.rss_kib
    ));
    let path = r.write().unwrap();
    eprintln!(
        "soak: {n} schedules in {minutes} min, {f} broke; {} samples in {} and soak.svg; figures in {}",
        samples.len(),
        dir.join("soak.csv").display(),
        path.display()
    );
    if f > 0 {
        std::process::exit(1);
    }
}
