//! Inserting one node: greedy descent through the levels above its own, then on each of
//! its levels a beam search of width `ef_construction`, the heuristic selection of its
//! neighbours, and reverse links, pruned with the same heuristic when a list is full.
//!
//! Layer 0 differs from hnswlib (for recall at a given ef, see `select::fill`): a list
//! is the heuristic's picks (its *closed prefix*, up to 2·M for a new node) followed by
//! the closest candidates the heuristic pruned, up to 2·M in all. Searches during the
//! build walk only the closed prefixes (the graph hnswlib would build), queries walk
//! whole lists. A reverse link into a full list re-runs the heuristic over the prefix
//! and the new node only, with the owner's distances cached per slot (`links.rs`).

use std::sync::Mutex;

use crate::hnsw::search::Cand;

use super::links::{Links, List};
use super::scratch::Scratch;
use super::select::{Pick, fill, select};
use super::source::Source;

/// The entry point and the highest level of the graph built so far.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub row: u32,
    pub level: usize,
}

/// Everything an inserting thread shares with the others; `S` gives the distances.
pub(super) struct Graph<S> {
    pub src: S,
    pub ef_construction: usize,
    pub links: Links,
    pub entry: Mutex<Option<Entry>>,
}

impl<S: Source> Graph<S> {
    #[inline(always)]
    fn dist(&self, a: u32, b: u32) -> f32 {
        self.src.dist(a, b)
    }

    /// Inserts row `q` (its level was drawn up-front) into the graph.
    ///
    /// Runs in code compiled for the distance backend's instruction set
    /// (`metric::in_backend`), with the distance kernels inlined into its loops.
    pub fn insert(&self, q: u32, s: &mut Scratch) {
        crate::metric::in_backend(
            #[inline(always)]
            || self.insert_here(q, s),
        )
    }

    /// [`Graph::insert`], in the caller's instruction set.
    #[inline(always)]
    fn insert_here(&self, q: u32, s: &mut Scratch) {
        let level = usize::from(self.links.levels[q as usize]);
        // A node that raises the top level keeps the entry lock for its whole insertion
        // (as hnswlib does), so two such nodes never build disconnected top levels.
        let mut guard = match self.entry.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let Some(entry) = *guard else {
            *guard = Some(Entry { row: q, level });
            return;
        };
        let hold = if level > entry.level {
            Some(guard)
        } else {
            drop(guard);
            None
        };
        let qv = self.src.query(q);
        let mut cur = Cand {
            d: self.src.dist_to(qv, entry.row),
            row: entry.row,
        };
        for l in (level + 1..=entry.level).rev() {
            cur = self.greedy(qv, cur, l, s);
        }
        for l in (0..=level.min(entry.level)).rev() {
            self.search_layer(q, cur, l, s);
            // Layer 0 takes up to 2·M links for the new node, as FAISS and hnsw_rs do
            // (hnswlib takes M).
            let limit = if l == 0 { self.links.m0 } else { self.links.m };
            s.picks.clear();
            s.picks
                .extend(s.found.iter().map(|&c| Pick { c, closed: false }));
            // hnswlib keeps every candidate when there are fewer than the limit.
            let closed = if s.picks.len() < limit {
                s.picked.clear();
                s.picked.extend_from_slice(&s.picks);
                0
            } else {
                select(
                    &s.picks,
                    limit,
                    #[inline(always)]
                    |a, b| self.dist(a, b),
                    &mut s.picked,
                );
                let closed = s.picked.len();
                if l == 0 {
                    fill(&s.picks, limit, &mut s.picked);
                }
                closed
            };
            if let Some(first) = s.picked.first() {
                cur = first.c;
            }
            {
                let _g = self.links.lock(q);
                self.links
                    .list(q, l)
                    .set(s.picked.iter().map(|p| (p.c.row, p.c.d)), closed);
            }
            let mut chosen = std::mem::take(&mut s.chosen);
            chosen.clear();
            chosen.extend(s.picked.iter().map(|p| p.c));
            for (i, c) in chosen.iter().enumerate() {
                if let (0, Some(next)) = (l, chosen.get(i + 1)) {
                    self.links.prefetch0_dists(next.row);
                }
                self.link_back(c.row, q, c.d, l, s);
            }
            s.chosen = chosen;
        }
        if let Some(mut g) = hold {
            *g = Some(Entry { row: q, level });
        }
    }

