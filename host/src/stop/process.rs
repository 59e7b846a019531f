//! Process-level counters read from `/proc/self`: open fds, threads, resident memory and
//! whether a library image is still mapped. Used by shutdown reports and leak tests.

use std::fs;
use std::path::Path;

/// A snapshot of the process's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ProcessCounts {
    /// Open file descriptors.
    pub fds: usize,
    /// OS threads.
    pub threads: usize,
    /// Resident set size in KiB.
    pub rss_kib: u64,
}

impl ProcessCounts {
    /// Reads the counters now (zeros where `/proc` is unavailable).
    pub fn now() -> ProcessCounts {
        ProcessCounts {
            fds: fs::read_dir("/proc/self/fd")
                .map(|d| d.count())
                .unwrap_or(0),
            threads: fs::read_dir("/proc/self/task")
                .map(|d| d.count())
                .unwrap_or(0),
            rss_kib: status_field("VmRSS:").unwrap_or(0),
        }
    }
}

fn status_field(name: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// True if a file at `path` is mapped into this process (`/proc/self/maps`).
pub fn is_mapped(path: &Path) -> bool {
    let Ok(maps) = fs::read_to_string("/proc/self/maps") else {
        return false;
    };
    let needle = path.to_string_lossy();
    maps.lines().any(|l| l.ends_with(needle.as_ref()))
}

/// Paths of mapped files whose name contains `fragment` (for reports of leaked images).
pub fn mapped_paths_containing(fragment: &str) -> Vec<String> {
    let Ok(maps) = fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    let mut paths: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains(fragment))
        .map(str::to_owned)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_plausible() {
        let c = ProcessCounts::now();
        assert!(c.fds >= 3, "{c:?}");
        assert!(c.threads >= 1, "{c:?}");
        assert!(c.rss_kib > 0, "{c:?}");
    }

    #[test]
    fn the_test_binary_is_mapped_and_a_random_path_is_not() {
        let exe = std::env::current_exe().unwrap();
        assert!(is_mapped(&exe));
        assert!(!is_mapped(Path::new("/nonexistent/lib.so")));
    }
}
