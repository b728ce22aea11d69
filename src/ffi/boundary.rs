//! The panic boundary and the thread-local last-error message.
//!
//! Every exported function body runs inside [`status`] or [`value`]: a Rust panic is caught
//! there and becomes `VECMATCH_ERR_PANIC` (or the function's documented fallback value), so
//! no unwind ever crosses into C and the host process is never aborted by vecmatch.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::status::vecmatch_status;

/// Why a call failed: the status code and a message for `vecmatch_last_error_message`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: vecmatch_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: vecmatch_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A NULL pointer for the argument `name`.
    pub(crate) fn null(name: &str) -> Self {
        Failure::new(
            vecmatch_status::VECMATCH_ERR_NULL_POINTER,
            format!("{name} is NULL"),
        )
    }

    /// An invalid argument.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(vecmatch_status::VECMATCH_ERR_INVALID_ARGUMENT, message)
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        Failure {
            status: vecmatch_status::from(&e),
            message: e.to_string(),
        }
    }
}

thread_local! {
    /// The message of the last status-returning call on this thread ("" after a success).
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // A message with an interior NUL would be cut short in C: replace them.
    let text = CString::new(message.replace('\0', "?")).unwrap_or_default();
    // During thread teardown the slot may be gone; the status code still reports it.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = text);
}

/// Empties the message after a success (without allocating when it is already empty: this
/// runs on every successful call).
fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|slot| {
        if !slot.borrow().is_empty() {
            *slot.borrow_mut() = CString::default();
        }
    });
}

/// The current thread's last error message; valid until the next status-returning call on
/// this thread.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

/// Text of a caught panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs a status-returning body: `Ok` → `VECMATCH_OK` (and the last error is cleared),
/// `Err` → its code and message, a panic → `VECMATCH_ERR_PANIC`.
pub(crate) fn status(body: impl FnOnce() -> Result<(), Failure>) -> vecmatch_status {
    let outcome = catch_unwind(AssertUnwindSafe(body));
    match outcome {
        Ok(Ok(())) => {
            clear_last_error();
            vecmatch_status::VECMATCH_OK
        }
        Ok(Err(f)) => {
            set_last_error(&f.message);
            f.status
        }
        Err(payload) => {
            let text = panic_text(&*payload);
            // Dropping the payload runs foreign code (its destructor); keep it inside a
            // boundary too.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            set_last_error(&format!("internal panic: {text}"));
            vecmatch_status::VECMATCH_ERR_PANIC
        }
    }
}

/// Runs a body that returns a plain value (lengths, flags, static strings): a panic yields
/// `fallback`. Does not touch the last error message.
pub(crate) fn value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            fallback
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_status_and_message() {
        let s = status(|| panic!("boom {}", 7));
        assert_eq!(s, vecmatch_status::VECMATCH_ERR_PANIC);
        // SAFETY: the pointer is this thread's message, valid until the next call.
        let msg = unsafe { std::ffi::CStr::from_ptr(last_error_ptr()) };
        assert!(msg.to_str().unwrap().contains("boom 7"));
        assert_eq!(status(|| Ok(())), vecmatch_status::VECMATCH_OK);
        // SAFETY: as above.
        let msg = unsafe { std::ffi::CStr::from_ptr(last_error_ptr()) };
        assert!(msg.is_empty());
        assert_eq!(value(3, || -> i32 { panic!("x") }), 3);
    }

    #[test]
    fn interior_nul_is_replaced() {
        let s = status(|| Err(Failure::invalid("a\0b")));
        assert_eq!(s, vecmatch_status::VECMATCH_ERR_INVALID_ARGUMENT);
        // SAFETY: this thread's message, valid until the next call.
        let msg = unsafe { std::ffi::CStr::from_ptr(last_error_ptr()) };
        assert_eq!(msg.to_str().unwrap(), "a?b");
    }
}
