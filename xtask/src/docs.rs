//! `cargo xtask docs`: the figures in `docs/` rendered from measured runs.
//!
//! A document with figures has a template, `docs/templates/<DOC>.md`, that holds its prose;
//! its figures are markers filled from the runs kept in `docs/results/<run>.json` (the
//! [`Results`] a benchmark or reliability command wrote). Markers:
//!
//! - `{{run:RUN}}`: the command, date, commit and machine of that run.
//! - `{{table:RUN}}`, `{{table:RUN:PREFIX}}`: a table of the run's figures (those whose id
//!   starts with `PREFIX`): measure, median (range), baseline of the same run, ratio.
//! - `{{value:RUN:ID}}`, `{{range:RUN:ID}}`, `{{ratio:RUN:ID}}`: one figure's median with its
//!   unit, its range, or its median ratio to its baseline.
//!
//! [`RUNS`] lists the commands that produce the runs; `cargo xtask docs --run` runs them
//! (each writes `target/results/<run>.json`), keeps their results in `docs/results/` and
//! renders every template. A test keeps the committed documents equal to their rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::results::{Figure, Results, Spread};

/// A command that measures and writes one run's results.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// The run's name: its results are `<name>.json`.
    pub name: &'static str,
    /// Arguments to `cargo`.
    pub cargo: &'static [&'static str],
    /// Environment variables set for the command.
    pub env: &'static [(&'static str, &'static str)],
}

/// `cargo bench -p integration-tests --bench NAME`.
const fn bench(name: &'static str) -> [&'static str; 5] {
    ["bench", "-p", "integration-tests", "--bench", name]
}

/// Every run the documents use, in the order `--run` runs them. Reduced rounds where a full
/// run would take more than about ten minutes on a small machine; the documents state them.
pub const RUNS: &[Run] = &[
    Run {
        name: "pipeline",
        cargo: &bench("pipeline"),
        env: &[
            ("PIPE_ROUNDS", "3"),
            ("PIPE_ONLY", "throughput,latency,idle"),
            ("PIPE_IDLE_SECS", "5"),
        ],
    },
    Run {
        name: "tick_decision",
        cargo: &bench("tick_decision"),
        env: &[("TICK_ROUNDS", "3"), ("TICK_SECS", "2")],
    },
    Run {
        name: "rates",
        cargo: &bench("rates"),
        env: &[("RATES_ROUNDS", "3")],
    },
    Run {
        name: "scaling",
        cargo: &bench("scaling"),
        env: &[("SCALE_ROUNDS", "3")],
    },
    Run {
        name: "chaos",
        cargo: &["test", "-p", "integration-tests", "--test", "chaos"],
        env: &[],
    },
    Run {
        name: "soak",
        cargo: &[
            "run",
            "-p",
            "integration-tests",
            "--example",
            "soak",
            "--",
            "--minutes",
            "10",
        ],
        env: &[],
    },
    Run {
        name: "shutdown",
        cargo: &bench("shutdown"),
        env: &[],
    },
    Run {
        name: "overhead",
        cargo: &bench("overhead"),
        env: &[],
    },
    Run {
        name: "parse",
        cargo: &bench("parse"),
        env: &[("PARSE_ROUNDS", "7")],
    },
    Run {
        name: "bus",
        cargo: &bench("bus"),
        env: &[],
    },
    Run {
        name: "plugin_call",
        cargo: &bench("plugin_call"),
        env: &[],
    },
];

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A marker that is not one of the known kinds, or lacks its arguments.
    #[error("line {line}: unknown marker {{{{{marker}}}}}")]
    Marker {
        /// 1-based line of the template.
        line: usize,
        /// The text between the braces.
        marker: String,
    },
    /// A marker names a run with no results.
    #[error("line {line}: no results for run `{run}` (run its command, or `cargo xtask docs --run {run}`)")]
    NoRun {
        /// 1-based line of the template.
        line: usize,
        /// The run's name.
        run: String,
    },
    /// A marker names a figure the run does not have.
    #[error("line {line}: run `{run}` has no figure `{id}`")]
    NoFigure {
        /// 1-based line of the template.
        line: usize,
        /// The run's name.
        run: String,
        /// The figure's id.
        id: String,
    },
    /// A `ratio` marker on a figure with no baseline, or an empty figure.
    #[error("line {line}: figure `{id}` of run `{run}` has no {what}")]
    Empty {
        /// 1-based line of the template.
        line: usize,
        /// The run's name.
        run: String,
        /// The figure's id.
        id: String,
        /// What is missing: values, or a baseline.
        what: &'static str,
    },
}

