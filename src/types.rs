//! Small public value types shared by every module: metrics, element types, hits and
//! search parameters.

use crate::error::{Error, Result};

/// How distance between two vectors is measured. Lower distance is always better.
///
/// One convention everywhere (Rust, C, CLI, files):
/// - [`Metric::Cosine`]: `1 - cos(a, b)`, in `[0, 2]`. Vectors are L2-normalised once at
///   ingest and each query once per call, so the kernel is a dot product.
/// - [`Metric::Dot`]: `1 - dot(a, b)` (USearch's convention; on unit vectors it equals the
///   cosine distance). Vectors are stored as given.
/// - [`Metric::L2`]: squared Euclidean distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Metric {
    /// `1 - cos(a, b)`.
    Cosine = 0,
    /// `1 - dot(a, b)`.
    Dot = 1,
    /// Squared Euclidean distance.
    L2 = 2,
}

impl Metric {
    /// The code stored in a gallery file header.
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    /// Parses a code stored in a file.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for an unknown code.
    pub(crate) fn from_code(code: u32) -> Result<Self> {
        match code {
            0 => Ok(Metric::Cosine),
            1 => Ok(Metric::Dot),
            2 => Ok(Metric::L2),
            other => Err(Error::corrupt(format!("unknown metric code {other}"))),
        }
    }

    /// Lower-case name: `cosine`, `dot` or `l2`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::L2 => "l2",
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = Error;

    /// Accepts `cosine`/`cos`, `dot`/`ip`, `l2`/`euclidean` (case-insensitive).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" | "cos" => Ok(Metric::Cosine),
            "dot" | "ip" | "inner_product" => Ok(Metric::Dot),
            "l2" | "euclidean" | "l2sq" => Ok(Metric::L2),
            other => Err(Error::InvalidArgument(format!(
                "unknown metric {other:?} (expected cosine, dot or l2)"
            ))),
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How each vector component is stored in the `VECTORS` section.
///
/// Queries are always `f32`; only the stored rows change. Fewer bytes per row means fewer
/// bytes read per distance, which is what bounds exact scans and graph walks:
/// - [`ElementType::F32`]: 4 bytes per component, exact.
/// - [`ElementType::F16`]: IEEE-754 half precision, 2 bytes per component (relative error
///   at most 2^-11 per component; rounded to nearest even).
/// - [`ElementType::I8`]: signed 8-bit codes with one `f32` scale per row (stored in the
///   `QUANT` section): component ≈ `scale × code`, `scale = max|x| / 127`, so each
///   component is off by at most `scale / 2`.
///
/// - [`ElementType::I4`]: signed 4-bit codes (`-7..=7`) with one `f32` scale per row,
///   the scale of least squared error between `max|x| / 7` and 0.4 of it (the largest
///   components may clip to ±7 steps), two components per byte, rows padded to a
///   multiple of 64 components (32 bytes): an eighth of `f32`. Meant for graph walks whose candidates
///   are re-ranked against `f32` rows; on its own it is coarse.
///
/// A gallery of a compact type may also keep its `f32` rows (the file's `RESCORE`
/// section; [`crate::GalleryBuilder::keep_f32_rows`]): searches then rank candidates on the
/// compact rows and re-rank the best `k ×` [`SearchParams::rerank_factor`] of them with
/// exact distances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum ElementType {
    /// IEEE-754 single precision, 4 bytes per component.
    F32 = 0,
    /// IEEE-754 half precision, 2 bytes per component.
    F16 = 1,
    /// Signed 8-bit codes with a per-row `f32` scale, 1 byte per component.
    I8 = 2,
    /// Signed 4-bit codes with a per-row `f32` scale, half a byte per component.
    I4 = 3,
}

impl ElementType {
    /// The code stored in a gallery file header.
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    /// Parses a code stored in a file.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for an unknown or unsupported code.
    pub(crate) fn from_code(code: u32) -> Result<Self> {
        match code {
            0 => Ok(ElementType::F32),
            1 => Ok(ElementType::F16),
            2 => Ok(ElementType::I8),
            3 => Ok(ElementType::I4),
            other => Err(Error::corrupt(format!(
                "unknown element type code {other} (this build reads f32, f16, i8 and i4)"
            ))),
        }
    }

    /// Bytes of one stored row of `dims` components (`None` on overflow). `i4` rows are
    /// padded to a multiple of 64 components.
    pub fn row_bytes(self, dims: usize) -> Option<usize> {
        match self {
            ElementType::F32 => dims.checked_mul(4),
            ElementType::F16 => dims.checked_mul(2),
            ElementType::I8 => Some(dims),
            ElementType::I4 => dims.checked_add(63).map(|d| d / 64 * 32),
        }
    }

    /// Lower-case name: `f32`, `f16`, `i8` or `i4`.
    pub fn name(self) -> &'static str {
        match self {
            ElementType::F32 => "f32",
            ElementType::F16 => "f16",
            ElementType::I8 => "i8",
            ElementType::I4 => "i4",
        }
    }
}

