//! Shared support for the end-to-end tests: builds the real plugin files (and the `host`
//! binary) once per test process, and serializes tests that measure process-wide counters.
//! [`stamped`] holds the paced feeds and bare parses the latency benchmarks share,
//! [`threads`] the per-thread CPU and context-switch counters they read, [`host_process`]
//! the `host` binary run as a child process with its simulators, metrics and `/proc` counters.

pub mod chaos;
pub mod host_process;
pub mod nats;
pub mod stamped;
pub mod threads;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The command that reproduces a run of the bench `bench`: `cargo bench -p integration-tests
/// --bench BENCH`, preceded by the variables starting with `env_prefix` that are set now.
pub fn bench_command(bench: &str, env_prefix: &str) -> String {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with(env_prefix))
        .collect();
    vars.sort();
    let mut command: String = vars.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    command.push_str("cargo bench -p integration-tests --bench ");
    command.push_str(bench);
    command
}

/// A benchmark setting: the number in the environment variable `name`, or `default` when it
/// is unset or not a number.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Makes `dir/plugins` (0755) and `dir/shadow` (0700: the host refuses a shadow folder
/// others could write to, whatever the umask) and returns them.
pub fn host_folders(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let (plugins, shadow) = (dir.join("plugins"), dir.join("shadow"));
    for (folder, mode) in [(&plugins, 0o755), (&shadow, 0o700)] {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    (plugins, shadow)
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Canonical, so paths compare equal to what `/proc/self/maps` shows.
    root.canonicalize().unwrap_or(root)
}

/// Packages whose artifacts the tests load or run.
const PACKAGES: &[&str] = &[
    "fixture-counter",
    "fixture-counter-v2",
    "fixture-counter-alt",
    "fixture-no-root",
    "fixture-wrong-api",
    "fixture-bad-layout",
    "fixture-relay",
    "gateio-plugin",
    "mexc-plugin",
    "binance-plugin",
    "host",
    "arbitrage-program",
    "venue-sim",
];

/// Builds every test artifact (once per process) into its own target folder, so it never
/// waits on the lock of the `cargo test` that runs us, and returns the folder of the files.
pub fn artifacts() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = workspace().join("target/test-artifacts");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Benchmarks are built optimized; the plugins they load must be too.
        let release = !cfg!(debug_assertions);
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace())
            .arg("build")
            .arg("--quiet")
            .env("CARGO_TARGET_DIR", &target);
        if release {
            cmd.arg("--release");
        }
        for p in PACKAGES {
            cmd.args(["-p", p]);
        }
        let status = cmd
            .status()
            .expect("running cargo build for the test plugins");
        assert!(status.success(), "building the test plugins failed");
        target.join(if release { "release" } else { "debug" })
    })
}

/// The built plugin file of the crate whose library is called `lib_name`.
pub fn plugin(lib_name: &str) -> PathBuf {
    let path = artifacts().join(format!("lib{lib_name}.so"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// The built `arbitrage` program.
pub fn arbitrage_binary() -> PathBuf {
    artifacts().join("arbitrage")
}

/// The built `host` binary.
pub fn host_binary() -> PathBuf {
    artifacts().join("host")
}

/// The built `venue-sim` binary.
pub fn simulator_binary() -> PathBuf {
    artifacts().join("venue-sim")
}

/// Starts `host run` with `args` (`--config FILE`, `--report FILE`, `--duration S`...),
/// its stderr lines forwarded to a channel so the pipe never fills.
pub fn run_host<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    run_host_with(args, |_| {})
}

/// [`run_host`] with environment variables set for the host process (`TMPDIR`...).
pub fn run_host_with_env<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    env: &[(&str, &Path)],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    run_host_with(args, |command| {
        command.envs(env.iter().copied());
    })
}

/// [`run_host`], with `configure` given the command before it is spawned (environment,
/// resource limits set in `pre_exec`...).
pub fn run_host_with<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    configure: impl FnOnce(&mut Command),
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut command = Command::new(host_binary());
    command
        .arg("run")
        .args(args)
        .stderr(std::process::Stdio::piped());
    configure(&mut command);
    let mut child = command.spawn().expect("starting the host binary");
    let rx = forward_lines(child.stderr.take().expect("stderr piped"), |line| line);
    (child, rx)
}

