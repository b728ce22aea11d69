//! `i4` rows: quantised per row like `i8`, with codes `-7..=7` and the scale of least
//! squared error between `max|x| / 7` and 0.4 of it (the largest components may clip,
//! see `quantize::quantize_clipped`),
//! stored as `code + 8` two per byte: each 32-byte block holds 64 components, component
//! `j < 32` in the low nibble of byte `j` and `32 + j` in the high nibble, and a row is
//! padded with zero codes to a whole block (the layout `metric::dot_i4` reads). An eighth
//! of `f32`: meant for walks and scans on coded queries whose candidates are re-ranked.
//! Distances to an `f32` query decode the row first.

use rayon::prelude::*;

use crate::metric;
use crate::types::{ElementType, Metric};

use super::quantize::{first_bad_scale, quantize_clipped};
use super::{Codec, CodedQuery, Encoded, cross_coded_pairs, finish_dots};

/// The `i4` codec.
pub(crate) struct I4;

/// Borrowed `i4` rows: packed codes (`stride` bytes per row) and one scale per row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct I4Rows<'a> {
    pub codes: &'a [u8],
    pub scales: &'a [f32],
    pub stride: usize,
}

impl I4Rows<'_> {
    /// Packed codes of row `row` (empty out of range).
    #[inline(always)]
    fn codes(&self, row: usize) -> &[u8] {
        self.codes
            .get(row * self.stride..(row + 1) * self.stride)
            .unwrap_or(&[])
    }
}

/// Decodes one packed `i4` row (any length; missing bytes read as zero codes) into `out`.
fn decode_row(codes: &[u8], scale: f32, out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let byte = codes
            .get(32 * (i / 64) + i % 32)
            .copied()
            .unwrap_or(8 | 8 << 4);
        let nibble = if i % 64 < 32 { byte & 0x0F } else { byte >> 4 };
        *o = f32::from(nibble as i8 - 8) * scale;
    }
}

/// Packs codes in `-7..=7` into the `i4` layout (see the module docs); `out` is one padded
/// row, whose padding gets zero codes.
fn pack(codes: &[i8], out: &mut [u8]) {
    out.fill(8 | 8 << 4);
    for (i, c) in codes.iter().enumerate() {
        let nibble = (c + 8) as u8;
        let byte = &mut out[32 * (i / 64) + i % 32];
        *byte = if i % 64 < 32 {
            (*byte & 0xF0) | nibble
        } else {
            (*byte & 0x0F) | nibble << 4
        };
    }
}

impl Codec for I4 {
    type Rows<'a> = I4Rows<'a>;

    const QUANT: bool = true;

    fn view<'a>(vectors: &'a [u8], scales: &'a [f32], dims: usize) -> Option<I4Rows<'a>> {
        Some(I4Rows {
            codes: vectors,
            scales,
            stride: ElementType::I4.row_bytes(dims).unwrap_or(0),
        })
    }

    fn encode(rows: &[f32], dims: usize) -> Option<Encoded> {
        let n = rows.len() / dims.max(1);
        let stride = ElementType::I4.row_bytes(dims).unwrap_or(0);
        let mut codes = vec![0u8; n * stride];
        let mut scales = vec![0f32; n];
        // In parallel (the caller's rayon pool): choosing each row's scale tries 13.
        rows.par_chunks_exact(dims)
            .zip(codes.par_chunks_exact_mut(stride.max(1)))
            .zip(scales.par_iter_mut())
            .for_each_init(
                || vec![0i8; dims],
                |buf, ((row, out), s)| {
                    *s = quantize_clipped(row, buf, 7.0);
                    pack(buf, out);
                },
            );
        Some(Encoded {
            vectors: codes,
            scales: Some(scales),
        })
    }

    fn count(rows: I4Rows<'_>, _dims: usize) -> usize {
        rows.scales.len()
    }

    /// No f32-query kernel for `i4` (its searches walk on coded queries): the row is
    /// decoded first.
    #[inline(always)]
    fn distance(rows: I4Rows<'_>, metric: Metric, dims: usize, q: &[f32], row: usize) -> f32 {
        let mut buf = [0f32; 512];
        let mut heap = Vec::new();
        let out = if dims <= buf.len() {
            &mut buf[..dims]
        } else {
            heap.resize(dims, 0f32);
            &mut heap[..]
        };
        Self::decode_into(rows, dims, row, out);
        metric::distance(metric, q, out)
    }

    #[inline(always)]
    fn prefetch(rows: I4Rows<'_>, _dims: usize, row: usize) {
        metric::prefetch_lines(rows.codes(row), usize::MAX);
        // The scale lives in the QUANT section, another cache line: a second miss per row
        // out of cache unless it is requested too (on 300k synthetic rows, loading it was
        // ~9% of an i4 walk's time before).
        metric::prefetch_lines(rows.scales.get(row..row + 1).unwrap_or(&[]), 1);
    }