impl std::str::FromStr for ElementType {
    type Err = Error;

    /// Accepts `f32`, `f16`, `i8` and `i4` (case-insensitive; also `float32`, `half`,
    /// `int8`, `int4`).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" | "float" => Ok(ElementType::F32),
            "f16" | "float16" | "half" => Ok(ElementType::F16),
            "i8" | "int8" => Ok(ElementType::I8),
            "i4" | "int4" => Ok(ElementType::I4),
            other => Err(Error::InvalidArgument(format!(
                "unknown element type {other:?} (expected f32, f16, i8 or i4)"
            ))),
        }
    }
}

impl std::fmt::Display for ElementType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One search result: the key of a stored vector and its distance to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct Hit {
    /// The user key of the stored vector.
    pub key: u64,
    /// Distance to the query under the gallery's [`Metric`]; lower is better.
    pub distance: f32,
}

impl Hit {
    /// Total order used everywhere: by distance ([`f32::total_cmp`]), then by key ascending.
    #[inline]
    pub fn cmp_rank(&self, other: &Hit) -> std::cmp::Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.key.cmp(&other.key))
    }
}

/// Restricts which keys a search may return: the key list carried by
/// [`SearchParams::filter`] (and by C's `vecmatch_search_params`, Python's `allow=` /
/// `deny=`).
///
/// It is the key-list part of [`crate::Filter`], kept as a plain value so that
/// `SearchParams` stays `Copy` and maps one to one to the C struct. For labels, a key
/// predicate, or an allow and a deny list together, pass a [`crate::Filter`] to the
/// `search_filtered` methods (a `KeyFilter` converts into one with `Filter::from`); both
/// given means both apply (AND).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFilter<'a> {
    /// Only these keys may be returned (unknown keys are ignored).
    Allow(&'a [u64]),
    /// These keys are never returned (unknown keys are ignored).
    Deny(&'a [u64]),
}

/// Default [`SearchParams::rerank_factor`].
pub const DEFAULT_RERANK_FACTOR: usize = 4;

/// Parameters of one search call.
///
/// `SearchParams::default()` asks for the 10 nearest neighbours with no threshold and no
/// filter, on all threads of the global rayon pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchParams<'a> {
    /// Maximum number of hits per query. With [`SearchParams::max_distance`] set, use
    /// `usize::MAX` for "every hit within the distance".
    pub k: usize,
    /// HNSW beam width (ignored by exact search). Values below `k` are raised to `k`.
    pub ef: usize,
    /// Only hits with `distance <= max_distance` are returned (range / threshold search).
    pub max_distance: Option<f32>,
    /// Optional key allow-list or deny-list.
    pub filter: Option<KeyFilter<'a>>,
    /// Scan every row (brute force) even when the gallery has an HNSW graph. "Exact" in
    /// vecmatch's names always means this search, never the stored `f32` rows (those are
    /// "f32 rows": [`crate::GalleryBuilder::keep_f32_rows`]).
    pub exact: bool,
    /// Number of threads: `None` uses rayon's global pool, `Some(1)` runs on the calling
    /// thread only. Counts above [`crate::thread_limit`] (4 × the available parallelism)
    /// run with that many threads.
    pub threads: Option<usize>,
    /// Re-rank factor for galleries that keep `f32` rows beside compact ones (see
    /// [`ElementType`]): exact search re-ranks the best `k × rerank_factor` rows found on
    /// the compact rows, graph search the best `k × rerank_factor` of the `ef` rows of its
    /// beam (all of them when `ef` is smaller), with exact `f32` distances;
    /// the returned distances are then exact. `0` turns re-ranking off (distances are then
    /// those of the compact rows). Ignored for `f32` galleries and galleries without
    /// `f32` rows. With `max_distance`, exact search scans the `f32` rows directly.
    /// Default 4.
    pub rerank_factor: usize,
}

impl Default for SearchParams<'_> {
    fn default() -> Self {
        SearchParams {
            k: 10,
            ef: 64,
            max_distance: None,
            filter: None,
            exact: false,
            threads: None,
            rerank_factor: DEFAULT_RERANK_FACTOR,
        }
    }
}

impl<'a> SearchParams<'a> {
    /// Default parameters with the given `k`.
    pub fn k(k: usize) -> Self {
        SearchParams {
            k,
            ..Default::default()
        }
    }

    /// Checks the parameters themselves (not the query).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `k == 0`, `threads == Some(0)` or a NaN
    /// `max_distance`.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::InvalidArgument("k must be at least 1".into()));
        }
        if self.threads == Some(0) {
            return Err(Error::InvalidArgument("threads must be at least 1".into()));
        }
        if let Some(d) = self.max_distance
            && d.is_nan()
        {
            return Err(Error::InvalidArgument("max_distance is NaN".into()));
        }
        Ok(())
    }
}
