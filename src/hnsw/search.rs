//! Our HNSW search over the frozen graph, in place over the gallery bytes: greedy descent
//! through the upper levels, then a beam of width `ef` on layer 0, with a reusable
//! per-thread scratch (epoch-stamped visited array, candidate and result heaps) and
//! software prefetch of the next neighbours' rows and of the next node's adjacency.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::codec::{Query, Rows};
use crate::filter::RowSet;
use crate::types::SearchParams;
use crate::view::View;

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
    candidates: BinaryHeap<Reverse<Cand>>,
    /// The best `ef` admitted rows seen.
    results: BinaryHeap<Cand>,
    /// With a filter: the best `width` rows seen, admitted or not, which bound the beam.
    frontier: BinaryHeap<Cand>,
    /// Unvisited neighbours of the node being expanded.
    fresh: Vec<u32>,
}

impl Scratch {
    /// Starts a search over `n` rows: a new epoch makes every row unvisited in O(1).
    fn begin(&mut self, n: usize) {
        self.visited.begin(n);
        self.candidates.clear();
        self.results.clear();
        self.frontier.clear();
    }
}

/// How many rows ahead of the distance being computed the beam prefetches. A row of 384
/// f32 is 24 cache lines that mostly come from DRAM (a 20k × 384 gallery is as large as
/// the L3 cache it shares with every other process), so each whole row is requested two
/// distances before it is needed: on the 20k dev set this is ~15% faster at ef 64 than
/// prefetching the first two lines of every neighbour at once and leaving the rest to the
/// hardware prefetcher (one ahead and three ahead measured within noise of two).
const PREFETCH_AHEAD: usize = 2;

/// [`PREFETCH_AHEAD`] for compact rows (f16: 12 lines, i8: 6, i4: 3 at 384 dims), which
/// cost fewer outstanding misses each: on the 20k dev set, i8 walks with re-ranking ran
/// ~25% faster at ef 32 and 64 prefetching four rows ahead than two (alternating runs on
/// a busy machine, CPU-time QPS; three ahead in between).
const PREFETCH_AHEAD_COMPACT: usize = 4;

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
    match q {
        Query::Coded(cq) => walk(view, g, set, p, |r: u32| {
            view.rows.distance_coded(view.dims, cq, r as usize)
        }),
        Query::F32(q) => walk(view, g, set, p, |r: u32| view.distance(q, r as usize)),
    }
}

/// Greedy descent through the upper levels, then the layer-0 beam, with `dist` as the
/// distance from the query to a row.
fn walk(
    view: &View<'_>,
    g: &GraphView<'_>,
    set: &RowSet<'_>,
    p: &SearchParams<'_>,
    dist: impl Fn(u32) -> f32,
) -> Vec<Cand> {
    // A NaN distance (a damaged or forged file only) counts as +inf, as in `TopK`, so it
    // can neither win a comparison nor rank first by `total_cmp` with its sign bit set.
    let dist = |r: u32| {
        let d = dist(r);
        if d.is_nan() { f32::INFINITY } else { d }
    };
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
    SCRATCH.with(|cell| {
        let Ok(mut s) = cell.try_borrow_mut() else {
            return beam(view, g, &mut Scratch::default(), cur, cur_d, ef, set, &dist);
        };
        beam(view, g, &mut s, cur, cur_d, ef, set, &dist)
    })
}

/// Layer-0 beam search from `start`.
///
/// Without a filter this is the classic HNSW beam: the `ef` best rows bound the search.
/// With a filter admitting a fraction `f` of the rows, filtered rows are traversed but
/// never returned, and the beam is bounded by the best `ef / f` rows of any kind (the
/// `frontier`) while the `ef` best admitted rows are collected: the walk then explores
/// about as far as an unfiltered search that would find `ef` admitted rows, instead of
/// expanding every neighbour until `ef` admitted rows turn up.
#[allow(clippy::too_many_arguments)]
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
    s.begin(n);
    s.visited.insert(start as usize);
    s.candidates.push(Reverse(Cand {
        d: start_d,
        row: start,
    }));
    if filtered {
        s.frontier.push(Cand {
            d: start_d,
            row: start,
        });
    }
    if set.admits(start as usize) {
        s.results.push(Cand {
            d: start_d,
            row: start,
        });
    }
    while let Some(Reverse(c)) = s.candidates.pop() {
        let bound = if filtered { &s.frontier } else { &s.results };
        if bound.len() >= width && bound.peek().is_some_and(|w| c.d > w.d) {
            break;
        }
        if filtered && s.results.len() >= ef && s.results.peek().is_some_and(|w| c.d > w.d) {
            break;
        }
        // The node expanded next is most likely the best candidate left: start loading its
        // adjacency row now.
        if let Some(Reverse(next)) = s.candidates.peek() {
            g.prefetch0(next.row as usize);
        }
        // Unvisited neighbours first (ids out of range are skipped: the graph may be
        // corrupt), then their distances, each row prefetched a few rows early.
        let mut fresh = std::mem::take(&mut s.fresh);
        fresh.clear();
        for &x in g.neighbors0(c.row as usize) {
            if (x as usize) < n && s.visited.insert(x as usize) {
                fresh.push(x);
            }
        }
        let ahead = match view.rows {
            Rows::F32(_) => PREFETCH_AHEAD,
            _ => PREFETCH_AHEAD_COMPACT,
        };
        for &x in fresh.iter().take(ahead) {
            view.prefetch(x as usize);
        }
        for (i, &x) in fresh.iter().enumerate() {
            if let Some(&y) = fresh.get(i + ahead) {
                view.prefetch(y as usize);
            }
            let d = dist(x);
            let bound = if filtered {
                &mut s.frontier
            } else {
                &mut s.results
            };
            let worst = bound.peek().map_or(f32::INFINITY, |w| w.d);
            if bound.len() < width || d < worst {
                s.candidates.push(Reverse(Cand { d, row: x }));
                if filtered {
                    s.frontier.push(Cand { d, row: x });
                    if s.frontier.len() > width {
                        s.frontier.pop();
                    }
                }
                if set.admits(x as usize) {
                    s.results.push(Cand { d, row: x });
                    if s.results.len() > ef {
                        s.results.pop();
                    }
                }
            }
        }
        s.fresh = fresh;
    }
    s.results.drain().collect()
}