/// Reads `from` line by line on a thread of its own, so a child's pipe never fills; each
/// line, passed through `wrap` (`|line| (Instant::now(), line)` keeps when it was read),
/// arrives on the returned channel, which ends with the pipe.
pub fn forward_lines<T: Send + 'static>(
    from: impl std::io::Read + Send + 'static,
    wrap: fn(String) -> T,
) -> std::sync::mpsc::Receiver<T> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(from).lines().map_while(Result::ok) {
            if tx.send(wrap(line)).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits until a thread of the process `pid` sleeps in `nanosleep`. The host itself never does; with
/// `block_ms` set, the fixture's tick callback does, so a plugin call is then in progress.
/// Polls `/proc` (these tests are Linux-only, like the host's own process counts).
pub fn wait_for_a_blocked_call(pid: u32) {
    let patience = std::time::Duration::from_secs(60);
    let tasks = format!("/proc/{pid}/task");
    let give_up = std::time::Instant::now() + patience;
    while !std::fs::read_dir(&tasks)
        .into_iter()
        .flatten()
        .flatten()
        .any(|task| in_nanosleep(&task.path()))
    {
        assert!(
            std::time::Instant::now() < give_up,
            "no plugin call blocked in {patience:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Whether the thread at `/proc/<pid>/task/<tid>` is blocked in `nanosleep` or
/// `clock_nanosleep`: its wait channel says so, or else its current system call.
fn in_nanosleep(task: &std::path::Path) -> bool {
    let read = |file: &str| std::fs::read_to_string(task.join(file)).unwrap_or_default();
    if read("wchan").contains("nanosleep") {
        return true;
    }
    let nanosleep_calls: &[&str] = if cfg!(target_arch = "x86_64") {
        &["35", "230"]
    } else if cfg!(target_arch = "aarch64") {
        &["101", "115"]
    } else {
        &[]
    };
    let syscall = read("syscall");
    nanosleep_calls.contains(&syscall.split_whitespace().next().unwrap_or(""))
}

/// Least-squares slope of `y` against `x` (0 when every `x` is the same): what each unit
/// of a benchmark's dimension costs.
pub fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx
    }
}

/// A fresh private folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = workspace()
        .join("target/test-tmp")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a test folder");
    dir
}

/// Held by tests that compare process-wide counts (fds, threads, RSS), so no other test of
/// the same process changes them meanwhile.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next trade id on `sub`, skipping other events; `None` at the end of the stream.
pub async fn next_trade(sub: &mut host::Subscription) -> Option<String> {
    use plugin_api::Event;
    loop {
        match sub.recv().await? {
            host::StreamItem::Event(Event::Trade(t)) => return Some(t.trade_id.to_string()),
            host::StreamItem::Event(_) => continue,
            host::StreamItem::End => return None,
        }
    }
}

/// A two-worker runtime, built after [`serial`] is held so its threads count in the baseline.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building a runtime")
}

/// A Gate.io simulator on a free loopback port streaming one market, `BTC/USDT`, at `rate`
/// updates per second (more than it can produce means as fast as it can).
pub async fn gate_simulator(rate: u32) -> venue_sim::SimHandle {
    simulator(venue_sim::Venue::Gateio, &["BTC/USDT"], rate).await
}

/// A simulator of `venue` on a free loopback port streaming `symbols` at `rate` updates
/// per second.
pub async fn simulator(
    venue: venue_sim::Venue,
    symbols: &[&str],
    rate: u32,
) -> venue_sim::SimHandle {
    let mut config = venue_sim::SimConfig::new(venue);
    config.rate = rate;
    config.symbols = symbols
        .iter()
        .map(|s| venue_sim::Symbol::parse(s).expect("a valid symbol"))
        .collect();
    let bind: std::net::SocketAddr = "127.0.0.1:0".parse().expect("a loopback address");
    venue_sim::Simulator::start(config, bind)
        .await
        .expect("starting the simulator")
}

/// A `[venues.NAME]` table for the host's configuration: `plugin` against the simulator
/// `sim` (its websocket and REST endpoints), with `extra` lines (symbols, channels...).
pub fn venue_table(name: &str, plugin: &str, sim: &venue_sim::SimHandle, extra: &str) -> String {
    format!(
        "[venues.{name}]\nplugin = \"{plugin}\"\n{extra}endpoints = {{ ws_url = \"{}\", rest_url = \"http://{}\" }}\n",
        sim.ws_url(),
        sim.local_addr()
    )
}

/// The next event on `sub` matching `want`, skipping others; panics if the stream ends.
pub async fn next_matching(
    sub: &mut host::Subscription,
    want: impl Fn(&plugin_api::Event) -> bool,
) -> plugin_api::Event {
    loop {
        match sub.recv().await {
            Some(host::StreamItem::Event(e)) if want(&e) => return e,
            Some(host::StreamItem::Event(_)) => continue,
            other => panic!("stream ended: {other:?}"),
        }
    }
}

