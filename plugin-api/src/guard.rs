//! The panic guard: a panic inside plugin code becomes a [`PluginError`] instead of
//! aborting the host (a panic unwinding across `extern "C"` or a `#[sabi_trait]` method
//! would end the whole process).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, Once};

use abi_stable::std_types::RResult;

use crate::{ErrorKind, PluginError};

/// Where the last panic happened, recorded by the quiet hook. A plain static, never a
/// thread-local: a thread-local with a destructor would pin the plugin image in memory.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// Replaces the plugin's (statically linked) panic hook with one that records the message
/// and location instead of printing; the host logs the resulting error with the plugin name.
fn install_quiet_hook() {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
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
    match catch_unwind(AssertUnwindSafe(f)) {
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
