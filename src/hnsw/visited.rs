//! The visited set of a graph walk (the search's beam and the native builder's
//! insertions): one epoch stamp per row, so starting a new walk is O(1) — no clearing —
//! and the buffer is reused from one walk to the next.

/// Rows visited in the current walk: a row is visited when its stamp equals `epoch`.
#[derive(Default)]
pub(crate) struct Visited {
    stamps: Vec<u32>,
    epoch: u32,
}

impl Visited {
    /// Starts a walk over `n` rows: a new epoch makes every row unvisited in O(1) (the
    /// stamps are cleared only when the epoch wraps around, once in 2^32 walks).
    pub(crate) fn begin(&mut self, n: usize) {
        if self.stamps.len() < n {
            self.stamps.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.iter_mut().for_each(|v| *v = 0);
            self.epoch = 1;
        }
    }

    /// Hints the CPU to load the stamps of `rows` (a walk about to visit them).
    #[inline]
    pub(crate) fn prefetch(&self, rows: &[u32]) {
        for &r in rows {
            if let Some(v) = self.stamps.get(r as usize..r as usize + 1) {
                crate::metric::prefetch_lines(v, 1);
            }
        }
    }

    /// Marks `row` visited; returns whether it was new (`false` for a row beyond the `n`
    /// of [`Visited::begin`]).
    #[inline]
    pub(crate) fn insert(&mut self, row: usize) -> bool {
        match self.stamps.get_mut(row) {
            Some(v) if *v != self.epoch => {
                *v = self.epoch;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Visited;

    #[test]
    fn a_new_walk_forgets_the_last_one() {
        let mut v = Visited::default();
        v.begin(4);
        assert!(v.insert(1));
        assert!(!v.insert(1));
        assert!(v.insert(3));
        assert!(!v.insert(4), "beyond n");
        v.begin(4);
        assert!(v.insert(1) && v.insert(3));
    }

    #[test]
    fn the_epoch_wraps_around_without_stale_stamps() {
        let mut v = Visited::default();
        v.begin(2);
        assert!(v.insert(0));
        v.epoch = u32::MAX;
        v.stamps[1] = u32::MAX;
        v.begin(2);
        assert_eq!(v.epoch, 1);
        assert!(v.insert(0) && v.insert(1));
    }

    #[test]
    fn a_larger_walk_grows_the_stamps() {
        let mut v = Visited::default();
        v.begin(2);
        assert!(v.insert(1));
        v.begin(10);
        assert!(v.insert(1) && v.insert(9));
    }
}
