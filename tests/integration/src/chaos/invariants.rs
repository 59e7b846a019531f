//! The invariants checked after every schedule, each with a name a failure reports.

use host::pipeline::queue::QueueStats;
use host::stop::process::ProcessCounts;
use host::stop::Outcome;
use host::ShutdownReport;

/// A broken invariant of one seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The seed.
    pub seed: u64,
    /// The invariant's name (`tasks_left`, `message_accounting`, ...).
    pub invariant: &'static str,
    /// What was seen.
    pub details: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chaos: seed {} broke {}: {}\n  replay: {}",
            self.seed,
            self.invariant,
            self.details,
            super::replay_command(self.seed)
        )
    }
}

/// Fails `invariant` of `seed` with `details` unless `ok`.
pub fn check(
    ok: bool,
    seed: u64,
    invariant: &'static str,
    details: impl FnOnce() -> String,
) -> Result<(), Broken> {
    if ok {
        Ok(())
    } else {
        Err(Broken {
            seed,
            invariant,
            details: details(),
        })
    }
}

/// The shutdown report: no task left (`tasks_left`), every resource stopped on request
/// (`forced_stops`), no subscription or binding (`subscriptions`), no connection
/// (`connections`), every plugin image unmapped (`mapped_images`).
pub fn shutdown(seed: u64, r: &ShutdownReport) -> Result<(), Broken> {
    check(
        r.tasks_left.is_empty() && r.after.resource_tasks == 0,
        seed,
        "tasks_left",
        || {
            format!(
                "tasks left {:?}, resource tasks after {}",
                r.tasks_left, r.after.resource_tasks
            )
        },
    )?;
    let not_stopped: Vec<String> = r
        .stop
        .resources
        .iter()
        .filter(|x| x.outcome != Outcome::Stopped)
        .map(|x| {
            format!(
                "{}/{} {:?} after {:.0} ms {}",
                x.owner,
                x.name,
                x.outcome,
                x.elapsed_ms,
                x.detail.clone().unwrap_or_default()
            )
        })
        .collect();
    check(not_stopped.is_empty(), seed, "forced_stops", || {
        format!("resources not stopped on request: {not_stopped:?}")
    })?;
    check(
        r.after.subscriptions == 0 && r.after.bindings == 0,
        seed,
        "subscriptions",
        || {
            format!(
                "{} subscriptions and {} bindings after shutdown",
                r.after.subscriptions, r.after.bindings
            )
        },
    )?;
    check(r.after.connections == 0, seed, "connections", || {
        format!("{} connections after shutdown", r.after.connections)
    })?;
    check(
        r.images_still_mapped.is_empty() && r.unloaded.iter().all(|u| u.unmapped),
        seed,
        "mapped_images",
        || {
            format!(
                "still mapped {:?}, unloads {:?}",
                r.images_still_mapped, r.unloaded
            )
        },
    )
}

/// What a consumer saw of one stream, and the stream's queue counters after it ended.
#[derive(Debug, Clone)]
pub struct StreamTally {
    /// `venue kind symbol`.
    pub name: String,
    /// Items and gaps the consumer took (the end marker not included).
    pub seen: u64,
    /// Whether the consumer counts every item it takes (order books apply several per
    /// take, so only their queue's own balance is checked).
    pub counts_items: bool,
    /// Whether the stream's policy may drop (book tickers) or must never (backpressure).
    pub may_drop: bool,
    /// The queue's counters once the stream ended.
    pub stats: QueueStats,
}

/// Every message offered to a consumer's queue was delivered or counted as dropped with a
/// reason, and the consumer took exactly what the queue says it delivered
/// (`message_accounting`); streams with backpressure dropped nothing (`no_drop_policy`).
pub fn accounting(seed: u64, tallies: &[StreamTally]) -> Result<(), Broken> {
    for t in tallies {
        let s = t.stats;
        check(
            s.offered == s.delivered + s.dropped() + s.depth,
            seed,
            "message_accounting",
            || {
                format!(
                    "{}: offered {} != delivered {} + dropped {} + queued {} ({s:?})",
                    t.name,
                    s.offered,
                    s.delivered,
                    s.dropped(),
                    s.depth
                )
            },
        )?;
        // The end marker is delivered as an item too.
        check(
            !t.counts_items || s.delivered == t.seen + 1,
            seed,
            "message_accounting",
            || {
                format!("{}: the consumer took {} items, the queue delivered {} (with the end marker) ({s:?})", t.name, t.seen, s.delivered)
            },
        )?;
        check(
            t.may_drop || s.dropped_conflated + s.dropped_overflow == 0,
            seed,
            "no_drop_policy",
            || format!("{}: a backpressure stream dropped ({s:?})", t.name),
        )?;
    }
    Ok(())
}

/// The process is back at `base`: no more fds (`fds`), threads (`threads`) or plugin images
/// mapped from the shadow folder (`mapped_images`) than before the seeds ran.
pub fn process(
    seed: u64,
    base: &ProcessCounts,
    now: &ProcessCounts,
    mapped: &[String],
) -> Result<(), Broken> {
    check(now.fds <= base.fds, seed, "fds", || {
        format!(
            "{} open fds, {} at the baseline: {}",
            now.fds,
            base.fds,
            open_fds()
        )
    })?;
    check(now.threads <= base.threads, seed, "threads", || {
        format!("{} threads, {} at the baseline", now.threads, base.threads)
    })?;
    check(mapped.is_empty(), seed, "mapped_images", || {
        format!("plugin images still mapped: {mapped:?}")
    })
}

/// What every open fd of the process points at.
fn open_fds() -> String {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            format!("{}->{}", e.file_name().to_string_lossy(), target.display())
        })
        .collect();
    fds.sort();
    fds.join(" ")
}
