//! Sharded galleries: several gallery files searched as one.
//!
//! A gallery file is immutable, self-describing and opens in O(1), so it is the natural
//! shard. [`ShardSet`] searches every shard with the same parameters and merges their
//! top-k lists by (distance, key). The merge is exact: a hit of the global top-k is in its
//! own shard's top-k, so with exact search a shard set answers exactly as one gallery
//! holding all rows. Filters (key lists) and `max_distance` are applied inside each shard.

use std::collections::{BinaryHeap, HashSet};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::gallery::{Gallery, OpenOptions};
use crate::pool;
use crate::types::{ElementType, Hit, Metric, SearchParams};

/// Several galleries searched as one (the shards of one logical gallery).
///
/// Every shard must have the same dims, metric and element type, and a key should be
/// stored in one shard only. Searches take `&self`; a `ShardSet` is `Send + Sync` and
/// serves any number of threads, like a [`Gallery`].
///
/// **Duplicate keys across shards** are not checked at open (that would read every key
/// index, and open stays O(shards)). If a key is stored in several shards anyway, a
/// search returns it once, at its best distance (results never hold a key twice), and
/// [`ShardSet::len`] counts it once per shard. [`ShardSet::check_unique_keys`] (and
/// [`ShardSet::verify`]) detect it.
#[derive(Debug, Clone)]
pub struct ShardSet {
    shards: Vec<Arc<Gallery>>,
}

/// A name for shard `i` in messages: its path, or `#i` for a gallery held in memory.
fn shard_name(g: &Gallery, i: usize) -> String {
    g.path()
        .map_or_else(|| format!("#{i}"), |p| p.display().to_string())
}

impl ShardSet {
    /// Opens every gallery file in `paths` (each by memory map, O(1)) as one shard set.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty list; the errors of [`Gallery::open`] for a
    /// file that cannot be opened (the message names the file); [`Error::ShardMismatch`]
    /// if a shard's dims, metric or element type differ from the first shard's.
    pub fn open<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<ShardSet> {
        Self::open_with(paths, OpenOptions::default())
    }

    /// [`ShardSet::open`] with options for every shard (e.g. verifying checksums).
    ///
    /// # Errors
    /// As [`ShardSet::open`], plus those of [`Gallery::verify`] with `verify_checksums`.
    pub fn open_with<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
        options: OpenOptions,
    ) -> Result<ShardSet> {
        let galleries = paths
            .into_iter()
            .map(|p| Gallery::open_with(p.as_ref(), options).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        Self::from_shared(galleries)
    }

    /// A shard set over galleries already opened (or built in memory).
    ///
    /// # Errors
    /// As [`ShardSet::from_shared`].
    pub fn from_galleries(galleries: impl IntoIterator<Item = Gallery>) -> Result<ShardSet> {
        Self::from_shared(galleries.into_iter().map(Arc::new).collect())
    }

    /// A shard set over shared galleries (a gallery may also be used on its own).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty list; [`Error::ShardMismatch`] if a
    /// gallery's dims, metric or element type differ from the first one's.
    pub fn from_shared(shards: Vec<Arc<Gallery>>) -> Result<ShardSet> {
        let first = shards
            .first()
            .ok_or_else(|| Error::InvalidArgument("a shard set needs at least one shard".into()))?;
        for (i, g) in shards.iter().enumerate().skip(1) {
            let mismatch = |what, expected: String, found: String| Error::ShardMismatch {
                shard: shard_name(g, i),
                what,
                expected,
                found,
            };
            if g.dims() != first.dims() {
                return Err(mismatch(
                    "dims",
                    first.dims().to_string(),
                    g.dims().to_string(),
                ));
            }
            if g.metric() != first.metric() {
                return Err(mismatch(
                    "metric",
                    first.metric().to_string(),
                    g.metric().to_string(),
                ));
            }
            if g.element_type() != first.element_type() {
                return Err(mismatch(
                    "element type",
                    first.element_type().to_string(),
                    g.element_type().to_string(),
                ));
            }
        }
        Ok(ShardSet { shards })
    }

    /// The shards, in the order given.
    pub fn shards(&self) -> &[Arc<Gallery>] {
        &self.shards
    }

    /// Number of vectors over all shards (a key stored in two shards counts twice).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|g| g.len()).sum()
    }

    /// Whether no shard holds a vector.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|g| g.is_empty())
    }

    /// Components per vector (the same in every shard).
    pub fn dims(&self) -> usize {
        self.shards[0].dims()
    }

    /// The distance metric (the same in every shard).
    pub fn metric(&self) -> Metric {
        self.shards[0].metric()
    }

    /// Storage type of vector components (the same in every shard).
    pub fn element_type(&self) -> ElementType {
        self.shards[0].element_type()
    }

    /// Whether any shard stores `key`. O(shards × log n).
    pub fn contains(&self, key: u64) -> bool {
        self.shards.iter().any(|g| g.contains(key))
    }

    /// The stored vector of `key`, from the first shard holding it (see
    /// [`Gallery::get`]). O(shards × log n).
    pub fn get(&self, key: u64) -> Option<Vec<f32>> {
        self.shards
            .iter()
            .find_map(|g| g.get(key).map(|v| v.into_owned()))
    }

    /// The `params.k` nearest stored vectors to `query` over all shards, best first (ties
    /// by key). Each shard is searched as by [`Gallery::search`] (shards in parallel,
    /// within `params.threads`), then the lists are merged. Exact searches give the same
    /// hits as one gallery holding every row; approximate ones search each shard's graph
    /// with beam width `params.ef`.
    ///
    /// # Errors
    /// As [`Gallery::search`].
    pub fn search(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Hit>> {
        params.validate()?;
        let lists = pool::install(params.threads, || {
            self.shards
                .par_iter()
                .map(|g| g.search(query, params))
                .collect::<Result<Vec<_>>>()
        })??;
        Ok(merge(lists, params.k))
    }

    /// Searches many queries at once (`queries` row-major, `dims` per query), as
    /// [`Gallery::search_batch`] on every shard, then merges per query. One result list
    /// per query, in order.
    ///
    /// # Errors
    /// As [`Gallery::search_batch`]. Nothing is returned if any query is invalid.
    pub fn search_batch(
        &self,
        queries: &[f32],
        params: &SearchParams<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        params.validate()?;
        let per_shard = pool::install(params.threads, || {
            self.shards
                .par_iter()
                .map(|g| g.search_batch(queries, params))
                .collect::<Result<Vec<_>>>()
        })??;
        let n = per_shard.first().map_or(0, Vec::len);
        let mut columns: Vec<_> = per_shard.into_iter().map(Vec::into_iter).collect();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let lists = columns.iter_mut().filter_map(Iterator::next).collect();
            out.push(merge(lists, params.k));
        }
        Ok(out)
    }

    /// Checks that no key is stored in two shards, by one merge walk over the shards'
    /// sorted key indexes: O(N log shards), nothing allocated per key.
    ///
    /// # Errors
    /// [`Error::DuplicateKeyInShards`] naming the key and two shards holding it;
    /// [`Error::Corrupt`] if a shard's key index cannot be read.
    pub fn check_unique_keys(&self) -> Result<()> {
        if self.shards.len() < 2 {
            return Ok(());
        }
        let views = self
            .shards
            .iter()
            .map(|g| g.view())
            .collect::<Result<Vec<_>>>()?;
        // Min-heap of (next key, shard, position) over every shard's sorted key index.
        let mut heap = BinaryHeap::with_capacity(views.len());
        for (s, v) in views.iter().enumerate() {
            if let Some(e) = v.key_index.first() {
                heap.push(std::cmp::Reverse((e.key, s, 0usize)));
            }
        }
        let mut last: Option<(u64, usize)> = None;
        while let Some(std::cmp::Reverse((key, s, pos))) = heap.pop() {
            if let Some((k, first)) = last
                && k == key
                && first != s
            {
                return Err(Error::DuplicateKeyInShards {
                    key,
                    first: shard_name(&self.shards[first], first),
                    second: shard_name(&self.shards[s], s),
                });
            }
            last = Some((key, s));
            if let Some(e) = views[s].key_index.get(pos + 1) {
                heap.push(std::cmp::Reverse((e.key, s, pos + 1)));
            }
        }
        Ok(())
    }

    /// [`Gallery::verify`] on every shard, then [`ShardSet::check_unique_keys`].
    ///
    /// # Errors
    /// The first shard's error, with the shard's name prefixed for format errors
    /// ([`Error::Corrupt`]); [`Error::DuplicateKeyInShards`].
    pub fn verify(&self) -> Result<()> {
        for (i, g) in self.shards.iter().enumerate() {
            g.verify().map_err(|e| match e {
                Error::Corrupt(m) => Error::Corrupt(format!("shard {}: {m}", shard_name(g, i))),
                other => other,
            })?;
        }
        self.check_unique_keys()
    }
}

