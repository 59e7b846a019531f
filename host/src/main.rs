//! The `host` command: run venues from configuration (with plugin-folder watching, config
//! reload, a control socket and a metrics endpoint), control a running host, or check
//! plugin files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use host::config::{HostConfig, LogFormat};
use host::ops::signals::{Signal, Signals};
use host::ops::Operator;
use host::{Host, ShutdownReport};

/// How long the runtime's threads get to finish once `main`'s work is done.
const RUNTIME_EXIT_GRACE: Duration = Duration::from_millis(200);

/// Plugin host for exchange venue plugins.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load every plugin in the plugins folder and run the configured venues until
    /// SIGINT/SIGTERM (a second signal forces exit) or `--duration` elapses.
    ///
    /// Exit codes: 0 every configured venue ran; 1 an error (unreadable configuration, no
    /// runtime...); 3 the run ended with enabled venues that never ran (plugin missing or
    /// refused, settings refused, start failed, or not one connect attempt succeeded); 130
    /// forced by a second signal.
    Run {
        /// Configuration file (default: the embedded `config/host.toml`).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Write the shutdown report (and every venue's final status) here as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Stop by itself after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
        /// Print every event, gap and reject of the configured venues' symbols and channels
        /// to standard output as it happens, one line each.
        #[arg(long)]
        print_events: bool,
        /// Print each venue's state and counts on standard error every SECS seconds
        /// (default: every second when standard error is a terminal, never otherwise, so a
        /// service's log holds no status lines and an idle host does not wake for them;
        /// `host ctl status` and the metrics endpoint answer at any time; 0: never).
        #[arg(long, value_name = "SECS")]
        progress: Option<f64>,
    },
    /// Talk to a running host over its control socket.
    Ctl {
        /// The control socket (default: `control.socket` of the configuration).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Configuration file to read the default socket from.
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: CtlCommand,
    },
    /// Plugin files.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Validate plugin files as `run` would load them: the same trust rules (owner, mode,
    /// `[trust]` of the configuration), then a load in a private shadow folder that is
    /// removed afterwards. Prints venue, plugin version and api version for each good file
    /// and the reason for each refused or bad one; exits non-zero if any is.
    Check {
        /// Configuration file whose `[trust]` and `shadow_dir` apply (default: the
        /// embedded `config/host.toml`).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print the full layout report of an incompatible plugin (to stderr, after its
        /// line); nothing is written to disk.
        #[arg(long, short)]
        verbose: bool,
        /// Plugin files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CtlCommand {
    /// Plugins (file, sha256, version, api version, loaded at), venues (state, faults,
    /// subscriptions, queues, messages, last error) and the last shutdown or reload report.
    /// Answers during a stop or reload too.
    Status,
    /// Start a configured venue.
    Start {
        /// Instance name.
        venue: String,
    },
    /// Stop a venue.
    Stop {
        /// Instance name.
        venue: String,
    },
    /// Reload the plugin of a venue (instance name or plugin id) from its file.
    Reload {
        /// Instance name or plugin id.
        venue: String,
    },
    /// Shut the host down (it prints and writes its report as on SIGTERM).
    Shutdown,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before the runtime's threads exist, so that they inherit the blocked signals and only
    // the host's signal thread takes them.
    let signals = match &cli.command {
        Command::Run { .. } => match Signals::listen() {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: cannot install the signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run {
                config,
                report,
                duration,
                print_events,
                progress,
            } => {
                let signals = signals.expect("installed for `run`");
                let options = RunOptions {
                    config_file: config.as_deref(),
                    report_file: report.as_deref(),
                    duration,
                    print_events,
                    progress: progress_period(progress),
                };
                run(signals, options).await
            }
            Command::Ctl {
                socket,
                config,
                command,
            } => ctl(socket, config.as_deref(), command).await,
            Command::Plugins {
                command:
                    PluginsCommand::Check {
                        config,
                        verbose,
                        files,
                    },
            } => check(config.as_deref(), verbose, &files),
        }
    });
    // The shutdown waited for what it could within its deadline; a worker still stuck in a
    // plugin call (its library kept mapped) must not hold the process after it.
    runtime.shutdown_timeout(RUNTIME_EXIT_GRACE);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `host plugins check`: each file goes through the trust check `run` applies (the same
/// function, so a refusal reads the same) and then a load whose shadow copy and library are
/// dropped at once. No mismatch report is written: `--verbose` prints it instead. The
/// loader's private folder is removed when the loader is dropped, on every return path.
fn check(config_file: Option<&Path>, verbose: bool, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let config = HostConfig::load(config_file)?;
    let loader = host::Loader::configured(config.shadow_dir.as_deref())
        .context("creating the shadow folder")?
        .without_reports();
    let mut bad = 0;
    for file in files {
        if let Err(refused) = host::plugin::trust::check(file, &config.trust) {
            bad += 1;
            println!("bad   {refused}");
            continue;
        }
        match loader.load(file) {
            Ok(lib) => {
                let i = lib.info();
                println!(
                    "ok    {}: venue {} version {} api {}",
                    file.display(),
                    i.venue,
                    i.plugin_version,
                    i.api_version
                );
            }
            Err(e) => {
                bad += 1;
                match &e {
                    host::LoadError::Incompatible {
                        full_report: Some(full),
                        ..
                    } => {
                        if verbose {
                            println!("bad   {e}");
                            eprintln!("full layout report of {}:\n{full}", file.display());
                        } else {
                            println!("bad   {e} (--verbose prints the full layout report)");
                        }
                    }
                    _ => println!("bad   {e}"),
                }
            }
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn init_logging(config: &HostConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.filter));
    use std::io::IsTerminal;
    // Colours only for a person at a terminal: a pipe or a file gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn ctl(
    socket: Option<PathBuf>,
    config_file: Option<&Path>,
    command: CtlCommand,
) -> anyhow::Result<ExitCode> {
    use host::ops::control::{request, Request};
    let socket = match socket {
        Some(s) => s,
        None => HostConfig::load(config_file)?.control.socket,
    };
    let req = match command {
        CtlCommand::Status => Request::Status,
        CtlCommand::Start { venue } => Request::Start { venue },
        CtlCommand::Stop { venue } => Request::Stop { venue },
        CtlCommand::Reload { venue } => Request::Reload { venue },
        CtlCommand::Shutdown => Request::Shutdown,
    };
    // Says whether no host listens, the socket may not be opened, or something else failed.
    let response = request(&socket, &req).await?;
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(if response["ok"] == serde_json::Value::Bool(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What `host run` was asked to do.
struct RunOptions<'a> {
    config_file: Option<&'a Path>,
    report_file: Option<&'a Path>,
    duration: Option<f64>,
    print_events: bool,
    /// How often to print each venue's status line, if at all.
    progress: Option<Duration>,
}

/// The period of `--progress SECS`: every second on a terminal by default, never otherwise
/// or with 0.
fn progress_period(secs: Option<f64>) -> Option<Duration> {
    use std::io::IsTerminal;
    match secs {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => None,
        None => std::io::stderr()
            .is_terminal()
            .then_some(Duration::from_secs(1)),
    }
}

async fn run(mut signals: Signals, options: RunOptions<'_>) -> anyhow::Result<ExitCode> {
    let RunOptions {
        config_file,
        report_file,
        duration,
        print_events,
        progress,
    } = options;
    let (config, secrets) = HostConfig::load_with_secrets(config_file)?;
    init_logging(&config);
    // The signals were taken over before anything started: one that arrives while venues
    // start is queued and handled by the loop below instead of killing the process mid-start.
    let operator = Operator::start(config, secrets, config_file.map(Path::to_owned))
        .await
        .context("starting the host")?;
    if let Some(path) = operator.control_socket() {
        eprintln!("control socket: {}", path.display());
    }
    if let Some(addr) = operator.metrics_address() {
        eprintln!("metrics: http://{addr}/metrics");
    }
    if print_events {
        operator.print_events();
    }
    let host = operator.host().clone();
    let mut progress = progress.map(tokio::time::interval);
    let until = duration.map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s));
    let reason = loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                Some(Signal::Hangup) => {
                    let outcome = operator.reload_config().await;
                    eprintln!("SIGHUP: configuration {}", serde_json::to_string(&outcome)?);
                }
                Some(Signal::Interrupt) => break "signal: SIGINT",
                Some(Signal::Terminate) | None => break "signal: SIGTERM",
            },
            _ = operator.shutdown_requested() => break "control: shutdown",
            _ = sleep_until(until) => break "duration elapsed",
            _ = tick(progress.as_mut()) => print_progress(&host).await,
        }
    };
    let venues = operator.status().await.venues;
    eprintln!("shutting down ({reason}); a second signal forces exit");
    let shutdown = operator.shutdown(reason);
    tokio::pin!(shutdown);
    let report = loop {
        tokio::select! {
            // A second signal wins over a shutdown that ends at the same moment.
            biased;
            signal = signals.recv() => match signal {
                Some(Signal::Hangup) => continue, // no reload during a shutdown
                _ => return forced_exit(&host, reason, report_file).await,
            },
            r = &mut shutdown => break r,
        }
    };
    print_summary(&report);
    if let Some(file) = report_file {
        write_report(
            file,
            &RunReport {
                shutdown: &report,
                venues: &venues,
            },
        )?;
    }
    // Not started, or started but every connect attempt failed.
    let never_ran: Vec<&str> = venues
        .iter()
        .filter(|v| v.starts == 0 || (v.connects == 0 && v.connect_failures > 0))
        .map(|v| v.name.as_str())
        .collect();
    if never_ran.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "configured venues that never ran: {} (exit code {NEVER_RAN})",
        never_ran.join(", ")
    );
    Ok(ExitCode::from(NEVER_RAN))
}

