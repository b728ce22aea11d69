//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong in vecmatch.
///
/// Variants are structured so that callers (and the C ABI) can map them to codes without
/// parsing messages. New variants may be added in minor releases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error, with the path it concerned when known.
    #[error("I/O error{}: {source}", path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Io {
        /// The file the operation was about, if any.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the vecmatch magic bytes.
    #[error("not a vecmatch gallery file (bad magic bytes)")]
    BadMagic,
    /// The file was written by a newer, incompatible major version of the format.
    #[error(
        "unsupported gallery format version {found} (this build reads major version {supported})"
    )]
    UnsupportedVersion {
        /// Major.minor version found in the file.
        found: String,
        /// Major version this build supports.
        supported: u16,
    },
    /// The file is shorter than its header says, or too short to hold a header.
    #[error("truncated gallery file: expected {expected} bytes, found {found}")]
    Truncated {
        /// Bytes the file should have.
        expected: u64,
        /// Bytes it has.
        found: u64,
    },
    /// A checksum did not match: the named region is damaged.
    #[error("checksum mismatch in {region}: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// Which part of the file (`header`, `section table`, or a section name).
        region: String,
        /// CRC32C stored in the file.
        stored: u32,
        /// CRC32C computed over the bytes.
        computed: u32,
    },
    /// The file is structurally invalid (bad offsets, sizes, alignment, unknown codes...).
    #[error("corrupt gallery file: {0}")]
    Corrupt(String),
    /// A vector or query has the wrong number of dimensions.
    #[error("dimension mismatch: expected {expected}, got {found}")]
    DimensionMismatch {
        /// Dimensions the gallery uses.
        expected: usize,
        /// Dimensions supplied.
        found: usize,
    },
    /// A vector or query holds NaN or an infinity.
    #[error("non-finite value (NaN or infinity) at index {index} of {what}")]
    NonFinite {
        /// `"query"` or `"vector"` (with its row).
        what: String,
        /// Position of the offending element.
        index: usize,
    },
    /// A finite value too large for the metric (its distances would overflow `f32`; see
    /// `metric::value_limit`) or for the gallery's element type (`f16`: at most 65,504).
    #[error(
        "value {} at index {index} of {what} is out of range (|x| <= {} for this metric, \
         dimension and element type)",
        short(*value),
        short(*limit)
    )]
    OutOfRange {
        /// `"query"` or `"vector"` (with its row).
        what: String,
        /// Position of the offending element.
        index: usize,
        /// The value.
        value: f32,
        /// The largest magnitude allowed.
        limit: f32,
    },
    /// A zero vector cannot be normalised for the cosine metric.
    #[error("zero vector ({what}) cannot be used with the cosine metric")]
    ZeroVector {
        /// Which vector.
        what: String,
    },
    /// The same key was given twice to a builder.
    #[error("duplicate key {0}")]
    DuplicateKey(u64),
    /// An argument is out of its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Another writer (a [`crate::Collection`] or a `vecmatch add`/`delete`/`compact`/
    /// `build`, in this process or another) holds the gallery's writer lock.
    #[error(
        "`{}` is locked by another writer (lock file `{}`); try again when it is done",
        path.display(),
        lock_file.display()
    )]
    Locked {
        /// The gallery, as given.
        path: PathBuf,
        /// The lock file (`NAME.lock`, next to the gallery with its links followed).
        lock_file: PathBuf,
    },
    /// The gallery file was replaced or removed by something that did not take the writer
    /// lock (an older vecmatch, a copy) since this writer opened or last published it.
    /// Nothing was written; the other file is left as it is.
    #[error(
        "`{}` was changed by another process since it was opened; nothing was written",
        path.display()
    )]
    Changed {
        /// The gallery, as given.
        path: PathBuf,
    },
    /// The gallery cannot be replaced keeping its permissions: it is write-protected, or
    /// its owner or group cannot be kept by this process.
    #[error("cannot replace `{}`: {reason}", path.display())]
    Permission {
        /// The gallery, as given.
        path: PathBuf,
        /// What stands in the way.
        reason: String,
    },
    /// A collection's write-ahead log (`NAME.wal`) is damaged before its end: a record
    /// whose checksum or shape is wrong is followed by valid records (a damaged last
    /// record is a torn write and is ignored instead), or its header is damaged. Nothing
    /// was changed; the gallery file itself is intact.
    #[error("damaged write-ahead log {} at byte {offset}: {reason}", path.display())]
    WalCorrupt {
        /// The log file.
        path: PathBuf,
        /// Byte offset of the damaged record (0: the header).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A collection's write-ahead log (`NAME.wal`) holds changes for another version of
    /// the gallery file (or other dimensions): it is not replayed, and the collection is
    /// not opened. Nothing was changed.
    #[error("write-ahead log {} does not belong to this gallery file: {reason}", path.display())]
    WalMismatch {
        /// The log file.
        path: PathBuf,
        /// Why it does not apply.
        reason: String,
    },
    /// The `VECMATCH_BACKEND` environment variable names a kernel backend that is unknown
    /// or that this CPU cannot run (see `vecmatch::metric::BackendKind`).
    #[error("VECMATCH_BACKEND={requested:?}: {reason}")]
    UnsupportedBackend {
        /// The variable's value.
        requested: String,
        /// Why it cannot be used, with the backends this CPU runs.
        reason: String,
    },
    /// A gallery of a shard set disagrees with the first shard on dims, metric or element
    /// type (see [`crate::ShardSet`]).
    #[error("shard {shard} has {what} {found}, the first shard has {expected}")]
    ShardMismatch {
        /// The shard's file path (or `#index` for a gallery without a path).
        shard: String,
        /// What differs: `"dims"`, `"metric"` or `"element type"`.
        what: &'static str,
        /// The first shard's value.
        expected: String,
        /// This shard's value.
        found: String,
    },
    /// The same key is stored in two shards of a shard set (found by
    /// [`crate::ShardSet::check_unique_keys`]).
    #[error("key {key} is stored in shard {first} and in shard {second}")]
    DuplicateKeyInShards {
        /// The key.
        key: u64,
        /// The first shard holding it.
        first: String,
        /// Another shard holding it.
        second: String,
    },
}

/// `x` in plain notation below 10^7, in scientific notation above.
fn short(x: f32) -> String {
    if x.abs() < 1e7 {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Shorthand for `Result<T, vecmatch::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerned.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: Some(path.into()),
            source,
        }
    }

    /// Shorthand for [`Error::Corrupt`].
    pub(crate) fn corrupt(msg: impl Into<String>) -> Self {
        Error::Corrupt(msg.into())
    }
}
