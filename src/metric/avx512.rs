//! AVX-512 kernels (x86-64): the shapes of `avx2.rs` at 16 f32 lanes, with masked loads
//! for the tails (lanes past the end are neither read nor counted, so there is no scalar
//! tail loop), and integer kernels in two variants: `vpmaddubsw` (AVX-512BW) and
//! `vpdpbusd` (AVX-512 VNNI, the `_vnni` functions).
//!
//! Every function requires the features in its `#[target_feature]` list: AVX2, FMA, F16C
//! and AVX-512 F/BW/VL/DQ, plus AVX-512 VNNI for the `_vnni` ones. The safe facade in
//! `metric/mod.rs` calls them only with a `Backend` of kind `Avx512` / `Avx512Vnni`, which
//! exists only after runtime detection of those features (see `backend.rs`).
//!
//! Masked loads: an AVX-512 masked load (`vmovups` / `vmovdqu8` with a mask) does not
//! access the memory of masked-off elements and suppresses their faults, so reading the
//! last `rem < 16` elements of a slice with a `rem`-bit mask stays inside the slice.

use std::arch::x86_64::*;

/// The per-lane accumulation step of a distance.
pub(super) trait Op {
    /// `acc + f(a, b)` lane-wise.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; only call from functions that enable it.
    unsafe fn step(acc: __m512, a: __m512, b: __m512) -> __m512;
}

/// Dot product accumulation.
pub(super) struct Dot;
/// Squared Euclidean accumulation.
pub(super) struct L2;

impl Op for Dot {
    #[inline(always)]
    unsafe fn step(acc: __m512, a: __m512, b: __m512) -> __m512 {
        // SAFETY: the caller guarantees AVX-512F (trait contract).
        unsafe { _mm512_fmadd_ps(a, b, acc) }
    }
}

impl Op for L2 {
    #[inline(always)]
    unsafe fn step(acc: __m512, a: __m512, b: __m512) -> __m512 {
        // SAFETY: the caller guarantees AVX-512F (trait contract).
        unsafe {
            let d = _mm512_sub_ps(a, b);
            _mm512_fmadd_ps(d, d, acc)
        }
    }
}

/// The mask of the low `rem` lanes (`rem < 16`).
#[inline(always)]
fn mask16(rem: usize) -> __mmask16 {
    debug_assert!(rem < 16);
    ((1u32 << rem) - 1) as __mmask16
}

/// The mask of the low `rem` bytes (`rem < 64`).
#[inline(always)]
fn mask64(rem: usize) -> __mmask64 {
    debug_assert!(rem < 64);
    (1u64 << rem) - 1
}

#[inline(always)]
/// # Safety
/// AVX-512F must be available and `s[i..i + 16]` in bounds.
unsafe fn load(s: &[f32], i: usize) -> __m512 {
    debug_assert!(i + 16 <= s.len());
    // SAFETY: the caller guarantees `i + 16 <= s.len()` and AVX-512F.
    unsafe { _mm512_loadu_ps(s.as_ptr().add(i)) }
}

#[inline(always)]
/// Lanes `i..i + rem` of `s`, zero above.
///
/// # Safety
/// AVX-512F must be available, `rem < 16` and `i + rem <= s.len()`.
unsafe fn load_tail(s: &[f32], i: usize, rem: usize) -> __m512 {
    debug_assert!(i + rem <= s.len());
    // `i <= s.len()` keeps the base pointer inside (or one past) the slice, and the mask
    // reads only the `rem` elements that are in bounds (module docs on masked loads).
    // SAFETY: as above; AVX-512F is the caller's contract.
    unsafe { _mm512_maskz_loadu_ps(mask16(rem), s.as_ptr().add(i)) }
}

/// `f(a, b)` summed over the first `n = min(a.len(), b.len())` components.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/DQ.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")]
#[inline]
pub(super) unsafe fn pair<O: Op>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    // Whole-vector loads are at `j` with `j + 16 <= n` (the loop conditions); the tail
    // reads `n - i < 16` lanes at `i`, in bounds of both slices.
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); 4];
        while i + 64 <= n {
            for (j, a_acc) in acc.iter_mut().enumerate() {
                *a_acc = O::step(*a_acc, load(a, i + 16 * j), load(b, i + 16 * j));
            }
            i += 64;
        }
        while i + 16 <= n {
            acc[0] = O::step(acc[0], load(a, i), load(b, i));
            i += 16;
        }
        if i < n {
            let rem = n - i;
            acc[1] = O::step(acc[1], load_tail(a, i, rem), load_tail(b, i, rem));
        }
        let v = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(v)
    }
}

