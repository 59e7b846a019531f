//! The control socket: a Unix socket, mode 0600, speaking line-delimited JSON. One request
//! per line (`{"cmd":"status"}`, `{"cmd":"start","venue":"demo"}`, `stop`, `reload`,
//! `shutdown`), one response per line: `{"ok":true,"result":...}` or
//! `{"ok":false,"error":"..."}`. [`request`] is the client `host ctl` uses.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::Operator;

/// A control request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// Plugins, venues, counters and the last reports.
    Status,
    /// Start a configured venue.
    Start {
        /// Instance name.
        venue: String,
    },
    /// Stop a venue.
    Stop {
        /// Instance name.
        venue: String,
    },
    /// Reload the plugin of a venue (instance name or plugin id) from its file.
    Reload {
        /// Instance name or plugin id.
        venue: String,
    },
    /// Shut the host down.
    Shutdown,
}

/// Longest request line accepted.
const MAX_LINE: usize = 64 * 1024;

/// Connections served at once. `host ctl` uses one per command and closes it; a connection
/// more is closed at once, unanswered.
pub const MAX_CONNECTIONS: usize = 32;

/// Binds the socket at `path` with mode 0600 and serves it in the operator's task group.
/// The socket is created under a temporary name, restricted, then renamed into place, so it
/// is never reachable with wider permissions. A stale socket left by a dead process is
/// replaced; a live one is an error.
pub(super) fn serve(op: &Operator, path: &Path) -> std::io::Result<PathBuf> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{}: another host is listening", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "host.sock".into());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let listener = UnixListener::bind(&temp)?;
    std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&temp, path)?;
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    super::serve::accept_loop(
        op,
        listener,
        "control socket",
        MAX_CONNECTIONS,
        |op, stream, token| async move {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = connection(op, stream) => {}
            }
        },
    );
    Ok(path)
}

async fn connection(op: Operator, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let response = match serde_json::from_str::<Request>(line.trim()) {
            Ok(request) => handle(&op, request).await,
            Err(e) => serde_json::json!({"ok": false, "error": format!("bad request: {e}")}),
        };
        let mut text = response.to_string();
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn reply<T: Serialize, E: std::fmt::Display>(r: Result<T, E>) -> serde_json::Value {
    match r {
        Ok(v) => serde_json::json!({"ok": true, "result": v}),
        Err(e) => serde_json::json!({"ok": false, "error": e.to_string()}),
    }
}

async fn handle(op: &Operator, request: Request) -> serde_json::Value {
    tracing::info!(?request, "control request");
    match request {
        Request::Status => reply::<_, String>(Ok(op.status().await)),
        Request::Start { venue } => reply(op.start_venue(&venue).await.map(|()| venue)),
        Request::Stop { venue } => reply(op.stop_venue(&venue).await),
        Request::Reload { venue } => reply(op.reload_venue(&venue).await),
        Request::Shutdown => {
            op.request_shutdown();
            reply::<_, String>(Ok("shutting down"))
        }
    }
}

/// Why [`request`] got no answer from the control socket; each variant names the socket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No host listens there: no socket file, or one that nobody accepts on (a host that
    /// died without removing it).
    #[error("no host listens on {} (is `host run` running?)", socket.display())]
    NotListening {
        /// The socket path.
        socket: PathBuf,
        /// What connecting said.
        #[source]
        source: std::io::Error,
    },
    /// This user may not connect: the socket (mode 0600) belongs to another user, or a
    /// folder on its path may not be searched.
    #[error("permission denied: {}", socket.display())]
    PermissionDenied {
        /// The socket path.
        socket: PathBuf,
        /// What connecting said.
        #[source]
        source: std::io::Error,
    },
    /// Another failure connecting, sending or reading.
    #[error("control socket {}", socket.display())]
    Io {
        /// The socket path.
        socket: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The host answered something that is not a JSON response line.
    #[error("control socket {}: bad response", socket.display())]
    BadResponse {
        /// The socket path.
        socket: PathBuf,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
}

impl ClientError {
    /// Sorts an IO error met talking to `socket` by what the user can do about it.
    fn io(socket: &Path, source: std::io::Error) -> ClientError {
        use std::io::ErrorKind;
        let socket = socket.to_owned();
        match source.kind() {
            ErrorKind::NotFound | ErrorKind::ConnectionRefused => {
                ClientError::NotListening { socket, source }
            }
            ErrorKind::PermissionDenied => ClientError::PermissionDenied { socket, source },
            _ => ClientError::Io { socket, source },
        }
    }
}

/// Sends one request to the control socket at `socket` and returns the response.
pub async fn request(socket: &Path, request: &Request) -> Result<serde_json::Value, ClientError> {
    let io = |e| ClientError::io(socket, e);
    let stream = UnixStream::connect(socket).await.map_err(io)?;
    let (read, mut write) = stream.into_split();
    let mut text = serde_json::to_string(request).map_err(|e| io(e.into()))?;
    text.push('\n');
    write.write_all(text.as_bytes()).await.map_err(io)?;
    let mut line = String::new();
    BufReader::new(read)
        .read_line(&mut line)
        .await
        .map_err(io)?;
    serde_json::from_str(&line).map_err(|source| ClientError::BadResponse {
        socket: socket.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_say_what_the_user_can_do() {
        let socket = Path::new("/run/host/host.sock");
        let said = |kind: std::io::ErrorKind| ClientError::io(socket, kind.into()).to_string();
        for kind in [
            std::io::ErrorKind::NotFound,
            std::io::ErrorKind::ConnectionRefused,
        ] {
            let e = said(kind);
            assert!(
                e.contains("/run/host/host.sock") && e.contains("is `host run` running?"),
                "{e}"
            );
        }
        assert_eq!(
            said(std::io::ErrorKind::PermissionDenied),
            "permission denied: /run/host/host.sock"
        );
        let e = said(std::io::ErrorKind::BrokenPipe);
        assert!(
            e.contains("/run/host/host.sock")
                && !e.contains("running?")
                && !e.contains("permission"),
            "{e}"
        );
    }
}
