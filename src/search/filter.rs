//! The public filter expression: labels (all of, any of, none of), key allow/deny lists
//! and a key predicate, combined with AND.

use crate::types::KeyFilter;

/// A key predicate: `true` admits the key. Called from several threads at once (one
/// search splits its work across threads), only during the search call.
pub type KeyPredicate<'a> = &'a (dyn Fn(u64) -> bool + Sync);

/// Which rows a search may return, as a conjunction (AND) of optional conditions:
///
/// - [`Filter::all_labels`]: the row carries every one of these labels;
/// - [`Filter::any_labels`]: the row carries at least one of these labels (an empty list
///   is no condition);
/// - [`Filter::no_labels`]: the row carries none of these labels;
/// - [`Filter::allow_keys`] / [`Filter::deny_keys`]: the key is in / not in a list
///   (unknown keys are ignored);
/// - [`Filter::predicate`]: a function of the key returns `true`.
///
/// Labels are stored with the rows ([`crate::GalleryBuilder::add_labeled`],
/// [`crate::Collection::add_labeled`]). A filter is a cheap borrowed value (`Copy`);
/// searches with it are [`crate::Gallery::search_filtered`] and
/// [`crate::Gallery::search_batch_filtered`] (one filter for all queries, or one per
/// query), and the same on [`crate::Collection`]. It is combined with
/// `SearchParams::filter` (AND) when both are given.
///
/// How a filtered search runs: the label counts give the fraction of rows the filter
/// admits without a scan; a selective filter (under 35% of the rows) is resolved to its
/// rows through the per-label row lists and scanned exactly; a broad one walks the graph,
/// testing rows as they come, with a beam widened by the inverse of that fraction. If a
/// graph walk finds fewer than `k` rows while the filter admits more, the search is rerun
/// exactly, so a filtered search never returns fewer hits than exist.
///
/// ```
/// use vecmatch::{Filter, GalleryBuilder, Metric, SearchParams};
/// let mut b = GalleryBuilder::new(2, Metric::L2)?;
/// b.add_labeled(1, &[0.0, 0.0], &[10, 20])?;
/// b.add_labeled(2, &[0.1, 0.0], &[10])?;
/// b.add_labeled(3, &[0.2, 0.0], &[20, 30])?;
/// let g = b.build_in_memory()?;
/// let f = Filter::new().all_labels(&[20]).no_labels(&[30]);
/// let hits = g.search_filtered(&[0.2, 0.0], &f, &SearchParams::k(3))?;
/// assert_eq!(hits.iter().map(|h| h.key).collect::<Vec<_>>(), vec![1]);
/// let odd = |key: u64| key % 2 == 1;
/// let f = Filter::new().any_labels(&[10, 30]).predicate(&odd);
/// assert_eq!(g.search_filtered(&[0.0, 0.0], &f, &SearchParams::k(3))?.len(), 2);
/// # Ok::<(), vecmatch::Error>(())
/// ```
#[derive(Clone, Copy, Default)]
pub struct Filter<'a> {
    pub(crate) all_labels: &'a [u32],
    pub(crate) any_labels: &'a [u32],
    pub(crate) no_labels: &'a [u32],
    pub(crate) allow_keys: Option<&'a [u64]>,
    pub(crate) deny_keys: &'a [u64],
    pub(crate) predicate: Option<KeyPredicate<'a>>,
}

impl<'a> Filter<'a> {
    /// A filter that admits every row.
    pub fn new() -> Self {
        Filter::default()
    }

    /// Rows carrying every label of `labels`.
    pub fn all_labels(mut self, labels: &'a [u32]) -> Self {
        self.all_labels = labels;
        self
    }

    /// Rows carrying at least one label of `labels` (empty: no condition).
    pub fn any_labels(mut self, labels: &'a [u32]) -> Self {
        self.any_labels = labels;
        self
    }

    /// Rows carrying no label of `labels`.
    pub fn no_labels(mut self, labels: &'a [u32]) -> Self {
        self.no_labels = labels;
        self
    }

    /// Only rows whose key is in `keys` (an empty list admits nothing).
    pub fn allow_keys(mut self, keys: &'a [u64]) -> Self {
        self.allow_keys = Some(keys);
        self
    }

    /// Never rows whose key is in `keys`.
    pub fn deny_keys(mut self, keys: &'a [u64]) -> Self {
        self.deny_keys = keys;
        self
    }

    /// Only rows whose key `predicate` accepts. It is called from several threads at
    /// once, for some of the candidate rows only (never after the search returns), so it
    /// should be cheap and must not assume an order.
    pub fn predicate(mut self, predicate: KeyPredicate<'a>) -> Self {
        self.predicate = Some(predicate);
        self
    }