/// The exit code of a run that ended with enabled venues that never ran.
const NEVER_RAN: u8 = 3;

/// What `--report` writes: the shutdown report with the venues' last status.
#[derive(serde::Serialize)]
struct RunReport<'a> {
    #[serde(flatten)]
    shutdown: &'a ShutdownReport,
    /// Every venue as `ctl status` showed it just before the shutdown: state, health,
    /// connects, failures with the last error, last-data age, gaps, rejects by reason.
    venues: &'a [host::ops::status::VenueView],
}

/// The next tick of `interval`; never without one.
async fn tick(interval: Option<&mut tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(until: Option<tokio::time::Instant>) {
    match until {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn print_progress(host: &Host) {
    for i in host.instances().await {
        let state = match i.state {
            host::State::Running => i.health.to_string(),
            other => other.to_string(),
        };
        let s = &i.stats;
        eprintln!(
            "{:<12} {:<12} events {:>8}  rejected {:>5}  subscriptions {}  connects {}  connect failures {}",
            i.name, state, s.events_out, s.rejected, i.subscriptions, s.connects, s.connect_failures
        );
    }
}

fn print_summary(r: &ShutdownReport) {
    eprintln!(
        "shutdown in {:.1} ms: {} resources ({} forced), tasks {} -> {}, subscriptions {} -> {}, fds {} -> {}, threads {} -> {}, images still mapped: {}",
        r.elapsed_ms,
        r.stop.resources.len(),
        r.stop
            .resources
            .iter()
            .filter(|x| x.outcome == host::stop::Outcome::Forced)
            .count(),
        r.before.tasks,
        r.after.tasks,
        r.before.subscriptions,
        r.after.subscriptions,
        r.before.fds,
        r.after.fds,
        r.before.threads,
        r.after.threads,
        r.images_still_mapped.len()
    );
    for (resource, tasks) in &r.tasks_left {
        eprintln!("  left: {resource}: {tasks} task(s)");
    }
}

fn write_report(file: &Path, report: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("report written to {}", file.display());
    Ok(())
}

/// A second signal: write what is known now (counts and venue states, read without
/// waiting for the shutdown in progress) and leave at once.
async fn forced_exit(
    host: &Host,
    reason: &str,
    report_file: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    eprintln!("second signal: forcing exit");
    if let Some(file) = report_file {
        let venues: Vec<_> = host
            .instances()
            .await
            .into_iter()
            .map(|i| serde_json::json!({"name": i.name, "state": i.state}))
            .collect();
        let partial = serde_json::json!({
            "reason": "forced by a second signal",
            "shutdown_reason": reason,
            "forced": true,
            "counts": host.counts_now(),
            "venues": venues,
        });
        write_report(file, &partial)?;
    }
    // Leave without running destructors: a plugin call may still be running on a worker
    // thread, and unloading its library under it would crash the process. The private shadow
    // folder goes all the same: removing a mapped copy removes its name, not the mapping.
    let shadow = host.loader().shadow_dir();
    if let Err(e) = std::fs::remove_dir_all(shadow) {
        eprintln!("shadow folder {} not removed: {e}", shadow.display());
    }
    std::process::exit(130)
}
