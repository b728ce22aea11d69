//! The `hnsw_rs` graph builder. This is the only file that imports `hnsw_rs`; none of its
//! types leave it. The built graph is frozen into a [`FrozenGraph`] and the `hnsw_rs`
//! structure is dropped before this function returns.

use std::panic::{AssertUnwindSafe, catch_unwind};

use hnsw_rs::prelude::{Distance, Hnsw};

use crate::error::{Error, Result};
use crate::metric::{self, MetricSpec};
use crate::types::Metric;

use super::graph::{FrozenGraph, UpperLevel};
use super::{GraphBuilder, HnswParams, Progress};

/// Our SIMD kernels as `hnsw_rs`'s distance. `hnsw_rs` asserts that distances are never
/// negative, but a metric's distance can be: `1 - dot` under [`Metric::Dot`] for rows with
/// norms above 1 (and -1e-7 for identical unit rows through rounding). So a constant
/// `shift` (see [`shift`]) is added and the result clamped at 0. A constant shift changes
/// neither the order of candidates nor the neighbour-selection heuristic, which compares
/// two distances of the same kind.
struct KernelDistance {
    metric: Metric,
    shift: f32,
}

impl Distance<f32> for KernelDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (metric::distance(self.metric, a, b) + self.shift).max(0.0)
    }
}

/// The shift that makes every distance between these rows non-negative: minus the
/// metric's smallest distance over rows of their largest squared norm (with a margin for
/// rounding; 1 for normalised rows, whose rounding the clamp absorbs), or 0.
fn shift(metric: Metric, vectors: &[f32], dims: usize) -> f32 {
    let spec = MetricSpec::of(metric);
    let max_sq = if spec.normalized {
        1.0
    } else {
        let max_sq = vectors
            .chunks_exact(dims)
            .map(|r| r.iter().map(|x| x * x).sum::<f32>())
            .fold(0.0f32, f32::max);
        max_sq * 1.0001
    };
    let s = -spec.min_distance(max_sq);
    if s > 0.0 { s } else { 0.0 }
}

/// Builds with `hnsw_rs` parallel insertion (rayon), in chunks so progress can be reported.
pub(crate) struct HnswRsBuilder;

/// Rows inserted per `parallel_insert_slice` call (progress granularity).
const CHUNK: usize = 2048;

impl GraphBuilder for HnswRsBuilder {
    fn name(&self) -> &'static str {
        "hnsw_rs"
    }

    fn build(
        &self,
        vectors: &[f32],
        dims: usize,
        metric: Metric,
        p: &HnswParams,
        progress: &Progress,
    ) -> Result<FrozenGraph> {
        let n = vectors.len() / dims.max(1);
        if n == 0 {
            return Ok(FrozenGraph::empty(0, p.m, p.ef_construction));
        }
        // hnsw_rs has no seed parameter: level sampling uses its own RNG, so builds are not
        // bit-reproducible; `p.seed` is recorded in META for the native builder.
        let built = catch_unwind(AssertUnwindSafe(|| {
            let dist = KernelDistance {
                metric,
                shift: shift(metric, vectors, dims),
            };
            let hnsw = Hnsw::<f32, KernelDistance>::new(p.m, n, 16, p.ef_construction, dist);
            let items: Vec<(&[f32], usize)> = vectors
                .chunks_exact(dims)
                .enumerate()
                .map(|(i, v)| (v, i))
                .collect();
            for (c, chunk) in items.chunks(CHUNK).enumerate() {
                hnsw.parallel_insert_slice(&chunk.to_vec());
                progress.report(((c + 1) * CHUNK).min(n), n);
            }
            freeze(&hnsw, n, p)
        }));
        built.map_err(|_| {
            Error::InvalidArgument("hnsw_rs panicked while building the graph".into())
        })?
    }
}

/// Copies the graph out of `hnsw_rs` into our flat form.
fn freeze(hnsw: &Hnsw<'_, f32, KernelDistance>, n: usize, p: &HnswParams) -> Result<FrozenGraph> {
    let index = hnsw.get_point_indexation();
    let max_level = usize::from(index.get_max_level_observed());
    let mut g = FrozenGraph::empty(n, p.m, p.ef_construction);
    let mut upper: Vec<Vec<(u32, Vec<u32>)>> = vec![Vec::new(); max_level];
    let mut entry = None;
    // `get_layer_iterator(level)` yields the points whose own level is `level`. Every point
    // carries neighbour lists for all of hnsw_rs's 16 possible layers, the ones above its
    // level empty: only levels 0..=level are the point's, so only those are frozen.
    for level in 0..=max_level {
        for point in index.get_layer_iterator(level) {
            let row = point.get_origin_id();
            if row >= n {
                return Err(Error::corrupt(format!("hnsw_rs returned row {row} of {n}")));
            }
            let hood = point.get_neighborhood_id();
            for (l, nbrs) in hood.iter().enumerate().take(level + 1) {
                let ids: Vec<u32> = nbrs
                    .iter()
                    .map(|x| x.get_origin_id())
                    .filter(|&x| x < n)
                    .map(|x| x as u32)
                    .collect();
                if l == 0 {
                    g.set_neighbors0(row, &ids);
                } else {
                    upper[l - 1].push((row as u32, ids));
                }
            }
            if level == max_level && entry.is_none() {
                entry = Some(row as u32);
            }
        }
    }
    for l in &mut upper {
        l.sort_unstable_by_key(|(r, _)| *r);
        l.dedup_by_key(|(r, _)| *r);
        // hnsw_rs's parallel insertion leaves a few upper-layer links to nodes whose own
        // level is lower (16 of ~1,600 upper-layer links on a 1,500-row test graph, all
        // towards two nodes): drop them, so that level `l` only links to nodes of level `l`
        // (an invariant `check` enforces).
        let rows: Vec<u32> = l.iter().map(|(r, _)| *r).collect();
        for (_, nbrs) in l.iter_mut() {
            nbrs.retain(|x| rows.binary_search(x).is_ok());
        }
    }
    g.entry_point = entry.unwrap_or(0);
    g.upper = upper
        .iter()
        .map(|l| UpperLevel::from_lists(l.iter().map(|(r, nb)| (*r, nb.as_slice())), p.m))
        .collect();
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shift_lifts_the_smallest_distance_to_zero() {
        // Rows of squared norm 4 and 1: `1 - dot` reaches 1 - 4 = -3 under dot.
        let rows = [2.0, 0.0, 0.0, 1.0];
        let s = shift(Metric::Dot, &rows, 2);
        assert!((s - (4.0 * 1.0001 - 1.0)).abs() < 1e-6, "{s}");
        assert!(metric::distance(Metric::Dot, &rows[..2], &rows[..2]) + s >= 0.0);
        // Unit rows under dot need only the margin; normalised rows (cosine) and L2 none.
        assert!(shift(Metric::Dot, &[0.6, 0.8], 2) < 1e-3);
        assert_eq!(shift(Metric::Cosine, &[0.6, 0.8], 2), 0.0);
        assert_eq!(shift(Metric::L2, &rows, 2), 0.0);
    }
}
