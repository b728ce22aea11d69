//! Key filters resolved to rows once per search call.

use crate::gallery::View;
use crate::types::KeyFilter;

/// Which rows a filter admits.
pub(crate) enum RowSet {
    /// Every row.
    All,
    /// Only these rows (sorted, unique).
    Only(Vec<usize>),
    /// Every row but these (sorted, unique).
    Except(Vec<usize>),
}

impl RowSet {
    /// Resolves keys to rows through the key index (unknown keys are ignored).
    /// Cost: O(f log n) for a filter of f keys.
    pub(crate) fn resolve(view: &View<'_>, filter: Option<KeyFilter<'_>>) -> RowSet {
        let rows = |keys: &[u64]| {
            let mut r: Vec<usize> = keys.iter().filter_map(|k| view.row_of(*k)).collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        match filter {
            None => RowSet::All,
            Some(KeyFilter::Allow(keys)) => RowSet::Only(rows(keys)),
            Some(KeyFilter::Deny(keys)) => RowSet::Except(rows(keys)),
        }
    }

    /// Whether `row` is in a deny-list.
    #[inline]
    pub(crate) fn denies(&self, row: usize) -> bool {
        matches!(self, RowSet::Except(d) if d.binary_search(&row).is_ok())
    }

    /// Whether `row` may be returned.
    #[inline]
    pub(crate) fn admits(&self, row: usize) -> bool {
        match self {
            RowSet::All => true,
            RowSet::Only(a) => a.binary_search(&row).is_ok(),
            RowSet::Except(d) => d.binary_search(&row).is_err(),
        }
    }

    /// Number of admitted rows out of `n`.
    pub(crate) fn admitted(&self, n: usize) -> usize {
        match self {
            RowSet::All => n,
            RowSet::Only(a) => a.len(),
            RowSet::Except(d) => n.saturating_sub(d.len()),
        }
    }
}
