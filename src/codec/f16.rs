//! `f16` rows: IEEE-754 half precision (rounded to nearest even), 2 bytes per component,
//! stored as their bits; the kernels convert them on the fly (F16C).

use half::f16;
use half::slice::HalfFloatSliceExt;

use crate::metric;
use crate::types::Metric;

use super::{Codec, Encoded};

/// The `f16` codec.
pub(crate) struct F16;

/// Values converted per call of the slice conversion while encoding.
const ENCODE_CHUNK: usize = 4096;

impl Codec for F16 {
    type Rows<'a> = &'a [u16];

    const QUANT: bool = false;

    fn view<'a>(vectors: &'a [u8], _scales: &'a [f32], _dims: usize) -> Option<&'a [u16]> {
        bytemuck::try_cast_slice(vectors).ok()
    }

    fn encode(rows: &[f32], _dims: usize) -> Option<Encoded> {
        let mut vectors = Vec::with_capacity(rows.len() * 2);
        let mut buf = [f16::ZERO; ENCODE_CHUNK];
        for chunk in rows.chunks(ENCODE_CHUNK) {
            let out = &mut buf[..chunk.len()];
            out.convert_from_f32_slice(chunk);
            vectors.extend_from_slice(bytemuck::cast_slice(out));
        }
        Some(Encoded {
            vectors,
            scales: None,
        })
    }

    fn count(rows: &[u16], dims: usize) -> usize {
        rows.len() / dims.max(1)
    }

    #[inline(always)]
    fn distance(rows: &[u16], metric: Metric, dims: usize, q: &[f32], row: usize) -> f32 {
        metric::distance_f16(
            metric,
            q,
            rows.get(row * dims..(row + 1) * dims).unwrap_or(&[]),
        )
    }

    fn scan(rows: &[u16], metric: Metric, dims: usize, q: &[f32], start: usize, out: &mut [f32]) {
        if let Some(rows) = rows.get(start * dims..(start + out.len()) * dims) {
            for (o, r) in out.iter_mut().zip(rows.chunks_exact(dims)) {
                *o = metric::distance_f16(metric, q, r);
            }
        }
    }

    #[inline(always)]
    fn prefetch(rows: &[u16], dims: usize, row: usize) {
        metric::prefetch_lines(
            rows.get(row * dims..(row + 1) * dims).unwrap_or(&[]),
            usize::MAX,
        )
    }

    #[inline(always)]
    fn prefetch_far(rows: &[u16], dims: usize, row: usize) {
        metric::prefetch_lines_l2(
            rows.get(row * dims..(row + 1) * dims).unwrap_or(&[]),
            usize::MAX,
        )
    }

    fn bytes(rows: &[u16]) -> usize {
        size_of_val(rows)
    }

    fn decode_into(rows: &[u16], dims: usize, start: usize, out: &mut [f32]) {
        let n = out.len() / dims.max(1);
        if let Some(src) = rows.get(start * dims..(start + n) * dims) {
            let src: &[f16] = bytemuck::cast_slice(src);
            src.convert_to_f32_slice(&mut out[..src.len()]);
        }
    }

    fn first_non_finite(rows: &[u16], dims: usize) -> Option<(usize, usize)> {
        let d = dims.max(1);
        rows.iter()
            .position(|b| !f16::from_bits(*b).is_finite())
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
        testing::check_against_oracle(ElementType::F16);
    }

    #[test]
    fn roundtrip_and_out_of_range_rows() {
        let row = [0.1f32, -2.5, 65504.0, 0.0];
        let enc = F16::encode(&row, 4).unwrap();
        let bits: Vec<u16> = testing::aligned(enc.vectors());
        let dec = F16::decoded(&bits, 4, 0).into_owned();
        for (a, b) in row.iter().zip(&dec) {
            assert!((a - b).abs() <= a.abs() / 2048.0, "{a} vs {b}");
        }
        assert!(F16::decoded(&bits, 4, 1).is_empty());
        assert!(enc.quant().is_none());
        // Encoding in chunks gives the bits of the one-value conversion.
        let long: Vec<f32> = (0..ENCODE_CHUNK + 7).map(|i| i as f32 / 7.0).collect();
        let enc = F16::encode(&long, 1).unwrap();
        let want: Vec<u16> = long.iter().map(|x| f16::from_f32(*x).to_bits()).collect();
        assert_eq!(enc.vectors(), bytemuck::cast_slice::<u16, u8>(&want));
    }
}
