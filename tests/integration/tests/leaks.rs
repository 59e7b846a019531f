//! Nothing is left behind: after a run and after many load/start/stop/unload cycles, tasks,
//! subscriptions, fds, threads and mapped images are back to their baseline. The normal run
//! does a short soak (40 cycles, or `SOAK_CYCLES`); the full 200 is an ignored test:
//! `cargo test -p integration-tests --test leaks -- --ignored`.
//!
//! Each test builds its runtime only after taking the serial lock, so the process-wide
//! counts it compares belong to it alone.

use std::path::Path;

use host::stop::process::{is_mapped, mapped_paths_containing, ProcessCounts};
use host::stop::Outcome;
use host::{Host, HostOptions, State, StreamItem};
use integration_tests::{next_trade, plugin, runtime, runtime_tasks_settle, serial, temp_dir};
use plugin_api::StreamKind;

#[test]
fn normal_run_stops_in_order_and_leaves_nothing_behind() {
    let _serial = serial();
    let file = plugin("fixture_counter");
    let rt = runtime();
    let shadow = temp_dir("normal");
    let base = ProcessCounts::now();
    rt.block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(shadow.clone()),
            ..HostOptions::default()
        })
        .unwrap();
        let info = host.load_plugin(&file).await.unwrap();
        assert_eq!(
            (info.venue.as_str(), info.api_version),
            ("fixture", plugin_api::API_VERSION)
        );
        host.start_venue("a", "fixture", r#"{"period_ms": 2}"#)
            .await
            .unwrap();
        assert_eq!(host.state("a").await, Some(State::Running));
        let mut sub = host.subscribe("a", "TEST/USD", StreamKind::Trades).unwrap();
        let first: u64 = next_trade(&mut sub).await.unwrap()[3..].parse().unwrap();
        for n in first + 1..first + 5 {
            assert_eq!(next_trade(&mut sub).await.unwrap(), format!("v1-{n}"));
        }
        let mapped = mapped_paths_containing(&shadow.to_string_lossy());
        assert_eq!(mapped.len(), 1, "exactly the shadow copy is mapped");

        let report = host.shutdown("test").await;

        let order: Vec<&str> = report
            .stop
            .resources
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(order, ["handlers", "tick", "streams"], "dependents first");
        assert!(report
            .stop
            .resources
            .iter()
            .all(|r| r.outcome == Outcome::Stopped));
        assert_eq!(report.after.resource_tasks, 0, "{report:#?}");
        runtime_tasks_settle().await;
        assert_eq!(report.after.subscriptions, 0);
        assert_eq!(report.after.bindings, 0);
        assert_eq!(report.after.connections, 0);
        assert!(report.images_still_mapped.is_empty());
        assert!(report.unloaded.iter().all(|u| u.unmapped));
        assert!(!is_mapped(Path::new(&mapped[0])));
        // The consumer drains what was queued, then sees the end.
        while let Some(item) = sub.recv().await {
            if item == StreamItem::End {
                break;
            }
        }
        assert_eq!(sub.recv().await, None);
        let stats = sub.stats();
        assert_eq!(
            stats.offered,
            stats.delivered + stats.dropped() + stats.depth
        );
    });
    drop(rt);
    let after = ProcessCounts::now();
    // The runtime's own threads are gone with it; everything else must be back to baseline.
    assert!(after.fds <= base.fds, "fds {} -> {}", base.fds, after.fds);
    assert!(
        after.threads <= base.threads,
        "threads {} -> {}",
        base.threads,
        after.threads
    );
    assert!(
        std::fs::read_dir(&shadow).unwrap().next().is_none(),
        "shadow copy deleted"
    );
}

/// The RSS growth allowed: the issue's 2 MB over the 180 cycles after the warm-up of the
/// full 200-cycle soak, in proportion for another number of cycles.
fn rss_budget_kib(measured_cycles: usize) -> i64 {
    2048 * measured_cycles as i64 / 180
}

/// Load/start/stop/unload cycles leave fds, threads, mapped images and tasks flat and RSS
/// growth within [`rss_budget_kib`]. The normal run does 40 cycles, or `SOAK_CYCLES`;
/// the full soak of 200 is [`two_hundred_load_start_stop_unload_cycles_stay_flat`], ignored
/// in the normal run.
#[test]
fn load_start_stop_unload_cycles_stay_flat() {
    cycles_stay_flat(soak_cycles(40));
}

/// The issue's soak: 200 cycles with RSS growth under 2 MB. Ignored in the normal run (the
/// short version above runs there); run it, with its figures printed, by
/// `cargo test -p integration-tests --test leaks -- --ignored --nocapture`.
#[test]
#[ignore = "long soak; run with `cargo test -p integration-tests --test leaks -- --ignored`"]
fn two_hundred_load_start_stop_unload_cycles_stay_flat() {
    cycles_stay_flat(200);
}

/// The number of cycles of the normal run: `SOAK_CYCLES` if set, else `default`.
fn soak_cycles(default: usize) -> usize {
    std::env::var("SOAK_CYCLES").map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("SOAK_CYCLES={v:?} is not a number of cycles"))
    })
}

/// Runs `cycles` load/start/stop/unload cycles; the counts after the first 20 (or half, if
/// fewer than 40) are the baseline the end is compared with.
fn cycles_stay_flat(cycles: usize) {
    let warmup = 20.min(cycles / 2);
    assert!(warmup > 0, "{cycles} cycles are too few to compare");
    let _serial = serial();
    let file = plugin("fixture_counter");
    let rt = runtime();
    let shadow = temp_dir("cycles");
    rt.block_on(async {
        let host = Host::new(HostOptions {
            shadow_dir: Some(shadow.clone()),
            ..HostOptions::default()
        })
        .unwrap();
        let mut warm = None;
        let started = std::time::Instant::now();
        for i in 0..cycles {
            host.load_plugin(&file).await.unwrap();
            host.start_venue("a", "fixture", r#"{"period_ms": 1}"#).await.unwrap();
            let mut sub = host.subscribe("a", "TEST/USD", StreamKind::Trades).unwrap();
            next_trade(&mut sub).await.unwrap();
            drop(sub);
            host.remove_venue("a").await.unwrap();
            let unload = host.unload_plugin("fixture").await.unwrap();
            assert!(unload.unmapped, "cycle {i}: {unload:?}");
            if i + 1 == warmup {
                warm = Some(ProcessCounts::now());
            }
        }
        let warm = warm.unwrap();
        let end = ProcessCounts::now();
        let growth = end.rss_kib as i64 - warm.rss_kib as i64;
        let measured = cycles - warmup;
        let budget = rss_budget_kib(measured);
        eprintln!(
            "{cycles} cycles in {:.2} s; after cycle {warmup} -> {cycles}: fds {} -> {}, threads {} -> {}, RSS {} -> {} KiB ({growth:+} KiB, budget {budget} KiB)",
            started.elapsed().as_secs_f64(),
            warm.fds, end.fds, warm.threads, end.threads, warm.rss_kib, end.rss_kib
        );
        assert_eq!(end.fds, warm.fds);
        assert_eq!(end.threads, warm.threads);
        assert!(growth < budget, "RSS grew {growth} KiB over {measured} cycles");
        assert!(mapped_paths_containing(&shadow.to_string_lossy()).is_empty());
        assert_eq!(host.counts().await.resource_tasks, 0);
        runtime_tasks_settle().await;
        let _ = host.shutdown("test").await;
    });
}
