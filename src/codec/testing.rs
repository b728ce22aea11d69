//! Test support for the codec files: rows encoded and viewed as a file would hold them, and
//! the checks each codec runs against the scalar oracle (`metric::scalar` on the decoded
//! rows, through `Backend::scalar()`).

use crate::metric::{self, Backend, scalar};
use crate::types::{ElementType, Metric};

use super::{Encoded, Query, Rows};

const METRICS: [Metric; 3] = [Metric::Cosine, Metric::Dot, Metric::L2];

/// Deterministic values in `[-1, 1)` (xorshift).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `bytes` copied into a vector of `T` (aligned for `T`; the last value zero-padded).
pub(crate) fn aligned<T: bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
    let mut out = vec![T::zeroed(); bytes.len().div_ceil(std::mem::size_of::<T>().max(1))];
    bytemuck::cast_slice_mut::<T, u8>(&mut out)[..bytes.len()].copy_from_slice(bytes);
    out
}

/// Rows encoded as an element type, in aligned buffers as a mapped file has them.
pub(crate) struct Stored {
    element_type: ElementType,
    dims: usize,
    len: usize,
    vectors: Vec<u32>,
    quant: Option<Vec<f32>>,
}

impl Stored {
    /// Encodes `rows` (`dims` each) as `element_type`.
    pub fn new(element_type: ElementType, rows: &[f32], dims: usize) -> Stored {
        let (len, vectors, quant) = match Encoded::new(element_type, rows, dims) {
            Some(e) => (
                e.vectors().len(),
                aligned(e.vectors()),
                e.quant().map(aligned),
            ),
            None => (rows.len() * 4, aligned(bytemuck::cast_slice(rows)), None),
        };
        Stored {
            element_type,
            dims,
            len,
            vectors,
            quant,
        }
    }

    /// The view a search gets.
    pub fn rows(&self) -> Rows<'_> {
        let vectors = &bytemuck::cast_slice(&self.vectors)[..self.len];
        let quant = self.quant.as_deref().map(bytemuck::cast_slice);
        Rows::view(self.element_type, self.dims, vectors, quant).unwrap()
    }
}

/// Whether `got` is `want` up to f32 summation order (relative to the magnitudes summed).
fn close(got: f32, want: f32, q: &[f32], x: &[f32]) -> bool {
    let scale: f32 = q
        .iter()
        .zip(x)
        .map(|(a, b)| (a * b).abs() + (a - b) * (a - b))
        .sum();
    (got - want).abs() <= 1e-5 * scale.max(1.0)
}

/// For every metric and a few dimensions: `scan` of an `f32` query over any block equals
/// `distance` row by row bit for bit, and both agree with the scalar oracle on the decoded
/// rows (as stored: the codec's quantisation is not the kernel's error).
pub(crate) fn check_against_oracle(element_type: ElementType) {
    for dims in [1, 7, 64, 100, 300, 513] {
        let n = 9;
        let stored = Stored::new(element_type, &values(n * dims, dims as u64), dims);
        let rows = stored.rows();
        let q = values(dims, 99 + dims as u64);
        for m in METRICS {
            let mut all = vec![f32::NAN; n];
            rows.scan(m, dims, Query::F32(&q), 0, &mut all);
            let mut part = vec![f32::NAN; 4];
            rows.scan(m, dims, Query::F32(&q), 3, &mut part);
            for r in 0..n {
                let got = rows.distance(m, dims, &q, r);
                assert_eq!(
                    got.to_bits(),
                    all[r].to_bits(),
                    "{element_type} {m:?} d={dims} row {r}"
                );
                assert_eq!(
                    got.to_bits(),
                    rows.distance_q(m, dims, Query::F32(&q), r).to_bits()
                );
                if (3..7).contains(&r) {
                    assert_eq!(got.to_bits(), part[r - 3].to_bits());
                }
                let x = rows.decoded(dims, r);
                assert_eq!(x.len(), dims);
                let want = metric::distance_with(Backend::scalar(), m, &q, &x);
                assert!(
                    close(got, want, &q, &x),
                    "{element_type} {m:?} d={dims} row {r}: {got} vs oracle {want}"
                );
            }
        }
    }
}

/// For the coded paths (`i8`, `i4`): a coded query exists for the dot-product metrics
/// only; its distances are the metric's finish (`1 - raw`) of `raw = scale_q · scale_row ·
/// (integer dot product of the codes, by the scalar oracle)`, bit for bit, through
/// `distance_coded`, a coded `scan` and the batch `cross_coded`.
pub(crate) fn check_coded_against_oracle(element_type: ElementType) {
    for dims in [1, 7, 64, 100, 300] {
        let n = 11;
        let stored = Stored::new(element_type, &values(n * dims, 7 * dims as u64), dims);
        let rows = stored.rows();
        assert!(rows.coded_query(Metric::L2, &values(dims, 1)).is_none());
        for m in [Metric::Cosine, Metric::Dot] {
            let qs: Vec<_> = (0..3)
                .map(|i| rows.coded_query(m, &values(dims, 5 + i)).unwrap())
                .collect();
            let codes: Vec<i8> = qs.iter().flat_map(|q| q.codes()).copied().collect();
            let mut cross = vec![f32::NAN; qs.len() * n];
            rows.cross_coded(dims, &qs, &codes, 0, n, &mut Vec::new(), &mut cross);
            for (j, cq) in qs.iter().enumerate() {
                let mut scanned = vec![f32::NAN; n];
                rows.scan(m, dims, Query::Coded(cq), 0, &mut scanned);
                for r in 0..n {
                    let (dot, s) = match rows {
                        Rows::I8(x) => (
                            scalar::dot_i8i8(cq.codes(), &x.codes[r * dims..(r + 1) * dims]),
                            x.scales[r],
                        ),
                        Rows::I4(x) => (
                            scalar::dot_i4(cq.codes(), &x.codes[r * x.stride..(r + 1) * x.stride]),
                            x.scales[r],
                        ),
                        _ => unreachable!("{element_type} has no coded path"),
                    };
                    let want = 1.0 - cq.scale * s * dot as f32;
                    let got = rows.distance_coded(dims, cq, r);
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{element_type} {m:?} d={dims}"
                    );
                    assert_eq!(scanned[r].to_bits(), want.to_bits());
                    assert_eq!(cross[j * n + r].to_bits(), want.to_bits());
                    let coded = Query::Coded(cq);
                    assert_eq!(rows.distance_q(m, dims, coded, r).to_bits(), want.to_bits());
                }
            }
        }
    }
}

#[test]
fn views_check_alignment_and_the_quant_section() {
    let stored = Stored::new(ElementType::F16, &[0.5; 16], 4);
    let bytes: &[u8] = bytemuck::cast_slice(&stored.vectors);
    let err = Rows::view(ElementType::F16, 4, &bytes[1..9], None).unwrap_err();
    assert!(
        err.to_string().contains("section VECTORS is misaligned"),
        "{err}"
    );
    let err = Rows::view(ElementType::I8, 4, &bytes[..8], None).unwrap_err();
    assert!(
        err.to_string()
            .contains("required section QUANT is missing"),
        "{err}"
    );
    let scales = [0u8; 9];
    let err = Rows::view(ElementType::I4, 4, &bytes[..32], Some(&scales[1..5])).unwrap_err();
    assert!(
        err.to_string().contains("section QUANT is misaligned"),
        "{err}"
    );
    assert!(super::has_quant(ElementType::I4) && !super::has_quant(ElementType::F16));
}
