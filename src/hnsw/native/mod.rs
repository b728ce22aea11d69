//! vecmatch's own parallel HNSW builder (`HnswAlgorithm::Native`, the default), written straight into the frozen
//! layout.
//!
//! The algorithm is hnswlib's: levels drawn with multiplier `1 / ln M`, greedy descent
//! through the levels above the new node's, a beam of width `ef_construction` on each of
//! its levels, the heuristic neighbour selection (M links for the new node, reverse links
//! up to `M` above layer 0, a full list pruned with the same heuristic). Layer 0 keeps
//! hnswlib's graph as the prefix of each list and fills the rest of its 2·M slots with
//! the closest pruned candidates (`insert.rs`). Other differences: the lists live in flat arrays of atomics with one spin lock per node
//! (`links.rs`; a thread holds one lock at a time), layer 0 already has the file's layout,
//! distances are our SIMD kernels' on the f32 rows (the raw distances search uses) or on
//! `i8` codes of them made once per build (`source.rs`, [`HnswConstruction`]), the heuristic skips
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
mod source;

use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::types::Metric;

use super::graph::{FrozenGraph, GraphView};
use super::{GraphBuilder, HnswConstruction, HnswParams, Progress};
use insert::{Entry, Graph};
use links::Links;
use scratch::Pool;
use source::{F32Rows, I8Codes, Source};

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
        let links = Links::new(p.m, draw_levels(n, p.m, p.seed));
        Ok(match p.construction.for_build(metric, dims)? {
            HnswConstruction::I8 => {
                build_on(I8Codes::new(vectors, dims, metric), links, p, progress)
            }
            _ => build_on(
                F32Rows {
                    vectors,
                    dims,
                    metric,
                },
                links,
                p,
                progress,
            ),
        })
    }
}

/// Inserts every row into the empty `links` with the distances of `src`; freezes.
fn build_on<S: Source>(src: S, links: Links, p: &HnswParams, progress: &Progress) -> FrozenGraph {
    let n = links.len();
    let g = Graph {
        src,
        ef_construction: p.ef_construction,
        links,
        entry: Mutex::new(None),
    };
    insert_rows(&g, 0..n, progress);
    finish(g, p)
}

