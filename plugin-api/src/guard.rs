//! The panic guard: a panic inside plugin code becomes a [`PluginError`] instead of
//! aborting the host (a panic unwinding across `extern "C"` or a `#[sabi_trait]` method
//! would end the whole process).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, Once};

use abi_stable::std_types::RResult;

use crate::{ErrorKind, PluginError};

/// Where the last panic happened, recorded by the quiet hook. A plain static, never a
/// thread-local: a thread-local with a destructor would pin the plugin image in memory.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
static HOOK: Once = Once::new();

thread_local! {
    /// How many guarded calls this thread is inside. A `Cell` of an integer has no
    /// destructor, so it registers none and never pins a plugin image (DESIGN.md §1).
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

/// Installs a panic hook that records the message and location of a panic inside a
/// guarded call instead of printing it (the host logs the resulting error with the plugin
/// name), and hands every other panic to the hook that was there before.
///
/// In a plugin file the hook is the plugin's own copy of std's and only its code panics
/// there. Venue code linked into the host (a built-in plugin) shares the host's hook: the
/// host's own panics must still reach it.
fn install_quiet_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                return previous(info);
            }
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            if let Ok(mut last) = LAST_PANIC.lock() {
                *last = Some(format!("{}{at}", payload_text(info.payload())));
            }
        }));
    });
}

/// Counts this thread in a guarded call while it lives (also when the call unwinds).
struct Inside;

impl Inside {
    fn enter() -> Inside {
        GUARDED.with(|n| n.set(n.get() + 1));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        GUARDED.with(|n| n.set(n.get() - 1));
    }
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs `f`, turning a panic into an [`ErrorKind::Panic`] error.
///
/// Every function a plugin exposes to the host goes through this; [`crate::export_venue_plugin!`]
/// applies it to all of them, so plugin authors only call it for entry points of their own.
pub fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    install_quiet_hook();
    let inside = Inside::enter();
    let caught = catch_unwind(AssertUnwindSafe(f));
    drop(inside);
    match caught {
        Ok(result) => result.into(),
        Err(payload) => {
            let recorded = LAST_PANIC.lock().ok().and_then(|mut last| last.take());
            let message = recorded.unwrap_or_else(|| payload_text(payload.as_ref()));
            // Dropping the payload runs its destructor here, inside the plugin that made it.
            drop(payload);
            RResult::RErr(PluginError::new(
                ErrorKind::Panic,
                format!("panicked: {message}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_becomes_error_with_message_and_location() {
        let result: RResult<(), PluginError> = guard(|| panic!("boom {}", 7));
        let err = result.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Panic);
        assert!(err.message.contains("boom 7"), "{}", err.message);
        assert!(err.message.contains("guard.rs"), "{}", err.message);
    }

    #[test]
    fn ok_and_err_pass_through() {
        assert_eq!(guard(|| Ok(3)).unwrap(), 3);
        let err = guard::<()>(|| Err(PluginError::config("key `x`"))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
    }
}
