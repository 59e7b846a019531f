//! Counters of this process's threads by name, from `/proc/self/task`: what benchmarks read
//! to tell how much CPU and how many wake-ups a runtime (named by its thread name) used.

/// Sums `read(task dir)` over this process's threads named `thread_name`.
fn per_thread(thread_name: &str, read: impl Fn(&std::path::Path) -> u64) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .map(|task| task.path())
        .filter(|p| {
            let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
            comm.trim_end() == thread_name
        })
        .map(|p| read(&p))
        .sum()
}

/// Voluntary context switches of the threads named `thread_name`.
pub fn switches(thread_name: &str) -> u64 {
    per_thread(thread_name, |p| {
        let status = std::fs::read_to_string(p.join("status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    })
}

/// CPU time in ns the threads named `thread_name` have used (user + system, from
/// `/proc/self/task/*/stat`, in 10 ms clock ticks: USER_HZ is 100 on Linux).
pub fn cpu_ns(thread_name: &str) -> u64 {
    let ticks = per_thread(thread_name, |p| {
        let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
        // The fields after the parenthesized name start with the state (field 3); utime and
        // stime are fields 14 and 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        num(11) + num(12)
    });
    ticks * 10_000_000
}

/// Time the threads named `thread_name` have spent on a CPU and waiting for one while
/// runnable, in ns (`/proc/self/task/*/schedstat`, exact, unlike [`cpu_ns`]'s ticks). The
/// wait is what other processes on the machine cost them.
pub fn sched_ns(thread_name: &str) -> (u64, u64) {
    let field = |i: usize| {
        per_thread(thread_name, |p| {
            let stat = std::fs::read_to_string(p.join("schedstat")).unwrap_or_default();
            stat.split_whitespace()
                .nth(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
    };
    (field(0), field(1))
}
