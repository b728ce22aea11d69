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
