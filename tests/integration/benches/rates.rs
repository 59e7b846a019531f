//! CPU at the rates a venue really sends: the release `host` binary, as a user runs it, with
//! the Gate.io and MEXC plugins on three markets each (`book_ticker`, `trades`, `depth`: the
//! plugins keep each order book in sync from REST snapshots and sequenced updates) and its
//! built-in consumer bound to every stream, against a bare client with the same
//! subscriptions in a process of its own (tokio-tungstenite on the same multi-threaded
//! runtime the host uses; every Gate.io frame parsed into a `serde_json::Value`, every MEXC
//! frame decoded with prost). Both processes read the same two simulators at the same time,
//! paced at 100, 1,000 and 10,000 frames/s in total per client; the simulators run in this
//! process, so neither side's figures include them.
//!
//! `cargo bench -p integration-tests --bench rates`
//! (prints a table and writes `target/results/rates.json` for `cargo xtask docs`).
//!
//! Per window, for each process: CPU time of all its threads (`/proc/PID/task/*/schedstat`,
//! exact), context switches (voluntary + involuntary, `/proc/PID/task/*/status`) and futex
//! calls (`perf stat -e syscalls:sys_enter_futex`, when perf may count them; the figure is
//! left out otherwise), divided by the frames each client received (half of what the two
//! simulators sent in the window: both clients hold the same subscriptions).
//!
//! Env:
//! - `RATES_ROUNDS`: windows per rate (default 3); each window measures both processes.
//! - `RATES_SECS`: seconds per window at 1,000 frames/s (default 5; 100/s windows are twice
//!   as long, 10,000/s ones 0.6 times).
//! - `RATES`: total frames/s per client, comma-separated (default `100,1000,10000`).
//! - `RATES_PROFILE=1`: also samples both processes with `perf record` during each rate's
//!   first window and writes where their CPU went, by library and function (self time), to
//!   `target/results/rates-profile-<rate>-{host,bare}.txt` (the release build keeps its
//!   symbols; with fat LTO much is inlined into its callers).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use integration_tests::{
    bench_command, env_or, host_binary, plugin, simulator, temp_dir, venue_table,
};
use tokio_tungstenite::tungstenite::Message;
use venue_sim::{SimHandle, Venue};

/// Markets of each venue.
const SYMBOLS: [&str; 3] = ["BTC/USDT", "ETH/USDT", "SOL/USDT"];
/// Frames a simulator sends per generated book update, all channels together (book ticker,
/// depth update, trade; measured), to turn a frame rate into the simulator's update rate.
const FRAMES_PER_UPDATE: f64 = 2.0;
/// Set in the bare client's process: the Gate.io and MEXC websocket URLs.
const BARE_ENV: &str = "RATES_BARE_CLIENT";

fn main() {
    if let Ok(urls) = std::env::var(BARE_ENV) {
        bare_client(&urls);
        return;
    }
    let rounds = env_or("RATES_ROUNDS", 3) as usize;
    let secs = env_or("RATES_SECS", 5) as f64;
    let rates: Vec<u64> = std::env::var("RATES")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .map(|r| r.trim().parse().expect("RATES: frames per second"))
        .collect();
    plugin("gateio_plugin");
    plugin("mexc_plugin");
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("rates-sim")
        .enable_all()
        .build()
        .expect("a runtime");
    let mut res = xtask::results::Results::new("rates", &bench_command("rates", "RATES"));
    res.notes.push(format!(
        "{rounds} windows per rate; {} markets per venue; book_ticker, trades, depth",
        SYMBOLS.len()
    ));
    println!("CPU at realistic rates: host process against a bare client, same simulators, same windows\n");
    for rate in rates {
        let window = Duration::from_secs_f64(match rate {
            r if r <= 100 => secs * 2.0,
            r if r >= 10_000 => secs * 0.6,
            _ => secs,
        });
        measure_rate(&sim_rt, rate, rounds, window, &mut res);
    }
    match res.write() {
        Ok(path) => println!("\nresults: {}", path.display()),
        Err(e) => eprintln!("writing the results: {e}"),
    }
}

/// Counters of one process over a window.
#[derive(Clone, Copy, Default)]
struct Counters {
    cpu_ns: u64,
    switches: u64,
}

/// Sums over the threads of `pid`.
fn counters(pid: u32) -> Counters {
    let mut c = Counters::default();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return c;
    };
    for task in dir.flatten().map(|t| t.path()) {
        let sched = std::fs::read_to_string(task.join("schedstat")).unwrap_or_default();
        c.cpu_ns += sched
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let status = std::fs::read_to_string(task.join("status")).unwrap_or_default();
        c.switches += status
            .lines()
            .filter_map(|l| {
                l.strip_prefix("voluntary_ctxt_switches:")
                    .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
            })
            .filter_map(|v| v.trim().parse::<u64>().ok())
            .sum::<u64>();
    }
    c
}

