//! One run of the demo, once everything is built: install the plugins, start the simulators
//! and wait until they listen, run the program until it exits (forwarding the runner's
//! signals to it), then stop the simulators. Every child is owned by a [`Child`], so none
//! outlives this function on any path.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::install::install;
use crate::process::{exit_code, left, stop_all, Child, Event, Who};
use crate::{Error, SIMULATOR_CREDENTIAL, SIMULATOR_SEED};

/// Time from one crossing to the next (they alternate direction).
const CROSS_EVERY: Duration = Duration::from_secs(30);
/// When the first crossing peaks, counted from the simulators' start: late enough for the
/// program to have started and synced its books, early enough for a 20 s run to see it.
const FIRST_CROSSING_AFTER: Duration = Duration::from_secs(10);
/// How long the simulators get to say they listen.
const LISTEN_PATIENCE: Duration = Duration::from_secs(30);
/// How long the simulators get to stop after SIGTERM.
const SIMULATOR_STOP_GRACE: Duration = Duration::from_secs(10);
/// How long past `--duration` the program may run before the runner stops it (its own
/// shutdown takes at most its configured `[shutdown] overall`, 5 s by default).
const PROGRAM_OVERRUN: Duration = Duration::from_secs(30);
/// How long the program gets to stop after the runner's SIGTERM before it is killed.
const PROGRAM_STOP_GRACE: Duration = Duration::from_secs(15);

/// One venue simulator to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatorSpec {
    /// Prefix of its output lines (`gate-sim`).
    pub name: String,
    /// `--venue` of `venue-sim` (`gateio`, `mexc`).
    pub venue: String,
    /// Loopback address to listen on; port 0 picks a free one.
    pub listen: String,
}

impl SimulatorSpec {
    /// The `venue-sim` arguments of the demo: the real captures of each stream first, then
    /// the crossing model with the seed every demo simulator shares and the crossing schedule
    /// counted from `cross_origin_ms` (the same for every simulator of a run), and the test
    /// credential the demo's secrets file holds.
    pub fn args(&self, cross_origin_ms: i64) -> Vec<String> {
        [
            "--venue",
            &self.venue,
            "--listen",
            &self.listen,
            "--source",
            "replay-then-synthetic",
            "--crossing",
            "--seed",
            &SIMULATOR_SEED.to_string(),
            "--cross-every",
            &CROSS_EVERY.as_secs().to_string(),
            "--cross-origin-ms",
            &cross_origin_ms.to_string(),
            "--credential",
            SIMULATOR_CREDENTIAL,
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// The crossing schedule's origin (Unix ms) that centres the first crossing `after` from now.
fn cross_origin_ms(after: Duration) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    // Crossings are centred at origin + (n + 1/2) * every.
    now + after.as_millis() as i64 - CROSS_EVERY.as_millis() as i64 / 2
}

/// What one run needs.
#[derive(Clone, Debug)]
pub struct Demo {
    /// The plugin files to install (the real venue plugins).
    pub plugins: Vec<PathBuf>,
    /// The folder the program's configuration watches for plugins.
    pub plugins_dir: PathBuf,
    /// The `venue-sim` binary.
    pub simulator: PathBuf,
    /// The simulators to start.
    pub simulators: Vec<SimulatorSpec>,
    /// The program's `--duration`, if any: the runner stops the program itself if it runs
    /// much longer.
    pub duration: Option<f64>,
}

/// Forwards a child's output lines to the runner's stderr, each prefixed with `name`; on
/// stdout, a `listening on ADDR` line is also sent as [`Event::Listening`].
fn forward(
    name: &str,
    who: Who,
    output: impl std::io::Read + Send + 'static,
    events: Option<Sender<Event>>,
) {
    use std::io::BufRead;
    let name = name.to_owned();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(output)
            .lines()
            .map_while(Result::ok)
        {
            eprintln!("{name} | {line}");
            if let (Some(events), Some(addr)) = (&events, line.strip_prefix("listening on ")) {
                let _ = events.send(Event::Listening(who, addr.trim().to_owned()));
            }
        }
    });
}