/// Orders on `venue`'s BTC/USDT (spelled `venue_symbol` there): a resting buy is accepted as
/// open and then cancelled, a crossing buy fills; each step is seen on `orders`.
pub async fn order_round_trip(
    host: &host::Host,
    venue: &str,
    venue_symbol: &str,
    orders: &mut host::Subscription,
) {
    use plugin_api::{CancelOrder, Event, Instrument, NewOrder, Num, OrderStatus, OrderType, Side};
    let order = |price: &str, client_id: &str| NewOrder {
        instrument: Instrument::new("BTC/USDT", venue_symbol).unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse(price).unwrap(),
        qty: Num::parse("0.01").unwrap(),
        quote_qty: Num::ZERO,
        client_id: client_id.into(),
    };
    host.place_order(venue, order("1", "t-rest-1"))
        .await
        .unwrap();
    let open = next_matching(
        orders,
        |e| matches!(e, Event::Order(o) if o.status == OrderStatus::Open),
    )
    .await;
    let Event::Order(open) = open else {
        unreachable!()
    };
    let cancel = CancelOrder {
        instrument: open.instrument,
        order_id: open.order_id.clone(),
    };
    host.cancel_order(venue, cancel).await.unwrap();
    next_matching(orders, |e| {
        matches!(e, Event::Order(o) if o.status == OrderStatus::Cancelled && o.order_id == open.order_id)
    })
    .await;
    host.place_order(venue, order("1000000", "t-fill-1"))
        .await
        .unwrap();
    next_matching(
        orders,
        |e| matches!(e, Event::Order(o) if o.status == OrderStatus::Filled),
    )
    .await;
}

/// Orders on `venue`'s BTC/USDT whose answers are lost still reach a final state on
/// `orders`, learned by the plugin's lookups (`lookup_route` is the simulator's route of a
/// lookup by client id):
///
/// 1. a place answered 503 with every REST request failing (the first lookup too), never
///    placed: `Rejected` once the fault is cleared;
/// 2. a crossing place served but answered 503, its private updates held back: `Filled`;
/// 3. a cancel of that filled order, refused: the lookup by order id says `Filled` again.
pub async fn unknown_outcome_round_trip(
    host: &host::Host,
    venue: &str,
    venue_symbol: &str,
    sim: &venue_sim::SimHandle,
    lookup_route: impl Fn(&str) -> String,
    orders: &mut host::Subscription,
) {
    use plugin_api::{CancelOrder, Event, Instrument, NewOrder, Num, OrderStatus, OrderType, Side};
    use venue_sim::RestFault;
    let order = |price: &str, client_id: &str| NewOrder {
        instrument: Instrument::new("BTC/USDT", venue_symbol).unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Num::parse(price).unwrap(),
        qty: Num::parse("0.01").unwrap(),
        quote_qty: Num::ZERO,
        client_id: client_id.into(),
    };
    let lookups = |client_id: &str| {
        let route = lookup_route(client_id);
        move |s: &venue_sim::StatsSnapshot| s.rest_by_route.get(&route).copied().unwrap_or(0)
    };
    async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
        tokio::time::timeout(std::time::Duration::from_secs(30), f)
            .await
            .unwrap_or_else(|_| panic!("no {what} within 30 s"))
    }
    let update = |client_id: &'static str, status: OrderStatus| move |e: &Event| matches!(e, Event::Order(o) if o.client_id == client_id && o.status == status);

    // 1. Never placed: the place and the first lookup meet the fault.
    let looked_up = lookups("unk-never");
    let before = looked_up(&sim.stats().snapshot());
    sim.faults()
        .set_rest_fault(Some(RestFault::ServerError { status: 503 }));
    host.place_order(venue, order("1", "unk-never"))
        .await
        .unwrap();
    within("lookup after the lost place", async {
        sim.stats().wait_until(|s| looked_up(s) > before).await
    })
    .await;
    sim.faults().set_rest_fault(None);
    within(
        "Rejected",
        next_matching(orders, update("unk-never", OrderStatus::Rejected)),
    )
    .await;
    assert!(
        looked_up(&sim.stats().snapshot()) >= before + 2,
        "the refused lookup was tried again"
    );

    // 2. Placed and filled, the answer lost, the private stream quiet: only a lookup can tell.
    sim.faults().set_data_paused(true);
    let looked_up = lookups("unk-filled");
    let before = looked_up(&sim.stats().snapshot());
    sim.faults()
        .set_order_entry_fault(Some(RestFault::ServedThenServerError { status: 503 }));
    host.place_order(venue, order("1000000", "unk-filled"))
        .await
        .unwrap();
    within("lookup after the lost answer", async {
        sim.stats().wait_until(|s| looked_up(s) > before).await
    })
    .await;
    sim.faults().set_order_entry_fault(None);
    let filled = within(
        "Filled",
        next_matching(orders, update("unk-filled", OrderStatus::Filled)),
    )
    .await;
    let Event::Order(filled) = filled else {
        unreachable!()
    };

    // 3. Cancelling the filled order is refused: the caller learns it filled.
    host.cancel_order(
        venue,
        CancelOrder {
            instrument: filled.instrument,
            order_id: filled.order_id.clone(),
        },
    )
    .await
    .unwrap();
    within(
        "the cancelled order's state",
        next_matching(orders, |e| {
            matches!(e, Event::Order(o) if o.order_id == filled.order_id && o.status == OrderStatus::Filled)
        }),
    )
    .await;
    sim.faults().set_data_paused(false);
}

