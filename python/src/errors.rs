//! Every [`vecmatch::Error`] as a Python exception. The exception classes are defined in
//! `vecmatch/_errors.py` (so they can inherit from both `vecmatch.VecmatchError` and
//! `ValueError`); I/O errors become `OSError` with the errno, so Python raises the
//! matching subclass (`FileNotFoundError`, `PermissionError`, ...).

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use vecmatch::Error;

/// The Python exception class named `name` in `vecmatch._errors`.
fn class<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyType>> {
    // One cache per class: errors are rare, so a small fixed table is enough.
    static CACHE: [PyOnceLock<Py<PyType>>; NAMES.len()] =
        [const { PyOnceLock::new() }; NAMES.len()];
    let i = NAMES.iter().position(|n| *n == name).unwrap_or(0);
    CACHE[i].import(py, "vecmatch._errors", NAMES[i]).cloned()
}

/// The classes of `vecmatch._errors` this module raises (index 0 is the base class).
const NAMES: [&str; 11] = [
    "VecmatchError",
    "InvalidArgumentError",
    "DimensionMismatchError",
    "NonFiniteError",
    "ZeroVectorError",
    "DuplicateKeyError",
    "ShardMismatchError",
    "CorruptFileError",
    "ChecksumMismatchError",
    "UnsupportedVersionError",
    "LockedError",
];

/// The exception class for `e` (mapped variant by variant; a variant added to the library
/// later falls back to the base class `VecmatchError`).
fn class_name(e: &Error) -> &'static str {
    match e {
        Error::BadMagic
        | Error::Truncated { .. }
        | Error::Corrupt(_)
        | Error::WalCorrupt { .. }
        | Error::WalMismatch { .. } => "CorruptFileError",
        Error::Locked { .. } => "LockedError",
        Error::OutOfRange { .. } => "InvalidArgumentError",
        Error::ChecksumMismatch { .. } => "ChecksumMismatchError",
        Error::UnsupportedVersion { .. } => "UnsupportedVersionError",
        Error::DimensionMismatch { .. } => "DimensionMismatchError",
        Error::NonFinite { .. } => "NonFiniteError",
        Error::ZeroVector { .. } => "ZeroVectorError",
        Error::DuplicateKey(_) => "DuplicateKeyError",
        Error::InvalidArgument(_) => "InvalidArgumentError",
        Error::ShardMismatch { .. } | Error::DuplicateKeyInShards { .. } => "ShardMismatchError",
        _ => "VecmatchError",
    }
}

/// Converts a library error (with the GIL held).
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    if let Error::Io { path, source } = &e {
        let msg = e.to_string();
        return match (source.raw_os_error(), path) {
            (Some(errno), Some(p)) => PyOSError::new_err((errno, msg, p.clone())),
            (Some(errno), None) => PyOSError::new_err((errno, msg)),
            (None, _) => PyOSError::new_err(msg),
        };
    }
    if let Error::Permission { .. } = &e {
        return pyo3::exceptions::PyPermissionError::new_err(e.to_string());
    }
    match class(py, class_name(&e)) {
        Ok(cls) => PyErr::from_type(cls, e.to_string()),
        Err(import_failed) => import_failed,
    }
}

/// `Result<T, vecmatch::Error>` → `PyResult<T>`.
pub(crate) trait IntoPy<T> {
    /// Converts the error, if any, to its Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
