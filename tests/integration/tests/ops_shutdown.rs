//! The overall shutdown deadline bounds the whole process: the operator's own tasks (the
//! metrics endpoint, the control socket and their connections) are stopped within it, so a
//! client that never finishes its request cannot hold a shutdown. Neither can crowds of such
//! clients, nor a process out of file descriptors; and the endpoints are bounded while they
//! run (a connection limit each; a control request longer than the limit is refused whole).

mod ops_support;

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use integration_tests::{run_host, run_host_with};
use ops_support::{
    read_response, wait_exit, wait_for_line, wait_for_metrics_address, Setup, PATIENCE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};

/// A safety net against a hang. A stalled client used to hold the shutdown until hyper's
/// 30 s header timeout; a shutdown that works takes well under a second.
const HANG: Duration = Duration::from_secs(20);

/// A request that never ends: no blank line after the headers.
const PARTIAL_REQUEST: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n";

fn config(s: &Setup, extra: &str) -> String {
    format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[control]\nenabled = false\n[metrics]\naddress = \"127.0.0.1:0\"\n[venues.demo]\nplugin = \"fixture\"\nchannels = [\"trades\"]\nsettings = {{ period_ms = 2, symbol = \"TEST/USD\" }}\n{extra}",
        s.plugins.display(),
        s.shadow.display()
    )
}

/// Opens a connection to the metrics endpoint and sends half of a first request (on a
/// fresh connection hyper waits for the rest of it, even in a graceful shutdown), then has
/// a whole request answered on a second connection: accepted after the first, it proves
/// the first one is being served. Returns the first socket, to be held open.
async fn stalled_client(address: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut stalled = tokio::net::TcpStream::connect(address).await.unwrap();
    stalled.write_all(PARTIAL_REQUEST).await.unwrap();
    let probe = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut probe = BufReader::new(probe);
    probe
        .get_mut()
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_response(&mut probe).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains("host_live_tasks"), "{body}");
    stalled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_metrics_client_does_not_hold_the_shutdown() {
    let s = Setup::new("ops-stalled-metrics");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config(&s, ""));
    let op = s.start().await;
    let address = op.metrics_address().expect("metrics endpoint listening");
    let _client = stalled_client(address).await;
    assert!(op.live_tasks() >= 2, "listener and the stalled connection");

    let report = tokio::time::timeout(HANG, op.shutdown("test"))
        .await
        .expect("the shutdown returned although a metrics client stalled");

    assert_eq!(op.live_tasks(), 0, "the operator's tasks are all gone");
    assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
    assert!(report.tasks_left.is_empty(), "{report:#?}");
    assert_eq!(report.after.subscriptions, 0);
}

#[test]
fn host_run_with_a_duration_exits_despite_a_stalled_metrics_client() {
    let s = Setup::new("ops-stalled-process");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config(&s, ""));
    let report = s.dir.join("report.json");
    let (mut child, lines) = run_host(&[
        "--duration".as_ref(),
        "2".as_ref(),
        "--config".as_ref(),
        s.config.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ]);
    let address = wait_for_metrics_address(&lines);
    let runtime = integration_tests::runtime();
    let client = runtime.block_on(stalled_client(address));

    // `--duration` elapses by itself; the stalled client stays connected throughout.
    wait_for_line(&lines, "shutting down (duration elapsed)");
    let status = wait_exit(&mut child, HANG);
    drop(client);
    let status = status.expect("host run exited although a metrics client stalled");
    assert!(status.success(), "{status:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["reason"], "duration elapsed");
    assert_eq!(report["after"]["resource_tasks"], 0, "{report:#}");
}

/// The whole-shutdown deadline (`[shutdown] overall`, ms) of the `host run` tests below.
const OVERALL_MS: u64 = 3000;

/// Half a control request: no closing brace, no newline.
const PARTIAL_CONTROL: &[u8] = b"{\"cmd\":\"sta";

/// A configuration with both endpoints on: the control socket in the test folder, metrics
/// on a free port, and the overall shutdown deadline at [`OVERALL_MS`].
fn config_with_control(s: &Setup, period_ms: u32) -> String {
    format!(
        "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = false\nconfig = false\n[shutdown]\noverall = {OVERALL_MS}\n[control]\nenabled = true\nsocket = \"{}\"\n[metrics]\naddress = \"127.0.0.1:0\"\n[venues.demo]\nplugin = \"fixture\"\nchannels = [\"trades\"]\nsettings = {{ period_ms = {period_ms}, symbol = \"TEST/USD\" }}\n",
        s.plugins.display(),
        s.shadow.display(),
        s.dir.join("host.sock").display(),
    )
}

/// The stderr of a `host run`, every line kept (and echoed) so warnings can be counted.
struct Log {
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Log {
    /// Waits for a line containing `needle`; returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|e| panic!("no line containing `{needle}`: {e}"));
            eprintln!("host: {line}");
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Reads the rest, up to the end of the stream (the process has exited).
    fn rest(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            eprintln!("host: {line}");
            self.seen.push(line);
        }
    }

