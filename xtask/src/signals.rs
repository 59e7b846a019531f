//! The runner's own SIGINT, SIGTERM and SIGHUP, taken by a thread of their own (`sigwait`)
//! and sent as [`Event::Signal`], so the runner decides what they mean: forwarded to the
//! program, or the end of a build.

use std::sync::mpsc::Sender;

use crate::process::Event;
use crate::Error;

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and every thread it starts
/// afterwards; children get an empty mask from `std::process`) and starts the thread that
/// takes them. Call it first in `main`, before any other thread exists.
pub fn listen(events: Sender<Event>) -> Result<(), Error> {
    // SAFETY: a zeroed sigset_t is a valid argument to sigemptyset, which initializes it.
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
        return Err(Error::Signals(std::io::Error::from_raw_os_error(rc)));
    }
    std::thread::Builder::new()
        .name("xtask-signals".into())
        .spawn(move || loop {
            let mut number = 0;
            // SAFETY: `set` is initialized and `number` is a valid place to write to.
            if unsafe { libc::sigwait(&set, &mut number) } != 0 {
                continue;
            }
            if events.send(Event::Signal(number)).is_err() {
                return;
            }
        })
        .map_err(Error::Signals)?;
    Ok(())
}