/// Queries per register tile (6 × 4 accumulators + 4 row registers + 1 query register
/// of the 32 zmm registers).
pub(super) const QT: usize = 6;
/// Rows per register tile (a divisor of the 64-row blocks of batch scans).
pub(super) const RT: usize = 4;

/// `f(q_i, r_j)` for a `QT × RT` tile over the first `n` components.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/DQ. Every slice must have at
/// least `n` elements.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")]
pub(super) unsafe fn tile<O: Op>(q: [&[f32]; QT], r: [&[f32]; RT], n: usize) -> [[f32; RT]; QT] {
    let mut i = 0;
    // Whole loads are at `i + 16 <= n <= len` of every slice (the contract); the tail
    // reads `n - i < 16` lanes at `i`, also in bounds.
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); RT]; QT];
        while i + 16 <= n {
            let rv: [__m512; RT] = std::array::from_fn(|b| load(r[b], i));
            for qi in 0..QT {
                let qv = load(q[qi], i);
                for ri in 0..RT {
                    acc[qi][ri] = O::step(acc[qi][ri], qv, rv[ri]);
                }
            }
            i += 16;
        }
        if i < n {
            let rem = n - i;
            let rv: [__m512; RT] = std::array::from_fn(|b| load_tail(r[b], i, rem));
            for qi in 0..QT {
                let qv = load_tail(q[qi], i, rem);
                for ri in 0..RT {
                    acc[qi][ri] = O::step(acc[qi][ri], qv, rv[ri]);
                }
            }
        }
        let mut out = [[0.0f32; RT]; QT];
        for qi in 0..QT {
            for ri in 0..RT {
                out[qi][ri] = _mm512_reduce_add_ps(acc[qi][ri]);
            }
        }
        out
    }
}

/// A stored row of a compact element type, decoded sixteen lanes at a time to `f32`.
pub(super) trait Row {
    /// Components in the row.
    fn len(&self) -> usize;
    /// Components `i..i + 16` as `f32`.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F/BW/VL, and `i + 16 <= self.len()`.
    unsafe fn load16(&self, i: usize) -> __m512;
    /// Components `i..i + rem` as `f32`, zero above.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F/BW/VL, `rem < 16` and `i + rem <= self.len()`.
    unsafe fn load_tail(&self, i: usize, rem: usize) -> __m512;
}

/// Half-precision bits.
pub(super) struct F16Row<'a>(pub &'a [u16]);

impl Row for F16Row<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    unsafe fn load16(&self, i: usize) -> __m512 {
        debug_assert!(i + 16 <= self.0.len());
        // SAFETY: the contract: `i + 16 <= len` (32 bytes read) and AVX-512F.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(self.0.as_ptr().add(i).cast())) }
    }
    #[inline(always)]
    unsafe fn load_tail(&self, i: usize, rem: usize) -> __m512 {
        debug_assert!(i + rem <= self.0.len());
        // The masked load reads only the `rem` in-bounds elements at `i <= len` (module
        // docs); zero bits widen to +0.0.
        // SAFETY: as above; AVX-512 F/BW/VL are the contract.
        unsafe {
            let bits = _mm256_maskz_loadu_epi16(mask16(rem), self.0.as_ptr().add(i).cast());
            _mm512_cvtph_ps(bits)
        }
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
    unsafe fn load16(&self, i: usize) -> __m512 {
        debug_assert!(i + 16 <= self.codes.len());
        // SAFETY: `i + 16 <= len` (sixteen bytes read) and AVX-512F are the contract.
        unsafe {
            let c = _mm512_cvtepi8_epi32(_mm_loadu_si128(self.codes.as_ptr().add(i).cast()));
            _mm512_mul_ps(_mm512_cvtepi32_ps(c), _mm512_set1_ps(self.scale))
        }
    }
    #[inline(always)]
    unsafe fn load_tail(&self, i: usize, rem: usize) -> __m512 {
        debug_assert!(i + rem <= self.codes.len());
        // The masked load reads only the `rem` in-bounds bytes at `i <= len` (module docs).
        // SAFETY: as above; AVX-512 F/BW/VL are the contract.
        unsafe {
            let b = _mm_maskz_loadu_epi8(mask16(rem), self.codes.as_ptr().add(i).cast());
            let c = _mm512_cvtepi8_epi32(b);
            _mm512_mul_ps(_mm512_cvtepi32_ps(c), _mm512_set1_ps(self.scale))
        }
    }
}

