//! `arbitrage`: the cross-venue arbitrage program on the host's exchange context. It starts
//! the configured venues, keeps both venues' quotes for each configured symbol, sends both
//! legs when the spread after taker fees passes the threshold, accounts fills and PnL in
//! exact decimals, and on Ctrl-C, SIGTERM or `--duration` cancels what is left and stops
//! every venue in order, then prints the trades and the shutdown report.
//!
//! While it runs it shows a live view: a screen in a terminal, a plain summary on stderr
//! otherwise (`--view`); see [`view`].

mod feed;
mod logging;
mod resync;
mod trader;
mod view;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use figment::providers::{Format, Toml};
use figment::Figment;
use host::config::HostConfig;
use host::exchange::{Exchange, ExchangeError, ScopeError};
use host::ops::signals::Signals;
use tokio_util::sync::CancellationToken;
use view::{Screen, View, ViewChoice};

/// The program's settings compiled in, used when `--program` is not given.
const EMBEDDED_SETTINGS: &str = include_str!("../arbitrage.toml");

/// Cross-venue arbitrage (MEXC <-> Gate.io) on the plugin host.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Host configuration: plugins folder, venues, endpoints, secrets (default: the host's
    /// embedded default, which points at the local simulators).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The program's settings: symbols, fees, thresholds (default: the embedded
    /// `arbitrage.toml`).
    #[arg(long)]
    program: Option<PathBuf>,
    /// Stop by itself after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Write the run's report (trades, PnL, latency, shutdown) here as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The live view: `tui`, a screen refreshed four times a second (q or Ctrl-C quits);
    /// `plain`, a summary on stderr every second; `auto`, the screen when stdin and stdout
    /// are both terminals.
    #[arg(long, value_enum, default_value_t = ViewChoice::Auto)]
    view: ViewChoice,
    /// Write the log to this file (replaced) instead of stderr. With the screen the log
    /// always goes to a file, since lines on stderr would tear it: by default
    /// `arbitrage.log`, beside the `--report` file or in the working directory.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// The log file of a run shown on the screen when `--log` is not given.
const SCREEN_LOG: &str = "arbitrage.log";

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before the runtime's threads exist, so that only the signal thread takes them.
    let signals = match Signals::listen() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot install the signal handlers: {e}");
            return ExitCode::FAILURE;
        }
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
    let result = runtime.block_on(run(cli, signals));
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn settings(file: Option<&Path>) -> anyhow::Result<arbitrage::Config> {
    let figment = match file {
        Some(path) => Figment::from(Toml::file(path)),
        None => Figment::from(Toml::string(EMBEDDED_SETTINGS)),
    };
    let name = file.map_or("embedded arbitrage.toml".to_owned(), |p| {
        p.display().to_string()
    });
    figment
        .extract()
        .with_context(|| format!("program settings {name}"))
}

