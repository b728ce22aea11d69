//! The visited set of a graph walk (the search's beam and the native builder's
//! insertions): one bit per row, reused from one walk to the next.
//!
//! A bit per row keeps the set in the L1 cache for galleries up to ~250k rows (32 KiB)
//! and in L2 far beyond; the u32 epoch stamps it replaced (4 bytes a row, 200 KiB at 50k
//! rows) missed L1 on most neighbours. Starting a walk clears only the words the last walk
//! set (listed as they turn non-zero), so it costs O(rows visited), not O(rows).

/// Rows visited in the current walk.
#[derive(Default)]
pub(crate) struct Visited {
    /// One bit per row, at least `n.div_ceil(64)` words.
    bits: Vec<u64>,
    /// The first `dirty_len` entries are the words set since the walk began (each once);
    /// one longer than `bits`, so recording a word never reallocates nor runs out.
    dirty: Vec<u32>,
    dirty_len: usize,
    /// Rows of the current walk: rows at or beyond it are never visited.
    n: usize,
}

impl Visited {
    /// Starts a walk over `n` rows: every row unvisited.
    pub(crate) fn begin(&mut self, n: usize) {
        for &w in &self.dirty[..self.dirty_len] {
            self.bits[w as usize] = 0;
        }
        self.dirty_len = 0;
        // At least one word: `insert_new` reads word 0 for rows out of range.
        let words = n.div_ceil(64).max(1);
        if self.bits.len() < words {
            self.bits.resize(words, 0);
            self.dirty.resize(words + 1, 0);
        }
        self.n = n;
    }

    /// Hints the CPU to load the bits of `rows` (a walk about to visit them).
    #[inline]
    pub(crate) fn prefetch(&self, rows: &[u32]) {
        for &r in rows {
            if let Some(w) = self.bits.get(r as usize / 64..r as usize / 64 + 1) {
                crate::metric::prefetch_lines(w, 1);
            }
        }
    }

    /// Marks `row` visited; returns whether it was new (`false` for a row beyond the `n`
    /// of [`Visited::begin`]).
    #[inline]
    pub(crate) fn insert(&mut self, row: usize) -> bool {
        if row >= self.n {
            return false;
        }
        let (w, bit) = (row / 64, 1u64 << (row % 64));
        let word = self.bits[w];
        if word & bit != 0 {
            return false;
        }
        self.mark(w, word, bit);
        true
    }

    /// Appends the rows of `rows` that are new to `out` and marks them visited, without a
    /// branch per row (whether a neighbour was seen is a coin flip the CPU mispredicts);
    /// rows beyond `n` are skipped. `out` is cleared first.
    #[inline]
    pub(crate) fn insert_new(&mut self, rows: &[u32], out: &mut Vec<u32>) {
        out.clear();
        out.resize(rows.len(), 0);
        let mut len = 0;
        for &r in rows {
            let ok = (r as usize) < self.n;
            // An out-of-range row reads word 0 and sets no bit.
            let w = if ok { r as usize / 64 } else { 0 };
            let bit = u64::from(ok) << (r % 64);
            let word = self.bits[w];
            let new = word & bit == 0 && ok;
            out[len] = r;
            len += usize::from(new);
            self.mark(w, word, bit);
        }
        out.truncate(len);
    }

    /// Sets `bit` in word `w` (currently `word`), recording the word when it turns non-zero.
    #[inline(always)]
    fn mark(&mut self, w: usize, word: u64, bit: u64) {
        self.dirty[self.dirty_len] = w as u32;
        self.dirty_len += usize::from(word == 0 && bit != 0);
        self.bits[w] = word | bit;
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
    fn a_larger_walk_grows_the_set() {
        let mut v = Visited::default();
        v.begin(2);
        assert!(v.insert(1));
        v.begin(1000);
        assert!(v.insert(1) && v.insert(999) && v.insert(640));
        assert!(!v.insert(1000));
        v.begin(10);
        assert!(!v.insert(999), "beyond the smaller n");
        assert!(v.insert(1) && v.insert(9));
    }

    #[test]
    fn insert_new_keeps_the_first_sighting_of_each_row_in_order() {
        let mut v = Visited::default();
        let mut out = Vec::new();
        v.begin(200);
        assert!(v.insert(5));
        v.insert_new(&[7, 5, 199, 7, 200, u32::MAX, 64, 0, 63], &mut out);
        assert_eq!(out, [7, 199, 64, 0, 63]);
        v.insert_new(&[0, 1, 199], &mut out);
        assert_eq!(out, [1]);
        // Out-of-range rows set nothing: word 0 is still only rows 0, 1, 5, 7 and 63.
        v.begin(200);
        v.insert_new(&[0, 1, 5, 7, 63, 2], &mut out);
        assert_eq!(out, [0, 1, 5, 7, 63, 2]);
    }

    #[test]
    fn an_empty_walk_visits_nothing() {
        let mut v = Visited::default();
        let mut out = vec![9];
        v.begin(0);
        v.insert_new(&[0, 1, 64], &mut out);
        assert!(out.is_empty());
        assert!(!v.insert(0));
    }

    #[test]
    fn every_word_set_is_cleared() {
        let mut v = Visited::default();
        let mut out = Vec::new();
        let all: Vec<u32> = (0..128).collect();
        v.begin(128);
        v.insert_new(&all, &mut out);
        assert_eq!(out, all);
        v.begin(128);
        v.insert_new(&all, &mut out);
        assert_eq!(out, all);
    }

    /// Against a `HashSet` over random walks of random sizes: every row is reported new
    /// exactly once per walk, and nothing survives into the next walk.
    #[test]
    fn matches_a_hash_set_over_many_walks() {
        use std::collections::HashSet;
        let mut v = Visited::default();
        let mut out = Vec::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let n = (next() % 3000) as usize;
            v.begin(n);
            let mut seen = HashSet::new();
            for _ in 0..50 {
                let rows: Vec<u32> = (0..(next() % 40))
                    .map(|_| (next() % (n as u64 + 20)) as u32)
                    .collect();
                let mut want = Vec::new();
                for &r in &rows {
                    if (r as usize) < n && seen.insert(r) {
                        want.push(r);
                    }
                }
                if next() % 2 == 0 {
                    v.insert_new(&rows, &mut out);
                } else {
                    out.clear();
                    out.extend(rows.iter().copied().filter(|&r| v.insert(r as usize)));
                }
                assert_eq!(out, want);
            }
        }
    }
}
