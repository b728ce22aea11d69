//! `f32` rows: stored as they are, 4 bytes per component; the kernels read them in place.

use std::borrow::Cow;

use crate::metric;
use crate::types::Metric;

use super::{Codec, Encoded};

/// The `f32` codec.
pub(crate) struct F32;

impl Codec for F32 {
    type Rows<'a> = &'a [f32];

    const QUANT: bool = false;

    fn view<'a>(vectors: &'a [u8], _scales: &'a [f32], _dims: usize) -> Option<&'a [f32]> {
        bytemuck::try_cast_slice(vectors).ok()
    }

    fn encode(_rows: &[f32], _dims: usize) -> Option<Encoded> {
        None
    }

    fn count(rows: &[f32], dims: usize) -> usize {
        rows.len() / dims.max(1)
    }

    #[inline(always)]
    fn distance(rows: &[f32], metric: Metric, dims: usize, q: &[f32], row: usize) -> f32 {
        metric::distance(
            metric,
            q,
            rows.get(row * dims..(row + 1) * dims).unwrap_or(&[]),
        )
    }

    fn scan(rows: &[f32], metric: Metric, dims: usize, q: &[f32], start: usize, out: &mut [f32]) {
        if let Some(rows) = rows.get(start * dims..(start + out.len()) * dims) {
            metric::scan(metric, q, rows, dims, out);
        }
    }

    #[inline(always)]
    fn prefetch(rows: &[f32], dims: usize, row: usize) {
        metric::prefetch(rows.get(row * dims..(row + 1) * dims).unwrap_or(&[]))
    }

    /// f32 rows always go to L2 ([`metric::prefetch`]).
    #[inline(always)]
    fn prefetch_far(rows: &[f32], dims: usize, row: usize) {
        Self::prefetch(rows, dims, row)
    }

    fn bytes(rows: &[f32]) -> usize {
        size_of_val(rows)
    }

    fn decode_into(rows: &[f32], dims: usize, start: usize, out: &mut [f32]) {
        let n = out.len() / dims.max(1);
        if let Some(src) = rows.get(start * dims..(start + n) * dims) {
            out[..src.len()].copy_from_slice(src);
        }
    }

    fn decoded<'a>(rows: Self::Rows<'a>, dims: usize, row: usize) -> Cow<'a, [f32]> {
        Cow::Borrowed(rows.get(row * dims..(row + 1) * dims).unwrap_or(&[]))
    }

    fn first_non_finite(rows: &[f32], dims: usize) -> Option<(usize, usize)> {
        let d = dims.max(1);
        rows.iter()
            .position(|x| !x.is_finite())
            .map(|i| (i / d, i % d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testing;
    use crate::types::ElementType;

    #[test]
    fn scan_and_distance_agree_with_the_scalar_oracle() {
        testing::check_against_oracle(ElementType::F32);
    }

    #[test]
    fn rows_are_borrowed_and_out_of_range_rows_are_empty() {
        let rows = [1.0f32, 2.0, 3.0, 4.0];
        assert!(matches!(
            F32::decoded(&rows, 2, 1),
            Cow::Borrowed([3.0, 4.0])
        ));
        assert!(F32::decoded(&rows, 2, 2).is_empty());
        assert_eq!(
            F32::first_non_finite(&[1.0, f32::NAN, 0.0], 2),
            Some((0, 1))
        );
    }
}
