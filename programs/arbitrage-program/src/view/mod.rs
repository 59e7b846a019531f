//! What the program shows while it runs: a screen in a terminal, a plain summary on
//! stderr otherwise, both rendered from one [`Snapshot`] built each refresh.
//!
//! - [`snapshot`]: the data of a refresh and the counts it is built from;
//! - [`text`]: how its values read, the same in both views;
//! - [`plain`]: the plain summary, and the trades and shutdown report printed at the end;
//! - [`draw`]: the screen's layout; [`tui`]: the terminal session that draws it.

pub(crate) mod draw;
pub(crate) mod plain;
pub(crate) mod snapshot;
pub(crate) mod text;
pub(crate) mod tui;

#[cfg(test)]
mod testutil;

use std::future::Future;
use std::time::Duration;

pub(crate) use snapshot::{Snapshot, Tally};
pub(crate) use tui::Screen;

/// How often the plain summary prints.
const PLAIN_REFRESH: Duration = Duration::from_secs(1);
/// How often the screen gets a new snapshot.
const SCREEN_REFRESH: Duration = Duration::from_millis(250);

/// Which view to run (`--view`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ViewChoice {
    /// The screen when stdin and stdout are both terminals, the plain summary otherwise.
    #[default]
    Auto,
    /// The plain summary on stderr.
    Plain,
    /// The screen.
    Tui,
}

impl ViewChoice {
    /// True for the screen: asked for, or `auto` with stdin and stdout both terminals.
    pub(crate) fn wants_screen(self, stdin_is_terminal: bool, stdout_is_terminal: bool) -> bool {
        match self {
            ViewChoice::Auto => stdin_is_terminal && stdout_is_terminal,
            ViewChoice::Plain => false,
            ViewChoice::Tui => true,
        }
    }
}

/// The view of a running program.
#[derive(Debug)]
pub(crate) enum View {
    /// A summary on stderr every second.
    Plain,
    /// The screen, about four times a second.
    Screen(Screen),
}

impl View {
    /// How often to hand the view a snapshot.
    pub(crate) fn refresh_period(&self) -> Duration {
        match self {
            View::Plain => PLAIN_REFRESH,
            View::Screen(_) => SCREEN_REFRESH,
        }
    }

    /// Shows `snapshot`: prints it, or hands it to the screen without waiting.
    pub(crate) fn show(&self, snapshot: Snapshot) {
        match self {
            View::Plain => eprint!("{}", plain::summary(&snapshot)),
            View::Screen(screen) => screen.show(snapshot),
        }
    }

    /// Resolves with the key's name when the screen's quit key is pressed; never for the
    /// plain view.
    pub(crate) fn quit_keys(&mut self) -> impl Future<Output = &'static str> + Send + 'static {
        let screen = match self {
            View::Screen(screen) => Some(screen.quit_keys()),
            View::Plain => None,
        };
        async move {
            match screen {
                Some(keys) => keys.await,
                None => std::future::pending().await,
            }
        }
    }

    /// Leaves the screen, if up, giving the terminal back; the view shows nothing after.
    pub(crate) fn close(&mut self) {
        if let View::Screen(screen) = self {
            if let Err(e) = screen.close() {
                // The terminal is back: said where it is seen, not only in the log file.
                eprintln!("error: the screen: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_the_screen_only_with_both_terminals() {
        assert!(ViewChoice::Auto.wants_screen(true, true));
        assert!(!ViewChoice::Auto.wants_screen(true, false));
        assert!(!ViewChoice::Auto.wants_screen(false, true));
        assert!(!ViewChoice::Plain.wants_screen(true, true));
        assert!(ViewChoice::Tui.wants_screen(false, false));
    }
}
