//! Our HNSW search over the frozen graph, in place over the gallery bytes: greedy descent
//! through the upper levels, then a beam of width `ef` on layer 0, with a reusable
//! per-thread scratch (visited bitset, the beam as one sorted list) and
//! software prefetch of the next neighbours' rows and of the next node's adjacency.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::codec::{Query, Rows};
use crate::filter::RowSet;
use crate::types::SearchParams;
use crate::view::View;

use super::candidates::Candidates;
use super::graph::GraphView;
use super::visited::Visited;

/// A node with its distance; ordered by distance ([`f32::total_cmp`]), then row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cand {
    pub d: f32,
    pub row: u32,
}

impl PartialEq for Cand {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.d.total_cmp(&o.d).then(self.row.cmp(&o.row))
    }
}

/// Per-thread search state, reused across calls (no allocation per query once warm).
#[derive(Default)]
struct Scratch {
    visited: Visited,
    /// The beam: the best `width` rows seen, admitted or not.
    beam: Candidates,
    /// With a filter: the best `ef` admitted rows seen.
    admitted: BinaryHeap<Cand>,
    /// Unvisited neighbours of the node being expanded.
    fresh: Vec<u32>,
}

/// How many rows ahead of the distance being computed the beam prefetches f32 rows (into
/// L2, see `metric::prefetch`). A row of 384 f32 is 24 cache lines that mostly come from
/// DRAM (a 50k × 384 gallery is 77 MB, larger than the L3 it shares with every other
/// process). On dev50k (AMD EPYC Zen 4, 1 thread) six ahead into L2 ran 1.55-1.7× faster
/// than two ahead into L1, the best L1 setting (one and three ahead were slower); four and
/// eight ahead into L2 were within a few % of six.
const PREFETCH_AHEAD: usize = 6;

/// [`PREFETCH_AHEAD`] for compact rows (f16: 12 lines, i8: 6, i4: 3 at 384 dims),
/// requested into L1 (their lines fit the miss buffers, and into L2 they measured no
/// faster). On dev50k (EPYC Zen 4, 1 thread, from the mmap) i8 and i4 walks with
/// re-ranking ran 3-5% faster eight rows ahead than four, and four ahead ~25% faster
/// than two; twelve ahead was slower again.
const PREFETCH_AHEAD_COMPACT: usize = 8;

/// How many rows ahead the beam prefetches compact rows that do not fit the cache: into
/// L2 ([`Rows::prefetch_far`]), when the rows are larger than half the last-level cache
/// ([`prefetch_plan`]). Out of cache the L1 requests of [`PREFETCH_AHEAD_COMPACT`] queue
/// on the core's few L1 miss buffers (profiles showed the prefetch instructions themselves
/// stalling), while L2 takes many more requests in flight. AMD EPYC Zen 4 (32 MiB L3),
/// 1 thread, interleaved best of 3-5 rounds, ef 16 / 32 / 64, against 8 ahead into L1:
/// - 300k synthetic rows (`peers.py --synthetic 300000,384`): i4 (58 MB) +8-20% /
///   +5-20% / +6-15%, i8 (116 MB) +31% / +35% / +31%; 24 and 32 ahead within ±4% of 16;
/// - dev50k i8 codes (19 MB, with the f32 rows of re-ranking sharing the L3): +8-17%;
/// - dev50k i4 codes (9.6 MB): 2-11% slower (the L1 requests arrive in time from the
///   L3), hence the size test.
const PREFETCH_AHEAD_FAR: usize = 16;

/// How the beam requests the rows it scores next: how many rows ahead, and whether into
/// L2 ([`Rows::prefetch_far`]) instead of the element type's usual cache level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Prefetch {
    ahead: usize,
    far: bool,
}

