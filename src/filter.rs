//! Key filters resolved to rows once per search call.

use crate::gallery::View;
use crate::types::KeyFilter;

/// Which rows a filter admits.
pub(crate) enum RowSet {
    /// Every row.
    All,
    /// Only these rows (sorted, unique), with a bitset of them for O(1) membership.
    Only(Vec<usize>, Bits),
    /// Every row but these (sorted, unique), with their bitset.
    Except(Vec<usize>, Bits),
}

/// A bitset over rows: n/8 bytes, built once per call.
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    fn of(rows: &[usize], n: usize) -> Bits {
        let mut b = vec![0u64; n.div_ceil(64)];
        for &r in rows {
            if let Some(w) = b.get_mut(r / 64) {
                *w |= 1 << (r % 64);
            }
        }
        Bits(b)
    }

    #[inline]
    fn has(&self, row: usize) -> bool {
        self.0
            .get(row / 64)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
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
                RowSet::Except(r, b)
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
            RowSet::Except(d, _) => n.saturating_sub(d.len()),
        }
    }
}