    /// Whether the filter sets no condition.
    pub fn is_empty(&self) -> bool {
        self.all_labels.is_empty()
            && self.any_labels.is_empty()
            && self.no_labels.is_empty()
            && self.allow_keys.is_none()
            && self.deny_keys.is_empty()
            && self.predicate.is_none()
    }
}

impl<'a> From<KeyFilter<'a>> for Filter<'a> {
    fn from(k: KeyFilter<'a>) -> Self {
        match k {
            KeyFilter::Allow(keys) => Filter::new().allow_keys(keys),
            KeyFilter::Deny(keys) => Filter::new().deny_keys(keys),
        }
    }
}

impl std::fmt::Debug for Filter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("all_labels", &self.all_labels)
            .field("any_labels", &self.any_labels)
            .field("no_labels", &self.no_labels)
            .field("allow_keys", &self.allow_keys.map(<[u64]>::len))
            .field("deny_keys", &self.deny_keys.len())
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

/// A filter prepared for row-by-row tests on rows outside a gallery file (a collection's
/// pending rows): sorted copies of its lists.
pub(crate) struct Compiled<'a> {
    all: Vec<u32>,
    any: Vec<u32>,
    none: Vec<u32>,
    allow: Option<Vec<u64>>,
    deny: Vec<u64>,
    predicate: Option<KeyPredicate<'a>>,
}

/// Whether two sorted lists share an element: binary searches of the longer one for each
/// item of the shorter (a row has a few labels; an any-of filter may list hundreds).
fn meet(a: &[u32], b: &[u32]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.iter().any(|x| long.binary_search(x).is_ok())
}

fn sorted<T: Ord + Copy>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

impl<'a> Compiled<'a> {
    /// `filter` AND `keys` (either may be absent).
    pub(crate) fn new(filter: Option<&Filter<'a>>, keys: Option<KeyFilter<'_>>) -> Self {
        let f = filter.copied().unwrap_or_default();
        let mut allow = f.allow_keys.map(sorted);
        let mut deny = sorted(f.deny_keys);
        match keys {
            Some(KeyFilter::Allow(k)) => {
                let k = sorted(k);
                allow = Some(match allow {
                    Some(a) => a
                        .into_iter()
                        .filter(|x| k.binary_search(x).is_ok())
                        .collect(),
                    None => k,
                });
            }
            Some(KeyFilter::Deny(k)) => {
                deny.extend_from_slice(k);
                deny = sorted(&deny);
            }
            None => {}
        }
        Compiled {
            all: sorted(f.all_labels),
            any: sorted(f.any_labels),
            none: sorted(f.no_labels),
            allow,
            deny,
            predicate: f.predicate,
        }
    }

    /// Whether a row of `key` with the sorted `labels` passes the label conditions.
    pub(crate) fn labels_pass(&self, labels: &[u32]) -> bool {
        let has = |l: &u32| labels.binary_search(l).is_ok();
        self.all.iter().all(has)
            && (self.any.is_empty() || meet(&self.any, labels))
            && !meet(&self.none, labels)
    }

    /// Whether a row of `key` with the sorted `labels` passes every condition.
    pub(crate) fn admits(&self, key: u64, labels: &[u32]) -> bool {
        self.allow
            .as_ref()
            .is_none_or(|a| a.binary_search(&key).is_ok())
            && self.deny.binary_search(&key).is_err()
            && self.labels_pass(labels)
            && self.predicate.is_none_or(|p| p(key))
    }

    /// The sorted label lists: (all, any, none).
    pub(crate) fn label_lists(&self) -> (&[u32], &[u32], &[u32]) {
        (&self.all, &self.any, &self.none)
    }

    /// The allow-list of keys, sorted.
    pub(crate) fn allow_keys(&self) -> Option<&[u64]> {
        self.allow.as_deref()
    }

    /// The deny-list of keys, sorted.
    pub(crate) fn deny_keys(&self) -> &[u64] {
        &self.deny
    }

    /// The key predicate.
    pub(crate) fn predicate(&self) -> Option<KeyPredicate<'a>> {
        self.predicate
    }

    /// Whether no condition is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.allow.is_none()
            && self.deny.is_empty()
            && !self.has_labels()
            && self.predicate.is_none()
    }

    /// Whether there is any label condition.
    pub(crate) fn has_labels(&self) -> bool {
        !(self.all.is_empty() && self.any.is_empty() && self.none.is_empty())
    }
}
