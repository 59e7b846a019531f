//! The screen: the terminal in raw mode on the alternate screen, drawn by a thread of its
//! own, so that neither a slow terminal nor reading keys ever holds up the trading loop,
//! which only hands over each snapshot. The thread draws when a snapshot arrives and when
//! the terminal sends events (a resize), taking every event already waiting before it draws
//! once; `q` or Ctrl-C (a key in raw mode, not a signal) asks the program to stop.
//!
//! The terminal is restored however the screen ends: closed, dropped (an error unwinding
//! the program), or in a panic anywhere in the process, where a panic hook restores it
//! before the panic message prints.

use std::future::Future;
use std::io::{self, stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use futures_util::{FutureExt, StreamExt};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{Event, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use tokio::sync::{oneshot, watch};

use super::draw::{draw, LogView};
use super::snapshot::Snapshot;
use crate::logging::LogTail;

/// The latest snapshot, shared with the screen's thread (`None` before the first).
type Latest = Option<Arc<Snapshot>>;

/// The screen while it is up. Dropping it closes it.
#[derive(Debug)]
pub(crate) struct Screen {
    /// True while the terminal is in raw mode on the alternate screen; whoever sets it
    /// false restores the terminal (the thread, [`Screen::close`] or the panic hook).
    on: Arc<AtomicBool>,
    /// Dropped to tell the thread to stop.
    snapshots: Option<watch::Sender<Latest>>,
    thread: Option<JoinHandle<io::Result<()>>>,
    /// The key that asked to stop, until taken by [`Screen::quit_keys`].
    quit: Option<oneshot::Receiver<&'static str>>,
}

impl Screen {
    /// Takes over the terminal and starts drawing; `log_file` and `tail` are shown in the
    /// header and the log panel.
    pub(crate) fn open(log_file: String, tail: LogTail) -> io::Result<Screen> {
        let on = Arc::new(AtomicBool::new(false));
        install_panic_hook(on.clone());
        enable_raw_mode()?;
        on.store(true, Ordering::SeqCst);
        let terminal = execute!(stdout(), EnterAlternateScreen)
            .and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        let terminal = match terminal {
            Ok(t) => t,
            Err(e) => {
                let _ = restore(&on);
                return Err(e);
            }
        };
        let (snapshots, latest) = watch::channel(None);
        let (quit_tx, quit) = oneshot::channel();
        let thread_on = on.clone();
        let thread = std::thread::Builder::new()
            .name("arbitrage-screen".into())
            .spawn(move || {
                let ran = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .and_then(|rt| {
                        rt.block_on(run(terminal, latest, &log_file, &tail, quit_tx, &thread_on))
                    });
                // Here, after the last draw, so that no draw follows the restore.
                let restored = restore(&thread_on);
                ran.and(restored)
            });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                let _ = restore(&on);
                return Err(e);
            }
        };
        Ok(Screen {
            on,
            snapshots: Some(snapshots),
            thread: Some(thread),
            quit: Some(quit),
        })
    }

    /// Hands `snapshot` to the screen, replacing one not drawn yet; never waits.
    pub(crate) fn show(&self, snapshot: Snapshot) {
        if let Some(s) = &self.snapshots {
            s.send_replace(Some(Arc::new(snapshot)));
        }
    }

    /// Resolves with the key's name when `q` or Ctrl-C is pressed on the screen; never if
    /// the screen closes first (or if taken before).
    pub(crate) fn quit_keys(&mut self) -> impl Future<Output = &'static str> + Send + 'static {
        let quit = self.quit.take();
        async move {
            match quit {
                Some(rx) => match rx.await {
                    Ok(key) => key,
                    Err(_) => std::future::pending().await,
                },
                None => std::future::pending().await,
            }
        }
    }

    /// Leaves the screen and gives the terminal back as it was; an error the screen met
    /// (the terminal went away) is returned. Later calls do nothing.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        self.snapshots = None;
        let ran = match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the screen's thread panicked"))),
            None => Ok(()),
        };
        let restored = restore(&self.on);
        ran.and(restored)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The screen's thread: draws on each new snapshot and each batch of terminal events until
/// the program drops the sender, the terminal's input ends, or the screen is off.
async fn run(
    mut terminal: Terminal<CrosstermBackend<io::Stdout>>,
    mut latest: watch::Receiver<Latest>,
    log_file: &str,
    tail: &LogTail,
    quit: oneshot::Sender<&'static str>,
    on: &AtomicBool,
) -> io::Result<()> {
    let mut quit = Some(quit);
    let mut events = EventStream::new();
    let mut on_event = |event: Event| {
        if let Some(key) = quit_key(&event) {
            if let Some(tx) = quit.take() {
                let _ = tx.send(key);
            }
        }
    };
    loop {
        if !on.load(Ordering::SeqCst) {
            // A panic elsewhere restored the terminal: draw no more.
            return Ok(());
        }
        let snapshot = latest.borrow_and_update().clone();
        let lines = tail.lines();
        terminal.draw(|frame| {
            draw(
                frame,
                snapshot.as_deref(),
                LogView {
                    file: log_file,
                    tail: &lines,
                },
            )
        })?;
        tokio::select! {
            changed = latest.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            event = events.next() => match event {
                Some(Ok(event)) => {
                    on_event(event);
                    // Coalesced: every event already waiting, then one draw.
                    while let Some(Some(Ok(event))) = events.next().now_or_never() {
                        on_event(event);
                    }
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}

/// The name of a key that stops the program (`q`, Ctrl-C), if `event` is its press.
fn quit_key(event: &Event) -> Option<&'static str> {
    let Event::Key(key) = event else {
        return None;
    };
    if key.kind != KeyEventKind::Press {
        return None;
    }
    match key.code {
        KeyCode::Char('q' | 'Q') if key.modifiers.difference(KeyModifiers::SHIFT).is_empty() => {
            Some("q")
        }
        KeyCode::Char('c' | 'C') if key.modifiers.contains(KeyModifiers::CONTROL) => Some("Ctrl-C"),
        _ => None,
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor, once: only the caller
/// that turns `on` off does it.
fn restore(on: &AtomicBool) -> io::Result<()> {
    if !on.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let raw = disable_raw_mode();
    let screen = execute!(stdout(), LeaveAlternateScreen, Show);
    raw.and(screen)
}

/// Restores the terminal before any panic's message prints (the previous hook prints it).
/// Once the screen is closed the hook only passes the panic on.
fn install_panic_hook(on: Arc<AtomicBool>) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = restore(&on);
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEvent;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn q_and_ctrl_c_stop_other_keys_do_not() {
        assert_eq!(
            quit_key(&press(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some("q")
        );
        assert_eq!(
            quit_key(&press(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
            Some("q")
        );
        assert_eq!(
            quit_key(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some("Ctrl-C")
        );
        assert_eq!(
            quit_key(&press(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            quit_key(&press(KeyCode::Char('q'), KeyModifiers::ALT)),
            None
        );
        assert_eq!(quit_key(&Event::Resize(80, 24)), None);
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(quit_key(&Event::Key(release)), None);
    }
}
