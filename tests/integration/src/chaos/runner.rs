//! Runs one seed: a fresh runtime and exchange, the program, the schedule's faults in time
//! order, then the faults cleared, the orders settled, the exchange shut down and every
//! invariant checked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use host::config::HostConfig;
use host::exchange::{Exchange, ExchangeError};
use host::ops::ConfigOutcome;
use host::stop::process::{mapped_paths_containing, ProcessCounts};
use tokio::time::Instant;
use venue_sim::{AcceptMode, SimOrderStatus};

use super::invariants::{self, check, Broken};
use super::program::Program;
use super::schedule::{Fault, Replacement, Schedule, Target};
use super::world::{install_file, install_truncated, VenueSettings, World};

/// How long orders may take to settle once the faults are off (lookups of lost answers
/// back off over a few seconds), and the bound of every other wait.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Live figures a soak samples while seeds run.
#[derive(Default)]
pub struct Probe {
    /// The runtime of the seed running now.
    pub runtime: Mutex<Option<tokio::runtime::Handle>>,
    /// The deepest queue of the program's streams seen since the sampler last took it.
    pub queue_depth: std::sync::Arc<AtomicU64>,
    /// Hot reloads of a plugin file so far.
    pub reloads: AtomicU64,
}

/// What one seed did.
#[derive(Debug, Clone, Default)]
pub struct SeedRun {
    /// Steps of its schedule.
    pub steps: usize,
    /// Orders the program placed (and the venue accepted to send).
    pub orders: usize,
    /// Orders whose updates went from a final status to another one (fails the seed as
    /// `order_updates_in_order`).
    pub regressed: usize,
    /// Messages the program's consumers took.
    pub messages: u64,
    /// Messages dropped with a reason (conflated or pushed out of a full queue).
    pub dropped: u64,
    /// Configuration changes given to the exchange (applied or refused).
    pub config_changes: usize,
}

/// Prints `what` of `seed` when `CHAOS_VERBOSE` is set (where a seed is, if it hangs).
fn trace(seed: u64, what: &str) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("CHAOS_VERBOSE").is_some()) {
        eprintln!("chaos: seed {seed}: {what}");
    }
}