    #[inline(always)]
    fn prefetch_far(rows: I4Rows<'_>, _dims: usize, row: usize) {
        metric::prefetch_lines_l2(rows.codes(row), usize::MAX);
        metric::prefetch_lines_l2(rows.scales.get(row..row + 1).unwrap_or(&[]), 1);
    }

    fn bytes(rows: I4Rows<'_>) -> usize {
        size_of_val(rows.codes) + size_of_val(rows.scales)
    }

    fn decode_into(rows: I4Rows<'_>, dims: usize, start: usize, out: &mut [f32]) {
        for (r, o) in out.chunks_exact_mut(dims.max(1)).enumerate() {
            let row = start + r;
            if let (Some(c), Some(s)) = (
                rows.codes.get(row * rows.stride..(row + 1) * rows.stride),
                rows.scales.get(row),
            ) {
                decode_row(c, *s, o);
            }
        }
    }

    fn first_non_finite(rows: I4Rows<'_>, _dims: usize) -> Option<(usize, usize)> {
        first_bad_scale(rows.scales)
    }

    fn coded_query(rows: I4Rows<'_>, metric: Metric, q: &[f32]) -> Option<CodedQuery> {
        // Padded to whole blocks with zero codes, like the rows.
        CodedQuery::new(metric, q, rows.stride * 2)
    }

    #[inline(always)]
    fn distance_coded(rows: I4Rows<'_>, _dims: usize, q: &CodedQuery, row: usize) -> f32 {
        q.finish(
            rows.scales.get(row).copied().unwrap_or(0.0),
            metric::dot_i4(&q.codes, rows.codes(row)),
        )
    }

    fn cross_coded(
        rows: I4Rows<'_>,
        dims: usize,
        qs: &[CodedQuery],
        codes: &[i8],
        start: usize,
        nr: usize,
        dots: &mut Vec<i32>,
        out: &mut [f32],
    ) {
        let stride = rows.stride;
        let (Some(block), Some(sc), Some(qcodes)) = (
            rows.codes.get(start * stride..(start + nr) * stride),
            rows.scales.get(start..start + nr),
            codes.get(..qs.len() * 2 * stride),
        ) else {
            return cross_coded_pairs::<Self>(rows, dims, qs, start, nr, out);
        };
        dots.resize(qs.len() * nr, 0);
        metric::cross_i4(qcodes, block, stride, dots);
        finish_dots(qs, sc, dots, nr, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testing;

    #[test]
    fn scan_and_distance_agree_with_the_scalar_oracle() {
        // `distance` decodes the row and runs the f32 kernel: exact against the oracle on
        // the decoded row, up to the kernel's rounding.
        testing::check_against_oracle(ElementType::I4);
        testing::check_coded_against_oracle(ElementType::I4);
    }

    #[test]
    fn packs_decodes_and_reencodes() {
        let row: Vec<f32> = (0..150)
            .map(|i| ((i * 29 % 83) as f32 - 41.0) / 40.0)
            .collect();
        let enc = I4::encode(&row, row.len()).unwrap();
        assert_eq!(enc.vectors().len(), 3 * 32);
        let scales: Vec<f32> = testing::aligned(enc.quant().unwrap());
        let rows = I4::view(enc.vectors(), &scales, row.len()).unwrap();
        let dec = I4::decoded(rows, row.len(), 0).into_owned();
        for (i, (a, b)) in row.iter().zip(&dec).enumerate() {
            // Off by at most half a step, or clipped to the largest code.
            let clipped = a.abs() > 7.0 * scales[0] && b.abs() == 7.0 * scales[0];
            assert!(
                clipped || (a - b).abs() <= scales[0] / 2.0 * 1.0001,
                "{a} vs {b}"
            );
            let code = metric::scalar::i4_code(rows.codes, i);
            assert_eq!(f32::from(code) * scales[0], *b);
        }
        let again = I4::encode(&dec, row.len()).unwrap();
        assert_eq!(again.vectors(), enc.vectors());
        // The coded dot product equals the dot product of the codes.
        let q: Vec<f32> = (0..150).map(|i| (i as f32 / 75.0) - 1.0).collect();
        let cq = I4::coded_query(rows, Metric::Dot, &q).unwrap();
        let want: f32 = (0..150)
            .map(|i| f32::from(cq.codes[i]) * f32::from(metric::scalar::i4_code(rows.codes, i)))
            .sum();
        let got = 1.0 - I4::distance_coded(rows, 150, &cq, 0);
        assert!(
            (got - want * cq.scale * scales[0]).abs() < 1e-4,
            "{got} vs {want}"
        );
    }
}