/// Merges per-shard result lists (each best first) into the best `k`, by (distance, key),
/// keeping each key once at its best distance. Exact: every hit of the merged top-k is in
/// its shard's top-k.
pub(crate) fn merge(lists: Vec<Vec<Hit>>, k: usize) -> Vec<Hit> {
    let mut lists = lists.into_iter().filter(|l| !l.is_empty());
    let Some(first) = lists.next() else {
        return Vec::new();
    };
    let mut all = first;
    let mut several = false;
    for l in lists {
        several = true;
        all.extend(l);
    }
    if !several {
        all.truncate(k);
        return all;
    }
    all.sort_unstable_by(Hit::cmp_rank);
    let mut seen = HashSet::with_capacity(all.len().min(k.saturating_mul(2)));
    all.retain(|h| seen.insert(h.key));
    all.truncate(k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(key: u64, distance: f32) -> Hit {
        Hit { key, distance }
    }

    #[test]
    fn merge_orders_by_distance_then_key_and_keeps_k() {
        let a = vec![hit(5, 0.1), hit(1, 0.3), hit(9, 0.5)];
        let b = vec![hit(2, 0.1), hit(7, 0.2)];
        let m = merge(vec![a, b, Vec::new()], 4);
        assert_eq!(m, vec![hit(2, 0.1), hit(5, 0.1), hit(7, 0.2), hit(1, 0.3)]);
    }

    #[test]
    fn merge_keeps_a_duplicated_key_once_at_its_best() {
        let a = vec![hit(5, 0.4), hit(1, 0.6)];
        let b = vec![hit(5, 0.2), hit(3, 0.5)];
        let m = merge(vec![a, b], 3);
        assert_eq!(m, vec![hit(5, 0.2), hit(3, 0.5), hit(1, 0.6)]);
    }

    #[test]
    fn merge_of_nothing_is_empty() {
        assert!(merge(Vec::new(), 3).is_empty());
        assert_eq!(
            merge(vec![vec![hit(1, 0.0), hit(2, 1.0)]], 1),
            vec![hit(1, 0.0)]
        );
    }
}