/// The beam's [`Prefetch`] for `rows` on a CPU whose last-level cache holds `llc` bytes:
/// f32 rows [`PREFETCH_AHEAD`] ahead (into L2 anyway), compact rows larger than half the
/// cache [`PREFETCH_AHEAD_FAR`] ahead into L2, smaller ones [`PREFETCH_AHEAD_COMPACT`]
/// ahead into L1.
fn prefetch_plan(rows: &Rows<'_>, llc: usize) -> Prefetch {
    match rows {
        Rows::F32(_) => Prefetch {
            ahead: PREFETCH_AHEAD,
            far: false,
        },
        _ if crate::metric::beyond_cache(rows.bytes(), llc) => Prefetch {
            ahead: PREFETCH_AHEAD_FAR,
            far: true,
        },
        _ => Prefetch {
            ahead: PREFETCH_AHEAD_COMPACT,
            far: false,
        },
    }
}

/// Requests row `row` as `plan` says.
#[inline(always)]
fn fetch(view: &View<'_>, plan: Prefetch, row: u32) {
    if plan.far {
        view.rows.prefetch_far(view.dims, row as usize);
    } else {
        view.prefetch(row as usize);
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The graph walk of a prepared query (`q` normalised for cosine, or coded like the rows):
/// the best `ef` admitted rows found, with their distances on the stored rows, unsorted.
/// Rows outside `set` are traversed but never returned. Every id read from the graph is
/// range-checked; the greedy descent only moves to strictly closer nodes and the beam
/// visits each row at most once, so a corrupt graph cannot cause an endless loop.
pub(crate) fn search(
    view: &View<'_>,
    g: &GraphView<'_>,
    q: Query<'_>,
    set: &RowSet<'_>,
    p: &SearchParams<'_>,
) -> Vec<Cand> {
    let n = view.count();
    if n == 0 || g.header.entry_point as usize >= n {
        return Vec::new();
    }
    SCRATCH.with(|cell| {
        // A re-entrant call (none today) would find the scratch borrowed: it gets its own.
        let mut held = cell.try_borrow_mut();
        let mut spare;
        let s: &mut Scratch = match &mut held {
            Ok(s) => s,
            Err(_) => {
                spare = Scratch::default();
                &mut spare
            }
        };
        // The walk and its distance closures are inlined into code compiled for the
        // backend's instruction set, with the distance kernel inlined at each step.
        crate::metric::in_backend(
            #[inline(always)]
            || match q {
                Query::Coded(cq) => walk(
                    view,
                    g,
                    s,
                    set,
                    p,
                    #[inline(always)]
                    |r: u32| not_nan(view.rows.distance_coded(view.dims, cq, r as usize)),
                ),
                Query::F32(q) => walk(
                    view,
                    g,
                    s,
                    set,
                    p,
                    #[inline(always)]
                    |r: u32| not_nan(view.distance(q, r as usize)),
                ),
            },
        )
    })
}

/// A NaN distance (a damaged or forged file only) counts as +inf, as in `TopK`, so it
/// can neither win a comparison nor rank first by `total_cmp` with its sign bit set.
#[inline(always)]
fn not_nan(d: f32) -> f32 {
    if d.is_nan() { f32::INFINITY } else { d }
}

/// Greedy descent through the upper levels, then the layer-0 beam, with `dist` as the
/// distance from the query to a row.
#[inline(always)]
fn walk(
    view: &View<'_>,
    g: &GraphView<'_>,
    s: &mut Scratch,
    set: &RowSet<'_>,
    p: &SearchParams<'_>,
    dist: impl Fn(u32) -> f32,
) -> Vec<Cand> {
    let n = view.count();
    let mut cur = g.header.entry_point;
    let mut cur_d = dist(cur);
    for level in (1..=g.max_level()).rev() {
        loop {
            let mut moved = false;
            for &x in g.neighbors_upper(level, cur) {
                if (x as usize) < n {
                    let d = dist(x);
                    if d < cur_d {
                        cur = x;
                        cur_d = d;
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    let ef = p.ef.max(p.k.min(n)).max(1);
    beam(view, g, s, cur, cur_d, ef, set, &dist)
}

/// Layer-0 beam search from `start`.
///
/// Without a filter this is the classic HNSW beam: the `ef` best rows bound the search
/// (kept in one sorted [`Candidates`] list rather than two heaps). With a filter admitting
/// a fraction `f` of the rows, filtered rows are traversed but never returned, and the
/// beam holds the best `ef / f` rows of any kind while the `ef` best admitted rows are
/// collected beside it: the walk then explores about as far as an unfiltered search that
/// would find `ef` admitted rows, instead of expanding every neighbour until `ef` admitted
/// rows turn up.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn beam(
    view: &View<'_>,
    g: &GraphView<'_>,
    s: &mut Scratch,
    start: u32,
    start_d: f32,
    ef: usize,
    set: &RowSet<'_>,
    dist: &impl Fn(u32) -> f32,
) -> Vec<Cand> {
    let n = view.count();
    let filtered = !set.is_all();
    let width = if filtered {
        let admitted = set.admitted(n).max(1);
        (ef.saturating_mul(n) / admitted).clamp(ef, n.max(ef))
    } else {
        ef
    };
    let plan = prefetch_plan(&view.rows, crate::metric::last_level_cache_bytes());
    s.visited.begin(n);
    s.beam.reset(width);
    s.admitted.clear();
    s.visited.insert(start as usize);
    let first = Cand {
        d: start_d,
        row: start,
    };
    s.beam.insert(first);
    if filtered && set.admits(start as usize) {
        s.admitted.push(first);
    }
    while let Some(c) = s.beam.next() {
        if filtered && s.admitted.len() >= ef && s.admitted.peek().is_some_and(|w| c.d > w.d) {
            break;
        }
        // The node expanded next is most likely the best candidate left: start loading its
        // adjacency row now.
        if let Some(next) = s.beam.peek() {
            g.prefetch0(next.row as usize);
        }
        // Unvisited neighbours first (ids out of range are skipped: the graph may be
        // corrupt), then their distances, each row prefetched a few rows early.
        let mut fresh = std::mem::take(&mut s.fresh);
        s.visited
            .insert_new(g.neighbors0(c.row as usize), &mut fresh);
        for &x in fresh.iter().take(plan.ahead) {
            fetch(view, plan, x);
        }
        for (i, &x) in fresh.iter().enumerate() {
            if let Some(&y) = fresh.get(i + plan.ahead) {
                fetch(view, plan, y);
            }
            let d = dist(x);
            if s.beam.admits(d) {
                let c = Cand { d, row: x };
                s.beam.insert(c);
                if filtered && set.admits(x as usize) {
                    s.admitted.push(c);
                    if s.admitted.len() > ef {
                        s.admitted.pop();
                    }
                }
            }
        }
        s.fresh = fresh;
    }
    let mut found = Vec::new();
    if filtered {
        found.extend(s.admitted.drain());
    } else {
        s.beam.drain_sorted_into(&mut found);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ElementType;

    #[test]
    fn compact_rows_larger_than_half_the_cache_are_prefetched_far_ahead() {
        let (n, dims) = (100, 64);
        let scales = vec![1f32; n];
        let quant: &[u8] = bytemuck::cast_slice(&scales);
        let near = Prefetch {
            ahead: PREFETCH_AHEAD_COMPACT,
            far: false,
        };
        let far = Prefetch {
            ahead: PREFETCH_AHEAD_FAR,
            far: true,
        };
        for (et, row_bytes) in [(ElementType::I8, dims), (ElementType::I4, dims / 2)] {
            let codes = vec![0u8; n * row_bytes];
            let rows = Rows::view(et, dims, &codes, Some(quant)).unwrap();
            let bytes = n * row_bytes + 4 * n;
            assert_eq!(rows.bytes(), bytes, "{et:?}");
            assert_eq!(prefetch_plan(&rows, 2 * bytes), near, "{et:?}");
            assert_eq!(prefetch_plan(&rows, 2 * bytes - 2), far, "{et:?}");
        }
        let f = vec![0f32; n * dims];
        let rows = Rows::view(ElementType::F32, dims, bytemuck::cast_slice(&f), None).unwrap();
        assert_eq!(rows.bytes(), 4 * n * dims);
        let f32_plan = Prefetch {
            ahead: PREFETCH_AHEAD,
            far: false,
        };
        assert_eq!(prefetch_plan(&rows, 0), f32_plan);
        assert_eq!(prefetch_plan(&rows, usize::MAX), f32_plan);
    }
}