    /// Moves from `cur` to ever closer neighbours on upper `level` until none is closer.
    #[inline(always)]
    fn greedy(&self, qv: S::Query<'_>, mut cur: Cand, level: usize, s: &mut Scratch) -> Cand {
        loop {
            let mut moved = false;
            self.links.read(cur.row, level, &mut s.buf);
            for &x in &s.buf {
                let d = self.src.dist_to(qv, x);
                if d < cur.d {
                    cur = Cand { d, row: x };
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
        }
    }

    /// Beam search of width `ef_construction` for row `q` on `level` from `start`; leaves
    /// the candidates found in `s.found`, ascending by distance.
    #[inline(always)]
    fn search_layer(&self, q: u32, start: Cand, level: usize, s: &mut Scratch) {
        let ef = self.ef_construction.max(1);
        let ahead = self.src.prefetch_ahead();
        let qv = self.src.query(q);
        s.begin(self.links.len(), ef);
        s.visited.insert(q as usize);
        s.visited.insert(start.row as usize);
        s.beam.insert(start);
        while let Some(c) = s.beam.next() {
            if let (0, Some(next)) = (level, s.beam.peek()) {
                self.links.prefetch0(next.row);
            }
            self.links.read_search(c.row, level, &mut s.buf);
            s.prefetch_visited(&s.buf);
            s.visited.insert_new(&s.buf, &mut s.fresh);
            for &x in s.fresh.iter().take(ahead) {
                self.src.prefetch(x);
            }
            for i in 0..s.fresh.len() {
                if let Some(&y) = s.fresh.get(i + ahead) {
                    self.src.prefetch(y);
                }
                let x = s.fresh[i];
                let d = self.src.dist_to(qv, x);
                if s.beam.admits(d) {
                    // A candidate is likely expanded soon: start loading its list now.
                    if level == 0 {
                        self.links.prefetch0(x);
                    }
                    s.beam.insert(Cand { d, row: x });
                }
            }
        }
        s.found.clear();
        s.beam.drain_sorted_into(&mut s.found);
    }

    /// A full layer-0 list: the heuristic runs over its closed prefix (the picks of an
    /// earlier selection, with the cached distances to the owner, so no pair among them
    /// is recomputed) and `q`. If `q` is picked, the list becomes the new picks followed
    /// by the closest of its other entries; if not, `q` replaces the farthest entry after
    /// the prefix when it is closer. A list without a closed prefix (a short candidate
    /// list at insertion, or copied from a frozen graph by `extend`) runs the heuristic
    /// over all its entries and `q` once, which gives it one.
    #[inline(always)]
    fn link_back0(&self, list: &List<'_>, q: u32, d: f32, closed: usize, s: &mut Scratch) {
        s.entries.clear();
        list.read_dists_into(&mut s.entries);
        let head = if closed == 0 {
            s.entries.len()
        } else {
            closed.min(s.entries.len())
        };
        s.picks.clear();
        s.picks
            .extend(s.entries[..head].iter().map(|&(row, d)| Pick {
                c: Cand { d, row },
                closed: closed > 0,
            }));
        s.picks.push(Pick {
            c: Cand { d, row: q },
            closed: false,
        });
        s.picks.sort_unstable_by_key(|p| p.c);
        select(
            &s.picks,
            list.capacity(),
            #[inline(always)]
            |a, b| self.dist(a, b),
            &mut s.picked,
        );
        if closed > 0 && !s.picked.iter().any(|p| p.c.row == q) {
            list.replace_farthest_open(q, d);
            return;
        }
        let k = s.picked.len();
        // The rest, closest first: the entries (and `q`) the heuristic did not pick.
        s.entries.push((q, d));
        s.picks.clear();
        s.picks.extend(
            s.entries
                .iter()
                .filter(|(row, _)| !s.picked.iter().any(|p| p.c.row == *row))
                .map(|&(row, d)| Pick {
                    c: Cand { d, row },
                    closed: false,
                }),
        );
        s.picks.sort_unstable_by_key(|p| p.c);
        fill(&s.picks, list.capacity(), &mut s.picked);
        list.set(s.picked.iter().map(|p| (p.c.row, p.c.d)), k);
    }

    /// Adds `q` (at distance `d`) to `owner`'s list on `level`; a full list is pruned
    /// with the heuristic over its entries and `q`.
    #[inline(always)]
    fn link_back(&self, owner: u32, q: u32, d: f32, level: usize, s: &mut Scratch) {
        let _g = self.links.lock(owner);
        let list = self.links.list(owner, level);
        let (deg, closed) = list.head();
        if deg < list.capacity() {
            list.push(q, d);
            return;
        }
        if level == 0 {
            self.link_back0(&list, q, d, closed, s);
            return;
        }
        s.buf.clear();
        list.read_into(&mut s.buf);
        s.picks.clear();
        for (i, &x) in s.buf.iter().enumerate() {
            s.picks.push(Pick {
                c: Cand {
                    d: self.dist(owner, x),
                    row: x,
                },
                closed: i < closed,
            });
        }
        s.picks.push(Pick {
            c: Cand { d, row: q },
            closed: false,
        });
        s.picks.sort_unstable_by_key(|p| p.c);
        select(
            &s.picks,
            list.capacity(),
            #[inline(always)]
            |a, b| self.dist(a, b),
            &mut s.picked,
        );
        let k = s.picked.len();
        list.set(s.picked.iter().map(|p| (p.c.row, p.c.d)), k);
    }
}
