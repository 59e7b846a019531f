//! The checks themselves, each on a fresh instance; `Ok` says what was checked, `Err` what
//! was seen instead.

use std::collections::BTreeSet;

use plugin_api::{Action, ErrorKind};

use super::descriptor::problems;
use super::mutate::{mutations, printable, Rng};
use crate::capture::Op;
use crate::outcome::{action_name, clip};
use crate::{Capture, Harness, Plugin, TestkitError};

pub(super) type Checked = Result<String, String>;

/// At most this many mutation failures are described (a broken parser fails many).
const SHOWN_FAILURES: usize = 3;

fn fresh(plugin: &Plugin, settings: &str) -> Result<Harness, String> {
    plugin
        .harness(settings)
        .map_err(|e| format!("cannot create an instance: {e}"))
}

/// A fresh instance that replayed `capture` (without its `stop`).
pub(super) fn replayed(
    plugin: &Plugin,
    settings: &str,
    capture: &Capture,
) -> Result<Harness, String> {
    let mut h = fresh(plugin, settings)?;
    h.replay(&capture.without_stop())
        .map_err(|e| format!("cannot replay the capture: {e}"))?;
    Ok(h)
}

pub(super) fn descriptor(plugin: &Plugin, settings: &str) -> Checked {
    let mut h = fresh(plugin, settings)?;
    let d = h.describe().map_err(|e| e.to_string())?;
    match problems(&d).as_slice() {
        [] => Ok(format!(
            "{} resources, {} connections",
            d.resources.len(),
            d.connections.len()
        )),
        problems => Err(problems.join("; ")),
    }
}

pub(super) fn resolves(plugin: &Plugin, settings: &str, symbols: &[String]) -> Checked {
    let Some(first) = symbols.first() else {
        return Err("no symbols: the capture subscribes none and none were given".into());
    };
    let mut h = fresh(plugin, settings)?;
    for s in symbols {
        match h.resolve(s) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(format!("symbol `{s}` does not resolve")),
            Err(e) => return Err(format!("resolving `{s}`: {e}")),
        }
    }
    let d = h.describe().map_err(|e| e.to_string())?;
    h.start().map_err(|e| e.to_string())?;
    let mut subscribed = 0;
    for kind in d.streams.iter().copied() {
        // A kind no connection carries is made from REST answers or timers: the host never
        // subscribes it.
        let Some(decl) = d.connections.iter().find(|c| c.kinds.contains(&kind)) else {
            continue;
        };
        subscribed += 1;
        let name = decl.name.to_string();
        let conn = match h.conn(&name) {
            Some(c) => c,
            None => h
                .open(&name)
                .map_err(|e| format!("opening `{name}`: {e}"))?,
        };
        let topic = [(kind, first.as_str())];
        let what = format!("`{}` of `{first}` on `{name}`", kind.name());
        match h.subscribe(conn, &topic) {
            Ok(frames) if frames.is_empty() => {
                return Err(format!("subscribe {what} gave no frame to send"))
            }
            Ok(_) => {}
            Err(e) => return Err(format!("subscribe {what}: {e}")),
        }
        h.unsubscribe(conn, &topic)
            .map_err(|e| format!("unsubscribe {what}: {e}"))?;
    }
    Ok(format!(
        "{} symbols resolve; {subscribed} kinds subscribe and unsubscribe",
        symbols.len(),
    ))
}

pub(super) fn answers(plugin: &Plugin, settings: &str, capture: &Capture) -> Checked {
    let h = replayed(plugin, settings, capture)?;
    let acks: Vec<_> = h
        .outcome()
        .frames()
        .iter()
        .filter(|f| f.label.as_deref() == Some("ack"))
        .collect();
    if acks.is_empty() {
        return Err(format!(
            "{} has no frame labelled \"ack\": label the venue's answers to subscribe \
             requests with \"label\": \"ack\"",
            capture.name()
        ));
    }
    for f in &acks {
        let line = f.line.unwrap_or(0);
        if let Some(e) = &f.error {
            return Err(format!("the ack at line {line} gave an error: {e}"));
        }
        if let Some(r) = f.rejects.first() {
            return Err(format!(
                "the ack at line {line} was rejected: {}: {}",
                r.reason,
                clip(&r.detail)
            ));
        }
    }
    Ok(format!("{} acks consumed", acks.len()))
}

