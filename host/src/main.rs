//! The `host` command: run venues from configuration, or check plugin files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use host::config::{HostConfig, LogFormat};
use host::{Host, HostOptions, ShutdownReport};
use tokio::signal::unix::{signal, SignalKind};

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
    Run {
        /// Configuration file (default: the embedded `config/host.toml`).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Write the shutdown report here as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Stop by itself after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
    },
    /// Plugin files.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Validate plugin files: prints venue, plugin version and api version for each good
    /// file and the reason for each bad one; exits non-zero if any is bad.
    Check {
        /// Plugin files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            } => run(config.as_deref(), report.as_deref(), duration).await,
            Command::Plugins {
                command: PluginsCommand::Check { files },
            } => check(&files),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let loader = host::Loader::in_temp_dir().context("creating the shadow folder")?;
    let mut bad = 0;
    for file in files {
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
                println!("bad   {e}");
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn run(
    config_file: Option<&Path>,
    report_file: Option<&Path>,
    duration: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let config = HostConfig::load(config_file)?;
    init_logging(&config);
    let host = Host::new(HostOptions {
        timeouts: config.shutdown,
        queues: config.queues.clone(),
        shadow_dir: config.shadow_dir.clone(),
        ..HostOptions::default()
    })
    .context("creating the host")?;
    load_folder(&host, &config.plugins_dir).await;
    for (name, venue) in config.venues.iter().filter(|(_, v)| v.enabled) {
        let settings = serde_json::Value::Object(venue.settings.clone()).to_string();
        match host.start_venue(name, &venue.plugin, &settings).await {
            Ok(()) => {
                let symbol = venue.settings.get("symbol").and_then(|s| s.as_str());
                for kind in plugin_api::StreamKind::ALL {
                    let symbol = if kind.is_private() {
                        ""
                    } else {
                        symbol.unwrap_or("")
                    };
                    // A consumer that only counts: the driver's counters show the flow.
                    let _ = host.bind(name, symbol, kind, |_| async {}).await;
                }
            }
            Err(e) => eprintln!("venue {name}: {e}"),
        }
    }
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut progress = tokio::time::interval(Duration::from_secs(1));
    let until = duration.map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s));
    let reason = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break "signal: SIGINT",
            _ = term.recv() => break "signal: SIGTERM",
            _ = sleep_until(until) => break "duration elapsed",
            _ = progress.tick() => print_progress(&host).await,
        }
    };
    eprintln!("shutting down ({reason}); a second signal forces exit");
    let shutdown = host.shutdown(reason);
    tokio::pin!(shutdown);
    let report = tokio::select! {
        r = &mut shutdown => r,
        _ = tokio::signal::ctrl_c() => return forced_exit(&host, report_file).await,
        _ = term.recv() => return forced_exit(&host, report_file).await,
    };
    print_summary(&report);
    if let Some(file) = report_file {
        write_report(file, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn sleep_until(until: Option<tokio::time::Instant>) {
    match until {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn load_folder(host: &Host, dir: &Path) {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "so"))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect(),
        Err(e) => {
            eprintln!("plugins folder {}: {e}", dir.display());
            return;
        }
    };
    files.sort();
    for file in files {
        match host.load_plugin(&file).await {
            Ok(info) => eprintln!(
                "loaded {}: venue {} version {} api {}",
                file.display(),
                info.venue,
                info.plugin_version,
                info.api_version
            ),
            Err(e) => eprintln!("refused {e}"),
        }
    }
}

async fn print_progress(host: &Host) {
    for i in host.instances().await {
        eprintln!(
            "{:<12} {:<9} events {:>8}  rejected {:>5}  subscriptions {}",
            i.name, i.state, i.stats.events_out, i.stats.rejected, i.subscriptions
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
            .filter(|x| x.outcome == host::shutdown::Outcome::Forced)
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
}

fn write_report(file: &Path, report: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("report written to {}", file.display());
    Ok(())
}

/// A second signal: write what is known now and leave at once.
async fn forced_exit(host: &Host, report_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    eprintln!("second signal: forcing exit");
    if let Some(file) = report_file {
        let partial = serde_json::json!({
            "reason": "forced by a second signal",
            "forced": true,
            "counts": host::report::Counts::gather(
                tokio::runtime::Handle::current().metrics().num_alive_tasks(),
                Default::default(),
                host.bus().live_subscriptions(),
            ),
        });
        write_report(file, &partial)?;
    }
    Ok(ExitCode::from(130))
}
