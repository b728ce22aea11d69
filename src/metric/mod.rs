//! Distance kernels behind one safe facade.
//!
//! The backend is chosen once per process (first use) from runtime CPU detection and
//! reported by [`hardware_acceleration`]. Kernels compute raw dot products or squared
//! Euclidean distances; a [`Metric`]'s description as data (`spec.rs`: which raw kernel,
//! how its value becomes a distance, e.g. `1 - dot` for cosine and dot) picks the kernel
//! and finishes its value. The scalar kernels in [`scalar`] are the reference the SIMD
//! ones are tested against (`tests` below, with proptest).

use crate::types::Metric;
use kernel::{RawKernel, by_kernel};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod backend;
mod cache;
mod kernel;
#[cfg(target_arch = "aarch64")]
mod neon;
mod normalize;
mod pages;
pub mod scalar;
#[cfg(feature = "simsimd")]
mod simsimd_backend;
pub(crate) mod spec;

pub use backend::{BACKEND_ENV, Backend, BackendKind, check_backend};
pub(crate) use cache::{beyond_cache, last_level_cache_bytes};
pub use normalize::{check_input, normalize_in_place, prepare_query, value_limit, within};
pub(crate) use pages::huge_page_vec;
pub(crate) use spec::{Kernel, MetricSpec};

/// Names the kernel backend this process uses for distances: `"avx512+vnni"`,
/// `"avx512"`, `"avx2+fma"`, `"neon"` or `"scalar"`. It is the best one the CPU runs,
/// unless the `VECMATCH_BACKEND` environment variable chose another (validated against
/// the CPU; see [`check_backend`]). Chosen once per process.
pub fn hardware_acceleration() -> &'static str {
    Backend::active().name()
}

/// Hints the CPU to start loading all of the f32 row `row` into the L2 cache (graph search,
/// re-ranking and the builder call it for the rows whose distances come next). A no-op
/// off x86-64.
///
/// Why L2 (`prefetcht1`) and not L1 (`prefetcht0`): a 384-d f32 row is 24 cache lines,
/// and a whole row or two requested into L1 fill the core's L1 miss buffers, which stalls
/// the prefetches themselves and the kernel's own loads. Into L2 the requests queue in
/// the far larger L2 miss buffers, so rows can be requested further ahead and more of
/// them are in flight at once; the kernel's loads then hit L2. On dev50k (AMD EPYC Zen 4,
/// 1 thread, rows 77 MB > the 32 MiB L3) graph search went 1.55-1.7× faster with rows
/// prefetched into L2 six distances ahead than into L1 two ahead (the best L1 setting).
#[inline(always)]
pub fn prefetch(row: &[f32]) {
    prefetch_lines_l2(row, usize::MAX)
}

/// As [`prefetch_lines`], into the L2 cache (`prefetcht1`; see [`prefetch`] for why).
#[inline(always)]
pub fn prefetch_lines_l2<T>(data: &[T], lines: usize) {
    prefetch_hint::<HINT_L2, T>(data, lines)
}

/// Hints the CPU to start loading the first `lines` 64-byte cache lines of the memory of
/// `data` (all of it if it is shorter). A no-op off x86-64.
#[inline(always)]
pub fn prefetch_lines<T>(data: &[T], lines: usize) {
    prefetch_hint::<HINT_L1, T>(data, lines)
}

/// `_MM_HINT_T0` (into L1 and every level below) and `_MM_HINT_T1` (into L2), as plain
/// values so that the generic below also compiles off x86-64.
const HINT_L1: i32 = 3;
const HINT_L2: i32 = 2;
#[cfg(target_arch = "x86_64")]
const _: () =
    assert!(HINT_L1 == std::arch::x86_64::_MM_HINT_T0 && HINT_L2 == std::arch::x86_64::_MM_HINT_T1);

