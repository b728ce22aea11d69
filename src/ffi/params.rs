//! Parameter structs and enums shared by the C functions, and their conversion to the Rust
//! types.

use std::ffi::c_int;

use super::boundary::Failure;
use super::{args, boundary};
use crate::{ElementType, HnswParams, KeyFilter, Metric, SearchParams};

/// The distance of a gallery (lower is closer): cosine `1 - cos`, dot `1 - dot`, L2 squared
/// Euclidean.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vecmatch_metric {
    /// Cosine distance; vectors are normalised when added.
    VECMATCH_METRIC_COSINE = 0,
    /// `1 - dot product`.
    VECMATCH_METRIC_DOT = 1,
    /// Squared Euclidean distance.
    VECMATCH_METRIC_L2 = 2,
}

/// How a gallery stores its vectors (see `vecmatch_builder_set_storage`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vecmatch_element_type {
    /// 4-byte floats (the default).
    VECMATCH_ELEMENT_F32 = 0,
    /// IEEE-754 half precision: half the bytes.
    VECMATCH_ELEMENT_F16 = 1,
    /// 8-bit codes with one scale per row: a quarter of the bytes.
    VECMATCH_ELEMENT_I8 = 2,
    /// 4-bit codes with one scale per row: an eighth of the bytes (for graph walks
    /// re-ranked against kept f32 rows).
    VECMATCH_ELEMENT_I4 = 3,
}

/// An element type as C passes it: any `int`, checked. The header spells it
/// `vecmatch_element_type`.
pub type ElementTypeArg = c_int;

impl vecmatch_element_type {
    pub(crate) fn from_arg(raw: ElementTypeArg) -> Result<ElementType, Failure> {
        match raw {
            0 => Ok(ElementType::F32),
            1 => Ok(ElementType::F16),
            2 => Ok(ElementType::I8),
            3 => Ok(ElementType::I4),
            other => Err(Failure::invalid(format!(
                "unknown element type {other} (expected VECMATCH_ELEMENT_F32, _F16, _I8 or _I4)"
            ))),
        }
    }

    pub(crate) fn from_element_type(e: ElementType) -> Self {
        match e {
            ElementType::F16 => vecmatch_element_type::VECMATCH_ELEMENT_F16,
            ElementType::I8 => vecmatch_element_type::VECMATCH_ELEMENT_I8,
            ElementType::I4 => vecmatch_element_type::VECMATCH_ELEMENT_I4,
            _ => vecmatch_element_type::VECMATCH_ELEMENT_F32,
        }
    }
}

/// A metric as C passes it: any `int` (checked, never trusted as an enum). The header
/// spells it `vecmatch_metric`.
pub type MetricArg = c_int;

impl vecmatch_metric {
    pub(crate) fn from_arg(raw: MetricArg) -> Result<Metric, Failure> {
        match raw {
            0 => Ok(Metric::Cosine),
            1 => Ok(Metric::Dot),
            2 => Ok(Metric::L2),
            other => Err(Failure::invalid(format!(
                "unknown metric {other} (expected VECMATCH_METRIC_COSINE, _DOT or _L2)"
            ))),
        }
    }

    pub(crate) fn from_metric(m: Metric) -> Self {
        match m {
            Metric::Cosine => vecmatch_metric::VECMATCH_METRIC_COSINE,
            Metric::Dot => vecmatch_metric::VECMATCH_METRIC_DOT,
            Metric::L2 => vecmatch_metric::VECMATCH_METRIC_L2,
        }
    }
}

/// Search parameters. Start from `vecmatch_search_params_default()`; a zero-initialised
/// struct (`= {0}`) means the same defaults.
///
/// The layout is part of the ABI: a new field comes with a new `VECMATCH_ABI_VERSION`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vecmatch_search_params {
    /// Hits wanted per query; 0 = as many as the output buffer holds (single search) or
    /// `capacity / n_queries` (batch search).
    pub k: usize,
    /// HNSW beam width (ignored for exact search); 0 = the default, 64. Raised to `k` if
    /// smaller.
    pub ef: usize,
    /// Scan every row exactly even when the gallery has an HNSW graph.
    pub exact: bool,
    /// Whether `max_distance` applies.
    pub use_max_distance: bool,
    /// Only hits with distance ≤ this (when `use_max_distance`); must not be NaN.
    pub max_distance: f32,
    /// Only these keys may be returned (NULL = no allow list). `allow_len` keys.
    pub allow_keys: *const u64,
    /// Number of keys in `allow_keys`.
    pub allow_len: usize,
    /// These keys are never returned (NULL = no deny list). `deny_len` keys. At most one of
    /// `allow_keys` and `deny_keys` may be set.
    pub deny_keys: *const u64,
    /// Number of keys in `deny_keys`.
    pub deny_len: usize,
    /// Threads for one search; 0 = all cores. Values above 4 × the available parallelism
    /// (e.g. an uninitialised field) run with that many threads.
    pub threads: usize,
    /// For compact galleries that keep their `f32` rows: the best `k × rerank_factor`
    /// candidates are re-ranked with exact distances; 0 = the default, 4 (Rust
    /// `SearchParams::rerank_factor`).
    pub rerank_factor: usize,
    /// Turns re-ranking off: hits and distances are those of the compact rows (Rust
    /// `rerank_factor: 0`).
    pub no_rerank: bool,
}