/// The header every rendered document starts with.
pub fn header(doc: &str) -> String {
    format!("<!-- Rendered by `cargo xtask docs` from docs/templates/{doc}.md and docs/results/: edit those, not this file. -->\n")
}

/// Renders `template` (named `doc`) with the runs in `runs`.
pub fn render(
    doc: &str,
    template: &str,
    runs: &BTreeMap<String, Results>,
) -> Result<String, RenderError> {
    let mut out = header(doc);
    for (i, line) in template.lines().enumerate() {
        let line_no = i + 1;
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                break;
            };
            out.push_str(&rest[..start]);
            let marker = &rest[start + 2..start + len];
            out.push_str(&expand(marker, line_no, runs)?);
            rest = &rest[start + len + 2..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    Ok(out)
}

fn expand(
    marker: &str,
    line: usize,
    runs: &BTreeMap<String, Results>,
) -> Result<String, RenderError> {
    let parts: Vec<&str> = marker.split(':').map(str::trim).collect();
    let bad = || RenderError::Marker {
        line,
        marker: marker.to_string(),
    };
    let run_of = |name: &str| {
        runs.get(name).ok_or_else(|| RenderError::NoRun {
            line,
            run: name.to_string(),
        })
    };
    let figure_of = |run: &'_ Results, id: &str| -> Result<Figure, RenderError> {
        run.get(id).cloned().ok_or_else(|| RenderError::NoFigure {
            line,
            run: run.name.clone(),
            id: id.to_string(),
        })
    };
    let empty = |run: &Results, id: &str, what| RenderError::Empty {
        line,
        run: run.name.clone(),
        id: id.to_string(),
        what,
    };
    match parts.as_slice() {
        ["run", name] => Ok(run_line(run_of(name)?)),
        ["table", name] => Ok(table(run_of(name)?, "")),
        ["table", name, prefix] => Ok(table(run_of(name)?, prefix)),
        [kind @ ("value" | "range" | "ratio"), name, id] => {
            let run = run_of(name)?;
            let figure = figure_of(run, id)?;
            let spread = figure.spread().ok_or_else(|| empty(run, id, "values"))?;
            match *kind {
                "value" => Ok(with_unit(spread.median, &figure.unit)),
                "range" => Ok(format!(
                    "{}–{}",
                    number(spread.min),
                    with_unit(spread.max, &figure.unit)
                )),
                _ => {
                    let ratio = ratio(run, &figure).ok_or_else(|| empty(run, id, "baseline"))?;
                    Ok(format!("{}×", number(ratio.median)))
                }
            }
        }
        _ => Err(bad()),
    }
}

/// `command` on date, at commit, on machine.
fn run_line(run: &Results) -> String {
    let m = &run.machine;
    format!(
        "`{}` — {}, commit {}; {} ({} CPUs), Linux {}, {}",
        run.command,
        date(run.started_unix),
        if m.commit.is_empty() {
            "unknown"
        } else {
            &m.commit
        },
        m.cpu,
        m.cpus,
        m.kernel,
        m.rustc
    )
}

fn table(run: &Results, prefix: &str) -> String {
    let mut out = String::from(
        "| measure | median (range) | baseline, same run | ratio (range) |\n| --- | --- | --- | --- |",
    );
    for f in run.figures.iter().filter(|f| f.id.starts_with(prefix)) {
        let Some(spread) = f.spread() else { continue };
        let baseline = f
            .baseline
            .as_deref()
            .and_then(|b| run.get(b))
            .and_then(|b| Some((b, b.spread()?)));
        let (base, ratio_text) = match baseline {
            Some((b, bs)) => (
                format!("{}: {}", b.label, spread_text(bs, &b.unit)),
                ratio(run, f).map_or_else(String::new, |r| spread_text(r, "×")),
            ),
            None => (String::new(), String::new()),
        };
        let _ = write!(
            out,
            "\n| {} | {} | {} | {} |",
            f.label,
            spread_text(spread, &f.unit),
            base,
            ratio_text
        );
    }
    out
}

fn ratio(run: &Results, figure: &Figure) -> Option<Spread> {
    let baseline = run.get(figure.baseline.as_deref()?)?;
    figure.ratio_to(baseline)
}

