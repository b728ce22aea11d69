//! The stored rows of a gallery in their element type ([`ElementType`]): encoding at build
//! time, and at search time distances to an `f32` query, prefetch and decoding.
//!
//! `i8` rows are quantised per row: `scale = max|x| / 127`, `code = round(x / scale)`, so
//! every component is off by at most `scale / 2` and the largest one is exact. Decoding
//! and re-encoding gives the same codes, so a collection's commit (which decodes the rows
//! it keeps when there are no `f32` rows) does not drift.
//!
//! `i4` rows are quantised the same way with `scale = max|x| / 7` and codes `-7..=7`,
//! stored as `code + 8` two per byte: each 32-byte block holds 64 components, component
//! `j < 32` in the low nibble of byte `j` and `32 + j` in the high nibble, and a row is
//! padded with zero codes to a whole block (the layout `metric::dot_i4` reads).

use std::borrow::Cow;

use crate::metric;
use crate::types::{ElementType, Metric};

/// Borrowed rows of one element type, `dims` components each.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rows<'a> {
    F32(&'a [f32]),
    /// IEEE-754 binary16 bits.
    F16(&'a [u16]),
    /// Codes, and one scale per row.
    I8 {
        codes: &'a [i8],
        scales: &'a [f32],
    },
    /// Packed 4-bit codes (`stride` bytes per row), and one scale per row.
    I4 {
        codes: &'a [u8],
        scales: &'a [f32],
        stride: usize,
    },
}

/// Decodes one packed `i4` row (any length; missing bytes read as zero codes) into `out`.
fn decode_i4(codes: &[u8], scale: f32, out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let byte = codes
            .get(32 * (i / 64) + i % 32)
            .copied()
            .unwrap_or(8 | 8 << 4);
        let nibble = if i % 64 < 32 { byte & 0x0F } else { byte >> 4 };
        *o = f32::from(nibble as i8 - 8) * scale;
    }
}

impl<'a> Rows<'a> {
    /// Distance from `q` to row `row`.
    #[inline(always)]
    pub fn distance_q(&self, metric: Metric, dims: usize, q: Query<'_>, row: usize) -> f32 {
        match q {
            Query::F32(q) => self.distance(metric, dims, q, row),
            Query::Coded(c) => self.distance_coded(dims, c, row),
        }
    }

    /// Distance from the prepared query `q` to row `row` (a row out of range, possible
    /// only in a corrupt unverified file, is an empty row).
    #[inline(always)]
    pub fn distance(&self, metric: Metric, dims: usize, q: &[f32], row: usize) -> f32 {
        let span = row * dims..(row + 1) * dims;
        match self {
            Rows::F32(v) => metric::distance(metric, q, v.get(span).unwrap_or(&[])),
            Rows::F16(v) => metric::distance_f16(metric, q, v.get(span).unwrap_or(&[])),
            Rows::I8 { codes, scales } => metric::distance_i8(
                metric,
                q,
                codes.get(span).unwrap_or(&[]),
                scales.get(row).copied().unwrap_or(0.0),
            ),
            Rows::I4 { .. } => {
                // No f32-query kernel for i4 (its searches walk on coded queries): decode.
                let mut buf = [0f32; 512];
                let mut heap = Vec::new();
                let out = if dims <= buf.len() {
                    &mut buf[..dims]
                } else {
                    heap.resize(dims, 0f32);
                    &mut heap[..]
                };
                self.decode_into(dims, row, out);
                metric::distance(metric, q, out)
            }
        }
    }