async fn run(cli: Cli, signals: Signals) -> anyhow::Result<ExitCode> {
    let program = settings(cli.program.as_deref())?;
    let (config, secrets) = HostConfig::load_with_secrets(cli.config.as_deref())?;
    let screen = cli.view.wants_screen(
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
    );
    let log_file = cli.log.clone().or_else(|| {
        screen.then(|| {
            let dir = cli.report.as_deref().and_then(Path::parent);
            dir.unwrap_or(Path::new("")).join(SCREEN_LOG)
        })
    });
    let tail = screen.then(logging::LogTail::default);
    logging::init(&config.log.filter, log_file.as_deref(), tail.clone())?;
    let engine = arbitrage::Engine::new(program)?;
    let mut view = match tail {
        Some(tail) => {
            let file = log_file.as_deref().unwrap_or(Path::new(SCREEN_LOG));
            let screen = Screen::open(file.display().to_string(), tail);
            View::Screen(screen.context("opening the screen")?)
        }
        None => View::Plain,
    };
    let stop = Stop::default();
    let watch = watch_stop(
        signals,
        cli.duration.map(Duration::from_secs_f64),
        view.quit_keys(),
        stop.clone(),
    );
    let program_stop = stop.clone();
    let scope = Exchange::scope_until(config, secrets, &stop.token, |exchange| async move {
        let stop = program_stop;
        let mut trader = trader::Trader::new(engine, &exchange, view)?;
        let symbols: Vec<String> = trader
            .engine
            .config()
            .symbols
            .iter()
            .map(|s| s.symbol.clone())
            .collect();
        let venues = trader.venue_ids();
        let feed = tokio::select! {
            feed = feed::subscribe(&exchange, &venues, &symbols) => Some(feed?),
            () = stop.token.cancelled() => None,
        };
        match feed {
            Some(feed) => trader.run(feed, stop.requested()).await,
            None => trader.stopped_early(stop.reason()),
        }
        let venues = trader.venue_records().await;
        anyhow::Ok((trader.engine.report(), venues))
    });
    // The watch runs beside the scope, not as a task of its own, so that the shutdown's
    // count of the runtime's tasks sees only the host's.
    let outcome = tokio::select! {
        outcome = scope => outcome,
        never = watch => match never {},
    };
    // The screen, if any, is closed by now: the trader closes it when it stops, and it went
    // with the program's future on an error or a failed start. The program's report is
    // missing when it was stopped before its venues ran.
    let ((report, venues), shutdown) = match outcome {
        Ok(((report, venues), shutdown)) => ((Some(report), venues), shutdown),
        Err(ScopeError::Start(ExchangeError::Cancelled { report })) => {
            eprintln!("stopping ({}) while the venues started", stop.reason());
            ((None, Vec::new()), *report)
        }
        Err(ScopeError::Start(e)) => return Err(e).context("starting the venues"),
        Err(ScopeError::Program { error, report }) => {
            view::plain::print_shutdown(&report);
            return Err(error);
        }
    };
    if let Some(report) = &report {
        view::plain::print_trades(report);
    }
    view::plain::print_venues(&venues);
    view::plain::print_shutdown(&shutdown);
    if let Some(file) = &cli.report {
        let json = serde_json::json!({ "program": report, "venues": venues, "shutdown": shutdown });
        std::fs::write(file, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", file.display()))?;
        eprintln!("report written to {}", file.display());
    }
    if let Some(file) = &log_file {
        eprintln!("log written to {}", file.display());
    }
    Ok(exit_code(&shutdown))
}

/// 0 when the shutdown left nothing behind.
fn exit_code(shutdown: &host::ShutdownReport) -> ExitCode {
    if shutdown.tasks_left.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The program's stop: cancelled once, with the reason (`SIGINT`, `duration elapsed`, the
/// screen's quit key...). Whoever acts on it says why, once the terminal is free.
#[derive(Clone, Default)]
struct Stop {
    token: CancellationToken,
    reason: std::sync::Arc<std::sync::OnceLock<&'static str>>,
}

impl Stop {
    fn request(&self, reason: &'static str) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    fn reason(&self) -> &'static str {
        self.reason.get().copied().unwrap_or("stopped")
    }

    /// Resolves with the reason once the stop is requested.
    async fn requested(&self) -> &'static str {
        self.token.cancelled().await;
        self.reason()
    }
}

/// Requests the stop on the first SIGINT or SIGTERM, the screen's quit key, or when
/// `duration` has elapsed; a second signal exits at once (the venues are then left to the
/// operating system). Never returns.
async fn watch_stop(
    mut signals: Signals,
    duration: Option<Duration>,
    quit_keys: impl std::future::Future<Output = &'static str>,
    stop: Stop,
) -> std::convert::Infallible {
    let elapsed = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let reason = tokio::select! {
        s = signals.recv() => s.map_or("signals closed", |s| s.name()),
        () = elapsed => "duration elapsed",
        key = quit_keys => key,
    };
    stop.request(reason);
    if let Some(s) = signals.recv().await {
        eprintln!("second signal ({}): forcing exit", s.name());
        std::process::exit(130);
    }
    std::future::pending().await
}
