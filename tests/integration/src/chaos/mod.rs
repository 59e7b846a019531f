//! The seeded chaos suite: each seed makes a [`Schedule`] of faults drawn from the whole
//! catalog (connection drops, silent servers, 429 storms, REST errors and timeouts,
//! malformed and truncated frames, sequence gaps, plugin panics, hung connections and
//! requests, plugin files replaced, slow consumers) that runs against the Gate.io and MEXC
//! simulators while a program on `host::exchange::Exchange` consumes market data and trades;
//! afterwards the [`invariants`] are checked and a broken one is named with the seed and
//! the command that replays it.
//!
//! [`World`] is the setup every seed shares (simulators, folders, the process baseline);
//! [`run_seed`] runs one seed in a fresh exchange and runtime.

pub mod invariants;
pub mod plot;
pub mod program;
pub mod runner;
pub mod schedule;
pub mod world;

pub use invariants::Broken;
pub use runner::{run_seed, SeedRun};
pub use schedule::{Fault, Replacement, Schedule, Step, Target};
pub use world::World;

/// The seed of the warm-up schedule run before the baseline is taken (outside the default
/// range; `CHAOS_SEED=1000000` replays it like any other).
pub const WARM_UP_SEED: u64 = 1_000_000;

/// The seeds chosen by the environment: `CHAOS_SEED=n` alone, else `CHAOS_SEEDS` seeds
/// (default `default_count`) from `CHAOS_FROM` (default 0).
pub fn seeds_from_env(default_count: u64) -> std::ops::Range<u64> {
    let var = |name: &str| {
        std::env::var(name).ok().map(|v| {
            v.parse::<u64>()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
    };
    if let Some(seed) = var("CHAOS_SEED") {
        return seed..seed + 1;
    }
    let from = var("CHAOS_FROM").unwrap_or(0);
    from..from + var("CHAOS_SEEDS").unwrap_or(default_count)
}

/// The command that replays `seed` with this build's features.
pub fn replay_command(seed: u64) -> String {
    let mut features = Vec::new();
    if cfg!(feature = "mutant-ignore-cancel") {
        features.push("mutant-ignore-cancel");
    }
    if cfg!(feature = "mutant-uncounted-drop") {
        features.push("mutant-uncounted-drop");
    }
    let features = if features.is_empty() {
        String::new()
    } else {
        format!(" --features {}", features.join(","))
    };
    format!(
        "CHAOS_SEED={seed} cargo test -p integration-tests{features} --test chaos -- --nocapture"
    )
}
