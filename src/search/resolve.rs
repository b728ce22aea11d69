//! Resolving a filter (keys, labels, predicate) against one gallery into a [`RowSet`]:
//! the one place that turns conditions into rows, and estimates how many rows a lazy
//! test will admit from the per-label counts.

use std::sync::Arc;

use crate::filter::{Base, Bits, RowSet};
use crate::types::KeyFilter;
use crate::view::View;
use crate::view::labels::LabelsView;

use super::FILTER_EXACT_FRACTION;
use super::filter::Compiled;

/// Fraction of the rows admitted by the label conditions, from the per-label counts
/// alone (labels assumed independent): O(labels in the filter × log L).
pub(crate) fn label_fraction(l: &LabelsView<'_>, c: &Compiled<'_>, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (all, any, none) = c.label_lists();
    let f = |label: &u32| (l.count(*label) as f64 / n as f64).min(1.0);
    let p_all: f64 = all.iter().map(f).product();
    let p_any = if any.is_empty() {
        1.0
    } else {
        1.0 - any.iter().map(|x| 1.0 - f(x)).product::<f64>()
    };
    let p_none: f64 = none.iter().map(|x| 1.0 - f(x)).product();
    p_all * p_any * p_none
}

/// The rows passing the label conditions, from the per-label row lists (O(rows listed
/// under the filter's labels)); `None` when only `none` labels are given (a complement:
/// see [`excluded_rows`]).
fn label_rows(l: &LabelsView<'_>, c: &Compiled<'_>, n: usize) -> Option<Vec<usize>> {
    let (all, any, none) = c.label_lists();
    // The rows listed under one label (all-of) or the union of the any-of lists; the
    // other conditions are then tested on each row's own labels, unless the lists alone
    // decide (each row test reads the row's labels: a cache miss or two).
    let (mut rows, decided): (Vec<usize>, bool) = if !all.is_empty() {
        let smallest = all.iter().min_by_key(|x| l.count(**x))?;
        let r = l.rows_of(*smallest).iter().map(|&r| r as usize).collect();
        (r, all.len() == 1 && any.is_empty() && none.is_empty())
    } else if !any.is_empty() {
        let r = any
            .iter()
            .flat_map(|x| l.rows_of(*x).iter().map(|&r| r as usize))
            .collect();
        (r, none.is_empty())
    } else {
        return None;
    };
    // A damaged (unverified) section may list rows twice, unsorted or out of range.
    if decided {
        rows.retain(|&r| r < n);
    } else {
        rows.retain(|&r| r < n && c.labels_pass(l.row(r)));
    }
    rows.sort_unstable();
    rows.dedup();
    Some(rows)
}

/// The rows carrying any of the `none` labels, sorted, unique, in range.
fn excluded_rows(l: &LabelsView<'_>, c: &Compiled<'_>, n: usize) -> Vec<usize> {
    let (_, _, none) = c.label_lists();
    let mut r: Vec<usize> = none
        .iter()
        .flat_map(|x| l.rows_of(*x).iter().map(|&r| r as usize))
        .filter(|&r| r < n)
        .collect();
    r.sort_unstable();
    r.dedup();
    r
}

/// The rows of `view` that `c` admits.
///
/// Key lists become explicit rows (allow) or a bitset (deny). Label conditions become
/// explicit rows when the set is already a short list or the label counts say the
/// filter is selective (the exact scan will read only those rows); otherwise a lazy
/// per-row test for the graph walk, with the estimated fraction widening its beam. A
/// predicate is always a lazy test (evaluated on an explicit list right away).
pub(crate) fn resolve<'s>(view: &View<'s>, c: &'s Compiled<'s>) -> RowSet<'s> {
    let n = view.count();
    let mut set = RowSet::all();
    if let Some(allow) = c.allow_keys() {
        set = set.and_rows(rows_of_keys(view, allow), n);
    }
    if !c.deny_keys().is_empty() {
        set = set.and_not_rows(&rows_of_keys(view, c.deny_keys()), n);
    }
    if c.has_labels() {
        set = match view.labels {
            // No row carries a label.
            None => {
                let (all, any, _) = c.label_lists();
                if all.is_empty() && any.is_empty() {
                    set
                } else {
                    set.and_rows(Vec::new(), n)
                }
            }
            Some(l) => {
                let fraction = label_fraction(&l, c, n);
                let listed = matches!(set.base, Base::Only(..));
                let selective =
                    fraction * (set.admitted(n) as f64) < FILTER_EXACT_FRACTION * n as f64;
                if selective && !listed {
                    match label_rows(&l, c, n) {
                        Some(rows) => set.and_rows(rows, n),
                        None => set.and_not_rows(&excluded_rows(&l, c, n), n),
                    }
                } else {
                    let test = move |r: usize| c.labels_pass(l.row(r));
                    set.and_test(Box::new(test), fraction, n)
                }
            }
        };
    }
    if let Some(p) = c.predicate() {
        let keys = view.keys;
        let test = move |r: usize| keys.get(r).is_some_and(|&k| p(k));
        set = set.and_test(Box::new(test), 1.0, n);
    }
    set
}

/// Resolves keys to rows through the key index (unknown keys are ignored).
/// Cost: O(f log n) for a filter of f keys, or O(f log f + n) (sort, then one merge
/// walk over the key index) when f > n/32.
pub(crate) fn key_filter<'a>(view: &View<'_>, filter: Option<KeyFilter<'_>>) -> RowSet<'a> {
    let n = view.count();
    match filter {
        None => RowSet::all(),
        Some(KeyFilter::Allow(keys)) => RowSet::only(rows_of_keys(view, keys), n),
        Some(KeyFilter::Deny(keys)) => {
            let r = rows_of_keys(view, keys);
            let b = Bits::of(&r, n);
            RowSet::of(Base::Except(r.len(), Arc::new(b)))
        }
    }
}

/// The rows of `keys` (sorted, unique; unknown keys are ignored).
fn rows_of_keys(view: &View<'_>, keys: &[u64]) -> Vec<usize> {
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
    rows(keys)
}
