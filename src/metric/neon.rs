//! NEON kernels (aarch64): f32 dot product and squared L2 with four accumulators. NEON is
//! part of the aarch64 baseline, so these functions are safe. The other kernels (f16 and
//! i8 rows, integer codes, the batch tile) use the scalar code on aarch64 for now.
//!
//! Not run by this project's CI (x86-64 only): `cargo check --target
//! aarch64-unknown-linux-gnu` compiles it; the proptests in `metric/mod.rs` run it on an
//! aarch64 machine.

use std::arch::aarch64::*;

/// `acc + f(a, b)` lane-wise.
trait Op {
    fn step(acc: float32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t;
    fn scalar(a: f32, b: f32) -> f32;
}

struct Dot;
struct L2;

impl Op for Dot {
    #[inline(always)]
    fn step(acc: float32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is in the aarch64 baseline; register-only operation.
        unsafe { vfmaq_f32(acc, a, b) }
    }
    #[inline(always)]
    fn scalar(a: f32, b: f32) -> f32 {
        a * b
    }
}

impl Op for L2 {
    #[inline(always)]
    fn step(acc: float32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is in the aarch64 baseline; register-only operations.
        unsafe {
            let d = vsubq_f32(a, b);
            vfmaq_f32(acc, d, d)
        }
    }
    #[inline(always)]
    fn scalar(a: f32, b: f32) -> f32 {
        let d = a - b;
        d * d
    }
}

#[inline(always)]
fn sum<O: Op>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut i = 0;
    // Every load reads four lanes at `j` with `j + 4 <= n` (the loop conditions).
    // SAFETY: in-bounds loads (above); NEON is in the aarch64 baseline.
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); 4];
        while i + 16 <= n {
            for (j, acc) in acc.iter_mut().enumerate() {
                let k = i + 4 * j;
                *acc = O::step(
                    *acc,
                    vld1q_f32(a.as_ptr().add(k)),
                    vld1q_f32(b.as_ptr().add(k)),
                );
            }
            i += 16;
        }
        while i + 4 <= n {
            acc[0] = O::step(
                acc[0],
                vld1q_f32(a.as_ptr().add(i)),
                vld1q_f32(b.as_ptr().add(i)),
            );
            i += 4;
        }
        let v = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
        let mut s = vaddvq_f32(v);
        for t in i..n {
            s += O::scalar(a[t], b[t]);
        }
        s
    }
}

/// Dot product over the common length of `a` and `b`.
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    sum::<Dot>(a, b)
}

/// Squared Euclidean distance over the common length of `a` and `b`.
pub(super) fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    sum::<L2>(a, b)
}