/// [`prefetch_lines`] with the cache level as the `_mm_prefetch` hint `HINT`.
#[inline(always)]
fn prefetch_hint<const HINT: i32, T>(data: &[T], lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::_mm_prefetch;
        let base = data.as_ptr().cast::<i8>();
        for off in (0..std::mem::size_of_val(data)).step_by(64).take(lines) {
            // `off` is inside the byte span of the live slice `data`, so the pointer stays in
            // its allocation; prefetch never faults and has no architectural effect (SSE is
            // part of the x86-64 baseline).
            // SAFETY: in-bounds pointer into a live slice (above).
            unsafe { _mm_prefetch::<HINT>(base.add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, lines);
}

// Dispatch. Every `unsafe` kernel call below is reached only through a `Backend` whose kind
// names the kernel's instruction sets. Such a value exists only after runtime detection of
// those sets (`Backend::detect`, `available`, `active`) or through `Backend::new_unchecked`,
// whose caller promised them (`backend.rs`): the field is private.

// Metrics. Each entry point reads its metric as data (`MetricSpec`, `spec.rs`): it matches
// the metric's raw kernel once (`by_kernel!`) into a function generic over the kernel type
// (`kernel.rs`), which dispatches on the backend, and finishes the raw value with
// `MetricSpec::finish`.

/// Distance between `a` and `b` (over their common length) under `metric`, with the
/// process's backend. Vectors must already be normalised for [`Metric::Cosine`].
///
/// Cost: one pass over `min(a.len(), b.len())` components.
#[inline(always)]
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    distance_with(Backend::active(), metric, a, b)
}

/// Runs `f` compiled for the active backend's instruction set. A loop that computes a
/// distance per step (a graph walk) and is inlined into `f` — its closures marked
/// `#[inline(always)]`, so they are compiled here too — then has the backend's kernel
/// inlined at each step instead of a call through the dispatch: on dev50k (EPYC Zen 4,
/// `avx512+vnni`, interleaved) i4 walks ran 1-7%, f32 walks 4-12% and i8 walks 0-4%
/// faster, and 2-thread builds ~4%; the `avx2` backend's walks the same as before.
#[inline(always)]
pub(crate) fn in_backend<R>(f: impl FnOnce() -> R) -> R {
    match Backend::active().kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the kind proves AVX-512 VNNI with F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512Vnni => unsafe { avx512::in_vnni(f) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the kind proves AVX-512 F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512 => unsafe { avx512::in_avx512(f) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the kind proves AVX2, FMA and F16C (Dispatch).
        BackendKind::Avx2Fma => unsafe { avx2::in_avx2(f) },
        _ => f(),
    }
}

/// [`distance`] on an explicit backend.
#[doc(hidden)]
#[inline(always)]
pub fn distance_with(backend: Backend, metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    let spec = MetricSpec::of(metric);
    spec.finish(by_kernel!(spec.kernel, pair(backend, a, b)))
}

/// The raw kernel `K` of `a` and `b` on `backend`.
#[inline(always)]
fn pair<K: RawKernel>(backend: Backend, a: &[f32], b: &[f32]) -> f32 {
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX-512 F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512 | BackendKind::Avx512Vnni => unsafe { avx512::pair::<K::Avx512>(a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX2, FMA and F16C (Dispatch, above).
        BackendKind::Avx2Fma => unsafe { avx2::pair::<K::Avx2>(a, b) },
        #[cfg(target_arch = "aarch64")]
        BackendKind::Neon => K::neon(a, b),
        _ => K::scalar(a, b),
    }
}

/// Distance from `q` to a half-precision row (`x` as IEEE-754 binary16 bits), as
/// [`distance`] on the decoded row.
#[inline]
pub fn distance_f16(metric: Metric, q: &[f32], x: &[u16]) -> f32 {
    distance_f16_with(Backend::active(), metric, q, x)
}

/// [`distance_f16`] on an explicit backend.
#[doc(hidden)]
#[inline]
pub fn distance_f16_with(backend: Backend, metric: Metric, q: &[f32], x: &[u16]) -> f32 {
    let spec = MetricSpec::of(metric);
    spec.finish(by_kernel!(spec.kernel, pair_f16(backend, q, x)))
}

/// The raw kernel `K` of `q` and the half-precision row `x` on `backend`.
#[inline(always)]
fn pair_f16<K: RawKernel>(backend: Backend, q: &[f32], x: &[u16]) -> f32 {
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX-512 F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512 | BackendKind::Avx512Vnni => unsafe {
            avx512::pair_row::<K::Avx512, _>(q, &avx512::F16Row(x))
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX2, FMA and F16C (Dispatch, above).
        BackendKind::Avx2Fma => unsafe { avx2::pair_row::<K::Avx2, _>(q, &avx2::F16Row(x)) },
        _ => K::scalar_f16(q, x),
    }
}

/// Distance from `q` to the row `scale × codes`, as [`distance`] on the decoded row.
#[inline]
pub fn distance_i8(metric: Metric, q: &[f32], codes: &[i8], scale: f32) -> f32 {
    distance_i8_with(Backend::active(), metric, q, codes, scale)
}

/// [`distance_i8`] on an explicit backend.
#[doc(hidden)]
#[inline]
pub fn distance_i8_with(
    backend: Backend,
    metric: Metric,
    q: &[f32],
    codes: &[i8],
    scale: f32,
) -> f32 {
    let spec = MetricSpec::of(metric);
    spec.finish(by_kernel!(spec.kernel, pair_i8(backend, q, codes, scale)))
}

/// The raw kernel `K` of `q` and the row `scale × codes` on `backend`. A linear kernel
/// (the dot product) gets the scale once, on the sum, rather than on every lane.
#[inline(always)]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn pair_i8<K: RawKernel>(backend: Backend, q: &[f32], codes: &[i8], scale: f32) -> f32 {
    let (lanes, sum) = if K::LINEAR {
        (1.0, scale)
    } else {
        (scale, 1.0)
    };
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX-512 F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512 | BackendKind::Avx512Vnni => unsafe {
            let r = avx512::I8Row {
                codes,
                scale: lanes,
            };
            avx512::pair_row::<K::Avx512, _>(q, &r) * sum
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX2, FMA and F16C (Dispatch, above).
        BackendKind::Avx2Fma => unsafe {
            let r = avx2::I8Row {
                codes,
                scale: lanes,
            };
            avx2::pair_row::<K::Avx2, _>(q, &r) * sum
        },
        _ => K::scalar_i8(q, codes, scale),
    }
}

/// Dot product of two `i8` code vectors (codes in `-127..=127`), exact: the graph walk
/// over `i8` rows with a quantised query.
#[inline(always)]
pub fn dot_i8i8(a: &[i8], b: &[i8]) -> i32 {
    dot_i8i8_with(Backend::active(), a, b)
}

/// [`dot_i8i8`] on an explicit backend.
#[doc(hidden)]
#[inline(always)]
pub fn dot_i8i8_with(backend: Backend, a: &[i8], b: &[i8]) -> i32 {
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the kind proves AVX-512 VNNI with F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512Vnni => unsafe { avx512::dot_i8i8_vnni(a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX-512 F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512 => unsafe { avx512::dot_i8i8(a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX2 (Dispatch, above).
        BackendKind::Avx2Fma => unsafe { avx2::dot_i8i8(a, b) },
        _ => scalar::dot_i8i8(a, b),
    }
}

/// An `i8` code vector prepared as the first operand of many [`dot_i8i8`]s (the row the
/// HNSW builder is inserting): with `128 · Σ codes` known, each product on
/// `avx512+vnni` is one `vpdpbusd` per 64 bytes instead of two (the other backends use
/// [`dot_i8i8`] as it is).
#[derive(Clone, Copy, Debug)]
pub struct I8Operand<'a> {
    codes: &'a [i8],
    /// `128 · Σ codes` (wrapping).
    bias: i32,
}

impl<'a> I8Operand<'a> {
    /// Prepares `codes` (in `-127..=127`).
    #[inline]
    pub fn new(codes: &'a [i8]) -> Self {
        let sum = codes
            .iter()
            .fold(0i32, |s, &c| s.wrapping_add(i32::from(c)));
        I8Operand {
            codes,
            bias: sum.wrapping_mul(128),
        }
    }

    /// What [`I8Operand::new`] computes for these codes, to keep beside them.
    #[inline]
    pub fn bias(&self) -> i32 {
        self.bias
    }

    /// `codes` with the [`I8Operand::bias`] of an earlier [`I8Operand::new`] of the same
    /// codes (a wrong bias gives wrong products on `avx512+vnni`).
    #[inline]
    pub fn with_bias(codes: &'a [i8], bias: i32) -> Self {
        debug_assert_eq!(I8Operand::new(codes).bias, bias);
        I8Operand { codes, bias }
    }
}

/// [`dot_i8i8`]`(a, b)` of a prepared `a`, bit for bit.
#[inline(always)]
pub fn dot_i8i8_prepared(a: I8Operand<'_>, b: &[i8]) -> i32 {
    dot_i8i8_prepared_with(Backend::active(), a, b)
}

/// [`dot_i8i8_prepared`] on an explicit backend.
#[doc(hidden)]
#[inline(always)]
pub fn dot_i8i8_prepared_with(backend: Backend, a: I8Operand<'_>, b: &[i8]) -> i32 {
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        // The kernel reads `a.codes.len() <= b.len()` bytes of each (the guard checks it).
        // SAFETY: the kind proves AVX-512 VNNI with F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512Vnni if b.len() >= a.codes.len() => unsafe {
            avx512::dot_i8i8_vnni_offset(a.codes, b).wrapping_sub(a.bias)
        },
        _ => dot_i8i8_with(backend, a.codes, b),
    }
}

/// Dot product of `i8` query codes with a packed `i4` row: each 32-byte block of
/// `codes` holds 64 components, component `j < 32` in the low nibble of byte `j` and
/// component `32 + j` in the high nibble, stored as `code + 8` (`code` in `-7..=7`); `q`
/// has two codes per byte of `codes`, in natural order. Exact, over whole blocks.
#[inline(always)]
pub fn dot_i4(q: &[i8], codes: &[u8]) -> i32 {
    dot_i4_with(Backend::active(), q, codes)
}

/// [`dot_i4`] on an explicit backend.
#[doc(hidden)]
#[inline(always)]
pub fn dot_i4_with(backend: Backend, q: &[i8], codes: &[u8]) -> i32 {
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the kind proves AVX-512 VNNI with F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512Vnni => unsafe { avx512::dot_i4_vnni(q, codes) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX-512 F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
        BackendKind::Avx512 => unsafe { avx512::dot_i4(q, codes) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the backend's kind proves AVX2 (Dispatch, above).
        BackendKind::Avx2Fma => unsafe { avx2::dot_i4(q, codes) },
        _ => scalar::dot_i4(q, codes),
    }
}

/// simsimd's kernel for the same distance (for benchmarks against our own kernels).
#[cfg(feature = "simsimd")]
#[doc(hidden)]
pub fn distance_simsimd(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    fn raw<K: RawKernel>(a: &[f32], b: &[f32]) -> f32 {
        K::simsimd(a, b)
    }
    let spec = MetricSpec::of(metric);
    spec.finish(by_kernel!(spec.kernel, raw(a, b)))
}

/// Distances from `query` (length `d`) to each of the rows of `rows` (row-major, `d`
/// per row), written to `out[i]`. Processes `min(out.len(), rows.len() / d)` rows.
pub(crate) fn scan(metric: Metric, query: &[f32], rows: &[f32], d: usize, out: &mut [f32]) {
    scan_with(Backend::active(), metric, query, rows, d, out)
}

/// [`scan`] on an explicit backend.
#[doc(hidden)]
pub fn scan_with(
    backend: Backend,
    metric: Metric,
    query: &[f32],
    rows: &[f32],
    d: usize,
    out: &mut [f32],
) {
    if d == 0 || query.len() < d {
        return;
    }
    let query = &query[..d];
    let n = out.len().min(rows.len() / d);
    for (o, row) in out[..n].iter_mut().zip(rows.chunks_exact(d)) {
        *o = distance_with(backend, metric, query, row);
    }
}

/// Distances between every query (`queries`, row-major, `d` each) and every row (`rows`,
/// row-major), written row-major into `out[qi * nr + ri]` where `nr = rows.len() / d`.
/// `out` must hold `nq * nr` values; extra queries or rows beyond it are ignored.
pub(crate) fn cross(metric: Metric, queries: &[f32], rows: &[f32], d: usize, out: &mut [f32]) {
    cross_with(Backend::active(), metric, queries, rows, d, out)
}

/// [`cross`] on an explicit backend.
#[doc(hidden)]
pub fn cross_with(
    backend: Backend,
    metric: Metric,
    queries: &[f32],
    rows: &[f32],
    d: usize,
    out: &mut [f32],
) {
    if d == 0 {
        return;
    }
    let nr = rows.len() / d;
    if nr == 0 {
        return;
    }
    let nq = (queries.len() / d).min(out.len() / nr);
    let spec = MetricSpec::of(metric);
    by_kernel!(
        spec.kernel,
        cross_k(backend, metric, queries, rows, d, nq, out)
    )
}

/// [`cross_with`] for the raw kernel `K` of `metric`, `nq` queries.
#[inline(always)]
fn cross_k<K: RawKernel>(
    backend: Backend,
    metric: Metric,
    queries: &[f32],
    rows: &[f32],
    d: usize,
    nq: usize,
    out: &mut [f32],
) {
    let nr = rows.len() / d;
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        BackendKind::Avx512 | BackendKind::Avx512Vnni => {
            let tile = |qs: [&[f32]; avx512::QT], rs: [&[f32]; avx512::RT]| {
                // The backend's kind proves AVX-512 F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
                // SAFETY: CPU features as above; `cross_tiled` passes `d`-element slices.
                unsafe { avx512::tile::<K::Avx512>(qs, rs, d) }
            };
            let spec = MetricSpec::of(metric);
            let fin = |v| spec.finish(v);
            cross_tiled::<_, _, _, _, { avx512::QT }, { avx512::RT }>(
                (queries, d),
                (rows, d),
                nq,
                out,
                tile,
                fin,
            )
        }
        #[cfg(target_arch = "x86_64")]
        BackendKind::Avx2Fma => {
            let tile = |qs: [&[f32]; avx2::QT], rs: [&[f32]; avx2::RT]| {
                // The backend's kind proves AVX2, FMA and F16C (Dispatch).
                // SAFETY: CPU features as above; `cross_tiled` passes `d`-element slices.
                unsafe { avx2::tile::<K::Avx2>(qs, rs, d) }
            };
            let spec = MetricSpec::of(metric);
            let fin = |v| spec.finish(v);
            cross_tiled::<_, _, _, _, { avx2::QT }, { avx2::RT }>(
                (queries, d),
                (rows, d),
                nq,
                out,
                tile,
                fin,
            )
        }
        _ => {
            for (a, q) in queries.chunks_exact(d).take(nq).enumerate() {
                scan_with(backend, metric, q, rows, d, &mut out[a * nr..(a + 1) * nr]);
            }
        }
    }
}

/// Whether the process's backend has integer batch tiles ([`cross_i8`], [`cross_i4`]):
/// elsewhere they fall back to the pair kernels, which are no faster than decoding the rows
/// and running the f32 tile, so callers keep that path there.
pub(crate) fn has_integer_tiles() -> bool {
    Backend::active().kind() == BackendKind::Avx512Vnni
}

/// Exact dot products of `i8` code vectors: every query (`queries`, row-major, `d` codes
/// each) with every row (`rows`, row-major), written row-major into `out[qi * nr + ri]`
/// where `nr = rows.len() / d`. Codes in `-127..=127` (as [`dot_i8i8`]); extra queries
/// beyond `out.len() / nr` are ignored. Each value equals [`dot_i8i8`] of the pair.
pub(crate) fn cross_i8(queries: &[i8], rows: &[i8], d: usize, out: &mut [i32]) {
    cross_i8_with(Backend::active(), queries, rows, d, out)
}

/// [`cross_i8`] on an explicit backend: a register tile of `vpdpbusd` on `avx512+vnni`
/// (each loaded row chunk serves six queries), the pair kernel elsewhere.
#[doc(hidden)]
pub fn cross_i8_with(backend: Backend, queries: &[i8], rows: &[i8], d: usize, out: &mut [i32]) {
    if d == 0 {
        return;
    }
    let nr = rows.len() / d;
    if nr == 0 {
        return;
    }
    let nq = (queries.len() / d).min(out.len() / nr);
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        BackendKind::Avx512Vnni => {
            let tile = |qs: [&[i8]; avx512::QT], rs: [&[i8]; avx512::RT]| {
                // The kind proves AVX-512 VNNI with F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch).
                // SAFETY: CPU features as above; `cross_tiled` passes `d`-element slices.
                unsafe { avx512::tile_i8_vnni(qs, rs, d) }
            };
            cross_tiled::<_, _, _, _, { avx512::QT }, { avx512::RT }>(
                (queries, d),
                (rows, d),
                nq,
                out,
                tile,
                |v| v,
            );
            // The tile returns Σ (r + 128)·q: remove 128·Σ q per query.
            for (q, o) in queries
                .chunks_exact(d)
                .zip(out.chunks_exact_mut(nr))
                .take(nq)
            {
                let bias = q
                    .iter()
                    .map(|&c| i32::from(c))
                    .sum::<i32>()
                    .wrapping_mul(128);
                for v in o {
                    *v = v.wrapping_sub(bias);
                }
            }
        }
        _ => {
            for (q, o) in queries
                .chunks_exact(d)
                .zip(out.chunks_exact_mut(nr))
                .take(nq)
            {
                for (v, r) in o.iter_mut().zip(rows.chunks_exact(d)) {
                    *v = dot_i8i8_with(backend, q, r);
                }
            }
        }
    }
}

/// Exact dot products of `i8` query codes with packed `i4` rows (layout of [`dot_i4`]):
/// every query (`queries`, `2 · stride` codes each, padded with zeros like the rows) with
/// every row (`rows`, `stride` bytes each, a multiple of 32), written row-major into
/// `out[qi * nr + ri]`. Each value equals [`dot_i4`] of the pair.
pub(crate) fn cross_i4(queries: &[i8], rows: &[u8], stride: usize, out: &mut [i32]) {
    cross_i4_with(Backend::active(), queries, rows, stride, out)
}

/// [`cross_i4`] on an explicit backend: a register tile of `vpdpbusd` on `avx512+vnni`
/// (the nibbles of a 32-byte block, unpacked once, are the 64 unsigned bytes of the
/// block's components in order, shared by six queries), the pair kernel elsewhere.
#[doc(hidden)]
pub fn cross_i4_with(
    backend: Backend,
    queries: &[i8],
    rows: &[u8],
    stride: usize,
    out: &mut [i32],
) {
    let dq = 2 * stride;
    if stride == 0 {
        return;
    }
    let nr = rows.len() / stride;
    if nr == 0 {
        return;
    }
    let nq = (queries.len() / dq).min(out.len() / nr);
    match backend.kind() {
        #[cfg(target_arch = "x86_64")]
        BackendKind::Avx512Vnni => {
            let blocks = stride / 32;
            let tile = |qs: [&[i8]; avx512::QT], rs: [&[u8]; avx512::RT]| {
                // The kind proves AVX-512 VNNI with F/BW/VL/DQ, AVX2, FMA, F16C (Dispatch);
                // `cross_tiled` passes queries of `2 · stride` codes, rows of `stride` bytes.
                // SAFETY: CPU features as above; `blocks` whole blocks are in bounds of each.
                unsafe { avx512::tile_i4_vnni(qs, rs, blocks) }
            };
            cross_tiled::<_, _, _, _, { avx512::QT }, { avx512::RT }>(
                (queries, dq),
                (rows, stride),
                nq,
                out,
                tile,
                |v| v,
            );
            // The tile returns Σ nibble·q = Σ (code + 8)·q: remove 8·Σ q per query, over
            // the components of whole blocks.
            for (q, o) in queries
                .chunks_exact(dq)
                .zip(out.chunks_exact_mut(nr))
                .take(nq)
            {
                let bias = q[..64 * blocks]
                    .iter()
                    .map(|&c| i32::from(c))
                    .sum::<i32>()
                    .wrapping_mul(8);
                for v in o {
                    *v = v.wrapping_sub(bias);
                }
            }
        }
        _ => {
            for (q, o) in queries
                .chunks_exact(dq)
                .zip(out.chunks_exact_mut(nr))
                .take(nq)
            {
                for (v, r) in o.iter_mut().zip(rows.chunks_exact(stride)) {
                    *v = dot_i4_with(backend, q, r);
                }
            }
        }
    }
}

/// The batch loop over `QT × RT` register tiles: `tile(qs, rs)` returns the raw kernel
/// values of `QT` queries (`dq` elements each) against `RT` rows (`dr` each), and
/// `finish` turns each into the value stored in `out`.
///
/// Every (query, row) pair goes through the same tile kernel, whatever its position:
/// partial tiles at the edges are padded by repeating the last query / row (their results
/// are discarded). So a pair's distance is bit-identical however a batch is split across
/// threads.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[allow(clippy::too_many_arguments)]
fn cross_tiled<T, S, V: Copy, U, const QT: usize, const RT: usize>(
    queries: (&[T], usize),
    rows: (&[S], usize),
    nq: usize,
    out: &mut [U],
    tile: impl Fn([&[T]; QT], [&[S]; RT]) -> [[V; RT]; QT],
    finish: impl Fn(V) -> U,
) {
    let ((queries, dq), (rows, dr)) = (queries, rows);
    let nr = rows.len() / dr;
    let q = |i: usize| &queries[i * dq..(i + 1) * dq];
    let r = |i: usize| &rows[i * dr..(i + 1) * dr];
    let mut qi = 0;
    while qi < nq {
        let qs: [&[T]; QT] = std::array::from_fn(|a| q((qi + a).min(nq - 1)));
        let mut ri = 0;
        while ri < nr {
            let rs: [&[S]; RT] = std::array::from_fn(|b| r((ri + b).min(nr - 1)));
            let raw = tile(qs, rs);
            for (a, row) in raw.iter().enumerate().take(nq - qi) {
                for (b, v) in row.iter().enumerate().take(nr - ri) {
                    out[(qi + a) * nr + ri + b] = finish(*v);
                }
            }
            ri += RT;
        }
        qi += QT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Tolerance of a SIMD kernel against the f64 scalar reference: relative to the
    /// magnitudes summed (`sum |a_i * b_i|`), since f32 summation order differs.
    fn close(simd: f32, reference: f32, scale: f32) -> bool {
        (simd - reference).abs() <= 1e-5 * scale.max(1.0)
    }

    fn scale_of(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
        scale(metric, a, b)
    }

    fn scale(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
        match metric {
            Metric::L2 => scalar::l2sq(a, b) + 1.0,
            _ => a.iter().zip(b).map(|(x, y)| (x * y).abs()).sum::<f32>() + 1.0,
        }
    }

    /// Every backend this CPU runs, named once on the real stderr (the test harness
    /// captures `eprintln!`, not direct writes), so a test log shows what was covered.
    fn backends() -> Vec<Backend> {
        static ONCE: std::sync::Once = std::sync::Once::new();
        let all = Backend::available();
        ONCE.call_once(|| {
            use std::io::Write;
            let names: Vec<_> = all.iter().map(|b| b.name()).collect();
            let _ = writeln!(std::io::stderr(), "backends tested: {}", names.join(", "));
        });
        all
    }

    fn metrics() -> impl Strategy<Value = Metric> {
        prop_oneof![Just(Metric::Cosine), Just(Metric::Dot), Just(Metric::L2)]
    }

    fn vecs(max_d: usize, n: usize) -> impl Strategy<Value = (usize, Vec<f32>)> {
        (1..max_d).prop_flat_map(move |d| (Just(d), prop::collection::vec(-10.0f32..10.0, d * n)))
    }

    proptest! {
        #[test]
        fn pair_matches_scalar(m in metrics(), (d, v) in vecs(300, 2)) {
            let (a, b) = v.split_at(d);
            let reference = distance_with(Backend::scalar(), m, a, b);
            for be in backends() {
                let got = distance_with(be, m, a, b);
                prop_assert!(close(got, reference, scale(m, a, b)), "{be:?} {m:?}: {got} vs {reference}");
            }
            #[cfg(feature = "simsimd")]
            {
                let ss = distance_simsimd(m, a, b);
                prop_assert!(close(ss, reference, scale(m, a, b)), "simsimd {m:?}: {ss} vs {reference}");
            }
        }

        #[test]
        fn compact_rows_match_scalar(m in metrics(), (d, v) in vecs(300, 2), scale in 0.001f32..0.1) {
            let (q, x) = v.split_at(d);
            let h: Vec<u16> = x.iter().map(|v| half::f16::from_f32(*v).to_bits()).collect();
            let c: Vec<i8> = x.iter().map(|v| (v * 12.0) as i8).collect();
            let dec16: Vec<f32> = h.iter().map(|b| scalar::f16_to_f32(*b)).collect();
            let dec8: Vec<f32> = c.iter().map(|v| f32::from(*v) * scale).collect();
            let r16 = distance_with(Backend::scalar(), m, q, &dec16);
            let r8 = distance_with(Backend::scalar(), m, q, &dec8);
            for be in backends() {
                let got = distance_f16_with(be, m, q, &h);
                prop_assert!(close(got, r16, scale_of(m, q, &dec16)), "{be:?} f16 {m:?}: {got} vs {r16}");
                let got = distance_i8_with(be, m, q, &c, scale);
                prop_assert!(close(got, r8, scale_of(m, q, &dec8)), "{be:?} i8 {m:?}: {got} vs {r8}");
            }
        }

        #[test]
        fn i8_dot_matches_scalar(v in prop::collection::vec(-127i8..=127, 0..600)) {
            let (a, b) = v.split_at(v.len() / 2);
            let want = scalar::dot_i8i8(a, b);
            for be in backends() {
                prop_assert_eq!(dot_i8i8_with(be, a, b), want, "{:?}", be);
            }
        }

        #[test]
        fn prepared_i8_dot_matches_scalar(v in prop::collection::vec(-127i8..=127, 0..600), cut in 0usize..3) {
            let (a, b) = v.split_at(v.len() / 2);
            // `b` at least as long as `a` (the fast path), or shorter (the fallback).
            let a = &a[..a.len().saturating_sub(cut)];
            let want = scalar::dot_i8i8(a, b);
            let extreme = vec![-127i8; 4099];
            for be in backends() {
                prop_assert_eq!(dot_i8i8_prepared_with(be, I8Operand::new(a), b), want, "{:?}", be);
                prop_assert_eq!(
                    dot_i8i8_prepared_with(be, I8Operand::new(b), a),
                    scalar::dot_i8i8(b, a),
                    "{:?}", be
                );
                prop_assert_eq!(
                    dot_i8i8_prepared_with(be, I8Operand::new(&extreme), &extreme),
                    127 * 127 * 4099,
                    "{:?}", be
                );
            }
        }

        #[test]
        fn i4_dot_matches_scalar(
            q in prop::collection::vec(-127i8..=127, 0..400),
            codes in prop::collection::vec(1u8..=255, 0..200),
        ) {
            // Nibble 0 never occurs in a file (codes are -7..=7, stored + 8), but the
            // kernel must still agree with the reference on any byte.
            let want = scalar::dot_i4(&q, &codes);
            for be in backends() {
                prop_assert_eq!(dot_i4_with(be, &q, &codes), want, "{:?}", be);
            }
        }

        #[test]
        fn scan_matches_scalar(m in metrics(), (d, v) in vecs(70, 12)) {
            let (q, rows) = v.split_at(d);
            for be in backends() {
                let mut out = vec![f32::NAN; 11];
                scan_with(be, m, q, rows, d, &mut out);
                for (i, o) in out.iter().enumerate() {
                    let r = &rows[i * d..(i + 1) * d];
                    let reference = distance_with(Backend::scalar(), m, q, r);
                    prop_assert!(close(*o, reference, scale(m, q, r)), "{be:?} row {i}: {o} vs {reference}");
                }
            }
        }

        #[test]
        fn cross_matches_scalar(m in metrics(), (d, v) in vecs(40, 17), nq in 1usize..10) {
            let (qs, rows) = v.split_at(d * nq);
            let nr = rows.len() / d;
            for be in backends() {
                let mut out = vec![f32::NAN; nq * nr];
                cross_with(be, m, qs, rows, d, &mut out);
                for a in 0..nq {
                    for b in 0..nr {
                        let (q, r) = (&qs[a * d..(a + 1) * d], &rows[b * d..(b + 1) * d]);
                        let reference = distance_with(Backend::scalar(), m, q, r);
                        let o = out[a * nr + b];
                        prop_assert!(close(o, reference, scale(m, q, r)), "{be:?} ({a},{b}): {o} vs {reference}");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn cross_i8_matches_scalar(
            d in 1usize..200,
            nq in 1usize..14,
            nr in 1usize..11,
            seed in any::<u64>(),
        ) {
            let mut s = seed | 1;
            let mut code = || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                // -127..=127, a third of them at the extremes.
                match s % 6 {
                    0 => 127,
                    1 => -127,
                    _ => (((s >> 8) % 255) as i32 - 127) as i8,
                }
            };
            let qs: Vec<i8> = (0..nq * d).map(|_| code()).collect();
            let rows: Vec<i8> = (0..nr * d).map(|_| code()).collect();
            for be in backends() {
                let mut out = vec![i32::MIN; nq * nr];
                cross_i8_with(be, &qs, &rows, d, &mut out);
                for a in 0..nq {
                    for b in 0..nr {
                        let want = scalar::dot_i8i8(&qs[a * d..(a + 1) * d], &rows[b * d..(b + 1) * d]);
                        prop_assert_eq!(out[a * nr + b], want, "{:?} ({},{})", be, a, b);
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn cross_i4_matches_scalar(
            blocks in 0usize..5,
            nq in 1usize..14,
            nr in 1usize..11,
            q in prop::collection::vec(-127i8..=127, 64 * 4 * 13),
            codes in prop::collection::vec(any::<u8>(), 32 * 4 * 10),
        ) {
            let stride = 32 * blocks;
            let (qs, rows) = (&q[..nq * 2 * stride], &codes[..nr * stride]);
            for be in backends() {
                let mut out = vec![i32::MIN; nq * nr];
                cross_i4_with(be, qs, rows, stride, &mut out);
                if stride == 0 {
                    continue;
                }
                for a in 0..nq {
                    for b in 0..nr {
                        let want = scalar::dot_i4(
                            &qs[a * 2 * stride..(a + 1) * 2 * stride],
                            &rows[b * stride..(b + 1) * stride],
                        );
                        prop_assert_eq!(out[a * nr + b], want, "{:?} ({},{})", be, a, b);
                    }
                }
            }
        }
    }

    /// Integer kernels at the ends of their ranges and at every tail length: no i16
    /// saturation (`vpmaddubsw`) and an exact bias correction (`vpdpbusd`), long enough
    /// that a narrow accumulator would overflow.
    #[test]
    fn integer_kernels_are_exact_at_the_extremes() {
        for n in (0..200).chain([1023, 4096, 4097, 65_535]) {
            for (x, y) in [
                (127i8, 127i8),
                (-127, 127),
                (-127, -127),
                (127, -127),
                (1, -127),
            ] {
                let a: Vec<i8> = (0..n).map(|i| if i % 3 == 2 { y } else { x }).collect();
                let b: Vec<i8> = (0..n).map(|i| if i % 5 == 4 { x } else { y }).collect();
                let want = scalar::dot_i8i8(&a, &b);
                for be in backends() {
                    assert_eq!(dot_i8i8_with(be, &a, &b), want, "{be:?} n={n} ({x},{y})");
                }
            }
        }
        for d in [1, 63, 64, 65, 384, 4097] {
            for (x, y) in [(127i8, 127i8), (-127, 127), (-127, -127)] {
                let qs = vec![x; 7 * d];
                let rows = vec![y; 5 * d];
                let want = scalar::dot_i8i8(&qs[..d], &rows[..d]);
                for be in backends() {
                    let mut out = vec![0; 35];
                    cross_i8_with(be, &qs, &rows, d, &mut out);
                    assert!(out.iter().all(|&v| v == want), "{be:?} d={d}");
                }
            }
        }
        for blocks in 0..12 {
            for (qv, nib) in [
                (127i8, 0xFFu8),
                (-127, 0xFF),
                (127, 0x11),
                (-127, 0x11),
                (-128, 0xF1),
            ] {
                let q = vec![qv; 64 * blocks];
                let codes = vec![nib; 32 * blocks];
                let want = scalar::dot_i4(&q, &codes);
                for be in backends() {
                    assert_eq!(dot_i4_with(be, &q, &codes), want, "{be:?} {blocks} blocks");
                }
            }
        }
    }

    #[test]
    fn conventions() {
        let a = [1.0, 0.0];
        let b = [0.0, 1.0];
        assert_eq!(distance(Metric::Cosine, &a, &a), 0.0);
        assert_eq!(distance(Metric::Dot, &a, &b), 1.0);
        assert_eq!(distance(Metric::L2, &a, &b), 2.0);
        assert!(!hardware_acceleration().is_empty());
    }
}