/// `f(q, r)` summed over the first `min(q.len(), r.len())` components, `r` decoded on the
/// fly (four accumulators, as [`pair`]).
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/DQ.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")]
#[inline]
pub(super) unsafe fn pair_row<O: Op, R: Row>(q: &[f32], r: &R) -> f32 {
    let n = q.len().min(r.len());
    let mut i = 0;
    // Whole loads are at `j` with `j + 16 <= n` (the loop conditions); the tail reads
    // `n - i < 16` lanes at `i`, in bounds of both.
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); 4];
        while i + 64 <= n {
            for (j, a_acc) in acc.iter_mut().enumerate() {
                *a_acc = O::step(*a_acc, load(q, i + 16 * j), r.load16(i + 16 * j));
            }
            i += 64;
        }
        while i + 16 <= n {
            acc[0] = O::step(acc[0], load(q, i), r.load16(i));
            i += 16;
        }
        if i < n {
            let rem = n - i;
            acc[1] = O::step(acc[1], load_tail(q, i, rem), r.load_tail(i, rem));
        }
        let v = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(v)
    }
}

/// Bytes `i..i + len` of `s` (`len <= 64`), zero above.
///
/// # Safety
/// AVX-512BW must be available and `i + len <= s.len()`.
#[inline(always)]
unsafe fn load_bytes<T>(s: &[T], i: usize, len: usize) -> __m512i {
    debug_assert!(size_of::<T>() == 1 && len <= 64 && i + len <= s.len());
    // One-byte elements: a full load reads `s[i..i + 64]`, in bounds when `len == 64`;
    // otherwise the masked load reads only the `len` in-bounds bytes (module docs).
    // SAFETY: bounds as above; AVX-512BW is the caller's contract.
    unsafe {
        let p = s.as_ptr().add(i).cast::<__m512i>();
        if len == 64 {
            _mm512_loadu_si512(p)
        } else {
            _mm512_maskz_loadu_epi8(mask64(len), p.cast())
        }
    }
}

/// `acc + Σ x·y` over each group of four bytes (i32 lanes), exact for codes in
/// `-127..=127`: `vpmaddubsw(|x|, y · sign x)`, then `vpmaddwd` with ones.
///
/// # Safety
/// AVX-512BW must be available.
#[inline(always)]
unsafe fn i8i8_step(acc: __m512i, x: __m512i, y: __m512i) -> __m512i {
    // SAFETY: AVX-512BW is the caller's contract.
    unsafe {
        let neg = _mm512_movepi8_mask(x);
        let ys = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
        let p = _mm512_maddubs_epi16(_mm512_abs_epi8(x), ys);
        _mm512_add_epi32(acc, _mm512_madd_epi16(p, _mm512_set1_epi16(1)))
    }
}

/// Dot product of two `i8` code vectors over their common length, exact in `i32`, with
/// `vpmaddubsw`. Codes must lie in `-127..=127` (as `avx2::dot_i8i8`: `|a|·|b|` pairs then
/// fit `vpmaddubsw`'s i16 lanes without saturating).
///
/// AVX-512 has no `vpsignb`: `|a|` comes from `vpabsb` and `b · sign(a)` from a masked
/// negation under the sign bits of `a` (`a = 0` contributes `0 · b` either way).
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/DQ.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")]
#[inline]
pub(super) unsafe fn dot_i8i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    // Every load covers `a[i..i + len]` / `b[i..i + len]` with `i + len <= n`.
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let mut acc = [_mm512_setzero_si512(); 2];
        while i + 128 <= n {
            acc[0] = i8i8_step(acc[0], load_bytes(a, i, 64), load_bytes(b, i, 64));
            acc[1] = i8i8_step(acc[1], load_bytes(a, i + 64, 64), load_bytes(b, i + 64, 64));
            i += 128;
        }
        while i < n {
            let len = (n - i).min(64);
            acc[0] = i8i8_step(acc[0], load_bytes(a, i, len), load_bytes(b, i, len));
            i += len;
        }
        _mm512_reduce_add_epi32(_mm512_add_epi32(acc[0], acc[1]))
    }
}

