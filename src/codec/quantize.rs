//! Scalar quantisation with one scale per row, shared by the `i8` and `i4` codecs and by
//! coded queries: `scale = max|x| / levels`, `code = round(x / scale)` in
//! `-levels..=levels`, so every component is off by at most `scale / 2` and the largest one
//! is exact. Decoding and re-encoding gives the same codes, so a collection's commit (which
//! decodes the rows it keeps when there are no `f32` rows) does not drift.

/// Quantises one finite row into `out` as `i8` codes (`-127..=127`); returns its scale
/// (`0` for an all-zero row).
pub(crate) fn quantize_i8(row: &[f32], out: &mut [i8]) -> f32 {
    quantize(row, out, 127.0)
}

/// Quantises one finite row to codes in `-levels..=levels`; returns the scale.
pub(super) fn quantize(row: &[f32], out: &mut [i8], levels: f32) -> f32 {
    let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let scale = max / levels;
    let inv = levels / max;
    for (o, x) in out.iter_mut().zip(row) {
        *o = (x * inv).round().clamp(-levels, levels) as i8;
    }
    scale
}

/// The first scale that is not finite or is negative, as `(row, 0)`.
pub(super) fn first_bad_scale(scales: &[f32]) -> Option<(usize, usize)> {
    scales
        .iter()
        .position(|s| !s.is_finite() || *s < 0.0)
        .map(|r| (r, 0))
}
