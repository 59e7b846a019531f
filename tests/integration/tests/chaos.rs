//! The seeded chaos suite (`integration_tests::chaos`): every seed runs a schedule of
//! combined faults against the Gate.io and MEXC simulators (and a relay venue whose plugin
//! panics) while a program consumes market data and trades, then checks that nothing was
//! left behind, every message is accounted for and both sides agree on every order. A
//! broken seed is printed with its invariant and the command that replays it.
//! `CHAOS_SEEDS=n` runs n seeds, `CHAOS_FROM=k` starts at seed k, `CHAOS_SEED=n` runs one.

use integration_tests::chaos::{run_seed, seeds_from_env, World, WARM_UP_SEED};
use integration_tests::serial;

/// Seeds of the default run.
const DEFAULT_SEEDS: u64 = 200;

#[test]
fn every_seed_leaves_nothing_behind_and_accounts_for_every_message_and_order() {
    let _serial = serial();
    let mut world = World::start("chaos");
    // A warm-up (a seed past the default range, its faults as drawn) creates what the
    // process keeps for good (pools, the TLS configuration), then the baseline is taken.
    let started = std::time::Instant::now();
    if let Err(broken) = run_seed(&mut world, WARM_UP_SEED, None) {
        panic!("the warm-up broke: {broken}");
    }
    world.take_baseline();
    let seeds = seeds_from_env(DEFAULT_SEEDS);
    // `CHAOS_KEEP_GOING=1` runs every seed and lists all broken ones at the end.
    let keep_going = std::env::var_os("CHAOS_KEEP_GOING").is_some();
    let (mut orders, mut messages, mut dropped, mut regressed, mut reconfigured) = (0, 0, 0, 0, 0);
    let mut broken = Vec::new();
    for seed in seeds.clone() {
        match run_seed(&mut world, seed, None) {
            Ok(run) => {
                orders += run.orders;
                messages += run.messages;
                dropped += run.dropped;
                regressed += run.regressed;
                reconfigured += run.config_changes;
            }
            Err(b) if keep_going => {
                eprintln!("{b}");
                broken.push(b);
            }
            Err(b) => panic!("{b}"),
        }
    }
    eprintln!(
        "chaos: {} seeds ({}..{}) in {:.1} s: {orders} orders, {messages} messages taken, {dropped} dropped with a reason, {reconfigured} configuration changes; {regressed} orders had a final status followed by another",
        seeds.end - seeds.start,
        seeds.start,
        seeds.end,
        started.elapsed().as_secs_f64()
    );
    let mut results = xtask::results::Results::new(
        "chaos",
        "cargo test -p integration-tests --test chaos -- --nocapture",
    );
    let n = (seeds.end - seeds.start) as f64;
    results.figure("seeds", "seeds run", "seeds").push(n);
    results
        .figure("broken", "seeds that broke an invariant", "seeds")
        .push(broken.len() as f64);
    results
        .figure("wall", "wall time, warm-up and every seed", "s")
        .push(started.elapsed().as_secs_f64());
    results
        .figure("per_seed", "wall time per seed", "ms")
        .push(started.elapsed().as_secs_f64() * 1000.0 / (n + 1.0));
    results
        .figure("orders", "orders placed", "orders")
        .push(orders as f64);
    results
        .figure(
            "config_changes",
            "configuration changes given to the exchange",
            "changes",
        )
        .push(reconfigured as f64);
    results
        .figure("messages", "messages the program took", "messages")
        .push(messages as f64);
    results
        .figure("dropped", "messages dropped with a reason", "messages")
        .push(dropped as f64);
    results
        .figure(
            "regressed",
            "orders with a final status followed by another",
            "orders",
        )
        .push(regressed as f64);
    results
        .notes
        .push(format!("seeds {}..{}", seeds.start, seeds.end));
    results.write().expect("writing the chaos results");
    assert!(
        broken.is_empty(),
        "{} seeds broke: {:?}",
        broken.len(),
        broken
            .iter()
            .map(|b| (b.seed, b.invariant))
            .collect::<Vec<_>>()
    );
    assert!(messages > 0, "the program took no message at all");
    world.shutdown();
}
