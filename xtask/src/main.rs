//! `cargo xtask`: developer tasks of this workspace (the alias is in `.cargo/config.toml`).

use std::process::{Command, ExitCode, ExitStatus};
use std::sync::mpsc;

use clap::{Parser, Subcommand};
use xtask::demo::{Demo, SimulatorSpec};
use xtask::process::{exit_code, Event};
use xtask::{
    cargo, demo, signals, workspace_root, Error, GATE_LISTEN, MEXC_LISTEN, PLUGINS_DIR, PROGRAM,
};

/// Developer tasks of the venue-host workspace.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run the demo: build the Gate.io and MEXC plugins, the venue simulator and the program;
    /// install the two plugins (and nothing else) into `run/plugins`; start a Gate.io and a
    /// MEXC simulator on 127.0.0.1:18765 and :18766 (real captures first, then synthetic
    /// prices that cross 10 s after the start and every 30 s after that); run the program on
    /// its embedded default configuration until Ctrl-C or `--duration`; stop the simulators.
    ///
    /// Ctrl-C and SIGTERM are forwarded to the program (a second Ctrl-C forces its exit).
    /// No child outlives the runner. The exit code is the program's.
    Demo {
        /// Stop after this many seconds (passed to the program as its `--duration`).
        #[arg(long, value_name = "SECS", value_parser = positive_seconds)]
        duration: Option<f64>,
        /// Build and run optimized (whole-program optimization: the first build takes
        /// several minutes).
        #[arg(long)]
        release: bool,
    },
    /// Render the documents with figures (`docs/templates/*.md` → `docs/*.md`) from the runs
    /// kept in `docs/results/`.
    ///
    /// `--run` first runs the measuring commands (all of them, or the named ones; each
    /// prints its progress and writes `target/results/<run>.json`) and keeps their results;
    /// `--take` keeps results a command already wrote, e.g. after a run with other settings.
    Docs {
        /// Run these measuring commands first (all of them when no name is given).
        #[arg(long, value_name = "RUN", num_args = 0..)]
        run: Option<Vec<String>>,
        /// Keep these runs' results from `target/results/` before rendering.
        #[arg(long, value_name = "RUN", num_args = 1..)]
        take: Vec<String>,
    },
}

/// A positive, finite number of seconds.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!(
            "expected a positive number of seconds, not {text:?}"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Task::Docs { run, take } = &cli.task {
        return match docs(run.as_deref(), take) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("docs: error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (tx, rx) = mpsc::channel::<Event>();
    let result = signals::listen(tx.clone()).and_then(|()| match cli.task {
        Task::Demo { duration, release } => run_demo(duration, release, &tx, &rx),
        Task::Docs { .. } => unreachable!("handled above"),
    });
    let code = match result {
        Ok(status) => exit_code(status),
        Err(e) => {
            let mut text = format!("demo: error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{text}");
            e.exit_code()
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn run_demo(
    duration: Option<f64>,
    release: bool,
    tx: &mpsc::Sender<Event>,
    rx: &mpsc::Receiver<Event>,
) -> Result<ExitStatus, Error> {
    let root = workspace_root();
    let artifacts = cargo::build(&root, release, &PROGRAM, (tx, rx))?;
    let spec = |name: &str, venue: &str, listen: &str| SimulatorSpec {
        name: name.into(),
        venue: venue.into(),
        listen: listen.into(),
    };
    let run = Demo {
        plugins: artifacts.plugins,
        plugins_dir: root.join(PLUGINS_DIR),
        simulator: artifacts.simulator,
        simulators: vec![
            spec("gate-sim", "gateio", GATE_LISTEN),
            spec("mexc-sim", "mexc", MEXC_LISTEN),
        ],
        duration,
    };
    let program = artifacts.program;
    demo::run(
        &run,
        |_listening| {
            // The fixed addresses are the ones the embedded default configuration names.
            let mut command = Command::new(&program);
            command.current_dir(&root).args(PROGRAM.args);
            if let Some(d) = duration {
                command.args(["--duration", &d.to_string()]);
            }
            command
        },
        (tx, rx),
    )
}

/// `cargo xtask docs`: runs the named (or all) measuring commands, keeps their results and
/// renders every template.
fn docs(run: Option<&[String]>, take: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let kept = root.join("docs/results");
    let mut keep = take.to_vec();
    if let Some(names) = run {
        let selected: Vec<&xtask::docs::Run> = if names.is_empty() {
            xtask::docs::RUNS.iter().collect()
        } else {
            names
                .iter()
                .map(|n| {
                    xtask::docs::RUNS
                        .iter()
                        .find(|r| r.name == n)
                        .ok_or_else(|| {
                            let known: Vec<&str> =
                                xtask::docs::RUNS.iter().map(|r| r.name).collect();
                            format!("no run named `{n}` (known: {})", known.join(", "))
                        })
                })
                .collect::<Result<_, _>>()?
        };
        for (i, r) in selected.iter().enumerate() {
            let env: Vec<String> = r.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
            eprintln!(
                "docs: [{}/{}] {}: {}cargo {}",
                i + 1,
                selected.len(),
                r.name,
                env.concat(),
                r.cargo.join(" ")
            );
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .current_dir(&root)
                .args(r.cargo)
                .envs(r.env.iter().copied())
                .status()
                .map_err(|e| format!("running {}: {e}", r.name))?;
            if !status.success() {
                return Err(format!("{} failed ({status}); nothing rendered", r.name));
            }
            keep.push(r.name.to_string());
        }
    }
    std::fs::create_dir_all(&kept).map_err(|e| format!("docs/results: {e}"))?;
    for name in &keep {
        let from = xtask::results::dir().join(format!("{name}.json"));
        std::fs::copy(&from, kept.join(format!("{name}.json")))
            .map_err(|e| format!("keeping {}: {e}", from.display()))?;
        eprintln!("docs: kept {name}");
    }
    let runs = xtask::docs::load_runs(&kept).map_err(|e| e.to_string())?;
    let templates =
        xtask::docs::templates(&root.join("docs/templates")).map_err(|e| e.to_string())?;
    for (doc, template) in templates {
        let text = xtask::docs::render(&doc, &template, &runs)
            .map_err(|e| format!("docs/templates/{doc}.md: {e}"))?;
        std::fs::write(root.join(format!("docs/{doc}.md")), text)
            .map_err(|e| format!("docs/{doc}.md: {e}"))?;
        eprintln!("docs: rendered docs/{doc}.md");
    }
    Ok(())
}
