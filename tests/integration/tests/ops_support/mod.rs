//! Shared helpers of the `ops_*` tests: folders, atomic installs, configuration files and
//! waiting for operator events (never for a fixed time).

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use host::config::HostConfig;
use host::ops::{Operator, OpsEvent};
use tokio::sync::broadcast;

/// How long any single wait may take before the test fails (a safety net, not a pause).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A test's folders: `plugins/`, `shadow/` and the config file path.
pub struct Setup {
    pub dir: PathBuf,
    pub plugins: PathBuf,
    pub shadow: PathBuf,
    pub config: PathBuf,
}

impl Setup {
    pub fn new(name: &str) -> Setup {
        let dir = integration_tests::temp_dir(name);
        let (plugins, shadow) = integration_tests::host_folders(&dir);
        Setup {
            config: dir.join("host.toml"),
            dir,
            plugins,
            shadow,
        }
    }

    /// The common head of a test configuration; `extra` is appended (venues...).
    pub fn config_text(&self, watch_plugins: bool, extra: &str) -> String {
        format!(
            "plugins_dir = \"{}\"\nshadow_dir = \"{}\"\n[watch]\nplugins = {watch_plugins}\nconfig = true\ndebounce_ms = 50\n[control]\nenabled = false\n[metrics]\nenabled = false\n{extra}",
            self.plugins.display(),
            self.shadow.display()
        )
    }

    /// Writes the config file by atomic rename.
    pub fn write_config(&self, text: &str) {
        let temp = self.dir.join(".host.toml.tmp");
        std::fs::write(&temp, text).unwrap();
        std::fs::rename(&temp, &self.config).unwrap();
    }

    /// Installs the built plugin `lib_name` as `plugins/<as_name>` by atomic rename (a hard
    /// link to the built file under a dot-name first, so nothing is copied).
    pub fn install(&self, lib_name: &str, as_name: &str) -> PathBuf {
        install_file(
            &integration_tests::plugin(lib_name),
            &self.plugins.join(as_name),
        )
    }

    /// Starts an operator on the config file as written.
    pub async fn start(&self) -> Operator {
        let (config, secrets) = HostConfig::load_with_secrets(Some(&self.config)).unwrap();
        Operator::start(config, secrets, Some(self.config.clone()))
            .await
            .unwrap()
    }
}

/// Puts `source` at `dest` by an atomic rename of a hard link (or copy) named `.dest.tmp`.
pub fn install_file(source: &Path, dest: &Path) -> PathBuf {
    let name = dest.file_name().unwrap().to_string_lossy().into_owned();
    let temp = dest.with_file_name(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&temp);
    if std::fs::hard_link(source, &temp).is_err() {
        std::fs::copy(source, &temp).unwrap();
    }
    std::fs::rename(&temp, dest).unwrap();
    dest.canonicalize().unwrap()
}

/// Waits for the first event for which `pick` returns `Some`.
pub async fn wait_for<T>(
    rx: &mut broadcast::Receiver<OpsEvent>,
    what: &str,
    mut pick: impl FnMut(&OpsEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Some(t) = pick(&event) {
                        return t;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => eprintln!("lagged {n} events"),
                Err(broadcast::error::RecvError::Closed) => panic!("events closed: {what}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .unwrap_or_else(|_| panic!("no event: {what}"))
}

/// The refusal message for `file`, waiting for it.
pub async fn refusal(rx: &mut broadcast::Receiver<OpsEvent>, file: &Path) -> String {
    wait_for(rx, &format!("refusal of {}", file.display()), |e| match e {
        OpsEvent::PluginRefused { file: f, error } if f == file => Some(error.clone()),
        _ => None,
    })
    .await
}

/// Reads one HTTP/1.1 response with a `content-length` from `reader`: (status line, body).
pub async fn read_response<R>(reader: &mut R) -> (String, String)
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut status = String::new();
    reader.read_line(&mut status).await.unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.unwrap();
    (
        status.trim_end().to_owned(),
        String::from_utf8(body).unwrap(),
    )
}

/// `GET /metrics` on `address` over a fresh connection: the text.
pub async fn scrape(address: std::net::SocketAddr) -> String {
    use tokio::io::AsyncWriteExt;
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut stream = tokio::io::BufReader::new(stream);
    stream
        .get_mut()
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_response(&mut stream).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    body
}

/// The value of the metrics line that starts with `line_start` (name and labels).
pub fn metric(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{line_start}` in\n{text}"))
}

/// Waits for a line containing `needle` (echoing every line); returns it.
pub fn wait_for_line(rx: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        let line = rx
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("no line containing `{needle}`: {e}"));
        eprintln!("host: {line}");
        if line.contains(needle) {
            return line;
        }
    }
}

/// Waits for the host's `metrics: http://ADDR/metrics` line (echoing the lines before it)
/// and returns the address.
pub fn wait_for_metrics_address(rx: &std::sync::mpsc::Receiver<String>) -> std::net::SocketAddr {
    let line = wait_for_line(rx, "metrics: http://");
    line.trim_start_matches("metrics: http://")
        .trim_end_matches("/metrics")
        .parse()
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Waits for `child` to exit, at most `bound` (a safety net against a hang, not a timing
/// claim): its status, or `None` if it was still running (it is killed then).
pub fn wait_exit(
    child: &mut std::process::Child,
    bound: Duration,
) -> Option<std::process::ExitStatus> {
    let until = std::time::Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if std::time::Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
