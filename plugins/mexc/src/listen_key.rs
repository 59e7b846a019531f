//! The user-data listen key's life cycle: created by `POST /api/v3/userDataStream` at start,
//! extended by `PUT` every 30 minutes on the keep-alive timer, deleted by `DELETE` at stop.
//!
//! `Idle --start--> Creating --key--> Active --stop--> Stopped`; a failed keep-alive goes
//! back to `Creating` (the key may have expired) and the new key re-opens the private stream.

use std::fmt;

use plugin_api::{Action, RestRequest};

use crate::rest;

/// Name of the keep-alive timer (and its resource).
pub const TIMER: &str = "listen-key-keepalive";
/// Keep-alive period: MEXC keys live 60 min and should be extended every 30 min.
pub const KEEPALIVE_MS: u64 = 30 * 60 * 1000;
/// Name of the private connection (and its resource).
pub const PRIVATE_CONN: &str = plugin_api::kit::PRIVATE;

/// A secret string (the listen key) whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The state of the listen key.
#[derive(Debug, Default)]
enum State {
    #[default]
    Idle,
    Creating,
    Active(Secret),
    Stopped,
}

/// The listen-key state machine. The key is a [`Secret`]: it never shows in `Debug`.
#[derive(Debug, Default)]
pub struct ListenKey {
    state: State,
    /// The keep-alive timer was armed (only ever after a key arrived; the timer is only
    /// declared when credentials are configured).
    armed: bool,
}

impl ListenKey {
    /// A key not yet asked for.
    pub fn new() -> ListenKey {
        ListenKey::default()
    }

    /// The `POST` that creates a key (at start, or again after a failure).
    pub fn create(&mut self, tag: u64) -> Option<RestRequest> {
        match self.state {
            State::Stopped | State::Creating => None,
            State::Idle | State::Active(_) => {
                self.state = State::Creating;
                Some(rest::user_data_stream(tag, "POST", None))
            }
        }
    }

    /// A key arrived: open the private stream on it and arm the keep-alive timer.
    pub fn on_created(&mut self, key: String, ws_url: &str) -> Vec<Action> {
        if !matches!(self.state, State::Creating) {
            return Vec::new();
        }
        let sep = if ws_url.contains('?') { '&' } else { '?' };
        let url = format!("{ws_url}{sep}listenKey={key}");
        self.state = State::Active(Secret::new(key));
        self.armed = true;
        vec![
            Action::Open {
                name: PRIVATE_CONN.into(),
                url: url.into(),
            },
            Action::ArmTimer(TIMER.into()),
        ]
    }

    /// Creating the key failed: a later timer tick tries again.
    pub fn on_create_failed(&mut self) {
        if matches!(self.state, State::Creating) {
            self.state = State::Idle;
        }
    }

    /// The timer fired: the `PUT` that extends the key, or a new `POST` if there is none.
    pub fn on_timer(&mut self, keepalive_tag: u64, create_tag: u64) -> Option<(RestRequest, bool)> {
        match &self.state {
            State::Active(key) => Some((
                rest::user_data_stream(keepalive_tag, "PUT", Some(key.expose())),
                false,
            )),
            State::Idle => self.create(create_tag).map(|r| (r, true)),
            State::Creating | State::Stopped => None,
        }
    }

    /// The instance stops: the `DELETE` of the active key, and the timer is cancelled if it
    /// was ever armed.
    pub fn stop(&mut self, tag: u64) -> Vec<Action> {
        let previous = std::mem::replace(&mut self.state, State::Stopped);
        let mut actions = Vec::new();
        if std::mem::take(&mut self.armed) {
            actions.push(Action::CancelTimer(TIMER.into()));
        }
        if let State::Active(key) = previous {
            actions.push(Action::Rest(rest::user_data_stream(
                tag,
                "DELETE",
                Some(key.expose()),
            )));
        }
        actions
    }

    /// True once a key is active.
    pub fn is_active(&self) -> bool {
        matches!(self.state, State::Active(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timer_is_cancelled_only_if_a_key_ever_armed_it() {
        // No credentials, or the key never arrived: the timer was never armed (and is not
        // even declared without credentials), so the stop does not name it.
        let mut never = ListenKey::new();
        assert!(never.stop(1).is_empty());
        let mut failed = ListenKey::new();
        assert!(failed.create(1).is_some());
        failed.on_create_failed();
        assert!(failed.stop(2).is_empty());

        let mut active = ListenKey::new();
        active.create(1);
        active.on_created("k".into(), "wss://x/ws");
        let actions = active.stop(3);
        assert!(actions.contains(&Action::CancelTimer(TIMER.into())));
        assert!(actions.iter().any(|a| matches!(a, Action::Rest(_))));
    }
}
