//! AVX2 + FMA kernels (x86-64). Every function here requires a CPU with `avx2` and `fma`;
//! the safe facade in `metric/mod.rs` calls them only after detecting both at runtime.
//!
//! Two shapes:
//! - `pair`: one vector against one vector, four independent accumulators so the FMA
//!   latency is hidden (simsimd's f32 kernel uses one accumulator; see `benches/metric.rs`).
//!   Single-query scans call it row after row: one linear stream through memory, which
//!   the hardware prefetcher follows at full read bandwidth (a 1-query × 4-row kernel,
//!   reading four rows at once, was 13% faster in cache but reached only ~0.65 of read
//!   bandwidth on a 307 MB gallery against ~0.95 for this one).
//! - `tile`: `QT` queries × `RT` rows in registers, so each loaded row chunk is used `QT`
//!   times and each query chunk `RT` times (batch scans: the GEMM register-blocking idea).

use std::arch::x86_64::*;

/// The per-lane accumulation step of a distance.
pub(super) trait Op {
    /// `acc + f(a, b)` lane-wise.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; only call from `#[target_feature(enable =
    /// "avx2,fma")]` functions.
    unsafe fn step(acc: __m256, a: __m256, b: __m256) -> __m256;
    /// Scalar version of one step, for tails.
    fn scalar(a: f32, b: f32) -> f32;
}

/// Dot product accumulation.
pub(super) struct Dot;
/// Squared Euclidean accumulation.
pub(super) struct L2;

impl Op for Dot {
    #[inline(always)]
    unsafe fn step(acc: __m256, a: __m256, b: __m256) -> __m256 {
        // SAFETY: the caller guarantees AVX2+FMA (trait contract).
        unsafe { _mm256_fmadd_ps(a, b, acc) }
    }
    #[inline(always)]
    fn scalar(a: f32, b: f32) -> f32 {
        a * b
    }
}

impl Op for L2 {
    #[inline(always)]
    unsafe fn step(acc: __m256, a: __m256, b: __m256) -> __m256 {
        // SAFETY: the caller guarantees AVX2+FMA (trait contract).
        unsafe {
            let d = _mm256_sub_ps(a, b);
            _mm256_fmadd_ps(d, d, acc)
        }
    }
    #[inline(always)]
    fn scalar(a: f32, b: f32) -> f32 {
        let d = a - b;
        d * d
    }
}

#[inline(always)]
/// # Safety
/// AVX2 must be available.
unsafe fn hsum(v: __m256) -> f32 {
    // SAFETY: AVX2 availability is the caller's contract.
    unsafe {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
        _mm_cvtss_f32(s)
    }
}

#[inline(always)]
/// # Safety
/// AVX2 must be available and `s[i..i + 8]` in bounds.
unsafe fn load(s: &[f32], i: usize) -> __m256 {
    debug_assert!(i + 8 <= s.len());
    // SAFETY: the caller guarantees `i + 8 <= s.len()` and AVX2.
    unsafe { _mm256_loadu_ps(s.as_ptr().add(i)) }
}

/// `f(a, b)` summed over the first `n = min(a.len(), b.len())` components.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn pair<O: Op>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    // Whole block: every load reads 8 lanes at an index `j` with `j + 8 <= n`, which the
    // loop conditions establish.
    // SAFETY: in-bounds loads (above); AVX2+FMA is the function's contract.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        while i + 32 <= n {
            for (j, a_acc) in acc.iter_mut().enumerate() {
                *a_acc = O::step(*a_acc, load(a, i + 8 * j), load(b, i + 8 * j));
            }
            i += 32;
        }
        while i + 8 <= n {
            acc[0] = O::step(acc[0], load(a, i), load(b, i));
            i += 8;
        }
        let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut s = hsum(v);
        while i < n {
            s += O::scalar(a[i], b[i]);
            i += 1;
        }
        s
    }
}

/// Queries per register tile.
pub(super) const QT: usize = 4;
/// Rows per register tile.
pub(super) const RT: usize = 3;

/// `f(q_i, r_j)` for a `QT × RT` tile; all slices have at least `n` elements.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Every slice must have at least `n` elements.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tile<O: Op>(q: [&[f32]; QT], r: [&[f32]; RT], n: usize) -> [[f32; RT]; QT] {
    let mut i = 0;
    // Whole block: loads are at `i + 8 <= n <= len` of every slice (the contract).
    // SAFETY: in-bounds loads (above); AVX2+FMA is the function's contract.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); RT]; QT];
        while i + 8 <= n {
            let rv = [load(r[0], i), load(r[1], i), load(r[2], i)];
            for qi in 0..QT {
                let qv = load(q[qi], i);
                for ri in 0..RT {
                    acc[qi][ri] = O::step(acc[qi][ri], qv, rv[ri]);
                }
            }
            i += 8;
        }
        let mut out = [[0.0f32; RT]; QT];
        for qi in 0..QT {
            for ri in 0..RT {
                let mut s = hsum(acc[qi][ri]);
                for t in i..n {
                    s += O::scalar(q[qi][t], r[ri][t]);
                }
                out[qi][ri] = s;
            }
        }
        out
    }
}
