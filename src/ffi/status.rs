//! The status codes of the C API, grouped by kind, with explicit values that are never
//! reused, and their mapping from [`crate::Error`].

use std::ffi::{c_char, c_int};

use super::boundary;
use crate::Error;

/// The result of a fallible C API call. `VECMATCH_OK` is 0; failures are grouped by kind:
/// 100–199 invalid arguments, 200–299 I/O and file format, 300–399 state, 900–999 internal.
/// Values are never reused or renumbered.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum vecmatch_status {
    /// Success.
    VECMATCH_OK = 0,
    /// A pointer argument that must not be NULL was NULL.
    VECMATCH_ERR_NULL_POINTER = 100,
    /// An argument is out of range or inconsistent (see the message).
    VECMATCH_ERR_INVALID_ARGUMENT = 101,
    /// A vector or query has the wrong number of dimensions.
    VECMATCH_ERR_DIMENSION_MISMATCH = 102,
    /// A vector or query holds NaN or infinity.
    VECMATCH_ERR_NON_FINITE = 103,
    /// A zero vector was given for the cosine metric.
    VECMATCH_ERR_ZERO_VECTOR = 104,
    /// A key was added twice.
    VECMATCH_ERR_DUPLICATE_KEY = 105,
    /// A caller-allocated buffer is too small for the requested result.
    VECMATCH_ERR_BUFFER_TOO_SMALL = 106,
    /// A pointer is not aligned for its element type.
    VECMATCH_ERR_MISALIGNED_POINTER = 107,
    /// A finite value too large for the metric (distances would overflow) or for an `f16`
    /// gallery (at most 65,504).
    VECMATCH_ERR_OUT_OF_RANGE = 108,
    /// `VECMATCH_BACKEND` names a kernel backend that is unknown or this CPU cannot run.
    VECMATCH_ERR_UNSUPPORTED_BACKEND = 109,
    /// The galleries of a shard set disagree on dims, metric or element type, or a key is
    /// stored in two of them (see the message for the shard).
    VECMATCH_ERR_SHARD_MISMATCH = 110,
    /// An operating-system I/O error (see the message).
    VECMATCH_ERR_IO = 200,
    /// The file does not exist.
    VECMATCH_ERR_FILE_NOT_FOUND = 201,
    /// The file is not a vecmatch gallery (bad magic bytes).
    VECMATCH_ERR_BAD_MAGIC = 202,
    /// The file has a format version this build cannot read.
    VECMATCH_ERR_UNSUPPORTED_VERSION = 203,
    /// The file is shorter than its header says.
    VECMATCH_ERR_TRUNCATED = 204,
    /// A checksum does not match: the file is damaged.
    VECMATCH_ERR_CHECKSUM_MISMATCH = 205,
    /// The file is structurally invalid.
    VECMATCH_ERR_CORRUPT = 206,
    /// The file cannot be replaced keeping its permissions: it is write-protected, or its
    /// owner or group cannot be kept by this process.
    VECMATCH_ERR_PERMISSION = 207,
    /// A collection's write-ahead log (`NAME.wal`) is damaged before its end (a damaged
    /// last record is a torn write and is ignored instead).
    VECMATCH_ERR_WAL_CORRUPT = 210,
    /// A collection's write-ahead log holds changes for another version of the gallery
    /// file: it is not replayed and the collection is not opened.
    VECMATCH_ERR_WAL_MISMATCH = 211,
    /// The requested key is not present.
    VECMATCH_ERR_KEY_NOT_FOUND = 300,
    /// Another writer (a collection, in this process or another, or a `vecmatch`
    /// command changing the file) holds the gallery's writer lock.
    VECMATCH_ERR_LOCKED = 301,
    /// The gallery file was replaced by another process (one that bypassed the writer
    /// lock) since the collection opened or last committed it; nothing was written.
    VECMATCH_ERR_CHANGED = 302,
    /// A Rust panic was caught at the API boundary (a bug in vecmatch; please report it).
    VECMATCH_ERR_PANIC = 900,
    /// An internal error that fits no other code.
    VECMATCH_ERR_INTERNAL = 901,
}

use vecmatch_status::*;

/// All codes, for lookups from a raw integer.
const ALL: &[vecmatch_status] = &[
    VECMATCH_OK,
    VECMATCH_ERR_NULL_POINTER,
    VECMATCH_ERR_INVALID_ARGUMENT,
    VECMATCH_ERR_DIMENSION_MISMATCH,
    VECMATCH_ERR_NON_FINITE,
    VECMATCH_ERR_ZERO_VECTOR,
    VECMATCH_ERR_DUPLICATE_KEY,
    VECMATCH_ERR_BUFFER_TOO_SMALL,
    VECMATCH_ERR_MISALIGNED_POINTER,
    VECMATCH_ERR_OUT_OF_RANGE,
    VECMATCH_ERR_UNSUPPORTED_BACKEND,
    VECMATCH_ERR_SHARD_MISMATCH,
    VECMATCH_ERR_IO,
    VECMATCH_ERR_FILE_NOT_FOUND,
    VECMATCH_ERR_BAD_MAGIC,
    VECMATCH_ERR_UNSUPPORTED_VERSION,
    VECMATCH_ERR_TRUNCATED,
    VECMATCH_ERR_CHECKSUM_MISMATCH,
    VECMATCH_ERR_CORRUPT,
    VECMATCH_ERR_PERMISSION,
    VECMATCH_ERR_WAL_CORRUPT,
    VECMATCH_ERR_WAL_MISMATCH,
    VECMATCH_ERR_KEY_NOT_FOUND,
    VECMATCH_ERR_LOCKED,
    VECMATCH_ERR_CHANGED,
    VECMATCH_ERR_PANIC,
    VECMATCH_ERR_INTERNAL,
];

