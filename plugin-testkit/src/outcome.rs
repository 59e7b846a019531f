//! What a plugin produced while it was driven, and assertions on it whose failure messages
//! say what was produced instead.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plugin_api::{
    Action, ConnId, ErrorKind, Event, Gap, OutFrame, Output, PluginError, Reject, RestRequest,
    StreamKind,
};

/// A plugin call that returned an error.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    /// The call (`on_frame`, `subscribe`, ...).
    pub call: &'static str,
    /// The error; a panic is [`ErrorKind::Panic`].
    pub error: PluginError,
}

/// What one fed frame gave.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameResult {
    /// The connection it was fed on.
    pub conn: ConnId,
    /// Its capture line, when it came from a capture.
    pub line: Option<usize>,
    /// Its capture label (`ack`, ...), if it had one.
    pub label: Option<String>,
    /// Events it produced.
    pub events: usize,
    /// Rejects it produced.
    pub rejects: Vec<Reject>,
    /// The error it produced, if the call failed.
    pub error: Option<PluginError>,
}

/// Everything a plugin produced, in order: events (gaps included), rejects, actions, frames
/// to send, errors, and a result per fed frame.
///
/// Values are copies made while the plugin was loaded, so an outcome may outlive its
/// [`crate::Harness`] and plugin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    events: Vec<Event>,
    rejects: Vec<Reject>,
    actions: Vec<Action>,
    sent: Vec<(ConnId, OutFrame)>,
    errors: Vec<CallError>,
    frames: Vec<FrameResult>,
}

impl Outcome {
    pub(crate) fn add_output(&mut self, output: &Output) {
        self.events.extend(output.events.iter().cloned());
        self.rejects.extend(output.rejects.iter().cloned());
        for action in output.actions.iter() {
            if let Action::Send { conn, frame } = action {
                self.sent.push((*conn, frame.clone()));
            }
            self.actions.push(action.clone());
        }
    }

    pub(crate) fn add_sent(&mut self, conn: ConnId, frames: &[OutFrame]) {
        self.sent.extend(frames.iter().map(|f| (conn, f.clone())));
    }

    pub(crate) fn add_request(&mut self, request: &RestRequest) {
        self.actions.push(Action::Rest(request.clone()));
    }

    pub(crate) fn add_error(&mut self, call: &'static str, error: &PluginError) {
        self.errors.push(CallError {
            call,
            error: error.clone(),
        });
    }

    pub(crate) fn add_frame(&mut self, frame: FrameResult) {
        self.frames.push(frame);
    }

    pub(crate) fn extend(&mut self, other: &Outcome) {
        self.events.extend(other.events.iter().cloned());
        self.rejects.extend(other.rejects.iter().cloned());
        self.actions.extend(other.actions.iter().cloned());
        self.sent.extend(other.sent.iter().cloned());
        self.errors.extend(other.errors.iter().cloned());
        self.frames.extend(other.frames.iter().cloned());
    }

    /// Every event, gaps included, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The events of one stream kind (gaps of that kind included).
    pub fn events_of(&self, kind: StreamKind) -> Vec<&Event> {
        self.events.iter().filter(|e| e.kind() == kind).collect()
    }

    /// How many events of `kind` there are, gaps excluded.
    pub fn count(&self, kind: StreamKind) -> usize {
        self.events
            .iter()
            .filter(|e| e.kind() == kind && !matches!(e, Event::Gap(_)))
            .count()
    }