/// After a reconnect whose account reads meet an outage (every REST request answered 503),
/// `balances` (a `Balances` subscription on the venue served by `sim`) still gets a fresh
/// balance once the outage ends: the plugin reads the account again on its lookup timer.
/// `account_route` is the simulator's route of that read, `balance_channel` the start of
/// the private channel that carries balances.
pub async fn balances_after_a_failed_account_read(
    sim: &venue_sim::SimHandle,
    account_route: &str,
    balance_channel: &str,
    balances: &mut host::Subscription,
) {
    use plugin_api::Event;
    use venue_sim::{Kick, RestFault};
    async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
        tokio::time::timeout(std::time::Duration::from_secs(30), f)
            .await
            .unwrap_or_else(|_| panic!("no {what} within 30 s"))
    }
    let reads = |s: &venue_sim::StatsSnapshot| s.rest_by_route.get(account_route).copied();
    let reads = move |s: &venue_sim::StatsSnapshot| reads(s).unwrap_or(0);
    // The private connection is open (its account read went out as it opened).
    within("private balance subscription", async {
        sim.stats()
            .wait_until(|s| {
                reads(s) > 0
                    && s.subscriptions
                        .values()
                        .flatten()
                        .any(|c| c.starts_with(balance_channel))
            })
            .await
    })
    .await;
    let before = reads(&sim.stats().snapshot());
    sim.faults()
        .set_rest_fault(Some(RestFault::ServerError { status: 503 }));
    sim.faults().kick_all(Kick::TcpDrop);
    // The read on reopening and its first retry are both refused. (Waiting for the retry,
    // not only the first read, keeps the fault from being cleared while that first read is
    // still being answered, which could let it through.)
    within("refused account reads after the reconnect", async {
        sim.stats().wait_until(|s| reads(s) >= before + 2).await
    })
    .await;
    let cleared_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos() as u64;
    sim.faults().set_rest_fault(None);
    within(
        "fresh balance after the outage",
        next_matching(
            balances,
            |e| matches!(e, Event::Balance(b) if b.stamp.received_ns > cleared_ns),
        ),
    )
    .await;
}

/// Reloads the plugin serving `venue` from its own file: the old image is unmapped and the
/// consumer `sub` sees a reload gap, then book tickers again.
pub async fn reload_in_place(host: &host::Host, venue: &str, sub: &mut host::Subscription) {
    use plugin_api::{Event, GapReason};
    let reload = host
        .reload_plugin(venue, &plugin(&format!("{venue}_plugin")))
        .await
        .unwrap();
    assert!(reload.unload.unmapped, "{reload:#?}");
    next_matching(
        sub,
        |e| matches!(e, Event::Gap(g) if g.reason == GapReason::Reload),
    )
    .await;
    next_matching(sub, |e| matches!(e, Event::BookTicker(_))).await;
}

/// Waits (yielding, no timer) until the current runtime has no task left and returns how
/// many there were at the start; panics if any is still there after 20 s.
///
/// `TaskTracker` counts a task done when its future ends, slightly before the runtime
/// releases it, so the runtime's alive-task count taken right after a stop (the report's
/// `after.tasks`) can still include a task that has ended. Tests therefore assert the host's
/// own count exactly (`after.resource_tasks == 0`) and use this for everything else on the
/// runtime: a leaked task never settles.
pub async fn runtime_tasks_settle() -> usize {
    let alive = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let first = alive();
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while alive() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("tasks left on the runtime after shutdown");
    first
}
