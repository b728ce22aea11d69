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
#[inline]
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

/// A stored row of a compact element type, decoded eight lanes at a time to `f32`.
pub(super) trait Row {
    /// Components in the row.
    fn len(&self) -> usize;
    /// Component `i` as `f32` (tails).
    fn get(&self, i: usize) -> f32;
    /// Components `i..i + 8` as `f32`.
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C, and `i + 8 <= self.len()`.
    unsafe fn load8(&self, i: usize) -> __m256;
}

/// Half-precision bits.
pub(super) struct F16Row<'a>(pub &'a [u16]);

impl Row for F16Row<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    fn get(&self, i: usize) -> f32 {
        half::f16::from_bits(self.0[i]).to_f32()
    }
    #[inline(always)]
    unsafe fn load8(&self, i: usize) -> __m256 {
        debug_assert!(i + 8 <= self.0.len());
        // SAFETY: `i + 8 <= len` (eight u16 = 16 bytes read) and F16C are the contract.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(self.0.as_ptr().add(i).cast())) }
    }
}

/// `i8` codes times a scale (`scale = 1` gives the raw codes).
pub(super) struct I8Row<'a> {
    pub codes: &'a [i8],
    pub scale: f32,
}

impl Row for I8Row<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.codes.len()
    }
    #[inline(always)]
    fn get(&self, i: usize) -> f32 {
        f32::from(self.codes[i]) * self.scale
    }
    #[inline(always)]
    unsafe fn load8(&self, i: usize) -> __m256 {
        debug_assert!(i + 8 <= self.codes.len());
        // SAFETY: `i + 8 <= len` (eight bytes read) and AVX2 are the contract.
        unsafe {
            let c = _mm256_cvtepi8_epi32(_mm_loadl_epi64(self.codes.as_ptr().add(i).cast()));
            _mm256_mul_ps(_mm256_cvtepi32_ps(c), _mm256_set1_ps(self.scale))
        }
    }
}

/// `f(q, r)` summed over the first `min(q.len(), r.len())` components, `r` decoded on the
/// fly (four accumulators, as [`pair`]).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) unsafe fn pair_row<O: Op, R: Row>(q: &[f32], r: &R) -> f32 {
    let n = q.len().min(r.len());
    let mut i = 0;
    // Every load is at an index `j` with `j + 8 <= n`, which the loop conditions establish.
    // SAFETY: in-bounds loads (above); AVX2+FMA+F16C is the function's contract.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        while i + 32 <= n {
            for (j, a_acc) in acc.iter_mut().enumerate() {
                *a_acc = O::step(*a_acc, load(q, i + 8 * j), r.load8(i + 8 * j));
            }
            i += 32;
        }
        while i + 8 <= n {
            acc[0] = O::step(acc[0], load(q, i), r.load8(i));
            i += 8;
        }
        let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut s = hsum(v);
        while i < n {
            s += O::scalar(q[i], r.get(i));
            i += 1;
        }
        s
    }
}

/// Dot product of two `i8` code vectors over their common length, exact in `i32`. Codes
/// must lie in `-127..=127` (so `|a|·|b|` pairs fit `maddubs`' i16 without saturating).
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
pub(super) unsafe fn dot_i8i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    // Every load reads 32 bytes at `i` with `i + 32 <= n`, which the loop establishes.
    // SAFETY: in-bounds loads (above); AVX2 is the function's contract.
    unsafe {
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_si256(); 2];
        while i + 64 <= n {
            for (j, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_loadu_si256(a.as_ptr().add(i + 32 * j).cast());
                let y = _mm256_loadu_si256(b.as_ptr().add(i + 32 * j).cast());
                // |x| · (y · sign x) = x · y, as unsigned × signed bytes.
                let p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
                *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(p, ones));
            }
            i += 64;
        }
        while i + 32 <= n {
            let x = _mm256_loadu_si256(a.as_ptr().add(i).cast());
            let y = _mm256_loadu_si256(b.as_ptr().add(i).cast());
            let p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
            acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(p, ones));
            i += 32;
        }
        let v = _mm256_add_epi32(acc[0], acc[1]);
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        let mut total = _mm_cvtsi128_si32(s);
        while i < n {
            total += i32::from(a[i]) * i32::from(b[i]);
            i += 1;
        }
        total
    }
}

/// Dot product of `i8` query codes with packed `i4` row codes, exact in `i32`. Layout
/// (see `codec/i4.rs`): each 32-byte block of `codes` holds 64 components, component
/// `j < 32` in the low nibble of byte `j` and component `32 + j` in its high nibble, as
/// `code + 8`. `q` holds the query codes (`-127..=127`) in natural order, two per byte of
/// `codes`. Whole blocks only: `min(q.len() / 64, codes.len() / 32)` of them.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
pub(super) unsafe fn dot_i4(q: &[i8], codes: &[u8]) -> i32 {
    let blocks = (q.len() / 64).min(codes.len() / 32);
    // Block `b` reads `codes[32b..32b + 32]` and `q[64b..64b + 64]`, in bounds for
    // `b < blocks`.
    // SAFETY: in-bounds loads (above); AVX2 is the function's contract.
    unsafe {
        let mask = _mm256_set1_epi8(0x0F);
        let eight = _mm256_set1_epi8(8);
        let ones = _mm256_set1_epi16(1);
        let mut acc = _mm256_setzero_si256();
        for b in 0..blocks {
            let r = _mm256_loadu_si256(codes.as_ptr().add(32 * b).cast());
            let lo = _mm256_sub_epi8(_mm256_and_si256(r, mask), eight);
            let hi = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(r, 4), mask), eight);
            let q0 = _mm256_loadu_si256(q.as_ptr().add(64 * b).cast());
            let q1 = _mm256_loadu_si256(q.as_ptr().add(64 * b + 32).cast());
            // |q| · (r · sign q) = q · r; each i16 lane sums at most 4 · 127 · 7.
            let p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(q0, q0), _mm256_sign_epi8(lo, q0));
            let p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(q1, q1), _mm256_sign_epi8(hi, q1));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones));
        }
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256(acc, 1),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }
}

/// Runs `f` in code compiled for AVX2, FMA and F16C: a caller's loop inlined into `f` gets
/// this module's kernels inlined into it (see `metric::in_backend`).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn in_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
