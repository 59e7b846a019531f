//! The control socket: a Unix socket, mode 0600, speaking line-delimited JSON. One request
//! per line (`{"cmd":"status"}`, `{"cmd":"start","venue":"demo"}`, `stop`, `reload`,
//! `shutdown`), one response per line: `{"ok":true,"result":...}` or
//! `{"ok":false,"error":"..."}`. [`request`] is the client `host ctl` uses.
//!
//! The server is bounded: at most [`MAX_CONNECTIONS`] connections at once, a request line of
//! at most [`MAX_LINE`] bytes (a longer one is refused whole and the connection closed), and
//! [`REQUEST_TIMEOUT`] to send each request and read its response.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
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

/// Longest request line accepted, in bytes, not counting its newline. A longer request gets
/// one error reply (`request longer than 65536 bytes`) and its connection is closed: none of
/// it is parsed, so no part of it can run as a request of its own.
pub const MAX_LINE: usize = 64 * 1024;

/// How long a client has to send a whole request line, from the moment the server waits for
/// it (on connecting, then after each response), and to take the response. An idle or slow
/// connection is closed after it. `host ctl` sends its request at once.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

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
                _ = connection(stream, |request| {
                    let op = op.clone();
                    async move { handle(&op, request).await }
                }) => {}
            }
        },
    );
    Ok(path)
}

/// Serves one connection: `handle`'s response to each request line, until the client closes
/// it, a request is too long, or a request or response takes longer than [`REQUEST_TIMEOUT`].
async fn connection<S, H, R>(stream: S, mut handle: H)
where
    S: AsyncRead + AsyncWrite,
    H: FnMut(Request) -> R,
    R: Future<Output = serde_json::Value>,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        let response =
            match tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut reader, &mut line)).await
            {
                Err(_) => {
                    tracing::debug!(
                        "control connection closed: no request within {REQUEST_TIMEOUT:?}"
                    );
                    return;
                }
                Ok(Err(_) | Ok(Line::Closed)) => return,
                Ok(Ok(Line::TooLong)) => {
                    tracing::debug!(max = MAX_LINE, "control request refused: too long");
                    let error = format!("request longer than {MAX_LINE} bytes");
                    let _ = send(
                        &mut write,
                        &serde_json::json!({"ok": false, "error": error}),
                    )
                    .await;
                    // The rest of the line is never read: closing drops it.
                    return;
                }
                Ok(Ok(Line::Request)) => match serde_json::from_slice::<Request>(line.trim_ascii())
                {
                    Ok(request) => handle(request).await,
                    Err(e) => {
                        serde_json::json!({"ok": false, "error": format!("bad request: {e}")})
                    }
                },
            };
        if send(&mut write, &response).await.is_err() {
            return;
        }
    }
}

/// Writes `response` and its newline, within [`REQUEST_TIMEOUT`] (a client that does not
/// read its responses is given up).
async fn send<W: AsyncWrite + Unpin>(
    write: &mut W,
    response: &serde_json::Value,
) -> std::io::Result<()> {
    let mut text = response.to_string();
    text.push('\n');
    tokio::time::timeout(REQUEST_TIMEOUT, write.write_all(text.as_bytes()))
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)?
}

/// What [`read_request`] read.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A request line, in the buffer without its newline (the last line may lack one).
    Request,
    /// The client closed the connection before sending anything more.
    Closed,
    /// The line is longer than [`MAX_LINE`]; the buffer holds a part of it, the reader is
    /// somewhere inside it.
    TooLong,
}

