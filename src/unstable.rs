//! **Unstable: not covered by semver.** Kernel-level access for the repository's own
//! benchmarks, per-backend tests and measuring examples, and for the `vecmatch` CLI's
//! `VECMATCH_BACKEND` check. Anything here may change or disappear in any release;
//! applications use the crate root ([`crate::Gallery`], [`crate::SearchParams`], …).
//!
//! - [`Backend`] / [`BackendKind`]: which kernel implementation runs. A [`Backend`] is a
//!   token that proves the running CPU supports its instruction sets: it comes only from
//!   runtime detection ([`Backend::detect`], [`Backend::available`], [`Backend::active`])
//!   or from `unsafe` [`Backend::new_unchecked`], so the safe `*_with` kernels below never
//!   execute an instruction the CPU lacks. Safe code cannot make one from a kind:
//!
//! ```compile_fail,E0423
//! // The field is private (tuple-struct constructor not visible).
//! let b = vecmatch::unstable::Backend(vecmatch::unstable::BackendKind::Avx512);
//! ```
//!
//! ```compile_fail,E0133
//! // The only constructor without detection is `unsafe`.
//! let b = vecmatch::unstable::Backend::new_unchecked(vecmatch::unstable::BackendKind::Avx512);
//! ```
//!
//! ```
//! use vecmatch::unstable::{Backend, BackendKind, distance_with};
//! use vecmatch::Metric;
//! // What safe code can do: detect (None where the CPU lacks the set), then call.
//! for b in Backend::available() {
//!     let d = distance_with(b, Metric::L2, &[1.0, 2.0], &[1.0, 0.0]);
//!     assert_eq!(d, 4.0);
//! }
//! if let Some(b) = Backend::detect(BackendKind::Avx512) {
//!     assert_eq!(b.kind(), BackendKind::Avx512);
//! }
//! // With the caller's promise, made by detection here:
//! if BackendKind::Avx2Fma.is_supported() {
//!     // SAFETY: the CPU supports AVX2 + FMA + F16C (checked on the line above).
//!     let b = unsafe { Backend::new_unchecked(BackendKind::Avx2Fma) };
//!     assert_eq!(b.kind(), BackendKind::Avx2Fma);
//! }
//! ```
//!
//! - The kernels per backend (`distance_with`, `scan_with`, `cross_with`, …), the scalar
//!   reference kernels ([`scalar`]) and `distance_simsimd` (feature `simsimd`): for
//!   `benches/metric.rs`, `benches/element_types.rs` and `benches/numkong`.
//! - [`value_limit`]: the largest component magnitude a gallery accepts (for the
//!   overflow tests).
//! - [`search_graph_only`]: a graph search without the exact fallback for selective
//!   filters, to measure that cut-over (`examples/filter_cutover.rs`).

pub use crate::gallery::search_graph_only;
#[cfg(feature = "simsimd")]
pub use crate::metric::distance_simsimd;
pub use crate::metric::{
    BACKEND_ENV, Backend, BackendKind, check_backend, cross_i4_with, cross_i8_with, cross_with,
    distance_f16_with, distance_i8_with, distance_with, dot_i4_with, dot_i8i8_with, scalar,
    scan_with, value_limit,
};