    /// Distances from `q` to rows `start..start + out.len()`, written to `out` (rows out of
    /// range are left as they are).
    pub fn scan(&self, metric: Metric, dims: usize, q: Query<'_>, start: usize, out: &mut [f32]) {
        let span = start * dims..(start + out.len()) * dims;
        let q = match q {
            Query::F32(q) => q,
            Query::Coded(c) => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = self.distance_coded(dims, c, start + i);
                }
                return;
            }
        };
        match self {
            Rows::F32(v) => {
                if let Some(rows) = v.get(span) {
                    metric::scan(metric, q, rows, dims, out);
                }
            }
            Rows::F16(v) => {
                if let Some(rows) = v.get(span) {
                    for (o, r) in out.iter_mut().zip(rows.chunks_exact(dims)) {
                        *o = metric::distance_f16(metric, q, r);
                    }
                }
            }
            Rows::I8 { codes, scales } => {
                if let (Some(rows), Some(sc)) =
                    (codes.get(span), scales.get(start..start + out.len()))
                {
                    for ((o, r), s) in out.iter_mut().zip(rows.chunks_exact(dims)).zip(sc) {
                        *o = metric::distance_i8(metric, q, r, *s);
                    }
                }
            }
            Rows::I4 { .. } => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = self.distance(metric, dims, q, start + i);
                }
            }
        }
    }

    /// The query quantised like `i8` rows, for a graph walk whose beam is re-ranked: the
    /// walk then compares codes with codes (`metric::dot_i8i8`), about three times fewer
    /// instructions per distance than decoding each row to f32. `None` for other
    /// element types and for L2 (whose distance would also need each row's code norm).
    pub fn coded_query(&self, metric: Metric, q: &[f32]) -> Option<CodedQuery> {
        if metric == Metric::L2 {
            return None;
        }
        let len = match self {
            Rows::I8 { .. } => q.len(),
            // Padded to whole blocks with zero codes, like the rows.
            Rows::I4 { stride, .. } => stride * 2,
            _ => return None,
        };
        let mut codes = vec![0i8; len];
        let n = q.len().min(len);
        let scale = quantize_i8(&q[..n], &mut codes[..n]);
        Some(CodedQuery { codes, scale })
    }

    /// Distance from a coded query to row `row` of `i8` rows (`1 - dot`, the metric of
    /// [`Rows::coded_query`]); for other element types the distance of the empty row.
    #[inline(always)]
    pub fn distance_coded(&self, dims: usize, q: &CodedQuery, row: usize) -> f32 {
        let (dot, s) = match self {
            Rows::I8 { codes, scales } => (
                metric::dot_i8i8(
                    &q.codes,
                    codes.get(row * dims..(row + 1) * dims).unwrap_or(&[]),
                ),
                scales.get(row),
            ),
            Rows::I4 {
                codes,
                scales,
                stride,
            } => (
                metric::dot_i4(
                    &q.codes,
                    codes.get(row * stride..(row + 1) * stride).unwrap_or(&[]),
                ),
                scales.get(row),
            ),
            _ => return 1.0,
        };
        1.0 - q.scale * s.copied().unwrap_or(0.0) * dot as f32
    }

    /// Asks the CPU to start loading row `row`.
    #[inline(always)]
    pub fn prefetch(&self, dims: usize, row: usize) {
        let span = row * dims..(row + 1) * dims;
        match self {
            Rows::F32(v) => metric::prefetch(v.get(span).unwrap_or(&[])),
            Rows::F16(v) => metric::prefetch_lines(v.get(span).unwrap_or(&[]), usize::MAX),
            Rows::I8 { codes, .. } => {
                metric::prefetch_lines(codes.get(span).unwrap_or(&[]), usize::MAX)
            }
            Rows::I4 { codes, stride, .. } => metric::prefetch_lines(
                codes.get(row * stride..(row + 1) * stride).unwrap_or(&[]),
                usize::MAX,
            ),
        }
    }

    /// Writes rows `start..start + out.len() / dims` decoded to `f32` into `out` (rows out
    /// of range are left as they are).
    pub fn decode_into(&self, dims: usize, start: usize, out: &mut [f32]) {
        let n = out.len() / dims.max(1);
        let span = start * dims..(start + n) * dims;
        match self {
            Rows::F32(v) => {
                if let Some(src) = v.get(span) {
                    out[..src.len()].copy_from_slice(src);
                }
            }
            Rows::F16(v) => {
                if let Some(src) = v.get(span) {
                    let src: &[half::f16] = bytemuck::cast_slice(src);
                    half::slice::HalfFloatSliceExt::convert_to_f32_slice(
                        src,
                        &mut out[..src.len()],
                    );
                }
            }
            Rows::I8 { codes, scales } => {
                if let (Some(src), Some(sc)) = (codes.get(span), scales.get(start..start + n)) {
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
            Rows::I4 {
                codes,
                scales,
                stride,
            } => {
                for (r, o) in out.chunks_exact_mut(dims.max(1)).enumerate() {
                    let row = start + r;
                    if let (Some(c), Some(s)) =
                        (codes.get(row * stride..(row + 1) * stride), scales.get(row))
                    {
                        decode_i4(c, *s, o);
                    }
                }
            }
        }
    }

    /// Row `row` as `f32`: borrowed for `f32` rows, decoded otherwise (empty if out of
    /// range).
    pub fn decoded(&self, dims: usize, row: usize) -> Cow<'a, [f32]> {
        match self {
            Rows::F32(v) => Cow::Borrowed(v.get(row * dims..(row + 1) * dims).unwrap_or(&[])),
            _ => {
                if row >= self.rows(dims) {
                    return Cow::Borrowed(&[]);
                }
                let mut out = vec![0f32; dims];
                self.decode_into(dims, row, &mut out);
                Cow::Owned(out)
            }
        }
    }

    /// Number of whole rows.
    fn rows(&self, dims: usize) -> usize {
        let len = match self {
            Rows::F32(v) => v.len(),
            Rows::F16(v) => v.len(),
            Rows::I8 { codes, .. } => codes.len(),
            Rows::I4 { scales, .. } => return scales.len(),
        };
        len / dims.max(1)
    }

    /// Whether any stored value is not finite: `(row, component)` of the first one. `i8`
    /// codes are always finite; their scales are checked (component 0).
    pub fn first_non_finite(&self, dims: usize) -> Option<(usize, usize)> {
        let d = dims.max(1);
        match self {
            Rows::F32(v) => v
                .iter()
                .position(|x| !x.is_finite())
                .map(|i| (i / d, i % d)),
            Rows::F16(v) => v
                .iter()
                .position(|b| !half::f16::from_bits(*b).is_finite())
                .map(|i| (i / d, i % d)),
            Rows::I8 { scales, .. } | Rows::I4 { scales, .. } => scales
                .iter()
                .position(|s| !s.is_finite() || *s < 0.0)
                .map(|r| (r, 0)),
        }
    }
}

