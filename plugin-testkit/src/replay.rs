//! Replaying a [`Capture`] through a [`Harness`].

use crate::capture::{Capture, Op, Step};
use crate::error::TestkitError;
use crate::{Harness, Outcome};

impl Harness {
    /// Replays `capture` step by step (calling `start` first if nobody did) and returns what
    /// the plugin produced during the replay; the harness's [`Harness::outcome`] keeps it too.
    ///
    /// A plugin error does not end the replay: it is recorded in the outcome (a panic as an
    /// error of kind `Panic`) and the next step runs. A step the harness cannot carry out
    /// (a connection never opened, an answer to a request never made, a timer not armed)
    /// ends it with an error naming the capture line.
    pub fn replay(&mut self, capture: &Capture) -> Result<Outcome, TestkitError> {
        let before = self.take_outcome();
        let result = self.replay_steps(capture);
        let during = self.record_into(before);
        result.map(|()| during)
    }

    fn replay_steps(&mut self, capture: &Capture) -> Result<(), TestkitError> {
        if !self.started() && capture.steps().first().map(|s| &s.op) != Some(&Op::Start) {
            tolerate(self.start())?;
        }
        for step in capture.steps() {
            tolerate(self.step(step)).map_err(|e| TestkitError::Step {
                capture: capture.name().to_owned(),
                line: step.line,
                source: Box::new(e),
            })?;
        }
        Ok(())
    }

    /// The connection opened under `name`, or an error saying to open it.
    fn named(&self, name: &str) -> Result<plugin_api::ConnId, TestkitError> {
        self.conn(name)
            .ok_or_else(|| TestkitError::UndeclaredConnection {
                venue: self.venue().to_owned(),
                name: name.to_owned(),
                declared: "none opened under this name yet: add {\"op\":\"open\",...} before"
                    .to_owned(),
            })
    }

    fn step(&mut self, step: &Step) -> Result<(), TestkitError> {
        let topics = |t: &[(plugin_api::StreamKind, String)]| -> Vec<_> {
            t.iter().map(|(k, s)| (*k, s.clone())).collect()
        };
        match &step.op {
            Op::Start => drop(self.start()?),
            Op::Stop => drop(self.stop()?),
            Op::Open { conn } => drop(self.open(conn)?),
            Op::Subscribe { conn, topics: t } => {
                let id = self.named(conn)?;
                let owned = topics(t);
                let borrowed: Vec<_> = owned.iter().map(|(k, s)| (*k, s.as_str())).collect();
                drop(self.subscribe(id, &borrowed)?);
            }
            Op::Unsubscribe { conn, topics: t } => {
                let id = self.named(conn)?;
                let owned = topics(t);
                let borrowed: Vec<_> = owned.iter().map(|(k, s)| (*k, s.as_str())).collect();
                drop(self.unsubscribe(id, &borrowed)?);
            }
            Op::Frame {
                conn,
                kind,
                data,
                label,
            } => {
                let id = self.named(conn)?;
                drop(self.feed_labelled(id, *kind, data, Some(step.line), label.as_deref())?);
            }
            Op::Rest {
                method,
                path,
                query,
                status,
                body,
                error,
            } => {
                let index =
                    self.request_index(method.as_deref(), path.as_deref(), query.as_deref())?;
                drop(self.respond(index, *status, body, error)?);
            }
            Op::Timer { name } => drop(self.fire_timer(name)?),
            Op::Heartbeat { conn } => {
                let id = self.named(conn)?;
                drop(self.heartbeat(id)?);
            }
            Op::Disconnect { conn } => {
                let id = self.named(conn)?;
                drop(self.disconnect(id)?);
            }
            Op::Reconnect { conn } => {
                let id = self.named(conn)?;
                drop(self.reconnect(id)?);
            }
            Op::Advance { ms } => self.advance_ms(*ms),
            Op::SetClock { ms } => self.set_now_ms(*ms),
        }
        Ok(())
    }

    /// The pending request a `rest` step answers.
    fn request_index(
        &self,
        method: Option<&str>,
        path: Option<&str>,
        query: Option<&str>,
    ) -> Result<usize, TestkitError> {
        let found = self.pending_requests().iter().position(|r| {
            method.is_none_or(|m| r.method.eq_ignore_ascii_case(m))
                && path.is_none_or(|p| r.path == p)
                && query.is_none_or(|q| r.query == q)
        });
        found.ok_or_else(|| {
            let pending: Vec<String> = self
                .pending_requests()
                .iter()
                .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
                .collect();
            TestkitError::NoSuchRequest {
                wanted: format!(
                    "{} {}{}",
                    method.unwrap_or("(any method)"),
                    path.unwrap_or("(any path)"),
                    query.map(|q| format!("?{q}")).unwrap_or_default()
                ),
                pending: match pending.is_empty() {
                    true => "none".to_owned(),
                    false => pending.join(", "),
                },
            }
        })
    }
}

/// A plugin error is part of the outcome, not the end of a replay; other errors are.
fn tolerate<T>(result: Result<T, TestkitError>) -> Result<(), TestkitError> {
    match result {
        Ok(_) | Err(TestkitError::Plugin { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