/// Starts the simulators and waits until each listens: their children and addresses.
fn start_simulators(
    demo: &Demo,
    events: (&Sender<Event>, &Receiver<Event>),
) -> Result<(Vec<Child>, Vec<String>), Error> {
    let mut sims = Vec::new();
    let origin = cross_origin_ms(FIRST_CROSSING_AFTER);
    for (i, spec) in demo.simulators.iter().enumerate() {
        let args = spec.args(origin);
        let mut command = Command::new(&demo.simulator);
        command
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        eprintln!("demo: starting {}: venue-sim {}", spec.name, args.join(" "));
        let mut child = Child::spawn(
            &spec.name,
            Who::Simulator(i),
            &mut command,
            libc::SIGKILL,
            events.0,
        )?;
        if let Some(out) = child.take_stdout() {
            forward(&spec.name, Who::Simulator(i), out, Some(events.0.clone()));
        }
        if let Some(err) = child.take_stderr() {
            forward(&spec.name, Who::Simulator(i), err, None);
        }
        sims.push(child);
    }
    eprintln!(
        "demo: the books cross {FIRST_CROSSING_AFTER:?} from now, then every {CROSS_EVERY:?}, alternating"
    );
    let mut addrs: Vec<Option<String>> = vec![None; sims.len()];
    let deadline = Instant::now() + LISTEN_PATIENCE;
    let failure = loop {
        if addrs.iter().all(Option::is_some) {
            return Ok((sims, addrs.into_iter().flatten().collect()));
        }
        match events.1.recv_timeout(left(deadline)) {
            Ok(Event::Listening(Who::Simulator(i), addr)) => addrs[i] = Some(addr),
            Ok(Event::Exited(Who::Simulator(i))) => {
                let status = sims[i].reap()?;
                break Error::SimulatorExited {
                    name: demo.simulators[i].name.clone(),
                    status: exit_code(status),
                };
            }
            Ok(Event::Signal(signal)) => break Error::Interrupted { signal },
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                break Error::NotListening {
                    patience: LISTEN_PATIENCE,
                }
            }
            Err(RecvTimeoutError::Disconnected) => break Error::EventsClosed,
        }
    };
    let mut all: Vec<&mut Child> = sims.iter_mut().collect();
    stop_all(&mut all, libc::SIGTERM, SIMULATOR_STOP_GRACE, events.1)?;
    Err(failure)
}

/// The signal forwarded to the program for `signal` received by the runner: Ctrl-C stays
/// Ctrl-C (a second one forces the program's exit), anything else asks it to terminate.
fn forwarded(signal: i32) -> i32 {
    if signal == libc::SIGINT {
        libc::SIGINT
    } else {
        libc::SIGTERM
    }
}

/// Runs the demo: installs `demo.plugins`, starts the simulators, then the command `program`
/// makes from their listening addresses (in the order of `demo.simulators`), until it exits.
/// Signals on `events` are forwarded to the program. Returns the program's exit status once
/// the simulators are stopped too; a simulator that exits early stops the program and is an
/// error.
pub fn run(
    demo: &Demo,
    program: impl FnOnce(&[String]) -> Command,
    events: (&Sender<Event>, &Receiver<Event>),
) -> Result<ExitStatus, Error> {
    let installed = install(&demo.plugins_dir, &demo.plugins)?;
    for file in &installed {
        eprintln!("demo: installed {}", file.display());
    }
    let (mut sims, addrs) = start_simulators(demo, events)?;
    let mut command = program(&addrs);
    let name = command.get_program().to_string_lossy().into_owned();
    let name = name.rsplit('/').next().unwrap_or("program").to_owned();
    let args: Vec<String> = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    eprintln!(
        "demo: simulators listen on {}; running {name} {}",
        addrs.join(", "),
        args.join(" ")
    );
    let mut child = Child::spawn(&name, Who::Program, &mut command, libc::SIGTERM, events.0)?;
    let mut deadline = demo
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)) + PROGRAM_OVERRUN);
    let mut stopped_by_runner = false;
    let mut failure = None;
    let status = loop {
        let event = match deadline {
            Some(t) => events.1.recv_timeout(left(t)),
            None => events.1.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match event {
            Ok(Event::Exited(Who::Program)) => break child.reap()?,
            Ok(Event::Exited(Who::Simulator(i))) => {
                let status = sims[i].reap()?;
                let sim = demo.simulators[i].name.clone();
                eprintln!("demo: {sim} exited ({status}); stopping {name}");
                failure.get_or_insert(Error::SimulatorExited {
                    name: sim,
                    status: exit_code(status),
                });
                child.signal(libc::SIGTERM);
                stopped_by_runner = true;
                deadline = Some(Instant::now() + PROGRAM_STOP_GRACE);
            }
            Ok(Event::Signal(signal)) => {
                eprintln!(
                    "demo: forwarding {} to {name}",
                    crate::signal_name(forwarded(signal))
                );
                child.signal(forwarded(signal));
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) if !stopped_by_runner => {
                eprintln!("demo: {name} runs past its --duration; stopping it");
                child.signal(libc::SIGTERM);
                stopped_by_runner = true;
                deadline = Some(Instant::now() + PROGRAM_STOP_GRACE);
            }
            Err(RecvTimeoutError::Timeout) => {
                eprintln!("demo: {name} did not stop in {PROGRAM_STOP_GRACE:?}; killing it");
                child.signal(libc::SIGKILL);
                break child.reap()?;
            }
            Err(RecvTimeoutError::Disconnected) => return Err(Error::EventsClosed),
        }
    };
    let mut all: Vec<&mut Child> = sims.iter_mut().collect();
    stop_all(&mut all, libc::SIGTERM, SIMULATOR_STOP_GRACE, events.1)?;
    eprintln!("demo: {name} exited ({status}); simulators stopped");
    match failure {
        Some(e) => Err(e),
        None => Ok(status),
    }
}