/// [`dot_i8i8`] with `vpdpbusd` (unsigned × signed bytes, four products summed into each
/// i32 lane without saturation). The bias trick: `a + 128` is an unsigned byte, and
/// `Σ a·b = Σ (a + 128)·b − Σ 128·b`, the second sum from a `vpdpbusd` against 128s.
/// Exact for every i8 value (the i32 arithmetic wraps, and the true result fits i32 for
/// any length below 2^17).
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C, AVX-512 F/BW/VL/DQ and AVX-512 VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")]
#[inline]
pub(super) unsafe fn dot_i8i8_vnni(a: &[i8], b: &[i8]) -> i32 {
    // The biased operand is `a`, the query of a walk (in L1), not the row just loaded: on
    // dev50k i8 walks (EPYC Zen 4) biasing the row measured ~5% slower.
    // SAFETY: `n` is within both slices; the features are the function's contract.
    unsafe { dot_i8i8_vnni_biased::<true>(b, a, a.len().min(b.len())) }
}

/// `Σ a·(b + 128)` over the first `a.len()` components, with one `vpdpbusd` per 64 bytes:
/// [`dot_i8i8_vnni`] plus `128·Σ a`, which a caller that reuses `a` computes once
/// (`metric::I8Operand`) instead of a second `vpdpbusd` per 64 bytes.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C, AVX-512 F/BW/VL/DQ and AVX-512 VNNI, and
/// `b.len() >= a.len()`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")]
#[inline]
pub(super) unsafe fn dot_i8i8_vnni_offset(a: &[i8], b: &[i8]) -> i32 {
    debug_assert!(b.len() >= a.len());
    // SAFETY: `n = a.len() <= b.len()` (the contract); the features are the contract too.
    unsafe { dot_i8i8_vnni_biased::<false>(a, b, a.len()) }
}

/// `Σ a·(b + 128)` over the first `n` components (`b ^ 0x80` is `b + 128` as an unsigned
/// byte), minus `Σ 128·a` (the same 0x80 bytes as the unsigned operand) when `SUB`: the
/// exact `Σ a·b`. Masked-off tail bytes are 0 in both inputs and add nothing. Two
/// independent accumulator chains (four with `SUB`); one reduction at the end.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C, AVX-512 F/BW/VL/DQ and AVX-512 VNNI, and both
/// slices must hold at least `n` elements.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")]
#[inline]
unsafe fn dot_i8i8_vnni_biased<const SUB: bool>(a: &[i8], b: &[i8], n: usize) -> i32 {
    let mut i = 0;
    // Every load covers `a[i..i + len]` / `b[i..i + len]` with `i + len <= n`.
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let bias = _mm512_set1_epi8(i8::MIN);
        let mut acc = [_mm512_setzero_si512(); 2];
        let mut sub = [_mm512_setzero_si512(); 2];
        while i + 128 <= n {
            let (x0, y0) = (load_bytes(a, i, 64), load_bytes(b, i, 64));
            let (x1, y1) = (load_bytes(a, i + 64, 64), load_bytes(b, i + 64, 64));
            acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_xor_si512(y0, bias), x0);
            acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_xor_si512(y1, bias), x1);
            if SUB {
                sub[0] = _mm512_dpbusd_epi32(sub[0], bias, x0);
                sub[1] = _mm512_dpbusd_epi32(sub[1], bias, x1);
            }
            i += 128;
        }
        while i < n {
            let len = (n - i).min(64);
            let (x, y) = (load_bytes(a, i, len), load_bytes(b, i, len));
            acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_xor_si512(y, bias), x);
            if SUB {
                sub[0] = _mm512_dpbusd_epi32(sub[0], bias, x);
            }
            i += len;
        }
        let acc = _mm512_add_epi32(acc[0], acc[1]);
        let sub = _mm512_add_epi32(sub[0], sub[1]);
        _mm512_reduce_add_epi32(_mm512_sub_epi32(acc, sub))
    }
}

/// The query bytes that meet the low and the high nibbles of a 64-byte load of packed
/// `i4` codes covering two 32-byte blocks: `q0` / `q1` are the 64 query codes of the
/// first / second block; the low nibbles of the load pair with `q0[..32] ++ q1[..32]` and
/// the high nibbles with `q0[32..] ++ q1[32..]` (layout of `metric::dot_i4`).
///
/// # Safety
/// AVX-512F must be available.
#[inline(always)]
unsafe fn i4_query_halves(q0: __m512i, q1: __m512i) -> (__m512i, __m512i) {
    // The immediates pick 128-bit lanes (0, 1 of q0; 0, 1 of q1) and (2, 3 of q0; 2, 3 of q1).
    // SAFETY: AVX-512F is the caller's contract; register-only operations.
    unsafe {
        (
            _mm512_shuffle_i64x2::<0b01_00_01_00>(q0, q1),
            _mm512_shuffle_i64x2::<0b11_10_11_10>(q0, q1),
        )
    }
}

