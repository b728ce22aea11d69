//! Library-wide functions: version, ABI version, the SIMD backend, the last error message.

use std::ffi::c_char;

use super::boundary;

/// The ABI version of this C API. It changes only on a breaking change (a removed or
/// re-typed function, a changed struct layout or enum value); additions keep it.
/// Version 2 added the rescoring fields at the end of `vecmatch_search_params`.
pub const VECMATCH_ABI_VERSION: u32 = 2;

/// The library version, `"MAJOR.MINOR.PATCH"` (as `VECMATCH_VERSION_STRING`).
///
/// # Safety
/// None. The string is static. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    boundary::value(c"unknown".as_ptr(), || VERSION.as_ptr())
}

/// The ABI version the library was built with (compare with `VECMATCH_ABI_VERSION` from
/// the header you compiled against).
///
/// # Safety
/// None. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_abi_version() -> u32 {
    boundary::value(VECMATCH_ABI_VERSION, || VECMATCH_ABI_VERSION)
}

/// The distance kernels chosen for this CPU at run time, e.g. `"avx2+fma"` or `"scalar"`.
///
/// # Safety
/// None. The string is static. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_hardware_acceleration() -> *const c_char {
    static NAME: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    boundary::value(c"unknown".as_ptr(), || {
        NAME.get_or_init(|| {
            std::ffi::CString::new(crate::hardware_acceleration()).unwrap_or_default()
        })
        .as_ptr()
    })
}

/// The message of the last status-returning call on the calling thread: empty after a
/// success, a one-line description after a failure. Never NULL.
///
/// # Safety
/// None. The string belongs to the calling thread and stays valid until that thread's next
/// vecmatch call that returns a `vecmatch_status`; copy it to keep it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_last_error_message() -> *const c_char {
    boundary::value(c"".as_ptr(), boundary::last_error_ptr)
}
