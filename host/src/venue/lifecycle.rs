//! The life cycle of a plugin instance as an explicit `(state, trigger) -> state` table.

use std::fmt;

/// Where a plugin instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The library is loaded and validated; no instance runs.
    Loaded,
    /// Resources are being created and the plugin started.
    Starting,
    /// Serving.
    Running,
    /// Resources are being stopped.
    Stopping,
    /// All resources stopped; the library may be unloaded or the instance restarted.
    Stopped,
    /// A plugin callback panicked or failed fatally; the instance must be stopped.
    Faulted,
    /// Stopped after a fault; the supervisor starts it again after its backoff.
    Restarting,
    /// Stopped for good after repeated faults; only an explicit start runs it again.
    Failed,
    /// The library is unloaded; terminal.
    Unloaded,
}

/// What happens to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Begin starting.
    Start,
    /// Start finished.
    Started,
    /// A fault (panic, failed start).
    Fault,
    /// Begin stopping.
    Stop,
    /// Stop finished.
    Stopped,
    /// A stop after a fault finished, and the supervisor will start the instance again.
    Restart,
    /// A stop after a fault finished, and the supervisor gave up on the instance.
    GiveUp,
    /// Unload the library.
    Unload,
}

/// A trigger that is not allowed in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid transition: {trigger:?} while {from:?}")]
pub struct InvalidTransition {
    /// The state the instance was in.
    pub from: State,
    /// The refused trigger.
    pub trigger: Trigger,
}

impl State {
    /// True when the instance runs no resources (stopped, waiting to restart, failed or
    /// not started).
    pub fn is_down(self) -> bool {
        matches!(
            self,
            State::Loaded | State::Stopped | State::Restarting | State::Failed | State::Unloaded
        )
    }

    /// The next state for `trigger`, or an error if the move is not allowed.
    pub fn next(self, trigger: Trigger) -> Result<State, InvalidTransition> {
        use State as S;
        use Trigger as T;
        let next = match (self, trigger) {
            (S::Loaded | S::Stopped | S::Restarting | S::Failed, T::Start) => S::Starting,
            (S::Starting, T::Started) => S::Running,
            (S::Starting | S::Running, T::Fault) => S::Faulted,
            (S::Starting | S::Running | S::Faulted, T::Stop) => S::Stopping,
            (S::Stopping, T::Fault) => S::Stopping,
            (S::Stopping, T::Stopped) => S::Stopped,
            (S::Stopping, T::Restart) => S::Restarting,
            (S::Stopping, T::GiveUp) => S::Failed,
            (S::Restarting, T::Stopped) => S::Stopped,
            (S::Loaded | S::Stopped | S::Restarting | S::Failed, T::Unload) => S::Unloaded,
            (from, trigger) => return Err(InvalidTransition { from, trigger }),
        };
        Ok(next)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            State::Loaded => "loaded",
            State::Starting => "starting",
            State::Running => "running",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
            State::Faulted => "faulted",
            State::Restarting => "restarting",
            State::Failed => "failed",
            State::Unloaded => "unloaded",
        };
        f.write_str(name)
    }
}

/// A state with its transition rule enforced.
#[derive(Debug)]
pub struct Lifecycle {
    state: State,
}

impl Lifecycle {
    /// Starts in [`State::Loaded`].
    pub fn new() -> Lifecycle {
        Lifecycle {
            state: State::Loaded,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Applies `trigger`; on error the state is unchanged.
    pub fn apply(&mut self, trigger: Trigger) -> Result<State, InvalidTransition> {
        self.state = self.state.next(trigger)?;
        Ok(self.state)
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_life() {
        let mut l = Lifecycle::new();
        for (t, s) in [
            (Trigger::Start, State::Starting),
            (Trigger::Started, State::Running),
            (Trigger::Stop, State::Stopping),
            (Trigger::Stopped, State::Stopped),
            (Trigger::Start, State::Starting),
            (Trigger::Started, State::Running),
            (Trigger::Fault, State::Faulted),
            (Trigger::Stop, State::Stopping),
            (Trigger::Stopped, State::Stopped),
            (Trigger::Unload, State::Unloaded),
        ] {
            assert_eq!(l.apply(t).unwrap(), s);
        }
    }

    #[test]
    fn invalid_moves_are_errors_and_leave_state_alone() {
        let mut l = Lifecycle::new();
        let err = l.apply(Trigger::Stopped).unwrap_err();
        assert_eq!(err.from, State::Loaded);
        assert_eq!(l.state(), State::Loaded);
        l.apply(Trigger::Start).unwrap();
        l.apply(Trigger::Started).unwrap();
        assert!(l.apply(Trigger::Unload).is_err(), "unload while running");
        assert_eq!(l.state(), State::Running);
        l.apply(Trigger::Stop).unwrap();
        l.apply(Trigger::Stopped).unwrap();
        l.apply(Trigger::Unload).unwrap();
        for t in [
            Trigger::Start,
            Trigger::Stop,
            Trigger::Unload,
            Trigger::Fault,
        ] {
            assert!(l.apply(t).is_err(), "{t:?} after unload");
        }
    }
}