enum Action {
    On(Fault),
    Off(Target, &'static str),
}

fn timeline(s: &Schedule) -> Vec<(u64, Action)> {
    let mut t = Vec::new();
    for step in &s.steps {
        let off = match &step.fault {
            Fault::DropAfter(v, _, ms) => Some((*v, *ms, "drop_after")),
            Fault::Silent(v, ms) => Some((*v, *ms, "silent")),
            Fault::DataPaused(v, ms) => Some((*v, *ms, "data_paused")),
            Fault::Delay(v, _, ms) => Some((*v, *ms, "delay")),
            Fault::Rest(v, _, ms) => Some((*v, *ms, "rest")),
            Fault::OrderEntry(v, _, ms) => Some((*v, *ms, "order_entry")),
            Fault::Accept(v, _, ms) => Some((*v, *ms, "accept")),
            _ => None,
        };
        t.push((step.at_ms, Action::On(step.fault.clone())));
        if let Some((v, ms, what)) = off {
            t.push((step.at_ms + ms, Action::Off(v, what)));
        }
    }
    t.sort_by_key(|(at, _)| *at);
    t
}

fn switch_off(world: &World, v: Target, what: &str) {
    let f = world.sim(v).faults();
    match what {
        "drop_after" => f.set_drop_after(None),
        "silent" => f.set_silent(false),
        "data_paused" => f.set_data_paused(false),
        "delay" => f.set_delay(Duration::ZERO),
        "rest" => f.set_rest_fault(None),
        "order_entry" => f.set_order_entry_fault(None),
        _ => f.set_accept_mode(AcceptMode::Normal),
    }
}

/// What a seed's configuration is now: the relay's panic rate and the venue settings the
/// schedule's accepted changes made.
struct SeedConfig {
    panic_every: u64,
    settings: VenueSettings,
}

/// Applies `fault`; an `Err` is a configuration change that did not do what it should
/// (the invariant `config_changes`).
async fn apply(
    world: &World,
    program: &mut Program,
    fault: Fault,
    probe: Option<&Probe>,
    config: &mut SeedConfig,
) -> Result<(), String> {
    match fault {
        Fault::Kick(v, how) => world.sim(v).faults().kick_all(how),
        Fault::DropAfter(v, n, _) => world.sim(v).faults().set_drop_after(Some(n)),
        Fault::Silent(v, _) => world.sim(v).faults().set_silent(true),
        Fault::DataPaused(v, _) => world.sim(v).faults().set_data_paused(true),
        Fault::Delay(v, d, _) => world.sim(v).faults().set_delay(Duration::from_millis(d)),
        Fault::Malformed(v, n) => world.sim(v).faults().inject_malformed(n),
        Fault::Truncated(v, n) => world.sim(v).faults().inject_truncated(n),
        Fault::SequenceGap(v, n) => world.sim(v).faults().skip_sequence(n),
        Fault::Rest(v, f, _) => world.sim(v).faults().set_rest_fault(Some(f)),
        Fault::OrderEntry(v, f, _) => world.sim(v).faults().set_order_entry_fault(Some(f)),
        Fault::Accept(v, mode, _) => world.sim(v).faults().set_accept_mode(mode),
        Fault::Replace(r) => {
            let gate = crate::plugin("gateio_plugin");
            match r {
                Replacement::Good => {
                    install_file(&gate, &world.plugins.join("gateio.so"));
                    if let Some(p) = probe {
                        p.reloads.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Replacement::Corrupt => {
                    install_truncated(&gate, &world.plugins.join("gateio-cut.so"))
                }
                Replacement::Incompatible => install_file(
                    &crate::plugin("fixture_wrong_api"),
                    &world.plugins.join("other-api.so"),
                ),
            }
        }
        Fault::SlowConsumer(ms) => program.stall.for_ms(ms),
        Fault::Place { venue, crossing } => {
            let _ = program.place(venue, crossing).await;
        }
        Fault::Cancel(v) => {
            let _ = program.cancel_open(v, None).await;
        }
        Fault::Reconfigure { venue, value } => {
            return reconfigure(world, program, config, venue, value).await
        }
    }
    Ok(())
}

/// Gives the exchange the seed's configuration with `venue`'s setting at `value`: 0 must
/// be refused with nothing changed, any other value applied by restarting that venue alone
/// (or be no change, if it is the value in force).
async fn reconfigure(
    world: &World,
    program: &Program,
    config: &mut SeedConfig,
    venue: Target,
    value: u32,
) -> Result<(), String> {
    let settings = config.settings.with(venue, value);
    let path = world.write_config(config.panic_every, &settings);
    let (new, secrets) = HostConfig::load_with_secrets(Some(&path)).map_err(|e| e.to_string())?;
    let name = venue.name();
    match (value, program.ex.reconfigure(new, secrets).await) {
        (0, Err(ExchangeError::Reconfigure { reason }))
            if reason.contains(&format!("`venues.{name}.settings`")) =>
        {
            Ok(())
        }
        (0, outcome) => Err(format!(
            "{name}'s refused setting was not refused as such: {outcome:?}"
        )),
        (_, Ok(ConfigOutcome::Unchanged)) if settings == config.settings => Ok(()),
        (_, Ok(ConfigOutcome::Applied { diff, .. })) if diff.to_change == [name] => {
            config.settings = settings;
            Ok(())
        }
        (_, outcome) => Err(format!("{name}'s new setting {value}: {outcome:?}")),
    }
}

/// Runs `seed` against `world` and checks every invariant; the first broken one is
/// returned. `probe`, if given, is kept up to date for a soak's sampler.
pub fn run_seed(world: &mut World, seed: u64, probe: Option<&Probe>) -> Result<SeedRun, Broken> {
    world.runs += 1;
    let schedule = Schedule::generate(seed);
    let schedule_changes = schedule
        .steps
        .iter()
        .filter(|s| matches!(s.fault, Fault::Reconfigure { .. }))
        .count();
    let mut seed_config = SeedConfig {
        panic_every: schedule.panic_every,
        settings: VenueSettings::default(),
    };
    let config_path = world.write_config(seed_config.panic_every, &seed_config.settings);
    let (config, secrets) =
        HostConfig::load_with_secrets(Some(&config_path)).map_err(|e| Broken {
            seed,
            invariant: "start",
            details: format!("the configuration: {e}"),
        })?;
    let rt = crate::runtime();
    if let Some(p) = probe {
        *p.runtime.lock().unwrap() = Some(rt.handle().clone());
    }
    let run = world.runs;
    let outcome = rt.block_on(async {
        trace(seed, "starting the exchange");
        let exchange = Exchange::start(config, secrets).await.map_err(|e| Broken {
            seed,
            invariant: "start",
            details: e.to_string(),
        })?;
        let depth = probe.map_or_else(Default::default, |p| p.queue_depth.clone());
        let mut program = Program::start(exchange.handle(), run, depth)
            .await
            .map_err(|e| Broken {
                seed,
                invariant: "start",
                details: e,
            })?;
        trace(seed, &format!("running {schedule:?}"));
        let start = Instant::now();
        for (at, action) in timeline(&schedule) {
            tokio::time::sleep_until(start + Duration::from_millis(at)).await;
            match action {
                Action::On(f) => {
                    let what = format!("{f:?}");
                    let applied = apply(world, &mut program, f, probe, &mut seed_config);
                    tokio::time::timeout(PATIENCE, applied)
                        .await
                        .map_err(|_| Broken {
                            seed,
                            invariant: "program_calls",
                            details: format!("{what} did not return within {PATIENCE:?}"),
                        })?
                        .map_err(|details| Broken {
                            seed,
                            invariant: "config_changes",
                            details,
                        })?;
                }
                Action::Off(v, what) => switch_off(world, v, what),
            }
        }
        world.gate.faults().clear();
        world.mexc.faults().clear();
        trace(seed, "settling the orders");
        let settled = program.settle_orders(PATIENCE).await;
        trace(seed, "shutting down");
        let orders: Vec<_> = program
            .books
            .iter()
            .map(|b| b.orders.lock().unwrap().clone())
            .collect();
        let report = exchange.shutdown("chaos").await;
        trace(seed, "waiting for the streams to end");
        trace(seed, "checking");
        check(settled.is_ok(), seed, "orders_final", || {
            format!(
                "orders not final on the program's side after {PATIENCE:?}: {:?}",
                settled.clone().unwrap_err()
            )
        })?;
        invariants::shutdown(seed, &report)?;
        let tallies = program.finish(PATIENCE).await.map_err(|open| Broken {
            seed,
            invariant: "streams_end",
            details: format!(
                "streams of the program still open {PATIENCE:?} after the shutdown: {open:?}"
            ),
        })?;
        invariants::accounting(seed, &tallies)?;
        let alive = || {
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
        };
        let settle = tokio::time::timeout(PATIENCE, async {
            while alive() > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        check(settle.is_ok(), seed, "tasks_left", || {
            format!(
                "{} tasks still alive on the runtime {PATIENCE:?} after shutdown",
                alive()
            )
        })?;
        Ok::<_, Broken>((orders, tallies, schedule.steps.len()))
    });
    if let Some(p) = probe {
        *p.runtime.lock().unwrap() = None;
    }
    drop(rt);
    world.gate.faults().clear();
    world.mexc.faults().clear();
    world.install_plugins();
    let (orders, tallies, steps) = outcome?;

    // The simulators saw every connection close.
    for (name, sim) in [("gate", &world.gate), ("mexc", &world.mexc)] {
        let closed = world.sims_runtime.block_on(async {
            tokio::time::timeout(PATIENCE, sim.stats().wait_until(|s| s.ws_live == 0)).await
        });
        check(closed.is_ok(), seed, "connections", || {
            format!(
                "{name}'s simulator still has {} websocket connections",
                sim.stats().snapshot().ws_live
            )
        })?;
    }
    // Both sides agree on every order.
    let mut placed = 0;
    let mut regressed = 0;
    for (i, t) in [Target::Gate, Target::Mexc].into_iter().enumerate() {
        let prefix = format!("k{run}x");
        let sim: Vec<_> = world
            .sim(t)
            .orders("test-key")
            .into_iter()
            .map(|o| (o.client_id.trim_start_matches("t-").to_owned(), o.status))
            .filter(|(c, _)| c.starts_with(&prefix))
            .collect();
        placed += orders[i].len();
        for (cid, known) in &orders[i] {
            let on_sim = sim.iter().find(|(c, _)| c == cid).map(|(_, s)| *s);
            use plugin_api::OrderStatus as P;
            let agree = matches!(
                (known.status, on_sim),
                (Some(P::Filled), Some(SimOrderStatus::Filled))
                    | (Some(P::Cancelled), Some(SimOrderStatus::Cancelled))
                    | (Some(P::Rejected), None)
            );
            if known.regressed.is_some() {
                regressed += 1;
            }
            check(
                known.regressed.is_none(),
                seed,
                "order_updates_in_order",
                || {
                    format!(
                        "{t:?} order {cid}: {} (the venue says {on_sim:?})",
                        known.regressed.clone().unwrap_or_default()
                    )
                },
            )?;
            check(agree, seed, "orders_agree", || {
                format!(
                    "{t:?} order {cid}: the program says {:?}, the venue {on_sim:?}",
                    known.status
                )
            })?;
        }
        for (cid, status) in &sim {
            check(orders[i].contains_key(cid), seed, "orders_agree", || {
                format!("{t:?} order {cid} ({status:?}) on the venue is unknown to the program")
            })?;
        }
    }
    // The process is back at its baseline (sockets the simulators close go a little later:
    // wait for the counts, bounded).
    if let Some(base) = world.baseline {
        let shadow = world.shadow.to_string_lossy().into_owned();
        let give_up = std::time::Instant::now() + PATIENCE;
        loop {
            let now = ProcessCounts::now();
            let mapped = mapped_paths_containing(&shadow);
            let result = invariants::process(seed, &base, &now, &mapped);
            if result.is_ok() || std::time::Instant::now() >= give_up {
                result?;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(SeedRun {
        config_changes: schedule_changes,
        steps,
        orders: placed,
        regressed,
        messages: tallies.iter().map(|t| t.seen).sum(),
        dropped: tallies
            .iter()
            .map(|t| t.stats.dropped_conflated + t.stats.dropped_overflow)
            .sum(),
    })
}
