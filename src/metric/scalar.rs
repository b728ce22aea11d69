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

/// The `f32` value of half-precision bits.
#[inline]
pub fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// Dot product of `q` with half-precision row `x` (common prefix).
pub fn dot_f16(q: &[f32], x: &[u16]) -> f32 {
    q.iter()
        .zip(x)
        .map(|(a, b)| f64::from(*a) * f64::from(f16_to_f32(*b)))
        .sum::<f64>() as f32
}

/// Squared Euclidean distance of `q` to half-precision row `x` (common prefix).
pub fn l2sq_f16(q: &[f32], x: &[u16]) -> f32 {
    q.iter()
        .zip(x)
        .map(|(a, b)| {
            let d = f64::from(*a) - f64::from(f16_to_f32(*b));
            d * d
        })
        .sum::<f64>() as f32
}

/// Dot product of `q` with the row `scale × codes` (common prefix).
pub fn dot_i8(q: &[f32], codes: &[i8], scale: f32) -> f32 {
    (q.iter()
        .zip(codes)
        .map(|(a, c)| f64::from(*a) * f64::from(*c))
        .sum::<f64>()
        * f64::from(scale)) as f32
}

/// Squared Euclidean distance of `q` to the row `scale × codes` (common prefix).
pub fn l2sq_i8(q: &[f32], codes: &[i8], scale: f32) -> f32 {
    q.iter()
        .zip(codes)
        .map(|(a, c)| {
            let d = f64::from(*a) - f64::from(*c) * f64::from(scale);
            d * d
        })
        .sum::<f64>() as f32
}

/// Dot product of two `i8` code vectors (common prefix), exact.
pub fn dot_i8i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum()
}

/// Component `i` of a packed `i4` row (layout of `metric::dot_i4`), as its signed code.
#[inline]
pub fn i4_code(codes: &[u8], i: usize) -> i8 {
    let (block, j) = (i / 64, i % 64);
    let byte = codes[32 * block + j % 32];
    let nibble = if j < 32 { byte & 0x0F } else { byte >> 4 };
    nibble as i8 - 8
}

/// Dot product of `i8` query codes with a packed `i4` row (layout of `metric::dot_i4`),
/// over whole 64-component blocks.
pub fn dot_i4(q: &[i8], codes: &[u8]) -> i32 {
    let n = (q.len() / 64).min(codes.len() / 32) * 64;
    (0..n)
        .map(|i| i32::from(q[i]) * i32::from(i4_code(codes, i)))
        .sum()
}