/// Inserts `rows` in order with one thread, else in parallel chunks, reporting progress
/// after each chunk.
fn insert_rows<S: Source>(g: &Graph<S>, rows: std::ops::Range<usize>, progress: &Progress) {
    let n = g.links.len();
    let pool = Pool::default();
    let serial = rayon::current_num_threads() <= 1;
    let mut done = rows.start;
    // The first row of an empty graph becomes the entry point before any other is
    // inserted.
    if done < rows.end && lock(&g.entry).is_none() {
        g.insert(done as u32, &mut pool.take().scratch);
        done += 1;
    }
    while done < rows.end {
        let end = (done + CHUNK).min(rows.end);
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
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Freezes the built graph.
fn finish<S>(g: Graph<S>, p: &HnswParams) -> FrozenGraph {
    let entry = match g.entry.into_inner() {
        Ok(e) => e,
        Err(p) => p.into_inner(),
    }
    .unwrap_or(Entry { row: 0, level: 0 });
    g.links.freeze(entry.row, entry.level, p.ef_construction)
}

/// Inserts rows `view.header.count..n` of `vectors` (all `n` rows, the old ones first and
/// unchanged) into the graph `view` built over the old rows, instead of rebuilding: the
/// frozen lists are copied into the builder's arrays (old rows keep their levels, new
/// rows draw theirs from `p.seed`), and the new rows are inserted as in a build. `p.m` is
/// ignored: the graph's M is kept. Repair and checks are the caller's, as after a build.
/// Cost: a copy of the graph plus the insertions, against a build's insertion of all
/// rows (`examples/collection_figures.rs` measures both).
///
/// # Errors
/// [`Error::InvalidArgument`] if `vectors` holds fewer rows than the graph, more than
/// 2^32-1, or the graph's degrees are not M and 2·M.
pub(crate) fn extend(
    view: &GraphView<'_>,
    vectors: &[f32],
    dims: usize,
    metric: Metric,
    p: &HnswParams,
    progress: &Progress,
) -> Result<FrozenGraph> {
    let old = view.header.count as usize;
    let n = vectors.len() / dims.max(1);
    let m = view.header.m as usize;
    if n < old || n > u32::MAX as usize {
        return Err(Error::InvalidArgument(format!(
            "cannot extend a graph of {old} rows to {n}"
        )));
    }
    if !(2..=128).contains(&m) || view.header.m0 as usize != 2 * m {
        return Err(Error::InvalidArgument(format!(
            "graph degrees M={m}, M0={} are not M and 2·M",
            view.header.m0
        )));
    }
    let mut levels = draw_levels(n, m, p.seed);
    levels[..old].fill(0);
    let top = view.max_level();
    for l in 1..=top {
        for &r in view.level_nodes(l) {
            if (r as usize) < old {
                levels[r as usize] = l as u8;
            }
        }
    }
    let ep = view.header.entry_point;
    if old > 0 && ep as usize >= old {
        return Err(Error::corrupt("GRAPH section: entry point out of range"));
    }
    let links = Links::new(m, levels);
    let p = HnswParams { m, ..*p };
    Ok(match p.construction.for_build(metric, dims)? {
        HnswConstruction::I8 => {
            let src = I8Codes::new(vectors, dims, metric);
            extend_on(src, view, links, &p, progress)
        }
        _ => extend_on(
            F32Rows {
                vectors,
                dims,
                metric,
            },
            view,
            links,
            &p,
            progress,
        ),
    })
}

/// [`extend`] once checked: copies the old rows' lists of `view` into `links` (their
/// layer-0 distances from `src`), inserts the new rows with `src`'s distances, freezes.
fn extend_on<S: Source>(
    src: S,
    view: &GraphView<'_>,
    links: Links,
    p: &HnswParams,
    progress: &Progress,
) -> FrozenGraph {
    let old = view.header.count as usize;
    let n = links.len();
    let mut buf = Vec::new();
    for r in 0..old {
        buf.clear();
        buf.extend(
            view.neighbors0(r)
                .iter()
                .copied()
                .filter(|&x| (x as usize) < old),
        );
        let rq = src.query(r as u32);
        links
            .list(r as u32, 0)
            .set(buf.iter().map(|&x| (x, src.dist_to(rq, x))), 0);
        for l in 1..=usize::from(links.levels[r]) {
            buf.clear();
            buf.extend(
                view.neighbors_upper(l, r as u32)
                    .iter()
                    .copied()
                    .filter(|&x| (x as usize) < old && usize::from(links.levels[x as usize]) >= l),
            );
            links
                .list(r as u32, l)
                .set(buf.iter().map(|&x| (x, 0.0)), 0);
        }
    }
    let ep = view.header.entry_point;
    let entry = (old > 0).then(|| Entry {
        row: ep,
        level: usize::from(links.levels[ep as usize]),
    });
    let g = Graph {
        src,
        ef_construction: p.ef_construction,
        links,
        entry: Mutex::new(entry),
    };
    insert_rows(&g, old..n, progress);
    finish(g, p)
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
mod construction_tests;
#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Query;
    use crate::filter::RowSet;
    use crate::hnsw::search::search;
    use crate::types::SearchParams;
    use crate::view::View;

    pub(super) fn fvecs(name: &str) -> (usize, Vec<f32>) {
        let path = format!("{}/data/minilm-5k/{name}", env!("CARGO_MANIFEST_DIR"));
        let b = std::fs::read(path).unwrap();
        let d = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
        let v = b
            .chunks_exact(4 * (d + 1))
            .flat_map(|r| r[4..].chunks_exact(4))
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        (d, v)
    }

    /// Recall@10 of the graph against exact search, over the shipped queries.
    pub(super) fn recall(bytes: &[u8], vectors: &[f32], d: usize, ef: usize) -> f64 {
        let n = vectors.len() / d;
        let keys: Vec<u64> = (0..n as u64).collect();
        let view = View {
            metric: Metric::Dot,
            dims: d,
            rows: crate::codec::Rows::F32(vectors),
            exact: None,
            keys: &keys,
            key_index: &[],
            labels: None,
        };
        let g = GraphView::parse(bytes, n).unwrap();
        let (_, queries) = fvecs("query.fvecs");
        let p = SearchParams {
            k: 10,
            ef,
            ..SearchParams::default()
        };
        let mut hit = 0;
        for q in queries.chunks_exact(d) {
            let mut exact: Vec<(f32, u64)> = vectors
                .chunks_exact(d)
                .zip(0..)
                .map(|(r, k)| (crate::metric::distance(Metric::Dot, q, r), k))
                .collect();
            exact.sort_by(|a, b| a.0.total_cmp(&b.0));
            let truth: Vec<u64> = exact[..10].iter().map(|e| e.1).collect();
            let mut got = search(&view, &g, Query::F32(q), &RowSet::all(), &p);
            got.sort_unstable();
            got.truncate(p.k);
            hit += got
                .iter()
                .filter(|c| truth.contains(&u64::from(c.row)))
                .count();
        }
        hit as f64 / (queries.len() / d * 10) as f64
    }

    #[test]
    fn extending_a_graph_matches_a_rebuild() {
        let (d, base) = fvecs("base.fvecs");
        let n = base.len() / d;
        let old = n - n / 10;
        let p = HnswParams::default();
        let none = Progress::default();
        let t = std::time::Instant::now();
        let full = NativeBuilder
            .build(&base, d, Metric::Dot, &p, &none)
            .unwrap()
            .to_bytes();
        let t_full = t.elapsed();
        let part = NativeBuilder
            .build(&base[..old * d], d, Metric::Dot, &p, &none)
            .unwrap()
            .to_bytes();
        let t = std::time::Instant::now();
        let view = GraphView::parse(&part, old).unwrap();
        let mut grown = extend(&view, &base, d, Metric::Dot, &p, &none).unwrap();
        crate::hnsw::repair(&mut grown, &base, d, Metric::Dot);
        let t_extend = t.elapsed();
        let grown = grown.to_bytes();
        let report = crate::hnsw::check(&GraphView::parse(&grown, n).unwrap()).unwrap();
        assert_eq!(report.nodes, n);
        assert_eq!(report.unreachable, 0, "{report:?}");
        for ef in [16, 64] {
            let (a, b) = (recall(&full, &base, d, ef), recall(&grown, &base, d, ef));
            eprintln!(
                "ef {ef}: rebuild {a:.4} ({t_full:?}), +{} rows into {old}: {b:.4} ({t_extend:?})",
                n - old
            );
            assert!(b >= a - 0.02, "ef {ef}: extended {b} vs rebuilt {a}");
        }
        // A graph of 0 rows extends like a build; fewer rows than the graph is refused.
        let empty = FrozenGraph::empty(0, 16, 200).to_bytes();
        let view = GraphView::parse(&empty, 0).unwrap();
        let g = extend(&view, &base[..50 * d], d, Metric::Dot, &p, &none).unwrap();
        assert_eq!(g.count, 50);
        let view = GraphView::parse(&part, old).unwrap();
        assert!(extend(&view, &base[..10 * d], d, Metric::Dot, &p, &none).is_err());
    }

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