/// Dot product of `i8` query codes with packed `i4` row codes, exact in `i32`, with
/// `vpmaddubsw`: the stored nibbles `code + 8` (0..=15) are unsigned bytes, so
/// `Σ q·code = Σ nibble·q − Σ 8·q` (every `vpmaddubsw` lane is at most 2 · 15 · 128 in
/// magnitude: no saturation). Layout and lengths as `avx2::dot_i4`: whole 32-byte
/// blocks only, `min(q.len() / 64, codes.len() / 32)` of them.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/DQ.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")]
#[inline]
pub(super) unsafe fn dot_i4(q: &[i8], codes: &[u8]) -> i32 {
    let blocks = (q.len() / 64).min(codes.len() / 32);
    // Two blocks per step read `codes[32b..32b + 64]` and `q[64b..64b + 128]` for
    // `b + 2 <= blocks`; the last odd block reads `codes[32b..32b + 32]` and
    // `q[64b..64b + 64]`: in bounds.
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let mask = _mm512_set1_epi8(0x0F);
        let eights = _mm512_set1_epi8(8);
        let ones16 = _mm512_set1_epi16(1);
        let mut acc = _mm512_setzero_si512();
        let mut b = 0;
        while b < blocks {
            let two = blocks - b >= 2;
            let r = load_bytes(codes, 32 * b, if two { 64 } else { 32 });
            let q0 = load_bytes(q, 64 * b, 64);
            let q1 = if two {
                load_bytes(q, 64 * b + 64, 64)
            } else {
                _mm512_setzero_si512()
            };
            let (ql, qh) = i4_query_halves(q0, q1);
            let lo = _mm512_and_si512(r, mask);
            let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(r), mask);
            // Four i16 terms of at most 2 · 15 · 128 each: |p| <= 15,360, no overflow.
            let p = _mm512_add_epi16(_mm512_maddubs_epi16(lo, ql), _mm512_maddubs_epi16(hi, qh));
            let s = _mm512_add_epi16(
                _mm512_maddubs_epi16(eights, q0),
                _mm512_maddubs_epi16(eights, q1),
            );
            let p = _mm512_sub_epi16(p, s);
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p, ones16));
            b += 2;
        }
        _mm512_reduce_add_epi32(acc)
    }
}

/// [`dot_i4`] with `vpdpbusd` (nibbles as the unsigned operand, query codes signed).
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C, AVX-512 F/BW/VL/DQ and AVX-512 VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")]
#[inline]
pub(super) unsafe fn dot_i4_vnni(q: &[i8], codes: &[u8]) -> i32 {
    let blocks = (q.len() / 64).min(codes.len() / 32);
    // As `dot_i4`: every load is inside `codes[..32 * blocks]` / `q[..64 * blocks]`.
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let mask = _mm512_set1_epi8(0x0F);
        let eights = _mm512_set1_epi8(8);
        // Four independent accumulator chains; one reduction at the end.
        let mut acc = [_mm512_setzero_si512(); 2];
        let mut sub = [_mm512_setzero_si512(); 2];
        let mut b = 0;
        while b < blocks {
            let two = blocks - b >= 2;
            let r = load_bytes(codes, 32 * b, if two { 64 } else { 32 });
            let q0 = load_bytes(q, 64 * b, 64);
            let q1 = if two {
                load_bytes(q, 64 * b + 64, 64)
            } else {
                _mm512_setzero_si512()
            };
            let (ql, qh) = i4_query_halves(q0, q1);
            let lo = _mm512_and_si512(r, mask);
            let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(r), mask);
            acc[0] = _mm512_dpbusd_epi32(acc[0], lo, ql);
            acc[1] = _mm512_dpbusd_epi32(acc[1], hi, qh);
            sub[0] = _mm512_dpbusd_epi32(sub[0], eights, q0);
            sub[1] = _mm512_dpbusd_epi32(sub[1], eights, q1);
            b += 2;
        }
        let acc = _mm512_add_epi32(acc[0], acc[1]);
        let sub = _mm512_add_epi32(sub[0], sub[1]);
        _mm512_reduce_add_epi32(_mm512_sub_epi32(acc, sub))
    }
}

