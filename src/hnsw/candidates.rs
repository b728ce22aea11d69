//! The beam of a graph walk as one sorted, bounded list (the "linear pool" of NSG and
//! glass): the best `cap` nodes seen, ascending by distance, each marked once expanded.
//!
//! The classic HNSW beam keeps two binary heaps, a min-heap of candidates to expand and a
//! max-heap of the best `ef` results, and pushes every admitted node into both. A node
//! that falls out of the best `ef` can never be expanded (the walk stops when the best
//! candidate is worse than the worst result), so one list of the best `cap` nodes with an
//! "expanded" mark holds the same information. The walk expands the same nodes (only
//! distance ties may differ), with one insertion per admitted node instead of up to four
//! heap operations, and the results come out sorted.

use super::search::Cand;

/// A node of the list: its distance, row and whether the walk has expanded it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    c: Cand,
    expanded: bool,
}

/// The best `cap` nodes seen, ascending by ([`f32::total_cmp`], row).
#[derive(Default)]
pub(crate) struct Candidates {
    items: Vec<Entry>,
    cap: usize,
    /// Every entry before it is expanded.
    cursor: usize,
}

impl Candidates {
    /// Empties the list and bounds it to `cap` (at least 1) nodes.
    pub(crate) fn reset(&mut self, cap: usize) {
        self.items.clear();
        self.cap = cap.max(1);
        self.cursor = 0;
        // One spare slot: an insertion into a full list pushes before it drops the last.
        self.items.reserve(self.cap + 1);
    }

    /// Whether a node at distance `d` would be kept: the list is not full or `d` is
    /// closer than its worst node.
    #[inline]
    pub(crate) fn admits(&self, d: f32) -> bool {
        match self.items.last() {
            Some(w) if self.items.len() >= self.cap => d < w.c.d,
            _ => true,
        }
    }

    /// Inserts `c` in order, dropping the worst node when the list overflows. Returns
    /// whether `c` was kept (it may sort after the worst node on a distance tie).
    #[inline]
    pub(crate) fn insert(&mut self, c: Cand) -> bool {
        let at = self.items.partition_point(|e| e.c < c);
        if at >= self.cap {
            return false;
        }
        self.items.insert(at, Entry { c, expanded: false });
        self.items.truncate(self.cap);
        self.cursor = self.cursor.min(at);
        true
    }

    /// The closest node not yet expanded, now marked expanded; `None` when every node
    /// is (the walk is over).
    #[inline]
    pub(crate) fn next(&mut self) -> Option<Cand> {
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
        self.items[self.cursor.min(self.items.len())..]
            .iter()
            .find(|e| !e.expanded)
            .map(|e| e.c)
    }

    /// The nodes, ascending.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = Cand> + '_ {
        self.items.iter().map(|e| e.c)
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use super::{Cand, Candidates};

    fn c(d: f32, row: u32) -> Cand {
        Cand { d, row }
    }

    #[test]
    fn keeps_the_best_cap_nodes_in_order_and_expands_each_once() {
        let mut p = Candidates::default();
        p.reset(3);
        assert!(p.admits(f32::INFINITY));
        assert!(p.insert(c(5.0, 1)));
        assert!(p.insert(c(3.0, 2)));
        assert_eq!(p.next().map(|x| x.row), Some(2));
        assert!(p.insert(c(4.0, 3)));
        assert!(
            !p.admits(6.0) && !p.insert(c(6.0, 4)),
            "full, and worse than all"
        );
        assert!(
            p.insert(c(1.0, 5)),
            "closer than the worst: the worst (row 1) drops"
        );
        assert_eq!(p.iter().map(|x| x.row).collect::<Vec<_>>(), [5, 2, 3]);
        assert_eq!(p.peek().map(|x| x.row), Some(5));
        assert_eq!(p.next().map(|x| x.row), Some(5));
        assert_eq!(p.next().map(|x| x.row), Some(3));
        assert_eq!(p.next(), None);
        // Equal distance: the row breaks the tie.
        assert!(!p.insert(c(4.0, 9)));
        assert!(p.insert(c(4.0, 0)));
        assert_eq!(p.iter().map(|x| x.row).collect::<Vec<_>>(), [5, 2, 0]);
        assert_eq!(p.next().map(|x| x.row), Some(0));
        p.reset(2);
        assert_eq!(p.iter().len(), 0);
        assert_eq!(p.next(), None);
    }

    /// The classic two-heap HNSW beam and the list expand the same nodes in the same order
    /// on random "graphs" (distinct distances), and end with the same results.
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

            // One list.
            let mut seen = vec![false; n as usize];
            let mut p = Candidates::default();
            p.reset(ef);
            seen[0] = true;
            p.insert(node(0));
            let mut order_list = Vec::new();
            while let Some(x) = p.next() {
                order_list.push(x.row);
                for &y in &nbrs[x.row as usize] {
                    if !std::mem::replace(&mut seen[y as usize], true) {
                        let d = node(y);
                        if p.admits(d.d) {
                            p.insert(d);
                        }
                    }
                }
            }
            assert_eq!(order_list, order_heaps, "trial {trial}");
            assert_eq!(p.iter().collect::<Vec<_>>(), want, "trial {trial}");
        }
    }
}