    /// Lines logged at level WARN, colour codes or not.
    fn warnings(&self) -> Vec<&str> {
        self.seen
            .iter()
            .map(String::as_str)
            .filter(|l| plain(l).contains(" WARN "))
            .collect()
    }
}

/// `line` without ANSI colour codes (`ESC [ ... m`).
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `host run --duration {duration}` on `s`'s configuration with `configure` applied to the
/// command: the child, its log (read up to the metrics address) and the metrics address.
fn start_run(
    s: &Setup,
    duration: &str,
    configure: impl FnOnce(&mut std::process::Command),
) -> (std::process::Child, Log, std::net::SocketAddr) {
    let report = s.dir.join("report.json");
    let args = [
        "--duration".as_ref(),
        duration.as_ref(),
        "--config".as_ref(),
        s.config.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ];
    let (child, lines) = run_host_with(&args, configure);
    let mut log = Log {
        lines,
        seen: Vec::new(),
    };
    let line = log.wait_for("metrics: http://");
    let address = line
        .trim_start_matches("metrics: http://")
        .trim_end_matches("/metrics")
        .parse()
        .unwrap();
    (child, log, address)
}

/// Opens `n` connections to each endpoint and sends each half a request; they are held
/// (never finished, never closed) for as long as the returned sockets live.
fn half_sent_clients(
    n: usize,
    metrics: std::net::SocketAddr,
    control: &Path,
) -> Vec<Box<dyn Write>> {
    let mut clients: Vec<Box<dyn Write>> = Vec::new();
    for _ in 0..n {
        // A connection over an endpoint's limit may be closed before the write: it fails.
        let mut tcp = std::net::TcpStream::connect(metrics).unwrap();
        let _ = tcp.write_all(PARTIAL_REQUEST);
        clients.push(Box::new(tcp));
        let mut unix = std::os::unix::net::UnixStream::connect(control).unwrap();
        let _ = unix.write_all(PARTIAL_CONTROL);
        clients.push(Box::new(unix));
    }
    clients
}

/// Waits for the shutdown `--duration` starts, then for the exit: the exit status and the
/// time from the "shutting down" line to the exit.
fn shutdown_time(
    child: &mut std::process::Child,
    log: &mut Log,
) -> (std::process::ExitStatus, Duration) {
    log.wait_for("shutting down (duration elapsed)");
    let began = Instant::now();
    let status = wait_exit(child, HANG).expect("host run exited");
    let took = began.elapsed();
    log.rest();
    (status, took)
}

#[test]
fn host_run_exits_in_time_with_200_half_sent_clients_on_each_endpoint() {
    let s = Setup::new("ops-crowd-process");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config_with_control(&s, 2));
    let (mut child, mut log, metrics) = start_run(&s, "2", |_| {});
    let clients = half_sent_clients(200, metrics, &s.dir.join("host.sock"));

    let (status, took) = shutdown_time(&mut child, &mut log);
    drop(clients);

    assert!(status.success(), "{status:?}");
    eprintln!(
        "exit {took:?} after the shutdown began; {} warnings",
        log.warnings().len()
    );
    assert!(
        took < Duration::from_millis(OVERALL_MS),
        "exit {took:?} after the shutdown began, deadline {OVERALL_MS} ms"
    );
    let warnings = log.warnings();
    assert!(
        warnings.len() < 100,
        "{} warnings: {warnings:#?}",
        warnings.len()
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["reason"], "duration elapsed");
}

/// The process's CPU time so far (user + system), from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// The descriptor limit of the process under test: enough to start (it needs a dozen or so),
/// fewer than the connections the test then holds.
const NOFILE: u64 = 48;

#[test]
fn host_run_out_of_file_descriptors_exits_in_time_without_spinning() {
    let s = Setup::new("ops-no-fds");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config_with_control(&s, 20));
    let started = Instant::now();
    let (mut child, mut log, metrics) = start_run(&s, "3", |command| {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent.
        unsafe {
            command.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: NOFILE,
                    rlim_max: NOFILE,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    });
    // More connections than descriptors remain, to both endpoints.
    let clients = half_sent_clients(NOFILE as usize + 12, metrics, &s.dir.join("host.sock"));
    log.wait_for("accept failed");

    log.wait_for("shutting down (duration elapsed)");
    let cpu = cpu_time(child.id());
    let ran = started.elapsed();
    let began = Instant::now();
    let status = wait_exit(&mut child, HANG).expect("host run exited");
    let took = began.elapsed();
    log.rest();
    drop(clients);

    assert!(status.success(), "{status:?}");
    let warnings = log.warnings();
    eprintln!(
        "exit {took:?} after the shutdown began; {} warnings, {} lines; {cpu:?} CPU in {ran:?}",
        warnings.len(),
        log.seen.len()
    );
    assert!(
        took < Duration::from_millis(OVERALL_MS),
        "exit {took:?} after the shutdown began, deadline {OVERALL_MS} ms"
    );
    assert!(
        warnings.len() < 100,
        "{} warnings: {warnings:#?}",
        warnings.len()
    );
    // A spinning accept loop logs a line per try (millions) and takes a core.
    assert!(log.seen.len() < 500, "{} lines", log.seen.len());
    assert!(cpu < ran / 2, "{cpu:?} CPU in {ran:?}: spinning?");
}

