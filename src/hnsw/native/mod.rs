//! vecmatch's own parallel HNSW builder (the default), written straight into the frozen
//! layout.
//!
//! The algorithm is hnswlib's: levels drawn with multiplier `1 / ln M`, greedy descent
//! through the levels above the new node's, a beam of width `ef_construction` on each of
//! its levels, the heuristic neighbour selection (M links for the new node, reverse links
//! up to `2·M` on layer 0 and `M` above, a full list pruned with the same heuristic).
//! Differences: the lists live in flat arrays of atomics with one spin lock per node
//! (`links.rs`; a thread holds one lock at a time), layer 0 already has the file's layout,
//! distances are our SIMD kernels' (the raw distances search uses), the heuristic skips
//! pair distances it has already checked (`select.rs`, same result), and the search for
//! the next level down starts from the closest neighbour selected.
//!
//! Levels are drawn up-front from [`HnswParams::seed`], so they do not depend on the
//! thread count; with one thread rows are inserted in order and the graph is identical
//! for a given seed. With more threads, rows are inserted in parallel chunks (rayon) after
//! the first, and the graph depends on scheduling (its recall does not, beyond noise).

mod insert;
mod links;
mod scratch;
mod select;

use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::types::Metric;

use super::graph::FrozenGraph;
use super::{GraphBuilder, HnswParams, Progress};
use insert::{Entry, Graph};
use links::Links;
use scratch::Pool;

/// The native builder.
pub(crate) struct NativeBuilder;

/// Rows inserted between progress reports (and between the parallel batches' barriers).
const CHUNK: usize = 1024;
/// Highest level drawn (a level above ~log_M(n) + a few is never drawn in practice).
const MAX_LEVEL: usize = 32;

impl GraphBuilder for NativeBuilder {
    fn name(&self) -> &'static str {
        "native"
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
        if n > u32::MAX as usize {
            return Err(Error::InvalidArgument(
                "a graph holds at most 2^32-1 rows".into(),
            ));
        }
        let g = Graph {
            vectors,
            dims,
            metric,
            ef_construction: p.ef_construction,
            links: Links::new(p.m, draw_levels(n, p.m, p.seed)),
            entry: Mutex::new(None),
        };
        let pool = Pool::default();
        let serial = rayon::current_num_threads() <= 1;
        g.insert(0, &mut pool.take().scratch);
        let mut done = 1;
        while done < n {
            let end = (done + CHUNK).min(n);
            if serial {
                let mut lease = pool.take();
                for r in done..end {
                    g.insert(r as u32, &mut lease.scratch);
                }
            } else {
                (done..end)
                    .into_par_iter()
                    .for_each_init(|| pool.take(), |l, r| g.insert(r as u32, &mut l.scratch));
            }
            done = end;
            progress.report(done, n);
        }
        drop(pool);
        let entry = match g.entry.into_inner() {
            Ok(e) => e,
            Err(p) => p.into_inner(),
        }
        .unwrap_or(Entry { row: 0, level: 0 });
        Ok(g.links.freeze(entry.row, entry.level, p.ef_construction))
    }
}

/// The level of every row: `⌊-ln(u) / ln(m)⌋` for `u` uniform in (0, 1], from a
/// SplitMix64 stream seeded with `seed` (capped at [`MAX_LEVEL`]).
fn draw_levels(n: usize, m: usize, seed: u64) -> Vec<u8> {
    let mult = 1.0 / (m.max(2) as f64).ln();
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = ((z >> 11) + 1) as f64 / (1u64 << 53) as f64;
            ((-u.ln() * mult) as usize).min(MAX_LEVEL) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_geometric_law_and_the_seed() {
        let a = draw_levels(100_000, 16, 7);
        assert_eq!(a, draw_levels(100_000, 16, 7));
        assert_ne!(a, draw_levels(100_000, 16, 8));
        // P(level >= 1) = 1/16, P(level >= 2) = 1/256.
        let l1 = a.iter().filter(|&&l| l >= 1).count();
        let l2 = a.iter().filter(|&&l| l >= 2).count();
        assert!((5_600..6_900).contains(&l1), "{l1}");
        assert!((300..500).contains(&l2), "{l2}");
    }
}
