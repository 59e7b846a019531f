//! Folder watching with `notify`: events are coalesced per path and acted on once the path
//! has been quiet for the debounce window (a `sleep_until` deadline per path, reset by every
//! new event; no polling). A path that is being written is held until its writer closes it
//! or it is renamed into place, so a partial copy is never loaded.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::stop::resource::TaskGroup;

/// True for a file name the plugin watcher acts on: `*.so`, not a dot-file, not a temp name.
pub fn plugin_candidate(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.ends_with(".so") && !name.starts_with('.') && !name.starts_with('#') && name.len() > 3
}

/// What an event says about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Content is being written (created or modified, not yet closed).
    Writing,
    /// A complete state: closed after writing, renamed, removed, permissions changed.
    Settled,
}

/// Classifies one `notify` event kind.
pub(crate) fn classify(kind: &EventKind) -> Option<Seen> {
    match kind {
        EventKind::Create(_) | EventKind::Modify(ModifyKind::Data(_)) => Some(Seen::Writing),
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(Seen::Settled),
        EventKind::Access(_) => None,
        EventKind::Modify(ModifyKind::Name(_) | ModifyKind::Metadata(_)) | EventKind::Remove(_) => {
            Some(Seen::Settled)
        }
        EventKind::Modify(_) | EventKind::Any | EventKind::Other => Some(Seen::Settled),
    }
}

/// Per-path deadlines: the pure part of the watcher.
#[derive(Debug)]
pub(crate) struct Debouncer {
    quiet: Duration,
    /// How long a path that is still being written is held at most.
    write_grace: Duration,
    pending: HashMap<PathBuf, Instant>,
}

impl Debouncer {
    pub(crate) fn new(quiet: Duration) -> Debouncer {
        Debouncer {
            quiet,
            write_grace: (quiet * 20).max(Duration::from_secs(2)),
            pending: HashMap::new(),
        }
    }

    /// Records an event on `path` at `now`.
    pub(crate) fn observe(&mut self, path: PathBuf, seen: Seen, now: Instant) {
        let wait = match seen {
            Seen::Writing => self.write_grace,
            Seen::Settled => self.quiet,
        };
        self.pending.insert(path, now + wait);
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.pending.values().min().copied()
    }

    /// Paths whose deadline passed, sorted.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<PathBuf> {
        let mut due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(p, _)| p.clone())
            .collect();
        for p in &due {
            self.pending.remove(p);
        }
        due.sort();
        due
    }
}

/// Watches `dirs` (not recursively) in a task of `group`. Every path accepted by `accept`
/// that settles is handed to `on_settled` (one at a time, in the watcher's task). The task
/// ends when the group's token is cancelled; the `notify` watcher and its thread go with it.
pub(crate) fn spawn<A, F, Fut>(
    group: &TaskGroup,
    dirs: &[PathBuf],
    quiet: Duration,
    accept: A,
    mut on_settled: F,
) -> notify::Result<()>
where
    A: Fn(&Path) -> bool + Send + 'static,
    F: FnMut(PathBuf) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let (tx, mut rx) = mpsc::channel::<notify::Result<notify::Event>>(1024);
    let mut watcher = notify::recommended_watcher(move |event| {
        // Runs on notify's thread; waits while the task is busy acting on a change.
        let _ = tx.blocking_send(event);
    })?;
    for dir in dirs {
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
    }
    let token = group.token().clone();
    group.spawn(async move {
        let _watcher = watcher;
        let mut debouncer = Debouncer::new(quiet);
        loop {
            let next = debouncer.next();
            tokio::select! {
                _ = token.cancelled() => break,
                event = rx.recv() => match event {
                    None => break,
                    Some(Ok(event)) => {
                        if event.need_rescan() {
                            tracing::warn!("file watcher lost events; changes may be missed until the next event");
                        }
                        let Some(seen) = classify(&event.kind) else { continue };
                        for path in event.paths {
                            if accept(&path) {
                                tracing::trace!(path = %path.display(), ?seen, "watched path changed");
                                debouncer.observe(path, seen, Instant::now());
                            }
                        }
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "file watcher error"),
                },
                _ = sleep_until(next) => {
                    for path in debouncer.take_due(Instant::now()) {
                        tokio::select! {
                            _ = token.cancelled() => return,
                            _ = on_settled(path) => {}
                        }
                    }
                }
            }
        }
    });
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_plugin_names_are_candidates() {
        assert!(plugin_candidate(Path::new("/p/libgateio.so")));
        for name in [
            ".libgateio.so",
            "libgateio.so.tmp",
            "libgateio.so~",
            "x.txt",
            ".so",
        ] {
            assert!(!plugin_candidate(&Path::new("/p").join(name)), "{name}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn events_are_coalesced_and_writes_wait_for_close() {
        let quiet = Duration::from_millis(100);
        let mut d = Debouncer::new(quiet);
        let t0 = Instant::now();
        let a = PathBuf::from("a.so");
        d.observe(a.clone(), Seen::Settled, t0);
        d.observe(a.clone(), Seen::Settled, t0 + Duration::from_millis(80));
        assert!(
            d.take_due(t0 + Duration::from_millis(150)).is_empty(),
            "reset by the 2nd event"
        );
        assert_eq!(d.take_due(t0 + Duration::from_millis(180)), vec![a.clone()]);
        assert_eq!(d.next(), None);
        d.observe(a.clone(), Seen::Writing, t0);
        assert!(
            d.take_due(t0 + Duration::from_secs(1)).is_empty(),
            "held while written"
        );
        d.observe(a.clone(), Seen::Settled, t0 + Duration::from_secs(1));
        assert_eq!(d.take_due(t0 + Duration::from_millis(1100)), vec![a]);
    }
}