/// `perf stat` counting futex calls of `pid` for `window`, started now; `None` if perf is
/// missing or may not count.
fn perf_futex(pid: u32, window: Duration, out: &Path) -> Option<Child> {
    perf_on(
        pid,
        window,
        &["stat", "-x", ",", "-e", "syscalls:sys_enter_futex"],
        out,
    )
}

/// `perf record` sampling `pid` for `window`, started now, into `data`; `None` if perf is
/// missing or may not sample.
fn perf_record(pid: u32, window: Duration, data: &Path) -> Option<Child> {
    perf_on(pid, window, &["record", "-F", "1999"], data)
}

/// `perf <args> -o <out> -p <pid> -- sleep <window>`, started now, quiet.
fn perf_on(pid: u32, window: Duration, args: &[&str], out: &Path) -> Option<Child> {
    Command::new("perf")
        .args(args)
        .arg("-o")
        .arg(out)
        .args(["-p", &pid.to_string(), "--", "sleep"])
        .arg(format!("{:.3}", window.as_secs_f64()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// Where the samples of `data` fell, by library and function, above 1 % of them: written
/// to `txt` and printed.
fn perf_summary(data: &Path, txt: &Path, who: &str) {
    let report = Command::new("perf")
        .args(["report", "--stdio", "--no-children", "--sort", "dso,symbol"])
        .args(["--percent-limit", "1", "-i"])
        .arg(data)
        .stderr(Stdio::null())
        .output();
    let Ok(report) = report else { return };
    let text = String::from_utf8_lossy(&report.stdout);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let _ = std::fs::write(txt, rows.join("\n") + "\n");
    println!("    {who}: where the CPU went (self, by library and function):");
    for row in rows.iter().take(15) {
        println!("      {}", row.trim());
    }
}

/// The futex count `perf stat -x ,` wrote.
fn perf_count(out: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(out).ok()?;
    text.lines()
        .find(|l| l.contains("sys_enter_futex"))
        .and_then(|l| l.split(',').next())
        .and_then(|v| v.trim().parse::<f64>().ok())
}

/// A private folder (the host's trust rule for plugin and shadow folders).
fn private_dir(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The host's configuration: both venues on the simulators, every market and channel.
fn host_config(dir: &Path, gate: &SimHandle, mexc: &SimHandle) -> PathBuf {
    let plugins = dir.join("plugins");
    let shadow = dir.join("shadow");
    private_dir(&plugins, 0o755);
    private_dir(&shadow, 0o700);
    for (lib, name) in [("gateio_plugin", "gateio.so"), ("mexc_plugin", "mexc.so")] {
        std::fs::hard_link(plugin(lib), plugins.join(name))
            .or_else(|_| std::fs::copy(plugin(lib), plugins.join(name)).map(drop))
            .unwrap();
    }
    let symbols: Vec<String> = SYMBOLS.iter().map(|s| format!("\"{s}\"")).collect();
    let extra = format!(
        "symbols = [{}]\nchannels = [\"book_ticker\", \"trades\", \"depth\"]\n",
        symbols.join(", ")
    );
    let path = dir.join("host.toml");
    std::fs::write(
        &path,
        format!(
            "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n\
             [control]\nenabled = false\n[metrics]\nenabled = false\n[log]\nfilter = \"warn\"\n{}{}",
            plugins.display(),
            shadow.display(),
            venue_table("gate", "gateio", gate, &extra),
            venue_table("mexc", "mexc", mexc, &extra),
        ),
    )
    .unwrap();
    path
}

/// Frames the two simulators sent.
fn sent(gate: &SimHandle, mexc: &SimHandle) -> u64 {
    gate.stats().snapshot().frames_sent + mexc.stats().snapshot().frames_sent
}

fn measure_rate(
    sim_rt: &tokio::runtime::Runtime,
    rate: u64,
    rounds: usize,
    window: Duration,
    res: &mut xtask::results::Results,
) {
    let profile = std::env::var_os("RATES_PROFILE").is_some();
    // Each simulator carries half the frames.
    let updates = ((rate as f64 / 2.0) / FRAMES_PER_UPDATE).round().max(1.0) as u32;
    let (gate, mexc) = sim_rt.block_on(async {
        (
            simulator(Venue::Gateio, &SYMBOLS, updates).await,
            simulator(Venue::Mexc, &SYMBOLS, updates).await,
        )
    });
    let dir = temp_dir(&format!("bench-rates-{rate}"));
    let config = host_config(&dir, &gate, &mexc);
    let mut host = Command::new(host_binary())
        .arg("run")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the host binary");
    let mut bare = Command::new(std::env::current_exe().expect("this bench's path"))
        .env(BARE_ENV, format!("{} {}", gate.ws_url(), mexc.ws_url()))
        .stdout(Stdio::null())
        .spawn()
        .expect("starting the bare client");
    // Both clients hold every subscription (3 channels × 3 markets per venue). A venue may
    // carry several markets in one subscription (`spot.trades:BTC_USDT,ETH_USDT`), so the
    // markets each client's subscriptions name are counted.
    let subscribed = |s: &SimHandle| {
        let snap = s.stats().snapshot();
        let markets = |subs: &Vec<String>| {
            subs.iter()
                .map(|sub| {
                    SYMBOLS
                        .iter()
                        .filter(|m| {
                            let (base, quote) = m.split_once('/').unwrap_or_default();
                            sub.contains(&format!("{base}_{quote}"))
                                || sub.contains(&format!("{base}{quote}"))
                        })
                        .count()
                })
                .sum::<usize>()
        };
        snap.subscriptions.len() >= 2
            && snap
                .subscriptions
                .values()
                .all(|subs| markets(subs) >= SYMBOLS.len() * 3)
    };
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while !(subscribed(&gate) && subscribed(&mexc)) {
        assert!(
            std::time::Instant::now() < give_up,
            "clients not subscribed: gate {:?}, mexc {:?}",
            gate.stats().snapshot().subscriptions,
            mexc.stats().snapshot().subscriptions
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Snapshots fetched, books in sync, caches warm.
    std::thread::sleep(Duration::from_secs(2));
    let (hpid, bpid) = (host.id(), bare.id());
    for round in 0..rounds {
        let (hf, bf) = (dir.join("perf-host.txt"), dir.join("perf-bare.txt"));
        let perf = [perf_futex(hpid, window, &hf), perf_futex(bpid, window, &bf)];
        let profiled: Vec<(Child, PathBuf, &str)> = match round == 0 && profile {
            true => [(hpid, "host"), (bpid, "bare")]
                .into_iter()
                .filter_map(|(pid, who)| {
                    let data = dir.join(format!("perf-{who}.data"));
                    perf_record(pid, window, &data).map(|c| (c, data, who))
                })
                .collect(),
            false => Vec::new(),
        };
        let (h0, b0, s0, t0) = (
            counters(hpid),
            counters(bpid),
            sent(&gate, &mexc),
            std::time::Instant::now(),
        );
        std::thread::sleep(window);
        let (h1, b1, s1, el) = (
            counters(hpid),
            counters(bpid),
            sent(&gate, &mexc),
            t0.elapsed(),
        );
        let mut futex = [None, None];
        for (i, p) in perf.into_iter().enumerate() {
            if let Some(mut p) = p {
                let ok = p.wait().is_ok_and(|s| s.success());
                futex[i] = ok
                    .then(|| perf_count(if i == 0 { &hf } else { &bf }))
                    .flatten();
            }
        }
        for (mut child, data, who) in profiled {
            if child.wait().is_ok_and(|s| s.success()) {
                let txt = xtask::results::dir().join(format!("rates-profile-{rate}-{who}.txt"));
                perf_summary(&data, &txt, who);
            }
        }
        let frames = ((s1 - s0) as f64 / 2.0).max(1.0);
        let secs = el.as_secs_f64();
        let per_frame = |a: u64, b: u64| (b - a) as f64 / frames;
        let (hcpu, bcpu) = (
            per_frame(h0.cpu_ns, h1.cpu_ns),
            per_frame(b0.cpu_ns, b1.cpu_ns),
        );
        let (hsw, bsw) = (
            per_frame(h0.switches, h1.switches),
            per_frame(b0.switches, b1.switches),
        );
        println!(
            "  {rate}/s round {round}: {:.0} frames/s per client; CPU per frame host {:.2} µs, bare {:.2} µs ({:.2}x); \
             CPU host {:.2} %, bare {:.2} %; switches per frame host {hsw:.3}, bare {bsw:.3}; futex per frame host {}, bare {}",
            frames / secs,
            hcpu / 1e3,
            bcpu / 1e3,
            hcpu / bcpu,
            (h1.cpu_ns - h0.cpu_ns) as f64 / secs / 1e7,
            (b1.cpu_ns - b0.cpu_ns) as f64 / secs / 1e7,
            futex[0].map_or("-".into(), |f| format!("{:.3}", f / frames)),
            futex[1].map_or("-".into(), |f| format!("{:.3}", f / frames)),
        );
        let r = rate;
        let mut add = |id: &str, label: &str, unit: &str, v: f64, base: Option<&str>| {
            let f = res.figure(&format!("r{r}.{id}"), label, unit);
            f.push(v);
            if let Some(b) = base {
                f.against(&format!("r{r}.{b}"));
            }
        };
        add(
            "frames",
            &format!("{r}/s: frames/s each client received"),
            "frames/s",
            frames / secs,
            None,
        );
        let pct = |a: u64, b: u64| (b - a) as f64 / secs / 1e7;
        add(
            "bare.cpu",
            &format!("{r}/s: bare client, CPU"),
            "%",
            pct(b0.cpu_ns, b1.cpu_ns),
            None,
        );
        add(
            "host.cpu",
            &format!("{r}/s: host process, CPU"),
            "%",
            pct(h0.cpu_ns, h1.cpu_ns),
            Some("bare.cpu"),
        );
        add(
            "bare.cpu_frame",
            &format!("{r}/s: bare client, CPU per frame"),
            "ns",
            bcpu,
            None,
        );
        add(
            "host.cpu_frame",
            &format!("{r}/s: host process, CPU per frame"),
            "ns",
            hcpu,
            Some("bare.cpu_frame"),
        );
        add(
            "bare.switches",
            &format!("{r}/s: bare client, context switches per frame"),
            "",
            bsw,
            None,
        );
        add(
            "host.switches",
            &format!("{r}/s: host process, context switches per frame"),
            "",
            hsw,
            Some("bare.switches"),
        );
        if let [Some(hf), Some(bf)] = futex {
            add(
                "bare.futex",
                &format!("{r}/s: bare client, futex calls per frame"),
                "",
                bf / frames,
                None,
            );
            add(
                "host.futex",
                &format!("{r}/s: host process, futex calls per frame"),
                "",
                hf / frames,
                Some("bare.futex"),
            );
        }
    }
    // SIGTERM: the host shuts down as a user's would.
    // SAFETY: `kill` with a pid of a child of this process and a valid signal number.
    unsafe { libc::kill(host.id() as i32, libc::SIGTERM) };
    let _ = host.wait();
    let _ = bare.kill();
    let _ = bare.wait();
    sim_rt.block_on(async {
        gate.shutdown().await;
        mexc.shutdown().await;
    });
}

// ---------------------------------------------------------------------------------------
// The bare client, run in a process of its own

/// Reads both venues until killed: one task per connection, every frame parsed.
fn bare_client(urls: &str) {
    let mut urls = urls.split_whitespace();
    let (gate, mexc) = (
        urls.next().expect("Gate.io URL").to_string(),
        urls.next().expect("MEXC URL").to_string(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let g = tokio::spawn(read_gate(gate));
        let m = tokio::spawn(read_mexc(mexc));
        let _ = tokio::join!(g, m);
    });
}

async fn read_gate(url: String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connecting to Gate.io");
    let pairs: Vec<String> = SYMBOLS.iter().map(|s| s.replace('/', "_")).collect();
    let mut requests = Vec::new();
    for channel in ["spot.book_ticker", "spot.trades"] {
        requests.push(serde_json::json!({"time": 0, "channel": channel, "event": "subscribe", "payload": pairs}));
    }
    for pair in &pairs {
        requests.push(serde_json::json!({"time": 0, "channel": "spot.order_book_update", "event": "subscribe", "payload": [pair, "100ms"]}));
    }
    for r in requests {
        ws.send(Message::text(r.to_string()))
            .await
            .expect("subscribing");
    }
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
            std::hint::black_box(v);
        }
    }
}

async fn read_mexc(url: String) {
    use prost::Message as _;
    use venue_sim::mexc::proto::PushDataV3ApiWrapper;
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connecting to MEXC");
    let mut params = Vec::new();
    for s in SYMBOLS {
        let sym = s.replace('/', "");
        params.push(format!(
            "spot@public.aggre.bookTicker.v3.api.pb@100ms@{sym}"
        ));
        params.push(format!("spot@public.aggre.deals.v3.api.pb@100ms@{sym}"));
        params.push(format!("spot@public.aggre.depth.v3.api.pb@100ms@{sym}"));
    }
    let request = serde_json::json!({"method": "SUBSCRIPTION", "params": params});
    ws.send(Message::text(request.to_string()))
        .await
        .expect("subscribing");
    while let Some(Ok(m)) = ws.next().await {
        match m {
            Message::Binary(b) => {
                std::hint::black_box(PushDataV3ApiWrapper::decode(&b[..]).ok());
            }
            Message::Text(t) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                std::hint::black_box(v);
            }
            _ => {}
        }
    }
}
