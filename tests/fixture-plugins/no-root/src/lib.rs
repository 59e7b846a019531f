//! Test fixture: a shared library without the plugin root symbol.

/// Something to export, so the library is not empty.
#[no_mangle]
pub extern "C" fn fixture_answer() -> i32 {
    42
}
