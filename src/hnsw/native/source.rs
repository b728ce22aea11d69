//! Where the builder's distances come from: the f32 rows, or `i8` codes of them made once
//! per build ([`crate::hnsw::HnswConstruction`]). [`Graph`](super::insert::Graph) is generic
//! over the source, so each is a monomorphised builder with no dispatch per distance.
//!
//! The codes are the `i8` element type's (one scale per row, `quantize_i8`) and a distance
//! is one exact integer dot product (`metric::dot_i8i8_prepared`, one `vpdpbusd` per 64
//! bytes on `avx512+vnni`, the first row's `128·Σ codes` computed once per build) over
//! a quarter of the bytes of the f32 rows: `1 − sₐ·s_b·(a·b)` for cosine and dot, and
//! `|a|² + |b|² − 2·sₐ·s_b·(a·b)` for L2 with the decoded rows' squared norms kept per row.
//! Both are symmetric and bitwise deterministic, which the heuristic's shortcut
//! (`select.rs`) relies on.

use rayon::prelude::*;

use crate::codec::quantize_i8;
use crate::metric::{self, Kernel, MetricSpec};
use crate::types::Metric;

/// A cache line, in bytes.
const LINE: usize = 64;

/// The distances of one build, between rows by index.
pub(super) trait Source: Sync {
    /// How many rows ahead of the distance being computed the beam prefetches. f32 rows
    /// (24 cache lines each at 384-d) go to L2 (`metric::prefetch`): six ahead built
    /// dev50k with f32 construction at ~5.5k vectors/s (2 threads, EPYC Zen 4) against
    /// ~5.3k two ahead into L2 and ~4.4k two ahead into L1. Codes are 4× smaller.
    fn prefetch_ahead(&self) -> usize;

    /// A row prepared as the first operand of many distances (the row being inserted).
    type Query<'q>: Copy
    where
        Self: 'q;

    /// Row `r` as a query.
    fn query(&self, r: u32) -> Self::Query<'_>;

    /// Distance from the query `q` to row `b`.
    fn dist_to(&self, q: Self::Query<'_>, b: u32) -> f32;

    /// Hints the CPU to load row `r`.
    fn prefetch(&self, r: u32);

    /// Distance between rows `a` and `b` (symmetric, bitwise).
    #[inline(always)]
    fn dist(&self, a: u32, b: u32) -> f32 {
        self.dist_to(self.query(a), b)
    }
}

/// The f32 rows themselves (normalised for cosine), with the kernels search uses.
pub(super) struct F32Rows<'a> {
    pub vectors: &'a [f32],
    pub dims: usize,
    pub metric: Metric,
}

impl F32Rows<'_> {
    #[inline]
    fn row(&self, r: u32) -> &[f32] {
        let r = r as usize;
        &self.vectors[r * self.dims..(r + 1) * self.dims]
    }
}

impl Source for F32Rows<'_> {
    #[inline(always)]
    fn prefetch_ahead(&self) -> usize {
        6
    }

    type Query<'q>
        = &'q [f32]
    where
        Self: 'q;

    #[inline(always)]
    fn query(&self, r: u32) -> &[f32] {
        self.row(r)
    }

    #[inline(always)]
    fn dist_to(&self, q: &[f32], b: u32) -> f32 {
        metric::distance(self.metric, q, self.row(b))
    }

    #[inline(always)]
    fn prefetch(&self, r: u32) {
        metric::prefetch(self.row(r));
    }
}

/// `i8` codes of the rows, made once per build: `dims` bytes per row, its scale, and for
/// a metric over squared L2 the squared norm of the decoded row. Rows start on 64-byte boundaries (`stride` is
/// `dims` rounded up to a cache line, the first row at `start`), so a row spans the fewest
/// cache lines: 6 at 384-d, not 7.
pub(super) struct I8Codes {
    codes: Vec<i8>,
    start: usize,
    stride: usize,
    scales: Vec<f32>,
    /// Each row's [`metric::I8Operand::bias`], for the row as the first operand.
    biases: Vec<i32>,
    /// Squared-L2 kernel only (empty otherwise): `scale² · Σ code²` per row.
    norms: Vec<f32>,
    dims: usize,
    /// The metric as data: its raw kernel decides the formula, its finish the distance.
    spec: MetricSpec,
    l2: bool,
    /// Whether the codes are larger than half the last-level cache
    /// ([`metric::beyond_cache`]): then the beam requests them [`FAR_AHEAD`] rows ahead
    /// into L2 rather than [`NEAR_AHEAD`] ahead into L1.
    far: bool,
}

/// Rows ahead the beam prefetches codes that fit the cache, into L1.
const NEAR_AHEAD: usize = 8;

/// Rows ahead the beam prefetches codes larger than half the last-level cache, into L2:
/// in L1 requests they wait on the core's few L1 miss buffers. On 300k synthetic 384-d
/// rows (116 MB of codes, EPYC Zen 4 with 32 MiB L3, 2 threads) builds took 12-17% less
/// CPU than eight ahead into L1 (four interleaved pairs: 61.8 vs 71.4, 68.0 vs 79.9,
/// 61.8 vs 74.7, 59.4 vs 67.6 CPU-s), with the same recall; on dev50k (19 MB of codes,
/// also beyond half the L3) it was within the noise of [`NEAR_AHEAD`] (seven interleaved
/// pairs, best 4.41 against 4.51 s).
const FAR_AHEAD: usize = 16;