impl Default for vecmatch_search_params {
    fn default() -> Self {
        vecmatch_search_params {
            k: 0,
            ef: 0,
            exact: false,
            use_max_distance: false,
            max_distance: f32::INFINITY,
            allow_keys: std::ptr::null(),
            allow_len: 0,
            deny_keys: std::ptr::null(),
            deny_len: 0,
            threads: 0,
            rerank_factor: 0,
            no_rerank: false,
        }
    }
}

impl vecmatch_search_params {
    /// The Rust parameters, with `k` resolved to `default_k` when 0.
    ///
    /// # Safety
    /// `allow_keys` / `deny_keys`, when not NULL, must point to `allow_len` / `deny_len`
    /// keys valid for `'a`.
    pub(crate) unsafe fn as_rust<'a>(&self, default_k: usize) -> Result<SearchParams<'a>, Failure> {
        // SAFETY: the caller's contract on the key lists.
        let allow = unsafe { args::slice(self.allow_keys, self.allow_len, "allow_keys") }?;
        // SAFETY: as above.
        let deny = unsafe { args::slice(self.deny_keys, self.deny_len, "deny_keys") }?;
        let filter = match (self.allow_keys.is_null(), self.deny_keys.is_null()) {
            (true, true) => None,
            (false, true) => Some(KeyFilter::Allow(allow)),
            (true, false) => Some(KeyFilter::Deny(deny)),
            (false, false) => {
                return Err(Failure::invalid(
                    "allow_keys and deny_keys are both set; give at most one",
                ));
            }
        };
        if self.use_max_distance && self.max_distance.is_nan() {
            return Err(Failure::invalid("max_distance is NaN"));
        }
        let k = if self.k == 0 { default_k } else { self.k };
        if k == 0 {
            return Err(Failure::invalid("k is 0 and the output capacity is 0"));
        }
        let defaults = SearchParams::default();
        Ok(SearchParams {
            k,
            ef: if self.ef == 0 { defaults.ef } else { self.ef },
            max_distance: self.use_max_distance.then_some(self.max_distance),
            filter,
            exact: self.exact,
            threads: (self.threads != 0).then_some(self.threads),
            rerank_factor: match (self.no_rerank, self.rerank_factor) {
                (true, _) => 0,
                (false, 0) => defaults.rerank_factor,
                (false, r) => r,
            },
        })
    }
}

/// HNSW build parameters. Start from `vecmatch_hnsw_params_default()`; zero fields mean
/// the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vecmatch_hnsw_params {
    /// Neighbours per node on upper layers (layer 0 keeps `2 m`); 2..=128, 0 = 16.
    pub m: usize,
    /// Beam width while building; 0 = 200.
    pub ef_construction: usize,
    /// Seed for the level assignment; 0 = the default seed.
    pub seed: u64,
}

impl vecmatch_hnsw_params {
    #[allow(clippy::needless_update)]
    pub(crate) fn to_rust(self) -> HnswParams {
        let d = HnswParams::default();
        HnswParams {
            m: if self.m == 0 { d.m } else { self.m },
            ef_construction: if self.ef_construction == 0 {
                d.ef_construction
            } else {
                self.ef_construction
            },
            seed: if self.seed == 0 { d.seed } else { self.seed },
            // Fields the C struct does not have (yet) keep their defaults.
            ..d
        }
    }
}

/// Default search parameters: `k` = the output capacity, `ef` 64, approximate when the
/// gallery has a graph, no distance limit, no key filter, all cores.
///
/// # Safety
/// None. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_search_params_default() -> vecmatch_search_params {
    boundary::value(vecmatch_search_params::default(), Default::default)
}

/// Default HNSW build parameters: `m` 16, `ef_construction` 200, the default seed.
///
/// # Safety
/// None. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_hnsw_params_default() -> vecmatch_hnsw_params {
    let zero = vecmatch_hnsw_params {
        m: 0,
        ef_construction: 0,
        seed: 0,
    };
    boundary::value(zero, || {
        let d = HnswParams::default();
        vecmatch_hnsw_params {
            m: d.m,
            ef_construction: d.ef_construction,
            seed: d.seed,
        }
    })
}