/// A frame of the capture: its line, connection name and payload.
struct Source<'c> {
    line: usize,
    conn: &'c str,
    kind: plugin_api::FrameKind,
    data: &'c [u8],
}

pub(super) fn never_panics(
    plugin: &Plugin,
    settings: &str,
    capture: &Capture,
    budget: usize,
    seed: u64,
) -> Checked {
    let sources: Vec<Source<'_>> = capture
        .steps()
        .iter()
        .filter_map(|s| match &s.op {
            Op::Frame {
                conn, kind, data, ..
            } => Some(Source {
                line: s.line,
                conn,
                kind: *kind,
                data,
            }),
            _ => None,
        })
        .collect();
    if sources.is_empty() {
        return Err(format!("{} has no frames to mutate", capture.name()));
    }
    let mut h = replayed(plugin, settings, capture)?;
    if let Some(p) = h.outcome().panics().first() {
        return Err(format!(
            "the unmutated capture already panics in `{}`: {}",
            p.call, p.error.message
        ));
    }
    let per_frame = budget / sources.len();
    let (mut tried, mut failures) = (0usize, Vec::new());
    for src in &sources {
        let mut rng = Rng::new(seed ^ (src.line as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for (i, m) in mutations(src.kind, src.data, &mut rng, per_frame)
            .into_iter()
            .enumerate()
        {
            tried += 1;
            let conn = h.conn(src.conn).ok_or_else(|| {
                format!("connection `{}` of line {} is not open", src.conn, src.line)
            })?;
            match h.feed(conn, m.kind, &m.data) {
                Err(TestkitError::Plugin { error, .. }) if error.kind == ErrorKind::Panic => {
                    failures.push(format!(
                        "frame of line {} mutation #{i} ({}): {}; mutated frame: {}",
                        src.line,
                        m.what,
                        error.message,
                        clip(&printable(m.kind, &m.data))
                    ));
                    // The instance refuses calls after a panic: start over.
                    h = replayed(plugin, settings, capture)?;
                }
                _ => {}
            }
        }
    }
    let passed = || {
        format!(
            "{tried} mutations of {} frames (seed {seed:#x})",
            sources.len()
        )
    };
    panics_found("mutations", tried, seed, &failures, passed)
}

/// The verdict of a mutation check: `passed()` without failures, otherwise how many of the
/// `tried` inputs (`what`) panicked with the seed and the first few failures.
pub(super) fn panics_found(
    what: &str,
    tried: usize,
    seed: u64,
    failures: &[String],
    passed: impl FnOnce() -> String,
) -> Checked {
    match failures.len() {
        0 => Ok(passed()),
        n => Err(format!(
            "{n} of {tried} {what} panicked (seed {seed:#x}); {}",
            failures[..n.min(SHOWN_FAILURES)].join("; ")
        )),
    }
}

pub(super) fn stops(plugin: &Plugin, settings: &str, capture: &Capture) -> Checked {
    let mut h = replayed(plugin, settings, capture)?;
    let armed_before: BTreeSet<String> = h.armed_timers().clone();
    let out = h.stop().map_err(|e| format!("stop failed: {e}"))?;
    let refused: Vec<String> = out
        .actions
        .iter()
        .filter(|a| !matches!(a, Action::Rest(_) | Action::CancelTimer(_)))
        .map(|a| match a {
            Action::ArmTimer(name) => format!("arm_timer `{name}`"),
            Action::Open { name, .. } => format!("open `{name}`"),
            other => action_name(other).to_owned(),
        })
        .collect();
    if !refused.is_empty() {
        return Err(format!(
            "stop returned actions that start new work (only REST requests may follow a \
             stop): {}",
            refused.join(", ")
        ));
    }
    if !h.armed_timers().is_empty() {
        let names: Vec<_> = h.armed_timers().iter().map(|t| format!("`{t}`")).collect();
        return Err(format!(
            "timers left armed after stop: {} (cancel them in `stop`)",
            names.join(", ")
        ));
    }
    let requests = out
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Rest(_)))
        .count();
    Ok(format!(
        "{} timers armed before stop, none after; {requests} REST requests at stop",
        armed_before.len()
    ))
}
