//! Folder watching with `notify`: events are coalesced per path and acted on once the path
//! has been quiet for the debounce window (a `sleep_until` deadline per path, reset by every
//! new event; no polling). A path that is being written is held until its writer closes it
//! or it is renamed into place, so a partial copy is never loaded. A watched folder that
//! does not exist (yet, or any more) is followed through its nearest existing ancestor
//! ([`Folders`]) and watched itself as soon as it appears.

use std::collections::{BTreeMap, HashMap, HashSet};
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

/// `path` made absolute with its existing part canonical: what a folder that may not exist
/// yet is watched and compared as (events name paths under the watched one).
pub(crate) fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut missing = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            return missing
                .iter()
                .rev()
                .fold(canonical, |dir, part| dir.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// A folder's identity (device, inode): a folder replaced under the same path is another.
type Identity = (u64, u64);

/// The nearest folder at or above `dir` that exists now, with its identity.
fn nearest_existing(dir: &Path) -> Option<(PathBuf, Identity)> {
    use std::os::unix::fs::MetadataExt;
    dir.ancestors().find_map(|d| {
        let m = std::fs::metadata(d).ok().filter(|m| m.is_dir())?;
        Some((d.to_owned(), (m.dev(), m.ino())))
    })
}

/// The folders a watcher follows and what it watches for them: each folder itself once it
/// exists, its nearest existing ancestor until then (so its creation, or that of a folder on
/// the way, is an event). A watched folder that is removed, renamed or replaced is watched
/// again as whatever is there now.
#[derive(Debug)]
pub(crate) struct Folders {
    targets: Vec<PathBuf>,
    /// What is watched now, as what it was when its watch was added.
    watched: BTreeMap<PathBuf, Identity>,
}

impl Folders {
    /// Follows `targets` (absolute paths); nothing is watched until [`Folders::reconcile`].
    pub(crate) fn new(targets: &[PathBuf]) -> Folders {
        Folders {
            targets: targets.to_vec(),
            watched: BTreeMap::new(),
        }
    }

    /// What must be watched as the file system is now.
    fn wanted(&self) -> BTreeMap<PathBuf, Identity> {
        self.targets
            .iter()
            .filter_map(|t| nearest_existing(t))
            .collect()
    }

    /// True if something that happened to `path` can change what must be watched: it is
    /// one of the folders or on the way to one.
    pub(crate) fn on_the_way(&self, path: &Path) -> bool {
        self.targets.iter().any(|t| t.starts_with(path))
    }

    /// The folders followed.
    pub(crate) fn targets(&self) -> &[PathBuf] {
        &self.targets
    }

    /// True if `target` existed and was watched itself at the last look.
    pub(crate) fn present(&self, target: &Path) -> bool {
        self.watched.contains_key(target)
    }

    /// Watches what must be watched and unwatches the rest, looking again after every change
    /// so that a folder created while a watch was being added is not missed. Returns the
    /// folders that are watched themselves now and were not before (or were another folder
    /// of the same path): whatever they hold was never seen as an event.
    pub(crate) fn reconcile(&mut self, watcher: &mut dyn Watcher) -> Vec<PathBuf> {
        let before: Vec<Option<Identity>> = self
            .targets
            .iter()
            .map(|t| self.watched.get(t).copied())
            .collect();
        for _ in 0..16 {
            let wanted = self.wanted();
            if wanted == self.watched {
                break;
            }
            for (dir, id) in &self.watched {
                if wanted.get(dir) != Some(id) {
                    // Already gone with its folder, if that was removed.
                    let _ = watcher.unwatch(dir);
                }
            }
            let mut now = BTreeMap::new();
            for (dir, id) in wanted {
                if self.watched.get(&dir) == Some(&id) {
                    now.insert(dir, id);
                    continue;
                }
                match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        now.insert(dir, id);
                    }
                    // Gone again, or not readable: the next look sees what is there.
                    Err(e) => {
                        tracing::debug!(folder = %dir.display(), error = %e, "folder not watched")
                    }
                }
            }
            self.watched = now;
        }
        let mut appeared = Vec::new();
        for (target, was) in self.targets.iter().zip(before) {
            match (was, self.watched.get(target)) {
                (Some(_), None) => self.waiting(target, "watched folder removed"),
                (was, Some(now)) if was.as_ref() != Some(now) => appeared.push(target.clone()),
                _ => {}
            }
        }
        appeared
    }

    /// Logs that `target` is missing and what is watched until it appears.
    fn waiting(&self, target: &Path, what: &str) {
        let ancestor = nearest_existing(target)
            .map(|(a, _)| a)
            .filter(|a| self.watched.contains_key(a));
        match ancestor {
            Some(ancestor) => tracing::warn!(
                folder = %target.display(),
                watching = %ancestor.display(),
                "{what}; waiting for it to appear"
            ),
            None => tracing::error!(
                folder = %target.display(),
                "{what}; no folder above it can be watched: changes there are missed"
            ),
        }
    }
}