/// `median unit (min–max)`, or `median unit` for a single value.
fn spread_text(s: Spread, unit: &str) -> String {
    let median = with_unit(s.median, unit);
    if number(s.min) == number(s.max) {
        median
    } else {
        format!("{median} ({}–{})", number(s.min), number(s.max))
    }
}

fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "" => number(v),
        "×" | "%" => format!("{}{unit}", number(v)),
        _ => format!("{} {unit}", number(v)),
    }
}

/// Three significant digits below 100, whole numbers with thousands separators above.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        let digits = format!("{:.0}", a);
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if v < 0.0 {
            grouped.insert(0, '-');
        }
        grouped
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// `YYYY-MM-DD` of a Unix time (UTC).
fn date(unix: u64) -> String {
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let days = (unix / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Every run kept in `dir` (`<name>.json`), by name.
pub fn load_runs(dir: &Path) -> std::io::Result<BTreeMap<String, Results>> {
    let mut runs = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(runs),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path)?;
            let run: Results = serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            runs.insert(run.name.clone(), run);
        }
    }
    Ok(runs)
}

/// The templates in `dir`, as (document name, text), sorted by name.
pub fn templates(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, std::fs::read_to_string(&path)?));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs() -> BTreeMap<String, Results> {
        let mut r = Results::new("bench", "cargo bench -p x --bench bench");
        r.started_unix = 1_764_460_800; // 2025-11-30
        r.figure("bare.cpu", "bare read, CPU per frame", "ns")
            .push(100.0)
            .push(120.0);
        r.figure("host.cpu", "host, CPU per frame", "ns")
            .push(250.0)
            .push(240.0)
            .against("bare.cpu");
        BTreeMap::from([("bench".to_string(), r)])
    }

    #[test]
    fn markers_become_figures() {
        let t = "Host: {{value:bench:host.cpu}}, {{ratio:bench:host.cpu}} of bare ({{range:bench:bare.cpu}}).\n{{table:bench:host}}";
        let out = render("PERF", t, &runs()).unwrap();
        assert!(out.starts_with("<!-- Rendered by `cargo xtask docs` from docs/templates/PERF.md"));
        assert!(
            out.contains("Host: 245 ns, 2.25× of bare (100–120 ns)."),
            "{out}"
        );
        assert!(
            out.contains("| host, CPU per frame | 245 ns (240–250) | bare read, CPU per frame: 110 ns (100–120) | 2.25× (2.00–2.50) |"),
            "{out}"
        );
        assert!(!out.contains("\n| bare read"), "prefix filter: {out}");
    }

    #[test]
    fn the_run_line_names_command_date_and_machine() {
        let out = render("P", "{{run:bench}}", &runs()).unwrap();
        assert!(
            out.contains("`cargo bench -p x --bench bench` — 2025-11-30, commit "),
            "{out}"
        );
    }

    #[test]
    fn missing_pieces_are_named() {
        let e = render("P", "a\n{{value:nope:x}}", &runs()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: no results for run `nope` (run its command, or `cargo xtask docs --run nope`)"
        );
        let e = render("P", "{{value:bench:x}}", &runs()).unwrap_err();
        assert_eq!(e.to_string(), "line 1: run `bench` has no figure `x`");
        let e = render("P", "{{ratio:bench:bare.cpu}}", &runs()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: figure `bare.cpu` of run `bench` has no baseline"
        );
        let e = render("P", "{{values:bench}}", &runs()).unwrap_err();
        assert_eq!(e.to_string(), "line 1: unknown marker {{values:bench}}");
    }

    #[test]
    fn numbers_keep_three_digits_or_group_thousands() {
        assert_eq!(number(1_218_000.4), "1,218,000");
        assert_eq!(number(883.0), "883");
        assert_eq!(number(13.84), "13.8");
        assert_eq!(number(3.961), "3.96");
        assert_eq!(number(0.0123), "0.012");
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
    }

    /// The committed documents are exactly what their templates and kept runs render to.
    #[test]
    fn committed_documents_match_their_rendering() {
        let root = crate::workspace_root();
        let runs = load_runs(&root.join("docs/results")).unwrap();
        for (doc, template) in templates(&root.join("docs/templates")).unwrap() {
            let rendered = render(&doc, &template, &runs)
                .unwrap_or_else(|e| panic!("docs/templates/{doc}.md: {e}"));
            let committed =
                std::fs::read_to_string(root.join(format!("docs/{doc}.md"))).unwrap_or_default();
            assert!(
                committed == rendered,
                "docs/{doc}.md differs from its rendering: run `cargo xtask docs`"
            );
        }
    }
}
