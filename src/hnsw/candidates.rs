//! The beam of a graph walk: the best `cap` nodes seen, each expanded at most once, closest
//! first.
//!
//! The classic HNSW beam keeps two binary heaps, a min-heap of candidates to expand and a
//! max-heap of the best `ef` results, and pushes every admitted node into both. A node
//! that falls out of the best `ef` can never be expanded (the walk stops when the best
//! candidate is worse than the worst result), so one sorted list of the best `cap` nodes
//! with an "expanded" mark holds the same information (the "linear pool" of NSG and
//! glass). It expands the same nodes (only distance ties may differ), with one insertion
//! per admitted node instead of up to four heap operations; on dev50k (EPYC Zen 4) walks
//! at ef 16-128 ran 5-15% faster with it, and the native build (ef_construction 200, 2
//! threads) ~10% faster than with the heaps (best of four interleaved runs: 9.95k against
//! 8.93k vectors/s). An insertion moves the entries behind it, so a
//! wide beam (a large `ef`, or a filter's `ef / f`) keeps the two heaps: above
//! [`LIST_MAX`] nodes the list's O(cap) insertions cost more than the heaps' O(log cap).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::search::Cand;

/// The widest beam kept as a sorted list; wider ones use two heaps. On dev50k (f32 and i4
/// rows, EPYC Zen 4, 1 thread) the list was 0-7% faster than the heaps at ef 64-512, even
/// at 1024, and up to 8% slower at 2048 (i4).
pub(crate) const LIST_MAX: usize = 1024;

/// A node of the list: its distance, row and whether the walk has expanded it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    c: Cand,
    expanded: bool,
}

/// The best `cap` nodes seen, by ([`f32::total_cmp`], row), and which are left to expand.
#[derive(Default)]
pub(crate) struct Candidates {
    cap: usize,
    /// Whether this walk uses the heaps (`cap > LIST_MAX`) rather than the list.
    heaps: bool,
    /// List form: the nodes, ascending.
    items: Vec<Entry>,
    /// List form: every entry before it is expanded.
    cursor: usize,
    /// Heap form: nodes not yet expanded (min-heap).
    todo: BinaryHeap<Reverse<Cand>>,
    /// Heap form: the best `cap` nodes (max-heap).
    best: BinaryHeap<Cand>,
}

impl Candidates {
    /// Empties the beam and bounds it to `cap` (at least 1) nodes.
    pub(crate) fn reset(&mut self, cap: usize) {
        self.reset_as(cap, cap > LIST_MAX);
    }

    /// [`Candidates::reset`] with the form chosen by the caller (tests compare them).
    fn reset_as(&mut self, cap: usize, heaps: bool) {
        self.cap = cap.max(1);
        self.heaps = heaps;
        self.items.clear();
        self.cursor = 0;
        self.todo.clear();
        self.best.clear();
        if !heaps {
            // One spare slot: an insertion into a full list pushes before it drops the last.
            self.items.reserve(self.cap + 1);
        }
    }

    /// Whether a node at distance `d` would be kept: the beam is not full or `d` is
    /// closer than its worst node.
    #[inline]
    pub(crate) fn admits(&self, d: f32) -> bool {
        let (len, worst) = if self.heaps {
            (self.best.len(), self.best.peek())
        } else {
            (self.items.len(), self.items.last().map(|e| &e.c))
        };
        match worst {
            Some(w) if len >= self.cap => d < w.d,
            _ => true,
        }
    }

    /// Inserts `c`, dropping the worst node when the beam overflows.
    #[inline]
    pub(crate) fn insert(&mut self, c: Cand) {
        if self.heaps {
            self.todo.push(Reverse(c));
            self.best.push(c);
            if self.best.len() > self.cap {
                self.best.pop();
            }
            return;
        }
        let at = self.items.partition_point(|e| e.c < c);
        if at >= self.cap {
            return;
        }
        self.items.insert(at, Entry { c, expanded: false });
        self.items.truncate(self.cap);
        self.cursor = self.cursor.min(at);
    }

    /// The closest node not yet expanded, now marked expanded; `None` when the walk is
    /// over (every kept node expanded; in heap form, the closest candidate left is worse
    /// than the worst kept node).
    #[inline]
    pub(crate) fn next(&mut self) -> Option<Cand> {
        if self.heaps {
            let Reverse(c) = self.todo.pop()?;
            let full = self.best.len() >= self.cap;
            if full && self.best.peek().is_some_and(|w| c.d > w.d) {
                self.todo.clear();
                return None;
            }
            return Some(c);
        }
        while let Some(e) = self.items.get_mut(self.cursor) {
            self.cursor += 1;
            if !e.expanded {
                e.expanded = true;
                return Some(e.c);
            }
        }
        None
    }

    /// The closest node not yet expanded, left in place (the node [`Candidates::next`]
    /// returns unless a closer one arrives first).
    #[inline]
    pub(crate) fn peek(&self) -> Option<Cand> {
        if self.heaps {
            return self.todo.peek().map(|r| r.0);
        }
        self.items[self.cursor.min(self.items.len())..]
            .iter()
            .find(|e| !e.expanded)
            .map(|e| e.c)
    }