/// Reads the next request line into `line` (cleared first), never holding more than
/// [`MAX_LINE`] bytes of it.
async fn read_request<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<Line> {
    line.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if line.is_empty() {
                Line::Closed
            } else {
                Line::Request
            });
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let content = newline.unwrap_or(available.len());
        if line.len() + content > MAX_LINE {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(&available[..content]);
        reader.consume(newline.map_or(content, |n| n + 1));
        if newline.is_some() {
            return Ok(Line::Request);
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, DuplexStream};
    use tokio::time::Instant;

    use super::*;

    /// Serves a connection with a handler that answers every request `{"ok":true}` padded
    /// with `padding` bytes and counts them; returns the client end, the count and the task.
    fn served(
        buffer: usize,
        padding: usize,
    ) -> (DuplexStream, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(buffer);
        let handled = Arc::new(AtomicUsize::new(0));
        let count = handled.clone();
        let task = tokio::spawn(connection(server, move |_request| {
            count.fetch_add(1, Ordering::Relaxed);
            let padding = " ".repeat(padding);
            async move { serde_json::json!({"ok": true, "padding": padding}) }
        }));
        (client, handled, task)
    }

    /// Sends `bytes` and closes the sending side (the server may close before taking them
    /// all) while reading every reply up to the end of the connection.
    async fn replies(mut client: DuplexStream, bytes: Vec<u8>) -> Vec<serde_json::Value> {
        let (mut read, mut write) = tokio::io::split(&mut client);
        let send = async move {
            let _ = write.write_all(&bytes).await;
            let _ = write.shutdown().await;
        };
        let mut received = Vec::new();
        let receive = read.read_to_end(&mut received);
        let (_, read) = tokio::join!(send, receive);
        read.unwrap();
        String::from_utf8(received)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn each_request_line_gets_one_reply() {
        let (client, handled, task) = served(1024, 0);
        let replies = replies(
            client,
            b"{\"cmd\":\"status\"}\nnonsense\n{\"cmd\":\"status\"}".to_vec(),
        )
        .await;
        task.await.unwrap();
        assert_eq!(replies.len(), 3, "{replies:?}");
        assert_eq!(replies[0]["ok"], true);
        assert_eq!(replies[1]["ok"], false, "{replies:?}");
        assert_eq!(
            replies[2]["ok"], true,
            "a last line without a newline is a request"
        );
        assert_eq!(handled.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn an_over_long_request_gets_one_error_and_none_of_it_runs() {
        let (client, handled, task) = served(64 * 1024, 0);
        let mut line = vec![b' '; 65_536];
        line.extend_from_slice(b"{\"cmd\":\"status\"}\n{\"cmd\":\"status\"}\n");
        let replies = replies(client, line).await;
        task.await.unwrap();
        assert_eq!(
            replies,
            [serde_json::json!({"ok": false, "error": "request longer than 65536 bytes"})]
        );
        assert_eq!(handled.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_ten_megabyte_line_gets_one_reply() {
        let (client, handled, task) = served(64 * 1024, 0);
        let replies = replies(client, vec![b'x'; 10 * 1024 * 1024]).await;
        task.await.unwrap();
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0]["ok"], false);
        assert_eq!(handled.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_request_of_the_largest_size_runs() {
        let (client, handled, task) = served(64 * 1024, 0);
        let request = b"{\"cmd\":\"status\"}";
        let mut line = vec![b' '; MAX_LINE - request.len()];
        line.extend_from_slice(request);
        line.push(b'\n');
        let replies = replies(client, line).await;
        task.await.unwrap();
        assert_eq!(replies, [serde_json::json!({"ok": true, "padding": ""})]);
        assert_eq!(handled.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_closed_after_the_request_timeout() {
        let start = Instant::now();
        let (mut client, _, task) = served(1024, 0);
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        task.await.unwrap();
        assert!(received.is_empty());
        assert_eq!(start.elapsed(), REQUEST_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_sent_request_is_closed_after_the_request_timeout() {
        let (mut client, handled, task) = served(1024, 0);
        client.write_all(b"{\"cmd\":\"status\"}\n").await.unwrap();
        let mut reply = String::new();
        BufReader::new(&mut client)
            .read_line(&mut reply)
            .await
            .unwrap();
        let answered = Instant::now();
        client.write_all(b"{\"cmd\":\"sta").await.unwrap();
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        task.await.unwrap();
        assert!(received.is_empty());
        assert_eq!(answered.elapsed(), REQUEST_TIMEOUT);
        assert_eq!(handled.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_takes_no_replies_is_closed_after_the_request_timeout() {
        // Replies larger than the pipe: the first one cannot be written whole.
        let (mut client, _, task) = served(1024, 4096);
        let start = Instant::now();
        client.write_all(b"{\"cmd\":\"status\"}\n").await.unwrap();
        task.await.unwrap();
        assert_eq!(start.elapsed(), REQUEST_TIMEOUT);
    }

    #[tokio::test]
    async fn a_line_is_read_in_pieces_and_never_held_past_the_limit() {
        let mut bytes = b"{\"cmd\":\"status\"}\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        bytes.extend_from_slice(b"\n{}\n");
        let mut reader = BufReader::with_capacity(7, bytes.as_slice());
        let mut line = Vec::new();
        let next = read_request(&mut reader, &mut line).await.unwrap();
        assert_eq!(
            (next, line.as_slice()),
            (Line::Request, &b"{\"cmd\":\"status\"}"[..])
        );
        let next = read_request(&mut reader, &mut line).await.unwrap();
        assert_eq!(next, Line::TooLong);
        assert!(line.len() <= MAX_LINE, "{} bytes held", line.len());
        let mut exact = vec![b'x'; MAX_LINE];
        exact.push(b'\n');
        let mut reader = BufReader::with_capacity(7, exact.as_slice());
        let next = read_request(&mut reader, &mut line).await.unwrap();
        assert_eq!((next, line.len()), (Line::Request, MAX_LINE));
        let next = read_request(&mut reader, &mut line).await.unwrap();
        assert_eq!(next, Line::Closed);
    }

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
