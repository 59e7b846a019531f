//! The guard's quiet panic hook quiets only panics inside guarded calls: venue code linked
//! into a host (a built-in plugin) must not swallow the host's own panic messages. Its own
//! test binary, since a panic hook is process-wide.

use std::panic::catch_unwind;
use std::sync::atomic::{AtomicUsize, Ordering};

use plugin_api::{guard, ErrorKind};

static SEEN_BY_HOST_HOOK: AtomicUsize = AtomicUsize::new(0);

#[test]
fn guarded_panics_are_quiet_and_others_reach_the_previous_hook() {
    std::panic::set_hook(Box::new(|_| {
        SEEN_BY_HOST_HOOK.fetch_add(1, Ordering::SeqCst);
    }));

    let guarded = guard::<()>(|| panic!("inside"));
    let err = guarded.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Panic);
    assert!(err.message.contains("inside"), "{}", err.message);
    assert_eq!(SEEN_BY_HOST_HOOK.load(Ordering::SeqCst), 0);

    // The guard's hook is installed now; a panic outside any guarded call reaches ours.
    assert!(catch_unwind(|| panic!("outside")).is_err());
    assert_eq!(SEEN_BY_HOST_HOOK.load(Ordering::SeqCst), 1);

    // Nested guards: the inner one's panic is quiet, and the count is back to zero after.
    let outer = guard(|| Ok(guard::<()>(|| panic!("nested")).is_err()));
    assert!(outer.unwrap());
    assert!(catch_unwind(|| panic!("outside again")).is_err());
    assert_eq!(SEEN_BY_HOST_HOOK.load(Ordering::SeqCst), 2);
}
