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
    let (tx, rx) = mpsc::channel::<Event>();
    let result = signals::listen(tx.clone()).and_then(|()| match cli.task {
        Task::Demo { duration, release } => run_demo(duration, release, &tx, &rx),
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
