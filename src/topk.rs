//! Bounded top-k selection with a deterministic order: distance ([`f32::total_cmp`]), then
//! key ascending.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::types::Hit;

/// What a top-k ranks: a distance and a total order on (distance, key).
pub(crate) trait Rank: Copy {
    /// The distance.
    fn distance(&self) -> f32;
    /// The same item at distance `d`.
    fn at(self, d: f32) -> Self;
    /// By distance ([`f32::total_cmp`]), then by key ascending.
    fn cmp_rank(&self, other: &Self) -> Ordering;
}

impl Rank for Hit {
    #[inline]
    fn distance(&self) -> f32 {
        self.distance
    }
    #[inline]
    fn at(self, distance: f32) -> Self {
        Hit { distance, ..self }
    }
    #[inline]
    fn cmp_rank(&self, other: &Self) -> Ordering {
        Hit::cmp_rank(self, other)
    }
}

/// A candidate row of an executor (exact scan, graph walk) with its distance on the stored
/// rows. Its key only breaks distance ties, so that rows rank exactly as their hits
/// would (16 bytes, like a [`Hit`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RowHit {
    pub distance: f32,
    pub row: u32,
    pub key: u64,
}

impl Rank for RowHit {
    #[inline]
    fn distance(&self) -> f32 {
        self.distance
    }
    #[inline]
    fn at(self, distance: f32) -> Self {
        RowHit { distance, ..self }
    }
    #[inline]
    fn cmp_rank(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.key.cmp(&other.key))
    }
}

/// Heap entry ordered so that the *worst* item is the greatest (max-heap root).
#[derive(Clone, Copy, Debug)]
struct Worst<T>(T);

impl<T: Rank> PartialEq for Worst<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T: Rank> Eq for Worst<T> {}
impl<T: Rank> PartialOrd for Worst<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Rank> Ord for Worst<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_rank(&other.0)
    }
}

/// Keeps the `k` best items seen so far ([`TopK`] for hits, `Top<RowHit>` for an
/// executor's candidate rows).
#[derive(Debug, Clone)]
pub(crate) struct Top<T> {
    k: usize,
    heap: BinaryHeap<Worst<T>>,
    /// Distance of the current worst item once full; `+inf` until then.
    bound: f32,
    /// Optional hard limit: items farther than this are never accepted.
    max_distance: f32,
}

impl<T: Rank> Top<T> {
    /// An empty selector for `k` items, optionally limited to `distance <= max_distance`.
    pub(crate) fn new(k: usize, max_distance: Option<f32>) -> Self {
        let k = k.max(1);
        Top {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
            bound: f32::INFINITY,
            max_distance: max_distance.unwrap_or(f32::INFINITY),
        }
    }

    /// As [`TopK::accepts`].
    #[inline(always)]
    pub(crate) fn accepts(&self, distance: f32) -> bool {
        (distance <= self.bound && distance <= self.max_distance) || distance.is_nan()
    }

    /// As [`TopK::push`].
    #[inline]
    pub(crate) fn push(&mut self, mut item: T) {
        if item.distance().is_nan() {
            item = item.at(f32::INFINITY);
        }
        if item
            .distance()
            .partial_cmp(&self.max_distance)
            .is_none_or(|o| o == Ordering::Greater)
        {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Worst(item));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if item.cmp_rank(&worst.0) == Ordering::Less {
                *worst = Worst(item);
            } else {
                return;
            }
        }
        if self.heap.len() == self.k
            && let Some(w) = self.heap.peek()
        {
            self.bound = w.0.distance();
        }
    }

    /// Number of items currently held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Merges another selector (same `k`) into this one.
    pub(crate) fn merge(&mut self, other: Top<T>) {
        for w in other.heap {
            self.push(w.0);
        }
    }

    /// The items, best first.
    pub(crate) fn into_sorted(self) -> Vec<T> {
        let mut v: Vec<T> = self.heap.into_iter().map(|w| w.0).collect();
        v.sort_unstable_by(T::cmp_rank);
        v
    }
}

/// Keeps the `k` best hits seen so far: `O(log k)` per accepted hit, `O(1)` per rejected
/// one ([`Top::accepts`] lets hot loops skip the key lookup for the common rejected case).
pub(crate) type TopK = Top<Hit>;

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
