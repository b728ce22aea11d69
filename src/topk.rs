//! Bounded top-k selection with a deterministic order: distance ([`f32::total_cmp`]), then
//! key ascending.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::types::Hit;

/// Heap entry ordered so that the *worst* hit is the greatest (max-heap root).
#[derive(Clone, Copy, Debug)]
struct Worst(Hit);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_rank(&other.0)
    }
}

/// Keeps the `k` best hits seen so far.
///
/// Cost: `O(log k)` per accepted hit, `O(1)` per rejected one ([`TopK::accepts`] lets hot
/// loops skip the key lookup for the common rejected case).
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
    /// Distance of the current worst hit once full; `+inf` until then.
    bound: f32,
    /// Optional hard limit: hits farther than this are never accepted.
    max_distance: f32,
}

impl TopK {
    /// An empty selector for `k` hits, optionally limited to `distance <= max_distance`.
    pub fn new(k: usize, max_distance: Option<f32>) -> Self {
        let k = k.max(1);
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
            bound: f32::INFINITY,
            max_distance: max_distance.unwrap_or(f32::INFINITY),
        }
    }

    /// Whether a hit at `distance` could enter (ties on distance are decided by key in
    /// [`TopK::push`], so equality returns `true`).
    ///
    /// A NaN distance (only possible on a damaged or forged file: valid vectors are
    /// bounded so that no distance overflows) counts as `+inf`: it ranks last but is never
    /// silently dropped while there is room.
    #[inline(always)]
    pub fn accepts(&self, distance: f32) -> bool {
        (distance <= self.bound && distance <= self.max_distance) || distance.is_nan()
    }

    /// Offers a hit; keeps it if it ranks among the best `k` (a NaN distance is kept as
    /// `+inf`).
    #[inline]
    pub fn push(&mut self, mut hit: Hit) {
        if hit.distance.is_nan() {
            hit.distance = f32::INFINITY;
        }
        if hit
            .distance
            .partial_cmp(&self.max_distance)
            .is_none_or(|o| o == Ordering::Greater)
        {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Worst(hit));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if hit.cmp_rank(&worst.0) == Ordering::Less {
                *worst = Worst(hit);
            } else {
                return;
            }
        }
        if self.heap.len() == self.k
            && let Some(w) = self.heap.peek()
        {
            self.bound = w.0.distance;
        }
    }

    /// Number of hits currently held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Merges another selector (same `k`) into this one.
    pub fn merge(&mut self, other: TopK) {
        for w in other.heap {
            self.push(w.0);
        }
    }

    /// The hits, best first.
    pub fn into_sorted(self) -> Vec<Hit> {
        let mut v: Vec<Hit> = self.heap.into_iter().map(|w| w.0).collect();
        v.sort_unstable_by(Hit::cmp_rank);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_full_sort(dists in prop::collection::vec(0u8..20, 0..200), k in 1usize..30) {
            let hits: Vec<Hit> = dists.iter().enumerate()
                .map(|(i, d)| Hit { key: (i as u64 * 7919) % 1000, distance: *d as f32 / 4.0 })
                .collect();
            let mut t = TopK::new(k, None);
            for h in &hits { t.push(*h); }
            let mut all = hits.clone();
            all.sort_by(Hit::cmp_rank);
            all.truncate(k);
            prop_assert_eq!(t.into_sorted(), all);
        }

        #[test]
        fn merge_equals_single(dists in prop::collection::vec(0u8..50, 0..200), k in 1usize..20, split in 0usize..200) {
            let hits: Vec<Hit> = dists.iter().enumerate()
                .map(|(i, d)| Hit { key: i as u64, distance: *d as f32 })
                .collect();
            let split = split.min(hits.len());
            let mut a = TopK::new(k, Some(30.0));
            let mut b = TopK::new(k, Some(30.0));
            let mut whole = TopK::new(k, Some(30.0));
            for h in &hits[..split] { a.push(*h); whole.push(*h); }
            for h in &hits[split..] { b.push(*h); whole.push(*h); }
            a.merge(b);
            prop_assert_eq!(a.into_sorted(), whole.into_sorted());
        }
    }

    #[test]
    fn nan_distances_rank_last_and_are_kept() {
        let mut t = TopK::new(3, None);
        for (key, distance) in [(1, f32::NAN), (2, 0.5), (3, -f32::NAN)] {
            assert!(t.accepts(distance));
            t.push(Hit { key, distance });
        }
        let got = t.into_sorted();
        assert_eq!(got.iter().map(|h| h.key).collect::<Vec<_>>(), [2, 1, 3]);
        assert_eq!(got[1].distance, f32::INFINITY);
    }

    #[test]
    fn max_distance_limits() {
        let mut t = TopK::new(usize::MAX, Some(1.0));
        for i in 0..10 {
            t.push(Hit {
                key: i,
                distance: i as f32 * 0.25,
            });
        }
        assert_eq!(t.len(), 5);
    }
}