impl vecmatch_status {
    /// The code for a raw value, if it is one.
    pub(crate) fn from_raw(raw: c_int) -> Option<Self> {
        ALL.iter().copied().find(|s| *s as c_int == raw)
    }

    /// A short, static, NUL-terminated description.
    pub(crate) fn text(self) -> &'static std::ffi::CStr {
        match self {
            VECMATCH_OK => c"ok",
            VECMATCH_ERR_NULL_POINTER => c"a required pointer argument is NULL",
            VECMATCH_ERR_INVALID_ARGUMENT => c"invalid argument",
            VECMATCH_ERR_DIMENSION_MISMATCH => c"dimension mismatch",
            VECMATCH_ERR_NON_FINITE => c"non-finite value (NaN or infinity)",
            VECMATCH_ERR_ZERO_VECTOR => c"zero vector with the cosine metric",
            VECMATCH_ERR_DUPLICATE_KEY => c"duplicate key",
            VECMATCH_ERR_BUFFER_TOO_SMALL => c"output buffer too small",
            VECMATCH_ERR_MISALIGNED_POINTER => c"pointer not aligned for its element type",
            VECMATCH_ERR_OUT_OF_RANGE => c"value out of range for the metric or element type",
            VECMATCH_ERR_UNSUPPORTED_BACKEND => {
                c"VECMATCH_BACKEND names a backend this CPU cannot run"
            }
            VECMATCH_ERR_SHARD_MISMATCH => c"the shards of a shard set do not match",
            VECMATCH_ERR_IO => c"I/O error",
            VECMATCH_ERR_FILE_NOT_FOUND => c"file not found",
            VECMATCH_ERR_BAD_MAGIC => c"not a vecmatch gallery file",
            VECMATCH_ERR_UNSUPPORTED_VERSION => c"unsupported gallery format version",
            VECMATCH_ERR_TRUNCATED => c"truncated gallery file",
            VECMATCH_ERR_CHECKSUM_MISMATCH => c"checksum mismatch: the file is damaged",
            VECMATCH_ERR_CORRUPT => c"corrupt gallery file",
            VECMATCH_ERR_PERMISSION => c"file permissions forbid replacing it",
            VECMATCH_ERR_WAL_CORRUPT => c"damaged write-ahead log",
            VECMATCH_ERR_WAL_MISMATCH => c"write-ahead log of another gallery file",
            VECMATCH_ERR_KEY_NOT_FOUND => c"key not found",
            VECMATCH_ERR_LOCKED => c"locked by another writer",
            VECMATCH_ERR_CHANGED => c"file changed by another process",
            VECMATCH_ERR_PANIC => c"internal panic (a bug in vecmatch)",
            VECMATCH_ERR_INTERNAL => c"internal error",
        }
    }
}

impl From<&Error> for vecmatch_status {
    fn from(e: &Error) -> Self {
        match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                VECMATCH_ERR_FILE_NOT_FOUND
            }
            Error::Io { .. } => VECMATCH_ERR_IO,
            Error::BadMagic => VECMATCH_ERR_BAD_MAGIC,
            Error::UnsupportedVersion { .. } => VECMATCH_ERR_UNSUPPORTED_VERSION,
            Error::Truncated { .. } => VECMATCH_ERR_TRUNCATED,
            Error::ChecksumMismatch { .. } => VECMATCH_ERR_CHECKSUM_MISMATCH,
            Error::Corrupt(_) => VECMATCH_ERR_CORRUPT,
            Error::DimensionMismatch { .. } => VECMATCH_ERR_DIMENSION_MISMATCH,
            Error::NonFinite { .. } => VECMATCH_ERR_NON_FINITE,
            Error::OutOfRange { .. } => VECMATCH_ERR_OUT_OF_RANGE,
            Error::ZeroVector { .. } => VECMATCH_ERR_ZERO_VECTOR,
            Error::DuplicateKey(_) => VECMATCH_ERR_DUPLICATE_KEY,
            Error::InvalidArgument(_) => VECMATCH_ERR_INVALID_ARGUMENT,
            Error::Permission { .. } => VECMATCH_ERR_PERMISSION,
            Error::Locked { .. } => VECMATCH_ERR_LOCKED,
            Error::Changed { .. } => VECMATCH_ERR_CHANGED,
            Error::WalCorrupt { .. } => VECMATCH_ERR_WAL_CORRUPT,
            Error::WalMismatch { .. } => VECMATCH_ERR_WAL_MISMATCH,
            Error::UnsupportedBackend { .. } => VECMATCH_ERR_UNSUPPORTED_BACKEND,
            Error::ShardMismatch { .. } | Error::DuplicateKeyInShards { .. } => {
                VECMATCH_ERR_SHARD_MISMATCH
            }
        }
    }
}

/// A status code as C passes it: any `int`, valid or not (a Rust enum parameter holding
/// an undeclared value would be undefined behaviour). The header spells it
/// `vecmatch_status`.
pub type StatusArg = c_int;

/// A short, static description of `status` (never NULL; "unknown status code" for values
/// that are not a `vecmatch_status`).
///
/// # Safety
/// None: any value may be passed. The returned string is static. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_status_str(status: StatusArg) -> *const c_char {
    boundary::value(c"unknown status code".as_ptr(), || {
        vecmatch_status::from_raw(status)
            .map_or(c"unknown status code", vecmatch_status::text)
            .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &s in ALL {
            assert!(seen.insert(s as c_int), "{s:?} reused");
            assert_eq!(vecmatch_status::from_raw(s as c_int), Some(s));
            assert!(!s.text().is_empty());
        }
        assert_eq!(vecmatch_status::from_raw(1), None);
        assert_eq!(vecmatch_status::from_raw(-1), None);
    }
}
