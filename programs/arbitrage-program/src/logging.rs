//! Where the tracing log goes: stderr, or a file while the screen is up (lines on stderr
//! would tear it), and the last few WARN and ERROR lines kept for the screen to show.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::DefaultFields;
use tracing_subscriber::fmt::FormattedFields;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How many WARN and ERROR lines the tail keeps.
const TAIL_LINES: usize = 8;

/// The last few WARN and ERROR lines of the log, newest last; a line that repeats the one
/// before it (time aside) is counted on that one instead. Cheap to clone: every clone
/// shares the lines.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogTail {
    lines: Arc<Mutex<VecDeque<TailLine>>>,
}

/// One line of the tail.
#[derive(Debug)]
struct TailLine {
    /// Time of day of its last occurrence.
    clock: String,
    /// Level, where and what.
    text: String,
    /// Occurrences in a row.
    count: u64,
}

impl LogTail {
    /// The lines kept, oldest first: `12:34:56  WARN what (×3)`.
    pub(crate) fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines
            .iter()
            .map(|l| match l.count {
                1 => format!("{} {}", l.clock, l.text),
                n => format!("{} {} (×{n})", l.clock, l.text),
            })
            .collect()
    }

    fn push(&self, clock: String, text: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = lines.back_mut().filter(|l| l.text == text) {
            last.clock = clock;
            last.count += 1;
            return;
        }
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(TailLine {
            clock,
            text,
            count: 1,
        });
    }
}

/// Writes an event's message first, then its other fields as `key=value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }
}

impl<S> Layer<S> for LogTail
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        // More verbose levels compare greater: this keeps WARN and ERROR.
        if *meta.level() > Level::WARN {
            return;
        }
        // Where: the outermost span with the fields the log's formatter recorded for it
        // (`connection{venue="mexc" resource=private}`; without colours, as the screen's
        // log goes to a file), else the event's module.
        let place = ctx
            .event_scope(event)
            .and_then(|scope| scope.from_root().next())
            .map(|span| {
                let fields = span
                    .extensions()
                    .get::<FormattedFields<DefaultFields>>()
                    .map(|f| f.fields.clone())
                    .unwrap_or_default();
                if fields.is_empty() {
                    span.name().to_owned()
                } else {
                    format!("{}{{{fields}}}", span.name())
                }
            })
            .unwrap_or_else(|| meta.target().to_owned());
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.push(
            clock(host::venue::now_ms()),
            format!(
                "{:>5} {place}: {}{}",
                meta.level(),
                fields.message,
                fields.rest
            ),
        );
    }
}

/// The UTC time of day of a Unix time in ms: `12:34:56`.
fn clock(unix_ms: u64) -> String {
    let s = unix_ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600 % 24, s / 60 % 60, s % 60)
}

/// Sends the log to `file` (replaced) or, without one, to stderr, filtered by `RUST_LOG` or
/// else by `filter`; WARN and ERROR lines also go to `tail` if given. Does nothing if a
/// global subscriber is already set.
pub(crate) fn init(filter: &str, file: Option<&Path>, tail: Option<LogTail>) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let output = match file {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("log file {}", path.display()))?;
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .boxed()
        }
        // Colours only for a person at a terminal: a pipe gets plain text.
        None => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(tail)
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_warnings_and_errors_only() {
        let tail = LogTail::default();
        let subscriber = tracing_subscriber::registry().with(tail.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("not kept");
            for i in 0..TAIL_LINES {
                tracing::warn!(venue = "gate", "warning {i}");
            }
            tracing::error!(error = %"boom", "cancel not sent");
        });
        let lines = tail.lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert!(
            lines[0].ends_with(" WARN arbitrage::logging::tests: warning 1 venue=gate"),
            "{lines:?}"
        );
        let last = lines.last().unwrap();
        assert!(last.ends_with("ERROR arbitrage::logging::tests: cancel not sent error=boom"));
    }

    #[test]
    fn the_tail_names_the_outer_span_and_counts_repeats() {
        let tail = LogTail::default();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::io::sink),
            )
            .with(tail.clone());
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("connection", venue = "mexc", resource = "private");
            let _outer = outer.enter();
            let inner = tracing::info_span!("ws", conn = 4);
            let _inner = inner.enter();
            for _ in 0..3 {
                tracing::warn!(failed_attempts = 2, "connect failed");
            }
        });
        let lines = tail.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].ends_with(
                r#" WARN connection{venue="mexc" resource="private"}: connect failed failed_attempts=2 (×3)"#
            ),
            "{lines:?}"
        );
    }

    #[test]
    fn clock_is_the_utc_time_of_day() {
        assert_eq!(clock(86_400_000 + 3_723_000), "01:02:03");
    }
}
