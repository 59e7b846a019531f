//! What the operator remembers for `status` and `/metrics`: the last shutdown, reload and
//! configuration reports, recent refusals, and lifetime counters.

use std::collections::VecDeque;
use std::path::Path;

use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use serde::Serialize;

use super::diff::ConfigOutcome;
use crate::stop::coordinator::{Outcome, ResourceReport};
use crate::stop::report::{ReloadReport, ShutdownReport, StopReport};

/// How many refusals are kept.
const KEEP_REFUSALS: usize = 16;

/// A plugin file the operator refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The file.
    pub file: String,
    /// Why.
    pub error: String,
    /// When, seconds since the Unix epoch.
    pub at_unix: u64,
}

/// The last reports, as `host ctl status` shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LastReports {
    /// The last shutdown of the host.
    pub shutdown: Option<ShutdownReport>,
    /// The last plugin reload.
    pub reload: Option<ReloadReport>,
    /// The last configuration reload.
    pub config: Option<ConfigOutcome>,
    /// Recent refused plugin files, oldest first.
    pub refused: VecDeque<Refusal>,
}

/// Lifetime counters, exported as metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpsCounters {
    /// Plugin reloads that completed.
    pub reloads_ok: u64,
    /// Plugin reloads that failed (the old build kept running, or the venue is down).
    pub reloads_failed: u64,
    /// Sum of completed reload durations, ms.
    pub reload_ms_sum: f64,
    /// The last completed reload's duration, ms.
    pub reload_ms_last: Option<f64>,
    /// The last shutdown's duration, ms.
    pub shutdown_ms_last: Option<f64>,
    /// Resources that did not stop in time and were aborted (stops, reloads, shutdowns).
    pub resources_forced: u64,
    /// Resources whose stop failed.
    pub resources_failed: u64,
    /// Instances whose plugin call hung, so their library stays mapped (quarantined).
    pub hung: u64,
    /// Refused plugin files.
    pub refused: u64,
    /// Configuration reloads applied.
    pub config_applied: u64,
    /// Configuration reloads rolled back.
    pub config_rolled_back: u64,
    /// Configuration reloads rejected (unreadable).
    pub config_rejected: u64,
}

/// Distributions of how long stops, reloads and shutdowns took, in seconds.
#[derive(Debug, Clone)]
pub(super) struct Durations {
    pub(super) stop: Histogram,
    pub(super) reload: Histogram,
    pub(super) shutdown: Histogram,
}

impl Default for Durations {
    fn default() -> Self {
        // 100 µs to about 100 s.
        let buckets = || Histogram::new(exponential_buckets(1e-4, 2.0, 21));
        Durations {
            stop: buckets(),
            reload: buckets(),
            shutdown: buckets(),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Records {
    pub(super) last: LastReports,
    pub(super) counters: OpsCounters,
    pub(super) durations: Durations,
    /// Why each configured venue that failed to start did, until it starts.
    pub(super) start_failures: std::collections::BTreeMap<String, String>,
}

impl Records {
    fn count_stop(&mut self, resources: &[ResourceReport], quarantined: usize) {
        for r in resources {
            match r.outcome {
                Outcome::Forced => self.counters.resources_forced += 1,
                Outcome::Failed => self.counters.resources_failed += 1,
                Outcome::Stopped | Outcome::CarriedOver => {}
            }
        }
        self.counters.hung += quarantined as u64;
    }

    pub(super) fn reloaded(&mut self, report: &ReloadReport) {
        self.counters.reloads_ok += 1;
        self.counters.reload_ms_sum += report.elapsed_ms;
        self.counters.reload_ms_last = Some(report.elapsed_ms);
        self.durations.reload.observe(report.elapsed_ms / 1e3);
        self.durations.stop.observe(report.stop.elapsed_ms / 1e3);
        self.count_stop(&report.stop.resources, report.stop.quarantined.len());
        self.last.reload = Some(report.clone());
    }

    pub(super) fn stopped(&mut self, report: &StopReport) {
        self.durations.stop.observe(report.elapsed_ms / 1e3);
        self.count_stop(&report.resources, report.quarantined.len());
    }

    pub(super) fn shut_down(&mut self, report: &ShutdownReport) {
        self.counters.shutdown_ms_last = Some(report.elapsed_ms);
        self.durations.shutdown.observe(report.elapsed_ms / 1e3);
        self.count_stop(&report.stop.resources, report.stop.quarantined.len());
        self.last.shutdown = Some(report.clone());
    }

    pub(super) fn refused(&mut self, file: &Path, error: &str) {
        self.counters.refused += 1;
        if self.last.refused.len() == KEEP_REFUSALS {
            self.last.refused.pop_front();
        }
        self.last.refused.push_back(Refusal {
            file: file.display().to_string(),
            error: error.to_owned(),
            at_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        });
    }

    pub(super) fn configured(&mut self, outcome: &ConfigOutcome) {
        match outcome {
            ConfigOutcome::Applied { .. } => self.counters.config_applied += 1,
            ConfigOutcome::RolledBack { .. } => self.counters.config_rolled_back += 1,
            ConfigOutcome::Rejected { .. } => self.counters.config_rejected += 1,
            ConfigOutcome::Unchanged => {}
        }
        self.last.config = Some(outcome.clone());
    }
}
