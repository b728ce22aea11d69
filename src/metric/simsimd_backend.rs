//! The `simsimd` crate's kernels, kept behind the facade so benchmarks can compare them with
//! our own (`benches/metric.rs`). simsimd's f32 dot product on AVX2 uses a single
//! accumulator, which our four-accumulator kernel outruns; see ARCHITECTURE.md.

use simsimd::SpatialSimilarity;

use super::scalar;

/// Dot product by simsimd (falls back to the scalar kernel if simsimd refuses the input).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    match f32::dot(&a[..n], &b[..n]) {
        Some(v) => v as f32,
        None => scalar::dot(a, b),
    }
}

/// Squared Euclidean distance by simsimd.
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    match f32::sqeuclidean(&a[..n], &b[..n]) {
        Some(v) => v as f32,
        None => scalar::l2sq(a, b),
    }
}