/// A prepared query as a scan compares it with rows: f32, or coded like `i8` rows.
#[derive(Clone, Copy)]
pub(crate) enum Query<'q> {
    F32(&'q [f32]),
    Coded(&'q CodedQuery),
}

/// A query quantised to `i8` codes with its scale (see [`Rows::coded_query`]).
pub(crate) struct CodedQuery {
    codes: Vec<i8>,
    scale: f32,
}

impl CodedQuery {
    /// The query's codes (`dims` for `i8` rows, padded to whole blocks for `i4`).
    pub fn codes(&self) -> &[i8] {
        &self.codes
    }
}

impl Rows<'_> {
    /// Distances from coded queries (`qs`, from [`Rows::coded_query`], their codes back to
    /// back in `codes`) to rows `start..start + nr`, written to `out[j * nr + i]`, each bit
    /// for bit [`Rows::distance_coded`]: through the integer batch tiles
    /// (`metric::cross_i8` / `cross_i4`, into the scratch `dots`).
    #[allow(clippy::too_many_arguments)]
    pub fn cross_coded(
        &self,
        dims: usize,
        qs: &[CodedQuery],
        codes: &[i8],
        start: usize,
        nr: usize,
        dots: &mut Vec<i32>,
        out: &mut [f32],
    ) {
        match self {
            Rows::I8 {
                codes: rows,
                scales,
            } => {
                let (Some(block), Some(sc)) = (
                    rows.get(start * dims..(start + nr) * dims),
                    scales.get(start..start + nr),
                ) else {
                    return self.cross_coded_pairs(dims, qs, start, nr, out);
                };
                dots.resize(qs.len() * nr, 0);
                let Some(qcodes) = codes.get(..qs.len() * dims) else {
                    return self.cross_coded_pairs(dims, qs, start, nr, out);
                };
                metric::cross_i8(qcodes, block, dims, dots);
                for ((q, o), d) in qs
                    .iter()
                    .zip(out.chunks_exact_mut(nr))
                    .zip(dots.chunks_exact(nr))
                {
                    for ((o, s), dot) in o.iter_mut().zip(sc).zip(d) {
                        *o = 1.0 - q.scale * s * *dot as f32;
                    }
                }
            }
            Rows::I4 {
                codes: rows,
                scales,
                stride,
            } => {
                let len = 2 * stride;
                let (Some(block), Some(sc), Some(qcodes)) = (
                    rows.get(start * stride..(start + nr) * stride),
                    scales.get(start..start + nr),
                    codes.get(..qs.len() * len),
                ) else {
                    return self.cross_coded_pairs(dims, qs, start, nr, out);
                };
                dots.resize(qs.len() * nr, 0);
                metric::cross_i4(qcodes, block, *stride, dots);
                for ((q, o), d) in qs
                    .iter()
                    .zip(out.chunks_exact_mut(nr))
                    .zip(dots.chunks_exact(nr))
                {
                    for ((o, s), dot) in o.iter_mut().zip(sc).zip(d) {
                        *o = 1.0 - q.scale * s * *dot as f32;
                    }
                }
            }
            _ => self.cross_coded_pairs(dims, qs, start, nr, out),
        }
    }

    /// [`Rows::cross_coded`] pair by pair (element types without a tile, and rows out of
    /// range, which get the distance of the empty row).
    fn cross_coded_pairs(
        &self,
        dims: usize,
        qs: &[CodedQuery],
        start: usize,
        nr: usize,
        out: &mut [f32],
    ) {
        for (q, o) in qs.iter().zip(out.chunks_exact_mut(nr)) {
            for (i, o) in o.iter_mut().enumerate() {
                *o = self.distance_coded(dims, q, start + i);
            }
        }
    }
}

