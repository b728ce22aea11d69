//! `i8` rows: quantised per row (`scale = max|x| / 127`, codes `-127..=127`, see
//! `quantize.rs`), one byte per component, the scales in the `QUANT` section. Distances to
//! an `f32` query decode on the fly; re-ranked searches compare a query quantised the same
//! way code with code (`metric::dot_i8i8`, batch tiles `metric::cross_i8`).

use rayon::prelude::*;

use crate::metric;
use crate::types::Metric;

use super::quantize::{first_bad_scale, quantize_i8};
use super::{Codec, CodedQuery, Encoded, cross_coded_pairs, finish_dots};

/// The `i8` codec.
pub(crate) struct I8;

/// Borrowed `i8` rows: codes (`dims` per row) and one scale per row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct I8Rows<'a> {
    pub codes: &'a [i8],
    pub scales: &'a [f32],
}

impl I8Rows<'_> {
    /// Codes and scale of row `row` (empty, 0 out of range).
    #[inline(always)]
    fn row(&self, dims: usize, row: usize) -> (&[i8], f32) {
        (
            self.codes.get(row * dims..(row + 1) * dims).unwrap_or(&[]),
            self.scales.get(row).copied().unwrap_or(0.0),
        )
    }
}

impl Codec for I8 {
    type Rows<'a> = I8Rows<'a>;

    const QUANT: bool = true;

    fn view<'a>(vectors: &'a [u8], scales: &'a [f32], _dims: usize) -> Option<I8Rows<'a>> {
        Some(I8Rows {
            codes: bytemuck::cast_slice(vectors),
            scales,
        })
    }

    fn encode(rows: &[f32], dims: usize) -> Option<Encoded> {
        let n = rows.len() / dims.max(1);
        let mut codes = vec![0u8; n * dims];
        let mut scales = vec![0f32; n];
        // In parallel (the caller's rayon pool).
        rows.par_chunks_exact(dims)
            .zip(codes.par_chunks_exact_mut(dims))
            .zip(scales.par_iter_mut())
            .for_each(|((row, out), s)| *s = quantize_i8(row, bytemuck::cast_slice_mut(out)));
        Some(Encoded {
            vectors: codes,
            scales: Some(scales),
        })
    }

    fn count(rows: I8Rows<'_>, dims: usize) -> usize {
        rows.codes.len() / dims.max(1)
    }

    #[inline(always)]
    fn distance(rows: I8Rows<'_>, metric: Metric, dims: usize, q: &[f32], row: usize) -> f32 {
        let (codes, scale) = rows.row(dims, row);
        metric::distance_i8(metric, q, codes, scale)
    }

    fn scan(
        rows: I8Rows<'_>,
        metric: Metric,
        dims: usize,
        q: &[f32],
        start: usize,
        out: &mut [f32],
    ) {
        if let (Some(codes), Some(sc)) = (
            rows.codes.get(start * dims..(start + out.len()) * dims),
            rows.scales.get(start..start + out.len()),
        ) {
            for ((o, r), s) in out.iter_mut().zip(codes.chunks_exact(dims)).zip(sc) {
                *o = metric::distance_i8(metric, q, r, *s);
            }
        }
    }

    #[inline(always)]
    fn prefetch(rows: I8Rows<'_>, dims: usize, row: usize) {
        metric::prefetch_lines(rows.row(dims, row).0, usize::MAX);
        // The scale lives in the QUANT section, another cache line: a second miss per row
        // out of cache unless it is requested too.
        metric::prefetch_lines(rows.scales.get(row..row + 1).unwrap_or(&[]), 1);
    }

    #[inline(always)]
    fn prefetch_far(rows: I8Rows<'_>, dims: usize, row: usize) {
        metric::prefetch_lines_l2(rows.row(dims, row).0, usize::MAX);
        metric::prefetch_lines_l2(rows.scales.get(row..row + 1).unwrap_or(&[]), 1);
    }

    fn bytes(rows: I8Rows<'_>) -> usize {
        size_of_val(rows.codes) + size_of_val(rows.scales)
    }

    fn decode_into(rows: I8Rows<'_>, dims: usize, start: usize, out: &mut [f32]) {
        let n = out.len() / dims.max(1);
        if let (Some(src), Some(sc)) = (
            rows.codes.get(start * dims..(start + n) * dims),
            rows.scales.get(start..start + n),
        ) {
            for ((o, c), s) in out
                .chunks_exact_mut(dims)
                .zip(src.chunks_exact(dims))
                .zip(sc)
            {
                for (x, y) in o.iter_mut().zip(c) {
                    *x = f32::from(*y) * s;
                }
            }
        }
    }

    fn first_non_finite(rows: I8Rows<'_>, _dims: usize) -> Option<(usize, usize)> {
        first_bad_scale(rows.scales)
    }

    fn coded_query(_rows: I8Rows<'_>, metric: Metric, q: &[f32]) -> Option<CodedQuery> {
        CodedQuery::new(metric, q, q.len())
    }

    #[inline(always)]
    fn distance_coded(rows: I8Rows<'_>, dims: usize, q: &CodedQuery, row: usize) -> f32 {
        let (codes, scale) = rows.row(dims, row);
        q.finish(scale, metric::dot_i8i8(&q.codes, codes))
    }

    fn cross_coded(
        rows: I8Rows<'_>,
        dims: usize,
        qs: &[CodedQuery],
        codes: &[i8],
        start: usize,
        nr: usize,
        dots: &mut Vec<i32>,
        out: &mut [f32],
    ) {
        let (Some(block), Some(sc), Some(qcodes)) = (
            rows.codes.get(start * dims..(start + nr) * dims),
            rows.scales.get(start..start + nr),
            codes.get(..qs.len() * dims),
        ) else {
            return cross_coded_pairs::<Self>(rows, dims, qs, start, nr, out);
        };
        dots.resize(qs.len() * nr, 0);
        metric::cross_i8(qcodes, block, dims, dots);
        finish_dots(qs, sc, dots, nr, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testing;
    use crate::types::ElementType;

    #[test]
    fn scan_and_distance_agree_with_the_scalar_oracle() {
        testing::check_against_oracle(ElementType::I8);
        testing::check_coded_against_oracle(ElementType::I8);
    }

    #[test]
    fn error_is_at_most_half_a_step_and_reencoding_is_stable() {
        let row: Vec<f32> = (0..97)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 61.0)
            .collect();
        let enc = I8::encode(&row, row.len()).unwrap();
        let scales: Vec<f32> = testing::aligned(enc.quant().unwrap());
        let rows = I8Rows {
            codes: bytemuck::cast_slice(enc.vectors()),
            scales: &scales,
        };
        let dec = I8::decoded(rows, row.len(), 0).into_owned();
        for (a, b) in row.iter().zip(&dec) {
            assert!((a - b).abs() <= scales[0] / 2.0 * 1.0001, "{a} vs {b}");
        }
        let again = I8::encode(&dec, row.len()).unwrap();
        assert_eq!(again.vectors(), enc.vectors());
    }

    #[test]
    fn zero_rows_and_bad_scales() {
        let enc = I8::encode(&[0.0; 4], 4).unwrap();
        let rows = I8Rows {
            codes: bytemuck::cast_slice(enc.vectors()),
            scales: &[0.0],
        };
        assert_eq!(I8::decoded(rows, 4, 0).as_ref(), &[0.0; 4]);
        let bad = I8Rows {
            scales: &[0.5, -1.0],
            codes: &[0; 8],
        };
        assert_eq!(I8::first_non_finite(bad, 4), Some((1, 0)));
    }
}