/// An [`I8Codes`] row as a query: its codes, scale and (L2) squared norm.
#[derive(Clone, Copy)]
pub(super) struct I8Query<'a> {
    codes: metric::I8Operand<'a>,
    scale: f32,
    norm: f32,
}

impl I8Codes {
    /// Quantises every row of `vectors` (row-major, `dims` each, finite), in parallel.
    /// Cost: one pass over the rows, and `n · dims` bytes (rounded up to 64 a row) plus 8
    /// or 12 bytes a row.
    pub fn new(vectors: &[f32], dims: usize, metric: Metric) -> Self {
        let d = dims.max(1);
        let n = vectors.len() / d;
        let stride = d.next_multiple_of(LINE);
        let mut codes = metric::huge_page_vec(n * stride + LINE, || 0i8);
        let start = codes.as_ptr().align_offset(LINE).min(LINE);
        let mut scales = vec![0f32; n];
        codes[start..start + n * stride]
            .par_chunks_mut(stride)
            .zip(scales.par_iter_mut())
            .zip(vectors.par_chunks_exact(d))
            .for_each(|((c, s), v)| *s = quantize_i8(v, &mut c[..d]));
        let biases = codes[start..start + n * stride]
            .par_chunks(stride)
            .map(|c| metric::I8Operand::new(&c[..d]).bias())
            .collect();
        let spec = MetricSpec::of(metric);
        let l2 = spec.kernel == Kernel::L2Sq;
        let norms = if l2 {
            codes[start..start + n * stride]
                .par_chunks(stride)
                .zip(scales.par_iter())
                .map(|(c, &s)| s * s * metric::dot_i8i8(&c[..d], &c[..d]) as f32)
                .collect()
        } else {
            Vec::new()
        };
        let far = metric::beyond_cache(
            n * (stride + size_of::<f32>()),
            metric::last_level_cache_bytes(),
        );
        I8Codes {
            far,
            codes,
            start,
            stride,
            scales,
            biases,
            norms,
            dims: d,
            spec,
            l2,
        }
    }

    #[inline]
    fn codes(&self, r: u32) -> &[i8] {
        let s = self.start + r as usize * self.stride;
        &self.codes[s..s + self.dims]
    }
}

impl Source for I8Codes {
    #[inline(always)]
    fn prefetch_ahead(&self) -> usize {
        if self.far { FAR_AHEAD } else { NEAR_AHEAD }
    }

    type Query<'q> = I8Query<'q>;

    #[inline(always)]
    fn query(&self, r: u32) -> I8Query<'_> {
        I8Query {
            codes: metric::I8Operand::with_bias(self.codes(r), self.biases[r as usize]),
            scale: self.scales[r as usize],
            norm: if self.l2 { self.norms[r as usize] } else { 0.0 },
        }
    }

    #[inline(always)]
    fn dist_to(&self, q: I8Query<'_>, b: u32) -> f32 {
        let ab = metric::dot_i8i8_prepared(q.codes, self.codes(b)) as f32;
        let s = q.scale * self.scales[b as usize];
        // The raw kernel value on the decoded rows, finished by the metric's spec. For
        // squared L2, rounding can take a tiny true distance a hair below 0; distances
        // compare only with each other, so it is kept as is.
        let raw = if self.l2 {
            q.norm + self.norms[b as usize] - 2.0 * s * ab
        } else {
            s * ab
        };
        self.spec.finish(raw)
    }

    #[inline(always)]
    fn prefetch(&self, r: u32) {
        let codes = self.codes(r);
        let scale = self.scales.get(r as usize..r as usize + 1).unwrap_or(&[]);
        if self.far {
            metric::prefetch_lines_l2(codes, usize::MAX);
            metric::prefetch_lines_l2(scale, 1);
        } else {
            metric::prefetch_lines(codes, usize::MAX);
            metric::prefetch_lines(scale, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n * d)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn code_distances_approximate_the_f32_ones_and_are_symmetric() {
        let (n, d) = (40, 97);
        for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
            let mut v = rows(n, d, 3);
            if metric == Metric::Cosine {
                for r in v.chunks_exact_mut(d) {
                    metric::normalize_in_place(r, String::new).unwrap();
                }
            }
            let f = F32Rows {
                vectors: &v,
                dims: d,
                metric,
            };
            let c = I8Codes::new(&v, d, metric);
            let mut worst = 0f32;
            for a in 0..n as u32 {
                for b in 0..n as u32 {
                    assert_eq!(c.dist(a, b).to_bits(), c.dist(b, a).to_bits());
                    let (x, y) = (f.dist(a, b), c.dist(a, b));
                    worst = worst.max((x - y).abs() / x.abs().max(1.0));
                }
            }
            // Half a step of 1/127 of each row's largest component, over 97 components.
            assert!(worst < 0.02, "{metric:?}: relative error {worst}");
            assert!(worst > 0.0, "{metric:?}: codes should not be exact");
        }
    }

    #[test]
    fn code_rows_start_on_cache_lines() {
        for d in [1, 64, 97, 384] {
            let c = I8Codes::new(&rows(5, d, 1), d, Metric::Dot);
            for r in 0..5 {
                assert_eq!(c.codes(r).len(), d);
                assert_eq!(c.codes(r).as_ptr() as usize % LINE, 0, "d {d} row {r}");
            }
        }
    }

    #[test]
    fn zero_rows_have_finite_distances() {
        let v = vec![0.0f32; 3 * 8];
        for metric in [Metric::Dot, Metric::L2] {
            let c = I8Codes::new(&v, 8, metric);
            assert!(c.dist(0, 1).is_finite());
        }
    }
}