/// Rows encoded for writing: the `VECTORS` bytes and, for `i8`, the `QUANT` bytes.
pub(crate) enum Encoded {
    F16(Vec<u16>),
    I8 { codes: Vec<i8>, scales: Vec<f32> },
    I4 { codes: Vec<u8>, scales: Vec<f32> },
}

impl Encoded {
    /// Encodes `rows` (`f32`, `dims` each) as `element_type`; `None` for `f32`, which is
    /// written as it is.
    pub fn new(element_type: ElementType, rows: &[f32], dims: usize) -> Option<Encoded> {
        match element_type {
            ElementType::F32 => None,
            ElementType::F16 => {
                let mut out = vec![half::f16::ZERO; rows.len()];
                half::slice::HalfFloatSliceExt::convert_from_f32_slice(&mut out[..], rows);
                Some(Encoded::F16(out.iter().map(|h| h.to_bits()).collect()))
            }
            ElementType::I8 => {
                let n = rows.len() / dims.max(1);
                let mut codes = vec![0i8; n * dims];
                let mut scales = vec![0f32; n];
                for ((row, out), s) in rows
                    .chunks_exact(dims)
                    .zip(codes.chunks_exact_mut(dims))
                    .zip(&mut scales)
                {
                    *s = quantize_i8(row, out);
                }
                Some(Encoded::I8 { codes, scales })
            }
            ElementType::I4 => {
                let n = rows.len() / dims.max(1);
                let stride = ElementType::I4.row_bytes(dims).unwrap_or(0);
                let mut codes = vec![0u8; n * stride];
                let mut scales = vec![0f32; n];
                let mut buf = vec![0i8; dims];
                for ((row, out), s) in rows
                    .chunks_exact(dims)
                    .zip(codes.chunks_exact_mut(stride.max(1)))
                    .zip(&mut scales)
                {
                    *s = quantize(row, &mut buf, 7.0);
                    pack_i4(&buf, out);
                }
                Some(Encoded::I4 { codes, scales })
            }
        }
    }

    /// The `VECTORS` section bytes.
    pub fn vectors(&self) -> &[u8] {
        match self {
            Encoded::F16(v) => bytemuck::cast_slice(v),
            Encoded::I8 { codes, .. } => bytemuck::cast_slice(codes),
            Encoded::I4 { codes, .. } => codes,
        }
    }

    /// The `QUANT` section bytes (`i8` only).
    pub fn quant(&self) -> Option<&[u8]> {
        match self {
            Encoded::F16(_) => None,
            Encoded::I8 { scales, .. } | Encoded::I4 { scales, .. } => {
                Some(bytemuck::cast_slice(scales))
            }
        }
    }

