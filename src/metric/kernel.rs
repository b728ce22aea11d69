//! The raw kernels ([`Kernel`](super::spec::Kernel)) as types, so that the facade in
//! `metric/mod.rs` is generic over them: it matches a metric's kernel once per call
//! (`by_kernel!`) and every instruction-set path below is monomorphised per kernel. A new
//! raw kernel is one type here, with its step in each instruction-set file.

use super::scalar;
#[cfg(target_arch = "x86_64")]
use super::{avx2, avx512};

/// One raw kernel on every instruction set.
pub(super) trait RawKernel {
    /// The AVX2 accumulation step.
    #[cfg(target_arch = "x86_64")]
    type Avx2: avx2::Op;
    /// The AVX-512 accumulation step.
    #[cfg(target_arch = "x86_64")]
    type Avx512: avx512::Op;
    /// Whether `kernel(q, s·x) = s·kernel(q, x)`: a row's scale (`i8` rows) is then applied
    /// once to the sum instead of to every component.
    const LINEAR: bool;
    /// The scalar reference over `f32` rows.
    fn scalar(a: &[f32], b: &[f32]) -> f32;
    /// The scalar reference over half-precision rows.
    fn scalar_f16(q: &[f32], x: &[u16]) -> f32;
    /// The scalar reference over the row `scale × codes`.
    fn scalar_i8(q: &[f32], codes: &[i8], scale: f32) -> f32;
    /// The NEON kernel over `f32` rows.
    #[cfg(target_arch = "aarch64")]
    fn neon(a: &[f32], b: &[f32]) -> f32;
    /// simsimd's kernel over `f32` rows.
    #[cfg(feature = "simsimd")]
    fn simsimd(a: &[f32], b: &[f32]) -> f32;
}

/// The dot product.
pub(super) struct Dot;

/// The squared Euclidean distance.
pub(super) struct L2Sq;

impl RawKernel for Dot {
    #[cfg(target_arch = "x86_64")]
    type Avx2 = avx2::Dot;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = avx512::Dot;
    const LINEAR: bool = true;
    #[inline(always)]
    fn scalar(a: &[f32], b: &[f32]) -> f32 {
        scalar::dot(a, b)
    }
    #[inline(always)]
    fn scalar_f16(q: &[f32], x: &[u16]) -> f32 {
        scalar::dot_f16(q, x)
    }
    #[inline(always)]
    fn scalar_i8(q: &[f32], codes: &[i8], scale: f32) -> f32 {
        scalar::dot_i8(q, codes, scale)
    }
    #[cfg(target_arch = "aarch64")]
    #[inline(always)]
    fn neon(a: &[f32], b: &[f32]) -> f32 {
        super::neon::dot(a, b)
    }
    #[cfg(feature = "simsimd")]
    fn simsimd(a: &[f32], b: &[f32]) -> f32 {
        super::simsimd_backend::dot(a, b)
    }
}

impl RawKernel for L2Sq {
    #[cfg(target_arch = "x86_64")]
    type Avx2 = avx2::L2;
    #[cfg(target_arch = "x86_64")]
    type Avx512 = avx512::L2;
    const LINEAR: bool = false;
    #[inline(always)]
    fn scalar(a: &[f32], b: &[f32]) -> f32 {
        scalar::l2sq(a, b)
    }
    #[inline(always)]
    fn scalar_f16(q: &[f32], x: &[u16]) -> f32 {
        scalar::l2sq_f16(q, x)
    }
    #[inline(always)]
    fn scalar_i8(q: &[f32], codes: &[i8], scale: f32) -> f32 {
        scalar::l2sq_i8(q, codes, scale)
    }
    #[cfg(target_arch = "aarch64")]
    #[inline(always)]
    fn neon(a: &[f32], b: &[f32]) -> f32 {
        super::neon::l2sq(a, b)
    }
    #[cfg(feature = "simsimd")]
    fn simsimd(a: &[f32], b: &[f32]) -> f32 {
        super::simsimd_backend::l2sq(a, b)
    }
}

/// Calls the generic function `$f::<K>(args)` with `K` the type of the raw kernel
/// `$kernel`: the one place the facade branches on a metric's kernel.
macro_rules! by_kernel {
    ($kernel:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $kernel {
            $crate::metric::spec::Kernel::Dot => $f::<$crate::metric::kernel::Dot>($($arg),*),
            $crate::metric::spec::Kernel::L2Sq => $f::<$crate::metric::kernel::L2Sq>($($arg),*),
        }
    };
}
pub(super) use by_kernel;