/// Sends `line` (and a newline) on a fresh control connection, then closes the sending side
/// (the server may stop reading first: a failed write is expected then); returns every reply
/// line up to the end of the connection.
async fn control_replies(socket: &Path, line: Vec<u8>) -> Vec<serde_json::Value> {
    let stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let sender = tokio::spawn(async move {
        let _ = write.write_all(&line).await;
        let _ = write.write_all(b"\n").await;
        let _ = write.shutdown().await;
    });
    let mut received = Vec::new();
    // The server may close with the rest of a request unread: a reset after the replies.
    let _ = tokio::time::timeout(PATIENCE, read.read_to_end(&mut received))
        .await
        .expect("the control connection ended");
    sender.await.unwrap();
    String::from_utf8(received)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_control_request_is_refused_whole_with_one_reply() {
    let s = Setup::new("ops-long-control");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config_with_control(&s, 20));
    let op = s.start().await;
    let socket = op
        .control_socket()
        .expect("control socket listening")
        .to_owned();

    // 65,536 spaces then a valid request: before, the tail ran as a request of its own.
    let mut line = vec![b' '; 65_536];
    line.extend_from_slice(br#"{"cmd":"status"}"#);
    let replies = control_replies(&socket, line).await;
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert_eq!(replies[0]["ok"], false, "{replies:#?}");
    assert_eq!(
        replies[0]["error"], "request longer than 65536 bytes",
        "{replies:#?}"
    );

    // 10 MB in one line: before, 161 replies.
    let replies = control_replies(&socket, vec![b'x'; 10 * 1024 * 1024]).await;
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert_eq!(replies[0]["ok"], false, "{replies:#?}");

    // The server still answers a request of a fitting size.
    let line = format!("{}{}", " ".repeat(60_000), r#"{"cmd":"status"}"#);
    let replies = control_replies(&socket, line.into_bytes()).await;
    assert_eq!(replies.len(), 1, "{replies:#?}");
    assert_eq!(replies[0]["ok"], true, "{replies:#?}");

    let report = tokio::time::timeout(HANG, op.shutdown("test"))
        .await
        .expect("the shutdown returned");
    assert!(report.tasks_left.is_empty(), "{report:#?}");
}

/// Resolves when the peer has closed `read`'s connection (an end of stream or a reset).
async fn closed(mut read: impl tokio::io::AsyncRead + Unpin) {
    let mut buffer = [0; 1024];
    while let Ok(1..) = read.read(&mut buffer).await {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_endpoint_serves_its_connection_limit_and_closes_the_rest_at_once() {
    use host::ops::{control, metrics};
    let s = Setup::new("ops-crowd-limits");
    s.install("fixture_counter", "counter.so");
    s.write_config(&config_with_control(&s, 20));
    let op = s.start().await;
    let address = op.metrics_address().expect("metrics endpoint listening");
    let socket = op
        .control_socket()
        .expect("control socket listening")
        .to_owned();
    let listeners = op.live_tasks();

    // 200 half-sent requests on each endpoint, held open by the test.
    let (closes, mut closed_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut held = Vec::new();
    for _ in 0..200 {
        // A connection over the limit may be closed before the write: it fails.
        let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let _ = tcp.write_all(PARTIAL_REQUEST).await;
        let (read, write) = tcp.into_split();
        held.push(Box::new(write) as Box<dyn tokio::io::AsyncWrite + Send + Unpin>);
        let tx = closes.clone();
        tokio::spawn(async move {
            closed(read).await;
            let _ = tx.send(());
        });
        let mut unix = tokio::net::UnixStream::connect(&socket).await.unwrap();
        let _ = unix.write_all(PARTIAL_CONTROL).await;
        let (read, write) = unix.into_split();
        held.push(Box::new(write));
        let tx = closes.clone();
        tokio::spawn(async move {
            closed(read).await;
            let _ = tx.send(());
        });
    }

    // Every connection over an endpoint's limit is closed by the host at once...
    let refused = 400 - control::MAX_CONNECTIONS - metrics::MAX_CONNECTIONS;
    for n in 0..refused {
        tokio::time::timeout(PATIENCE, closed_rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{n} of {refused} connections over the limits closed"));
    }
    // ...and those within it are served, a task each, no more.
    assert_eq!(
        op.live_tasks(),
        listeners + control::MAX_CONNECTIONS + metrics::MAX_CONNECTIONS
    );
    // A command while the control socket is full is closed unanswered.
    assert!(control::request(&socket, &control::Request::Status)
        .await
        .is_err());

    let report = tokio::time::timeout(HANG, op.shutdown("test"))
        .await
        .expect("the shutdown returned although every connection was taken");
    assert_eq!(op.live_tasks(), 0, "the operator's tasks are all gone");
    assert!(report.tasks_left.is_empty(), "{report:#?}");
    drop(held);
}
