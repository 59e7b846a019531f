//! How a running venue's connections are doing, in one word: what `ctl status` and the
//! metrics show next to the life-cycle state, so a venue that never connected, keeps
//! failing or whose data stopped never passes for healthy.

use serde::Serialize;

use crate::transport::{WsPhase, WsStats};

/// The health of a venue's connections, worst first: a venue is as healthy as its worst
/// connection.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// A connection's data stopped while its server still answered; it is being replaced.
    Stalled,
    /// A connection failed too often in a row; the circuit breaker holds it off.
    BreakerOpen,
    /// A connection waits out its backoff before the next connect attempt.
    BackingOff,
    /// A connection is connecting (the first time, or again after a drop).
    Connecting,
    /// Every connection is open, or the venue needs none now.
    Running,
}

impl Health {
    /// Every value, worst first.
    pub const ALL: [Health; 5] = [
        Health::Stalled,
        Health::BreakerOpen,
        Health::BackingOff,
        Health::Connecting,
        Health::Running,
    ];

    /// The name used in status and metrics (`backing_off`).
    pub fn name(self) -> &'static str {
        match self {
            Health::Stalled => "stalled",
            Health::BreakerOpen => "breaker_open",
            Health::BackingOff => "backing_off",
            Health::Connecting => "connecting",
            Health::Running => "running",
        }
    }

    /// The health of one connection.
    pub(crate) fn of(stats: &WsStats) -> Health {
        if stats.stalled {
            return Health::Stalled;
        }
        match stats.phase {
            WsPhase::Open | WsPhase::Stopped => Health::Running,
            WsPhase::Connecting => Health::Connecting,
            WsPhase::BackingOff => Health::BackingOff,
            WsPhase::BreakerOpen => Health::BreakerOpen,
        }
    }

    /// The worst of `all`; [`Health::Running`] if there is none.
    pub(crate) fn worst(all: impl IntoIterator<Item = Health>) -> Health {
        all.into_iter().min().unwrap_or(Health::Running)
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(phase: WsPhase, stalled: bool) -> Health {
        Health::of(&WsStats {
            phase,
            stalled,
            ..WsStats::default()
        })
    }

    #[test]
    fn a_venue_is_as_healthy_as_its_worst_connection() {
        assert_eq!(Health::worst([]), Health::Running);
        let open = conn(WsPhase::Open, false);
        let connecting = conn(WsPhase::Connecting, false);
        let backing_off = conn(WsPhase::BackingOff, false);
        let stalled = conn(WsPhase::BackingOff, true);
        assert_eq!(Health::worst([open, connecting]), Health::Connecting);
        assert_eq!(
            Health::worst([open, backing_off, connecting]),
            Health::BackingOff
        );
        assert_eq!(Health::worst([stalled, open]), Health::Stalled);
        assert_eq!(conn(WsPhase::BreakerOpen, false), Health::BreakerOpen);
        assert_eq!(Health::Stalled.to_string(), "stalled");
    }
}
