//! Scalar reference kernels: the test oracle for every SIMD backend, and the fallback on
//! machines without one. Accumulates in `f64` so that it is the more accurate side.

/// Dot product of the common prefix of `a` and `b`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum::<f64>() as f32
}

/// Squared Euclidean distance over the common prefix of `a` and `b`.
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = f64::from(*x) - f64::from(*y);
            d * d
        })
        .sum::<f64>() as f32
}