/// What the watcher hands over once it settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Settled {
    /// A path accepted by the filter changed (written, renamed, removed).
    Path(PathBuf),
    /// One of the watched folders appeared (after start, or again after it was removed):
    /// whatever it already holds was never seen as an event.
    Appeared(PathBuf),
}

/// Watches `dirs` (not recursively) in a task of `group`; a folder that does not exist is
/// waited for (see [`Folders`]), with one warning now. Every path accepted by `accept` that
/// settles, and every folder of `dirs` that appears, is handed to `on_settled` (one at a
/// time, in the watcher's task). The task ends when the group's token is cancelled; the
/// `notify` watcher and its thread go with it.
pub(crate) fn spawn<A, F, Fut>(
    group: &TaskGroup,
    dirs: &[PathBuf],
    quiet: Duration,
    accept: A,
    mut on_settled: F,
) -> notify::Result<()>
where
    A: Fn(&Path) -> bool + Send + 'static,
    F: FnMut(Settled) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let (tx, mut rx) = mpsc::channel::<notify::Result<notify::Event>>(1024);
    let mut watcher = notify::recommended_watcher(move |event| {
        // Runs on notify's thread; waits while the task is busy acting on a change.
        let _ = tx.blocking_send(event);
    })?;
    let mut folders = Folders::new(dirs);
    folders.reconcile(&mut watcher);
    for target in folders.targets() {
        if !folders.present(target) {
            folders.waiting(target, "watched folder does not exist");
        }
    }
    let token = group.token().clone();
    group.spawn(async move {
        let mut debouncer = Debouncer::new(quiet);
        // Folders that appeared and wait out the quiet window before they are handed over.
        let mut appeared: HashSet<PathBuf> = HashSet::new();
        loop {
            let next = debouncer.next();
            tokio::select! {
                _ = token.cancelled() => break,
                event = rx.recv() => match event {
                    None => break,
                    Some(Ok(event)) => {
                        let lost_events = event.need_rescan();
                        if lost_events {
                            tracing::warn!("file watcher lost events; changes may be missed until the next event");
                        }
                        let Some(seen) = classify(&event.kind) else { continue };
                        let look_again = lost_events
                            || event.paths.iter().any(|p| folders.on_the_way(p));
                        if look_again {
                            // At once, not after the quiet window: files dropped into a new
                            // folder must find it watched.
                            for dir in folders.reconcile(&mut watcher) {
                                tracing::info!(folder = %dir.display(), "watched folder appeared; watching it");
                                debouncer.observe(dir.clone(), Seen::Settled, Instant::now());
                                appeared.insert(dir);
                            }
                        }
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
                        let settled = match appeared.remove(&path) {
                            true => Settled::Appeared(path),
                            false => Settled::Path(path),
                        };
                        tokio::select! {
                            _ = token.cancelled() => return,
                            _ = on_settled(settled) => {}
                        }
                    }
                }
            }
        }
        drop(watcher);
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

    #[test]
    fn a_missing_folder_is_resolved_through_its_existing_part() {
        let base = std::env::temp_dir().canonicalize().unwrap();
        let missing = base.join(format!("host-watch-resolve-{}", std::process::id()));
        assert_eq!(resolve(&missing.join("a/b")), missing.join("a/b"));
        assert_eq!(resolve(&base), base);
        let relative = resolve(Path::new("no-such-folder-here/plugins"));
        assert!(relative.is_absolute(), "{}", relative.display());
        assert!(relative.ends_with("no-such-folder-here/plugins"));
    }

    #[test]
    fn a_missing_folder_is_watched_through_its_ancestors_until_it_appears() {
        let base = std::env::temp_dir()
            .canonicalize()
            .unwrap()
            .join(format!("host-watch-folders-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let target = base.join("later/plugins");
        let mut watcher = notify::recommended_watcher(|_| {}).unwrap();
        let mut folders = Folders::new(std::slice::from_ref(&target));
        assert!(folders.on_the_way(&base.join("later")));
        assert!(folders.on_the_way(&target));
        assert!(!folders.on_the_way(&target.join("x.so")));
        assert!(!folders.on_the_way(&base.join("other")));

        assert!(folders.reconcile(&mut watcher).is_empty());
        assert_eq!(folders.watched.keys().collect::<Vec<_>>(), [&base]);
        std::fs::create_dir(base.join("later")).unwrap();
        assert!(folders.reconcile(&mut watcher).is_empty());
        assert_eq!(
            folders.watched.keys().collect::<Vec<_>>(),
            [&base.join("later")]
        );
        std::fs::create_dir(&target).unwrap();
        assert_eq!(
            folders.reconcile(&mut watcher),
            std::slice::from_ref(&target)
        );
        assert!(folders.present(&target));
        assert!(folders.reconcile(&mut watcher).is_empty(), "seen once");

        // Replaced under the same path: another folder, watched anew and reported again.
        std::fs::remove_dir(&target).unwrap();
        assert!(folders.reconcile(&mut watcher).is_empty());
        assert!(!folders.present(&target));
        std::fs::create_dir(&target).unwrap();
        assert_eq!(
            folders.reconcile(&mut watcher),
            std::slice::from_ref(&target)
        );
        std::fs::remove_dir_all(&base).unwrap();
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