    /// Appends the kept nodes to `out`, ascending, and empties the beam.
    pub(crate) fn drain_sorted_into(&mut self, out: &mut Vec<Cand>) {
        if self.heaps {
            let from = out.len();
            out.extend(self.best.drain());
            out[from..].sort_unstable();
        } else {
            out.extend(self.items.drain(..).map(|e| e.c));
        }
        self.cursor = 0;
        self.todo.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use super::{Cand, Candidates, LIST_MAX};

    fn c(d: f32, row: u32) -> Cand {
        Cand { d, row }
    }

    fn rows(p: &mut Candidates) -> Vec<u32> {
        let mut out = Vec::new();
        p.drain_sorted_into(&mut out);
        out.iter().map(|c| c.row).collect()
    }

    #[test]
    fn keeps_the_best_cap_nodes_in_order_and_expands_each_once() {
        let mut p = Candidates::default();
        p.reset(3);
        assert!(!p.heaps, "a narrow beam is a list");
        assert!(p.admits(f32::INFINITY));
        p.insert(c(5.0, 1));
        p.insert(c(3.0, 2));
        assert_eq!(p.next().map(|x| x.row), Some(2));
        p.insert(c(4.0, 3));
        assert!(!p.admits(6.0), "full, and worse than all");
        p.insert(c(6.0, 4)); // not kept
        assert!(p.admits(1.0));
        p.insert(c(1.0, 5)); // closer than the worst: the worst (row 1) drops
        assert_eq!(p.peek().map(|x| x.row), Some(5));
        assert_eq!(p.next().map(|x| x.row), Some(5));
        assert_eq!(p.next().map(|x| x.row), Some(3));
        assert_eq!(p.next(), None);
        // Equal distance: the row breaks the tie.
        p.insert(c(4.0, 9)); // sorts after row 3 (4.0): not kept
        p.insert(c(4.0, 0)); // sorts before it: row 3 drops
        assert_eq!(p.next().map(|x| x.row), Some(0));
        assert_eq!(p.next(), None);
        assert_eq!(rows(&mut p), [5, 2, 0]);
        p.reset(2);
        assert_eq!(p.next(), None);
        assert!(rows(&mut p).is_empty());
        p.reset(LIST_MAX + 1);
        assert!(p.heaps, "a wide beam is two heaps");
    }

    /// The classic two-heap HNSW beam and both forms of `Candidates` expand the same nodes
    /// in the same order on random "graphs" (distinct distances), and end with the same
    /// results.
    #[test]
    fn expands_like_the_two_heap_beam() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m
        };
        for trial in 0..300 {
            let n = 50 + rand(400) as u32;
            let ef = 1 + rand(40) as usize;
            let deg = 1 + rand(12) as usize;
            // A permutation of 0..n (2654435761 is prime): distinct distances.
            let dist: Vec<f32> = (0..u64::from(n))
                .map(|i| ((i * 2_654_435_761 + trial) % u64::from(n)) as f32)
                .collect();
            let nbrs: Vec<Vec<u32>> = (0..n)
                .map(|_| (0..deg).map(|_| rand(u64::from(n)) as u32).collect())
                .collect();
            let node = |r: u32| c(dist[r as usize], r);

            // Two heaps.
            let mut seen = vec![false; n as usize];
            let (mut cand, mut res) = (BinaryHeap::new(), BinaryHeap::new());
            seen[0] = true;
            cand.push(Reverse(node(0)));
            res.push(node(0));
            let mut order_heaps = Vec::new();
            while let Some(Reverse(x)) = cand.pop() {
                if res.len() >= ef && res.peek().is_some_and(|w: &Cand| x.d > w.d) {
                    break;
                }
                order_heaps.push(x.row);
                for &y in &nbrs[x.row as usize] {
                    if !std::mem::replace(&mut seen[y as usize], true) {
                        let d = node(y);
                        if res.len() < ef || d.d < res.peek().unwrap().d {
                            cand.push(Reverse(d));
                            res.push(d);
                            if res.len() > ef {
                                res.pop();
                            }
                        }
                    }
                }
            }
            let mut want: Vec<Cand> = res.into_vec();
            want.sort();

            // Both forms of `Candidates`.
            for heaps in [false, true] {
                let mut seen = vec![false; n as usize];
                let mut p = Candidates::default();
                p.reset_as(ef, heaps);
                seen[0] = true;
                p.insert(node(0));
                let mut order = Vec::new();
                while let Some(x) = p.next() {
                    order.push(x.row);
                    for &y in &nbrs[x.row as usize] {
                        if !std::mem::replace(&mut seen[y as usize], true) {
                            let d = node(y);
                            if p.admits(d.d) {
                                p.insert(d);
                            }
                        }
                    }
                }
                assert_eq!(order, order_heaps, "trial {trial}, heaps {heaps}");
                let mut got = Vec::new();
                p.drain_sorted_into(&mut got);
                assert_eq!(got, want, "trial {trial}, heaps {heaps}");
            }
        }
    }
}