    /// The gap events the plugin produced (the host adds its own on reconnects and reloads).
    pub fn gaps(&self) -> Vec<&Gap> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Gap(g) => Some(g),
                _ => None,
            })
            .collect()
    }

    /// Every reject, in order.
    pub fn rejects(&self) -> &[Reject] {
        &self.rejects
    }

    /// Rejects counted by reason.
    pub fn rejects_by_reason(&self) -> BTreeMap<String, usize> {
        let mut by = BTreeMap::new();
        for r in &self.rejects {
            *by.entry(r.reason.to_string()).or_insert(0) += 1;
        }
        by
    }

    /// Every action, in order (frames to send, REST requests, timers, opens, reconnects).
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The REST requests the plugin made.
    pub fn requests(&self) -> Vec<&RestRequest> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Rest(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Frames the plugin gave to send: from `subscribe`, `unsubscribe`, `heartbeat` and
    /// `Send` actions, with their connection.
    pub fn sent(&self) -> &[(ConnId, OutFrame)] {
        &self.sent
    }

    /// Calls that returned an error.
    pub fn errors(&self) -> &[CallError] {
        &self.errors
    }

    /// Calls that panicked (their error is of kind [`ErrorKind::Panic`]).
    pub fn panics(&self) -> Vec<&CallError> {
        self.errors
            .iter()
            .filter(|e| e.error.kind == ErrorKind::Panic)
            .collect()
    }

    /// What each fed frame gave, in order.
    pub fn frames(&self) -> &[FrameResult] {
        &self.frames
    }

    /// A one-paragraph account of what was produced, used by every failed assertion.
    pub fn summary(&self) -> String {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for e in &self.events {
            let name = match e {
                Event::Gap(g) => format!("gap({})", g.kind.name()),
                other => other.kind().name().to_owned(),
            };
            *kinds.entry(name).or_insert(0) += 1;
        }
        let mut s = format!("events: {}", counts(&kinds));
        let rejects = self.rejects_by_reason();
        let _ = write!(s, "; rejects: {}", counts(&rejects));
        if let Some(first) = self.rejects.first() {
            let _ = write!(s, " (first: {}: {})", first.reason, clip(&first.detail));
        }
        let mut actions: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &self.actions {
            *actions.entry(action_name(a)).or_insert(0) += 1;
        }
        let _ = write!(s, "; actions: {}", counts(&actions));
        match self.errors.as_slice() {
            [] => s.push_str("; errors: none"),
            errors => {
                let _ = write!(s, "; errors: {}", errors.len());
                for e in errors.iter().take(3) {
                    let _ = write!(s, " [{}: {}]", e.call, clip(&e.error.to_string()));
                }
            }
        }
        s
    }

    /// Panics unless there are exactly `n` events of `kind` (gaps excluded).
    #[track_caller]
    pub fn assert_count(&self, kind: StreamKind, n: usize) -> &Self {
        let got = self.count(kind);
        if got != n {
            panic!(
                "expected {n} {} events, got {got}; produced {}",
                kind.name(),
                self.summary()
            );
        }
        self
    }

    /// Panics unless there is at least one event of `kind` (gaps excluded).
    #[track_caller]
    pub fn assert_some(&self, kind: StreamKind) -> &Self {
        if self.count(kind) == 0 {
            panic!(
                "expected {} events, got none; produced {}",
                kind.name(),
                self.summary()
            );
        }
        self
    }

    /// Panics if any frame was rejected.
    #[track_caller]
    pub fn assert_no_rejects(&self) -> &Self {
        if !self.rejects.is_empty() {
            panic!("expected no rejects; produced {}", self.summary());
        }
        self
    }

    /// Panics unless exactly `n` rejects have `reason`.
    #[track_caller]
    pub fn assert_rejects(&self, reason: &str, n: usize) -> &Self {
        let got = self.rejects_by_reason().get(reason).copied().unwrap_or(0);
        if got != n {
            panic!(
                "expected {n} rejects `{reason}`, got {got}; produced {}",
                self.summary()
            );
        }
        self
    }

    /// Panics unless the plugin produced exactly `n` gap events.
    #[track_caller]
    pub fn assert_gaps(&self, n: usize) -> &Self {
        let got = self.gaps().len();
        if got != n {
            panic!("expected {n} gaps, got {got}; produced {}", self.summary());
        }
        self
    }

    /// Panics if any call returned an error.
    #[track_caller]
    pub fn assert_no_errors(&self) -> &Self {
        if !self.errors.is_empty() {
            panic!("expected no errors; produced {}", self.summary());
        }
        self
    }

    /// Panics if any call panicked.
    #[track_caller]
    pub fn assert_no_panics(&self) -> &Self {
        if let Some(p) = self.panics().first() {
            panic!(
                "expected no panics, `{}` panicked: {}; produced {}",
                p.call,
                p.error.message,
                self.summary()
            );
        }
        self
    }
}

/// The action's variant name, as summaries print it.
pub(crate) fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Send { .. } => "send",
        Action::Rest(_) => "rest",
        Action::Open { .. } => "open",
        Action::ArmTimer(_) => "arm_timer",
        Action::CancelTimer(_) => "cancel_timer",
        Action::Reconnect(_) => "reconnect",
    }
}

fn counts<K: std::fmt::Display>(map: &BTreeMap<K, usize>) -> String {
    if map.is_empty() {
        return "none".to_owned();
    }
    map.iter()
        .map(|(k, n)| format!("{k}×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most 160 characters of `text`.
pub(crate) fn clip(text: &str) -> String {
    match text.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
