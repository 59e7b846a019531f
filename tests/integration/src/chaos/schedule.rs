//! A chaos schedule: the faults and program actions one seed makes, generated from the seed
//! alone, so a seed replays the same schedule.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use venue_sim::{AcceptMode, Kick, RestFault};

/// Which simulator a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The Gate.io simulator.
    Gate,
    /// The MEXC simulator.
    Mexc,
}

impl Target {
    /// The name of its venue in the exchange.
    pub fn name(self) -> &'static str {
        match self {
            Target::Gate => "gate",
            Target::Mexc => "mexc",
        }
    }
}

/// A plugin file dropped into the watched folder while the venues run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// The Gate.io plugin's own build installed over itself: a hot reload.
    Good,
    /// A copy of the Gate.io plugin cut short: refused, the running build stays.
    Corrupt,
    /// A plugin built for another interface version: refused, nothing changes.
    Incompatible,
}

/// One fault of the catalog, or one action of the program.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// End every websocket connection of a simulator (close frame or TCP drop).
    Kick(Target, Kick),
    /// Drop each connection after this many data frames, for `ms`.
    DropAfter(Target, u64, u64),
    /// Send nothing at all (no data, acks or pongs) for `ms`.
    Silent(Target, u64),
    /// Stop data while answering pings and acks, for `ms`.
    DataPaused(Target, u64),
    /// Delay every frame by `delay_ms`, for `ms`.
    Delay(Target, u64, u64),
    /// Replace the next `n` data frames with malformed ones.
    Malformed(Target, u64),
    /// Cut the next `n` data frames short.
    Truncated(Target, u64),
    /// Skip `n` sequence ids of the order-book stream.
    SequenceGap(Target, u64),
    /// Answer every REST request with this fault, for `ms` (429 storms with `Retry-After`,
    /// 5xx errors, slow answers that outlive timeouts).
    Rest(Target, RestFault, u64),
    /// Answer order entry only with this fault, for `ms` (served then 5xx: outcome unknown).
    OrderEntry(Target, RestFault, u64),
    /// Refuse or hang new TCP connections, for `ms`.
    Accept(Target, AcceptMode, u64),
    /// Drop a plugin file into the watched folder.
    Replace(Replacement),
    /// The program's consumers stop reading for `ms` (their queues fill and overflow).
    SlowConsumer(u64),
    /// The program places a limit buy: resting (far below the market) or crossing.
    Place {
        /// Which venue.
        venue: Target,
        /// Whether it crosses the book (fills at once) or rests.
        crossing: bool,
    },
    /// The program cancels one of its orders it believes open.
    Cancel(Target),
    /// The exchange is given a configuration in which one venue's settings changed (Gate.io's
    /// `depth_limit`, MEXC's `recv_window_ms`): the venue restarts in place, its streams
    /// carried over. A value of 0 is refused by the plugin and nothing changes.
    Reconfigure {
        /// Which venue.
        venue: Target,
        /// The new value of its setting.
        value: u32,
    },
}

/// One step: a fault (or action) at an offset from the start of the schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Milliseconds after the schedule starts.
    pub at_ms: u64,
    /// What happens.
    pub fault: Fault,
}

/// What one seed does.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The seed it came from.
    pub seed: u64,
    /// Frames after which the relay venue's plugin panics (it is restarted each time).
    pub panic_every: u64,
    /// Steps in time order.
    pub steps: Vec<Step>,
    /// How long the trouble lasts, milliseconds.
    pub span_ms: u64,
}

impl Schedule {
    /// The schedule of `seed`: 4 to 12 steps spread over 150 to 400 ms, drawn from the
    /// whole catalog, at least one order placed on each venue.
    pub fn generate(seed: u64) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed);
        let span_ms = rng.random_range(150..=400);
        let n = rng.random_range(4..=12);
        let mut steps: Vec<Step> = (0..n)
            .map(|_| Step {
                at_ms: rng.random_range(0..span_ms),
                fault: fault(&mut rng),
            })
            .collect();
        for venue in [Target::Gate, Target::Mexc] {
            steps.push(Step {
                at_ms: rng.random_range(0..span_ms),
                fault: Fault::Place {
                    venue,
                    crossing: rng.random_bool(0.5),
                },
            });
        }
        steps.sort_by_key(|s| s.at_ms);
        Schedule {
            seed,
            panic_every: rng.random_range(40..=400),
            steps,
            span_ms,
        }
    }
}

fn target(rng: &mut StdRng) -> Target {
    if rng.random_bool(0.5) {
        Target::Gate
    } else {
        Target::Mexc
    }
}

fn rest_fault(rng: &mut StdRng) -> RestFault {
    match rng.random_range(0..4) {
        // Mostly `Retry-After: 0`, so a storm does not pause a seed for whole seconds.
        0 => RestFault::TooManyRequests {
            retry_after_secs: u32::from(rng.random_bool(0.1)),
        },
        1 => RestFault::ServerError {
            status: [500, 502, 503][rng.random_range(0..3)],
        },
        2 => RestFault::Slow {
            delay: std::time::Duration::from_millis(rng.random_range(50..400)),
        },
        _ => RestFault::ServerError { status: 503 },
    }
}

fn fault(rng: &mut StdRng) -> Fault {
    let t = target(rng);
    let ms = rng.random_range(20..200);
    match rng.random_range(0..18) {
        0 => Fault::Kick(t, Kick::CloseFrame),
        1 => Fault::Kick(t, Kick::TcpDrop),
        2 => Fault::DropAfter(t, rng.random_range(1..20), ms),
        3 => Fault::Silent(t, ms),
        4 => Fault::DataPaused(t, ms),
        5 => Fault::Delay(t, rng.random_range(1..20), ms),
        6 => Fault::Malformed(t, rng.random_range(1..5)),
        7 => Fault::Truncated(t, rng.random_range(1..5)),
        8 => Fault::SequenceGap(t, rng.random_range(1..10)),
        9 => Fault::Rest(t, rest_fault(rng), ms),
        10 => Fault::OrderEntry(
            t,
            if rng.random_bool(0.5) {
                RestFault::ServedThenServerError { status: 503 }
            } else {
                rest_fault(rng)
            },
            ms,
        ),
        11 => Fault::Accept(
            t,
            if rng.random_bool(0.5) {
                AcceptMode::Refuse
            } else {
                AcceptMode::Hang
            },
            ms,
        ),
        12 => Fault::Replace(match rng.random_range(0..3) {
            0 => Replacement::Good,
            1 => Replacement::Corrupt,
            _ => Replacement::Incompatible,
        }),
        13 => Fault::SlowConsumer(rng.random_range(20..120)),
        14 | 15 => Fault::Place {
            venue: t,
            crossing: rng.random_bool(0.3),
        },
        16 => Fault::Cancel(t),
        _ => Fault::Reconfigure {
            venue: t,
            value: match (t, rng.random_range(0..4)) {
                (_, 0) => 0,
                (Target::Gate, i) => [20, 50, 200][i - 1],
                (Target::Mexc, i) => [3_000, 10_000, 60_000][i - 1],
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_makes_the_same_schedule_and_seeds_differ() {
        assert_eq!(Schedule::generate(7), Schedule::generate(7));
        assert_ne!(Schedule::generate(7), Schedule::generate(8));
    }
}
