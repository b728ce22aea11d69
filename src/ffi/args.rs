//! Turning C arguments (raw pointers with lengths, C strings, handles) into Rust values,
//! with the checks that make a NULL, misaligned or oversized argument an error instead of
//! undefined behaviour.

use std::ffi::{CStr, c_char};
use std::path::PathBuf;

use super::boundary::Failure;
use super::status::vecmatch_status;

/// Checks that `ptr` may back a slice of `len` `T`s: non-NULL (unless `len` is 0, where a
/// dangling pointer is used), aligned, and not longer than `isize::MAX` bytes.
fn check<T>(ptr: *const T, len: usize, name: &str) -> Result<bool, Failure> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(false);
        }
        return Err(Failure::null(name));
    }
    if !ptr.is_aligned() {
        return Err(Failure::new(
            vecmatch_status::VECMATCH_ERR_MISALIGNED_POINTER,
            format!(
                "{name} is not aligned to {} bytes",
                std::mem::align_of::<T>()
            ),
        ));
    }
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::invalid(format!(
            "{name}: length {len} is too large"
        )));
    }
    Ok(true)
}

/// A slice of `len` elements at `ptr`; NULL is accepted only with `len == 0`.
///
/// # Safety
/// If `ptr` is not NULL it must point to `len` initialised `T`s that stay valid and
/// unmodified for `'a`.
pub(crate) unsafe fn slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    if !check(ptr, len, name)? {
        return Ok(&[]);
    }
    // SAFETY: non-NULL, aligned, size in range (checked); validity is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A mutable slice of `len` elements at `ptr`; NULL is accepted only with `len == 0`.
///
/// # Safety
/// If `ptr` is not NULL it must point to `len` writable `T`s, not aliased elsewhere, valid
/// for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> Result<&'a mut [T], Failure> {
    if !check(ptr.cast_const(), len, name)? {
        return Ok(&mut []);
    }
    // Validity and exclusivity of the `len` elements are the caller's contract.
    // SAFETY: non-NULL, aligned, size in range (checked above); see the contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// A shared reference to a handle.
///
/// # Safety
/// `ptr` must be NULL or a live handle made by this library.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: NULL or a live handle (the caller's contract).
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// An exclusive reference to a handle.
///
/// # Safety
/// `ptr` must be NULL or a live handle made by this library, not used by another thread
/// during the call.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: NULL or a live, unshared handle (the caller's contract).
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// Writes `value` through an out-pointer.
///
/// # Safety
/// `ptr` must be NULL (an error) or valid for a write of one `T`.
pub(crate) unsafe fn write_out<T>(ptr: *mut T, value: T, name: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if !ptr.is_aligned() {
        return Err(Failure::new(
            vecmatch_status::VECMATCH_ERR_MISALIGNED_POINTER,
            format!("{name} is not aligned"),
        ));
    }
    // SAFETY: non-NULL and aligned (checked); writable is the caller's contract.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Checks an out-pointer before any work is done, so a NULL one is reported before a
/// costly operation rather than after it.
pub(crate) fn require_out<T>(ptr: *mut T, name: &str) -> Result<(), Failure> {
    check(ptr.cast_const(), 1, name).map(|_| ())
}

/// A file path from a NUL-terminated C string (bytes on Unix; UTF-8 elsewhere).
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string valid for the call.
pub(crate) unsafe fn path(ptr: *const c_char, name: &str) -> Result<PathBuf, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated (the caller's contract).
    let c = unsafe { CStr::from_ptr(ptr) };
    if c.is_empty() {
        return Err(Failure::invalid(format!("{name} is an empty string")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        c.to_str()
            .map(PathBuf::from)
            .map_err(|_| Failure::invalid(format!("{name} is not valid UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_misaligned_and_oversized_are_errors() {
        // SAFETY: NULL with length 0 reads nothing.
        let s = unsafe { slice::<f32>(std::ptr::null(), 0, "x") }.unwrap();
        assert!(s.is_empty());
        // SAFETY: NULL is rejected before any read.
        let e = unsafe { slice::<f32>(std::ptr::null(), 3, "x") }.unwrap_err();
        assert_eq!(e.status, vecmatch_status::VECMATCH_ERR_NULL_POINTER);
        let buf = [0u32; 4];
        let odd = (buf.as_ptr() as *const u8).wrapping_add(1) as *const f32;
        // SAFETY: a misaligned pointer is rejected before any read.
        let e = unsafe { slice::<f32>(odd, 1, "x") }.unwrap_err();
        assert_eq!(e.status, vecmatch_status::VECMATCH_ERR_MISALIGNED_POINTER);
        // SAFETY: an oversized length is rejected before any read.
        let e = unsafe { slice::<f32>(buf.as_ptr().cast(), usize::MAX / 2, "x") }.unwrap_err();
        assert_eq!(e.status, vecmatch_status::VECMATCH_ERR_INVALID_ARGUMENT);
    }
}