    /// A view of the encoded rows.
    #[cfg(test)]
    pub fn rows(&self) -> Rows<'_> {
        match self {
            Encoded::F16(v) => Rows::F16(v),
            Encoded::I8 { codes, scales } => Rows::I8 { codes, scales },
            Encoded::I4 { codes, scales } => Rows::I4 {
                codes,
                scales,
                stride: codes.len() / scales.len().max(1),
            },
        }
    }
}

/// Quantises one finite row into `out` as `i8` codes; returns its scale (`0` for an
/// all-zero row).
pub(crate) fn quantize_i8(row: &[f32], out: &mut [i8]) -> f32 {
    quantize(row, out, 127.0)
}

/// Quantises one finite row to codes in `-levels..=levels`; returns the scale.
fn quantize(row: &[f32], out: &mut [i8], levels: f32) -> f32 {
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

/// Packs codes in `-7..=7` into the `i4` layout (see the module docs); `out` is one padded
/// row, whose padding gets zero codes.
fn pack_i4(codes: &[i8], out: &mut [u8]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i8_error_is_at_most_half_a_step_and_reencoding_is_stable() {
        let row: Vec<f32> = (0..97)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 61.0)
            .collect();
        let enc = Encoded::new(ElementType::I8, &row, row.len()).unwrap();
        let rows = enc.rows();
        let dec = rows.decoded(row.len(), 0).into_owned();
        let Rows::I8 { scales, .. } = rows else {
            unreachable!()
        };
        for (a, b) in row.iter().zip(&dec) {
            assert!((a - b).abs() <= scales[0] / 2.0 * 1.0001, "{a} vs {b}");
        }
        let again = Encoded::new(ElementType::I8, &dec, row.len()).unwrap();
        assert_eq!(again.vectors(), enc.vectors());
    }

    #[test]
    fn i4_packs_decodes_and_reencodes() {
        let row: Vec<f32> = (0..150)
            .map(|i| ((i * 29 % 83) as f32 - 41.0) / 40.0)
            .collect();
        let enc = Encoded::new(ElementType::I4, &row, row.len()).unwrap();
        assert_eq!(enc.vectors().len(), 3 * 32);
        let rows = enc.rows();
        let dec = rows.decoded(row.len(), 0).into_owned();
        let Rows::I4 { scales, codes, .. } = rows else {
            unreachable!()
        };
        for (i, (a, b)) in row.iter().zip(&dec).enumerate() {
            assert!((a - b).abs() <= scales[0] / 2.0 * 1.0001, "{a} vs {b}");
            assert_eq!(f32::from(metric::scalar::i4_code(codes, i)) * scales[0], *b);
        }
        let again = Encoded::new(ElementType::I4, &dec, row.len()).unwrap();
        assert_eq!(again.vectors(), enc.vectors());
        // The coded dot product equals the dot product of the codes.
        let q: Vec<f32> = (0..150).map(|i| (i as f32 / 75.0) - 1.0).collect();
        let cq = rows.coded_query(Metric::Dot, &q).unwrap();
        let want: f32 = (0..150)
            .map(|i| f32::from(cq.codes[i]) * f32::from(metric::scalar::i4_code(codes, i)))
            .sum();
        let got = 1.0 - rows.distance_coded(150, &cq, 0);
        assert!(
            (got - want * cq.scale * scales[0]).abs() < 1e-4,
            "{got} vs {want}"
        );
    }

    #[test]
    fn f16_roundtrip_and_zero_rows() {
        let row = [0.1f32, -2.5, 65504.0, 0.0];
        let enc = Encoded::new(ElementType::F16, &row, 4).unwrap();
        let dec = enc.rows().decoded(4, 0).into_owned();
        for (a, b) in row.iter().zip(&dec) {
            assert!((a - b).abs() <= a.abs() / 2048.0, "{a} vs {b}");
        }
        let z = Encoded::new(ElementType::I8, &[0.0; 4], 4).unwrap();
        assert_eq!(z.rows().decoded(4, 0).as_ref(), &[0.0; 4]);
        assert!(enc.rows().decoded(4, 1).is_empty());
    }
}