/// Biased integer dot products of a `QT × RT` tile of `i8` code vectors with `vpdpbusd`:
/// `Σ (r + 128)·q` over the first `n` components of each (query `q`, row `r`) pair, the
/// row bytes made unsigned by `^ 0x80` once per loaded chunk and shared by the `QT`
/// queries. The caller subtracts `128·Σ q` per query (see `metric::cross_i8_with`). Exact
/// for every i8 value in wrapping i32 arithmetic; tails use masked loads (masked-off
/// bytes are 0 in `q`, so their `(0 + 128)·0` adds nothing).
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C, AVX-512 F/BW/VL/DQ and AVX-512 VNNI. Every slice
/// must have at least `n` elements.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")]
pub(super) unsafe fn tile_i8_vnni(q: [&[i8]; QT], r: [&[i8]; RT], n: usize) -> [[i32; RT]; QT] {
    let mut i = 0;
    // Every load covers `s[i..i + len]` with `i + len <= n <= s.len()` (the contract).
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let bias = _mm512_set1_epi8(i8::MIN);
        let mut acc = [[_mm512_setzero_si512(); RT]; QT];
        while i < n {
            let len = (n - i).min(64);
            let rv: [__m512i; RT] =
                std::array::from_fn(|b| _mm512_xor_si512(load_bytes(r[b], i, len), bias));
            for qi in 0..QT {
                let qv = load_bytes(q[qi], i, len);
                for ri in 0..RT {
                    acc[qi][ri] = _mm512_dpbusd_epi32(acc[qi][ri], rv[ri], qv);
                }
            }
            i += len;
        }
        let mut out = [[0i32; RT]; QT];
        for qi in 0..QT {
            for ri in 0..RT {
                out[qi][ri] = _mm512_reduce_add_epi32(acc[qi][ri]);
            }
        }
        out
    }
}

/// Biased integer dot products of a `QT × RT` tile of `i8` query codes with packed `i4`
/// rows (layout of `metric::dot_i4`) with `vpdpbusd`: `Σ nibble·q` over `blocks` whole
/// 32-byte blocks, where `nibble = code + 8`. Each row block is unpacked once (low
/// nibbles are the block's components 0..32, high nibbles 32..64, so the 64 unsigned
/// bytes are the components in order) and shared by the `QT` queries, whose 64 codes of
/// the block are one load. The caller subtracts `8·Σ q` per query (see
/// `metric::cross_i4_with`). Exact in wrapping i32 arithmetic.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C, AVX-512 F/BW/VL/DQ and AVX-512 VNNI. Every query
/// must have at least `64 · blocks` codes and every row `32 · blocks` bytes.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")]
pub(super) unsafe fn tile_i4_vnni(
    q: [&[i8]; QT],
    r: [&[u8]; RT],
    blocks: usize,
) -> [[i32; RT]; QT] {
    debug_assert!(q.iter().all(|q| q.len() >= 64 * blocks));
    debug_assert!(r.iter().all(|r| r.len() >= 32 * blocks));
    // Block `b` reads `r[32b..32b + 32]` and `q[64b..64b + 64]`, in bounds for
    // `b < blocks` (the contract).
    // SAFETY: in-bounds loads (above); the features are the function's contract.
    unsafe {
        let mask = _mm256_set1_epi8(0x0F);
        let mut acc = [[_mm512_setzero_si512(); RT]; QT];
        for b in 0..blocks {
            let rv: [__m512i; RT] = std::array::from_fn(|j| {
                let x = _mm256_loadu_si256(r[j].as_ptr().add(32 * b).cast());
                let lo = _mm256_and_si256(x, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), mask);
                _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
            });
            for qi in 0..QT {
                let qv = _mm512_loadu_si512(q[qi].as_ptr().add(64 * b).cast());
                for ri in 0..RT {
                    acc[qi][ri] = _mm512_dpbusd_epi32(acc[qi][ri], rv[ri], qv);
                }
            }
        }
        let mut out = [[0i32; RT]; QT];
        for qi in 0..QT {
            for ri in 0..RT {
                out[qi][ri] = _mm512_reduce_add_epi32(acc[qi][ri]);
            }
        }
        out
    }
}

/// Runs `f` in code compiled for AVX-512 VNNI (with F/BW/VL/DQ, AVX2, FMA, F16C): a
/// caller's loop inlined into `f` gets this module's kernels inlined into it (see
/// `metric::in_backend`).
///
/// # Safety
/// The CPU must support those features.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")]
pub(super) unsafe fn in_vnni<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// [`in_vnni`] for AVX-512 F/BW/VL/DQ without VNNI.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/DQ, AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")]
pub(super) unsafe fn in_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}
