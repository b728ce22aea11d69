//! Key filters resolved to rows once per search call, and the deleted-row bitsets of a
//! collection folded into them.

use std::sync::Arc;

use crate::gallery::View;
use crate::types::KeyFilter;

/// Which rows a filter admits.
pub(crate) enum RowSet {
    /// Every row.
    All,
    /// Only these rows (sorted, unique), with a bitset of them for O(1) membership.
    Only(Vec<usize>, Bits),
    /// Every row but those of the bitset; `usize` is how many rows it holds. The bitset is
    /// shared: a collection's deleted rows are used as they are, without a copy.
    Except(usize, Arc<Bits>),
}

/// A bitset over rows (n/8 bytes). Rows past its end are unset, so it can grow lazily.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    pub(crate) fn of(rows: &[usize], n: usize) -> Bits {
        let mut b = vec![0u64; n.div_ceil(64)];
        for &r in rows {
            if let Some(w) = b.get_mut(r / 64) {
                *w |= 1 << (r % 64);
            }
        }
        Bits(b)
    }

    /// Whether `row` is set.
    #[inline]
    pub(crate) fn has(&self, row: usize) -> bool {
        self.0
            .get(row / 64)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }

    /// Sets `row` (growing the bitset); returns whether it was unset.
    pub(crate) fn set(&mut self, row: usize) -> bool {
        if self.0.len() <= row / 64 {
            self.0.resize(row / 64 + 1, 0);
        }
        let w = &mut self.0[row / 64];
        let fresh = *w & (1 << (row % 64)) == 0;
        *w |= 1 << (row % 64);
        fresh
    }

    /// Number of set bits.
    pub(crate) fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The union of two bitsets.
    fn union(&self, other: &Bits) -> Bits {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = long.clone();
        for (w, o) in out.0.iter_mut().zip(&short.0) {
            *w |= o;
        }
        out
    }
}

impl RowSet {
    /// Resolves keys to rows through the key index (unknown keys are ignored).
    /// Cost: O(f log n) for a filter of f keys, or O(f log f + n) (sort, then one merge
    /// walk over the key index) when f > n/32.
    pub(crate) fn resolve(view: &View<'_>, filter: Option<KeyFilter<'_>>) -> RowSet {
        let rows = |keys: &[u64]| {
            let mut r: Vec<usize> = if keys.len() > view.key_index.len() / 32 {
                // Many keys: sort them and walk the (sorted) key index once.
                let mut k = keys.to_vec();
                k.sort_unstable();
                k.dedup();
                let mut out = Vec::with_capacity(k.len());
                let mut i = 0;
                for e in view.key_index {
                    while i < k.len() && k[i] < e.key {
                        i += 1;
                    }
                    if i == k.len() {
                        break;
                    }
                    if k[i] == e.key
                        && let Ok(row) = usize::try_from(e.row)
                        && row < view.count()
                    {
                        out.push(row);
                    }
                }
                out
            } else {
                keys.iter().filter_map(|k| view.row_of(*k)).collect()
            };
            r.sort_unstable();
            r.dedup();
            r
        };
        let n = view.count();
        match filter {
            None => RowSet::All,
            Some(KeyFilter::Allow(keys)) => {
                let r = rows(keys);
                let b = Bits::of(&r, n);
                RowSet::Only(r, b)
            }
            Some(KeyFilter::Deny(keys)) => {
                let r = rows(keys);
                let b = Bits::of(&r, n);
                RowSet::Except(r.len(), Arc::new(b))
            }
        }
    }

    /// This set without the rows of `dead` (a collection's deleted and replaced rows,
    /// `dead_count` of them). Cost: O(1) without a filter, O(admitted) with an
    /// allow-list, O(n/64) with a deny-list.
    pub(crate) fn without(self, dead: &Arc<Bits>, dead_count: usize) -> RowSet {
        if dead_count == 0 {
            return self;
        }
        match self {
            RowSet::All => RowSet::Except(dead_count, Arc::clone(dead)),
            RowSet::Only(mut rows, _) => {
                rows.retain(|&r| !dead.has(r));
                let n = rows.last().map_or(0, |&r| r + 1);
                let b = Bits::of(&rows, n);
                RowSet::Only(rows, b)
            }
            RowSet::Except(_, bits) => {
                let u = bits.union(dead);
                RowSet::Except(u.count(), Arc::new(u))
            }
        }
    }

    /// Whether `row` is in a deny-list.
    #[inline]
    pub(crate) fn denies(&self, row: usize) -> bool {
        matches!(self, RowSet::Except(_, b) if b.has(row))
    }

    /// Whether `row` may be returned.
    #[inline]
    pub(crate) fn admits(&self, row: usize) -> bool {
        match self {
            RowSet::All => true,
            RowSet::Only(_, b) => b.has(row),
            RowSet::Except(_, b) => !b.has(row),
        }
    }

    /// Number of admitted rows out of `n`.
    pub(crate) fn admitted(&self, n: usize) -> usize {
        match self {
            RowSet::All => n,
            RowSet::Only(a, _) => a.len(),
            RowSet::Except(d, _) => n.saturating_sub(*d),
        }
    }
}
