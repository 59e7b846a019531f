//! Machine-readable results of a benchmark or a reliability run, so the figures in the docs
//! are rendered from what a run measured instead of being copied by hand.
//!
//! A run builds one [`Results`], adds a [`Figure`] per measured quantity (one value per
//! round, in round order) and calls [`Results::write`], which stores it as
//! `target/results/<name>.json` (the workspace's `target/`, or `$RESULTS_DIR`), where
//! `cargo xtask docs` reads it. A figure
//! compared with a baseline names the baseline's id; when both have a value per round, the
//! ratio is taken round by round, so a machine that slows down for one round moves both
//! sides of that round together.

use std::path::PathBuf;
use std::process::Command;

use serde::{Deserialize, Serialize};

/// Every figure of one run of one command.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    /// File stem, e.g. `pipeline`: the run is stored as `<name>.json`.
    pub name: String,
    /// The command that reproduces the run, as a user types it.
    pub command: String,
    /// The machine and toolchain the run measured on.
    pub machine: Machine,
    /// Seconds since the Unix epoch at the start of the run.
    pub started_unix: u64,
    /// The figures, in the order they were added.
    pub figures: Vec<Figure>,
    /// Free-form lines worth keeping with the figures (parameters, warnings).
    pub notes: Vec<String>,
}

/// One measured quantity.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Figure {
    /// Stable id, unique within the run, e.g. `relay.cpu_per_frame`.
    pub id: String,
    /// What was measured, for a table row.
    pub label: String,
    /// Unit of `values`, e.g. `ns`, `us`, `frames/s`, `%`.
    pub unit: String,
    /// One value per round (or per sample), in order.
    pub values: Vec<f64>,
    /// Id of the same run's figure this one is compared with, if any.
    pub baseline: Option<String>,
}

/// Where a run measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// `rustc --version`.
    pub rustc: String,
    /// Kernel release.
    pub kernel: String,
    /// `git rev-parse --short HEAD` of the workspace, with `+dirty` for local changes.
    pub commit: String,
}

impl Results {
    /// A run of `name`, reproduced by `command`, starting now.
    pub fn new(name: &str, command: &str) -> Self {
        let started_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            name: name.to_string(),
            command: command.to_string(),
            machine: Machine::current(),
            started_unix,
            figures: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a figure with no baseline and returns it for more values.
    pub fn figure(&mut self, id: &str, label: &str, unit: &str) -> &mut Figure {
        if let Some(i) = self.figures.iter().position(|f| f.id == id) {
            return &mut self.figures[i];
        }
        self.figures.push(Figure {
            id: id.to_string(),
            label: label.to_string(),
            unit: unit.to_string(),
            values: Vec::new(),
            baseline: None,
        });
        self.figures.last_mut().expect("just pushed")
    }

    /// The figure with this id.
    pub fn get(&self, id: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.id == id)
    }

    /// Writes the run to `<dir>/<name>.json` and returns the path.
    pub fn write(&self) -> std::io::Result<PathBuf> {
        let dir = dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.json", self.name));
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, json)?;
        Ok(path)
    }

    /// Reads `<dir>/<name>.json`.
    pub fn read(name: &str) -> std::io::Result<Self> {
        let bytes = std::fs::read(dir().join(format!("{name}.json")))?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }
}

impl Figure {
    /// Appends one value.
    pub fn push(&mut self, value: f64) -> &mut Self {
        self.values.push(value);
        self
    }

    /// Compares this figure with the figure `id` of the same run.
    pub fn against(&mut self, id: &str) -> &mut Self {
        self.baseline = Some(id.to_string());
        self
    }

    /// Median, minimum and maximum of the values, or `None` without values.
    pub fn spread(&self) -> Option<Spread> {
        Spread::of(&self.values)
    }

    /// The ratio to `baseline`: round by round when both have the same number of values,
    /// otherwise of the medians (then min = max = median).
    pub fn ratio_to(&self, baseline: &Figure) -> Option<Spread> {
        if self.values.len() == baseline.values.len() {
            let ratios: Vec<f64> = self
                .values
                .iter()
                .zip(&baseline.values)
                .filter(|(_, b)| **b != 0.0)
                .map(|(a, b)| a / b)
                .collect();
            return Spread::of(&ratios);
        }
        let r = self.spread()?.median / baseline.spread()?.median;
        Some(Spread {
            median: r,
            min: r,
            max: r,
        })
    }
}

/// Median and range of a set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The middle value (mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`, ignoring NaNs; `None` when nothing is left.
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Self {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

impl Machine {
    /// The machine this process runs on.
    pub fn current() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_string(), |(_, m)| m.trim().to_string());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_string(), |s| s.trim().to_string());
        let rustc = output("rustc", &["--version"]);
        let mut commit = output("git", &["rev-parse", "--short", "HEAD"]);
        if !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
            commit.push_str("+dirty");
        }
        Self {
            cpu,
            cpus,
            rustc,
            kernel,
            commit,
        }
    }
}

/// Where results are written: `$RESULTS_DIR`, or the workspace's `target/results`.
pub fn dir() -> PathBuf {
    std::env::var_os("RESULTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target/results"))
}

/// A command's trimmed stdout, run in the workspace; empty when it cannot run.
fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(crate::workspace_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_the_middle_and_the_range() {
        let s = Spread::of(&[3.0, 1.0, 2.0, f64::NAN]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Spread::of(&[1.0, 4.0]).unwrap().median, 2.5);
        assert!(Spread::of(&[]).is_none());
    }

    #[test]
    fn ratios_pair_rounds_when_they_can() {
        let mut r = Results::new("t", "cmd");
        r.figure("base", "bare", "ns").push(100.0).push(200.0);
        r.figure("host", "host", "ns")
            .push(300.0)
            .push(400.0)
            .against("base");
        let host = r.get("host").unwrap();
        let ratio = host.ratio_to(r.get("base").unwrap()).unwrap();
        assert_eq!((ratio.min, ratio.max), (2.0, 3.0));
        r.figure("one", "one value", "ns").push(450.0);
        let medians = r.get("one").unwrap().ratio_to(r.get("base").unwrap());
        assert_eq!(medians.unwrap().median, 3.0);
    }

    #[test]
    fn a_run_round_trips_through_json() {
        let mut r = Results::new("roundtrip", "cargo bench");
        r.figure("x", "x", "ns").push(1.5);
        let json = serde_json::to_string(&r).unwrap();
        let back: Results = serde_json::from_str(&json).unwrap();
        assert_eq!(back.get("x").unwrap().values, vec![1.5]);
        assert_eq!(back.command, "cargo bench");
    }
}
