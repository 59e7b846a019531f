//! The process signals a running host acts on (SIGINT, SIGTERM, SIGHUP), received by a
//! thread of their own rather than through the runtime's signal driver: a plugin call that
//! blocks a runtime worker can keep the runtime from polling its drivers until the call
//! returns, and a host whose shutdown waits for such a call must still hear the second
//! signal that forces it.

use std::io;

use tokio::sync::mpsc;

/// A signal the host acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`.
    Terminate,
    /// `kill -HUP`: reload the configuration.
    Hangup,
}

impl Signal {
    /// The signal's usual name (`SIGTERM`).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }
}

/// Signals as they arrive.
#[derive(Debug)]
pub struct Signals {
    rx: mpsc::UnboundedReceiver<Signal>,
}

impl Signals {
    /// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in every thread it
    /// starts afterwards) and starts the thread that takes them. Call it first in `main`,
    /// before the runtime's threads exist, or they would still receive the signals.
    pub fn listen() -> io::Result<Signals> {
        // SAFETY: a zeroed sigset_t is a valid argument to sigemptyset, which initializes it;
        // the set is only read afterwards.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, signal);
            }
            set
        };
        // SAFETY: `set` is initialized; the old mask is not asked for.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("host-signals".into())
            .spawn(move || loop {
                let mut number = 0;
                // SAFETY: `set` is initialized and `number` is a valid place to write to.
                if unsafe { libc::sigwait(&set, &mut number) } != 0 {
                    continue;
                }
                let signal = match number {
                    libc::SIGINT => Signal::Interrupt,
                    libc::SIGTERM => Signal::Terminate,
                    _ => Signal::Hangup,
                };
                if tx.send(signal).is_err() {
                    return;
                }
            })?;
        Ok(Signals { rx })
    }

    /// The next signal.
    pub async fn recv(&mut self) -> Option<Signal> {
        self.rx.recv().await
    }
}
