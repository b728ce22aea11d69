//! The delta of a collection: rows added since the last commit, in an append-only,
//! chunked structure that snapshots share without copying.
//!
//! A snapshot sees a [`DeltaView`]: the sealed chunks (immutable, contiguous rows, each
//! with a key index) plus the first `tail_len` slots of the tail chunk. The single writer
//! fills the tail's next slot (a `OnceLock`, written once) and then publishes a new view
//! that counts it, so an add costs O(dims) and never copies earlier rows; a full tail is
//! sealed into a contiguous chunk once (O(CHUNK_ROWS · dims), amortised O(dims) per row).
//! Rows are never removed from a delta: replaced and deleted rows are marked in a separate
//! bitset, and a commit starts a fresh delta.

use std::sync::{Arc, OnceLock};

use crate::codec::{Query, Rows};
use crate::error::Result;
use crate::filter::{Bits, RowSet};
use crate::flat;
use crate::metric;
use crate::topk::TopK;
use crate::types::{Hit, Metric, SearchParams};
use crate::view::View;

/// Rows per chunk: 1,024 rows of 384 f32 are 1.5 MiB, sealed once.
const CHUNK_ROWS: usize = 1024;

/// Sealed rows: contiguous, immutable, with their keys sorted for lookup.
struct Chunk {
    /// Delta row id of the first row.
    first: usize,
    keys: Vec<u64>,
    vectors: Vec<f32>,
    /// Labels per row (sorted, unique).
    labels: Vec<Box<[u32]>>,
    /// `(key, local row)` sorted by key, then row.
    index: Vec<(u64, u32)>,
}

/// One tail slot: a key, its vector and its labels, written once.
type Slot = OnceLock<(u64, Box<[f32]>, Box<[u32]>)>;

/// The chunk being filled. Slot `i` is written once, before any view counts it.
struct Tail {
    first: usize,
    slots: Box<[Slot]>,
}

impl Tail {
    fn new(first: usize) -> Arc<Tail> {
        Arc::new(Tail {
            first,
            slots: (0..CHUNK_ROWS).map(|_| OnceLock::new()).collect(),
        })
    }
}

/// One snapshot's view of the delta: immutable and cheap to clone (two `Arc`s).
#[derive(Clone)]
pub(crate) struct DeltaView {
    sealed: Arc<Vec<Arc<Chunk>>>,
    tail: Arc<Tail>,
    tail_len: usize,
}

/// One delta row, borrowed from a view.
pub(crate) struct Row<'a> {
    /// Delta row id (0-based, in insertion order).
    pub id: usize,
    pub key: u64,
    pub vector: &'a [f32],
    /// Its labels, sorted and unique.
    pub labels: &'a [u32],
}

impl DeltaView {
    /// An empty delta.
    pub(crate) fn new() -> DeltaView {
        DeltaView {
            sealed: Arc::new(Vec::new()),
            tail: Tail::new(0),
            tail_len: 0,
        }
    }

    /// Number of rows, live or not.
    pub(crate) fn len(&self) -> usize {
        self.tail.first + self.tail_len
    }

    /// The view with one more row (`vector` already validated and normalised, `labels`
    /// sorted and unique). Only the collection's writer calls this, on the newest view.
    pub(crate) fn push(&self, key: u64, vector: &[f32], labels: &[u32], dims: usize) -> DeltaView {
        let mut next = self.clone();
        if next.tail_len == CHUNK_ROWS || next.tail.slots[next.tail_len].get().is_some() {
            // Full, or (after an abandoned push) its next slot is taken: seal what this
            // view counts and start a new tail.
            next = next.sealed_tail(dims);
        }
        // Cannot fail: the slot is unset (checked above) and only the writer sets slots.
        let _ = next.tail.slots[next.tail_len].set((key, vector.into(), labels.into()));
        next.tail_len += 1;
        next
    }

    /// Moves the counted tail rows into a sealed chunk and starts a new tail.
    fn sealed_tail(&self, dims: usize) -> DeltaView {
        let rows: Vec<Row<'_>> = self.tail_rows().collect();
        let mut chunk = Chunk {
            first: self.tail.first,
            keys: rows.iter().map(|r| r.key).collect(),
            vectors: Vec::with_capacity(rows.len() * dims),
            labels: rows.iter().map(|r| r.labels.into()).collect(),
            index: Vec::with_capacity(rows.len()),
        };
        for (i, Row { key, vector, .. }) in rows.iter().enumerate() {
            chunk.vectors.extend_from_slice(vector);
            chunk.index.push((*key, i as u32));
        }
        chunk.index.sort_unstable();
        let mut sealed = Vec::with_capacity(self.sealed.len() + 1);
        sealed.extend(self.sealed.iter().cloned());
        sealed.push(Arc::new(chunk));
        DeltaView {
            sealed: Arc::new(sealed),
            tail: Tail::new(self.len()),
            tail_len: 0,
        }
    }

    fn tail_rows(&self) -> impl Iterator<Item = Row<'_>> {
        let first = self.tail.first;
        self.tail.slots[..self.tail_len]
            .iter()
            .enumerate()
            .filter_map(move |(i, s)| {
                s.get().map(|(key, v, l)| Row {
                    id: first + i,
                    key: *key,
                    vector: v,
                    labels: l,
                })
            })
    }

    /// Every row, live or not, in insertion order.
    pub(crate) fn rows(&self, dims: usize) -> impl Iterator<Item = Row<'_>> {
        self.sealed
            .iter()
            .flat_map(move |c| {
                c.keys.iter().enumerate().map(move |(i, &key)| Row {
                    id: c.first + i,
                    key,
                    vector: &c.vectors[i * dims..(i + 1) * dims],
                    labels: &c.labels[i],
                })
            })
            .chain(self.tail_rows())
    }

    /// The vector of delta row `id`, if this view holds it.
    #[cfg(test)]
    pub(crate) fn row(&self, id: usize, dims: usize) -> Option<&[f32]> {
        self.row_and_labels(id, dims).map(|r| r.0)
    }

    /// The vector and labels of delta row `id`, if this view holds it.
    pub(crate) fn row_and_labels(&self, id: usize, dims: usize) -> Option<(&[f32], &[u32])> {
        if id >= self.tail.first {
            return self
                .tail
                .slots
                .get(id - self.tail.first)
                .filter(|_| id < self.len())
                .and_then(|s| s.get())
                .map(|(_, v, l)| (&v[..], &l[..]));
        }
        let c = self.sealed.partition_point(|c| c.first <= id);
        let c = self.sealed.get(c.checked_sub(1)?)?;
        let i = id - c.first;
        Some((c.vectors.get(i * dims..(i + 1) * dims)?, c.labels.get(i)?))
    }

    /// The newest row holding `key`, if any (live or not). Cost: a scan of the tail
    /// (≤ 1,024 keys) and a binary search per sealed chunk.
    pub(crate) fn newest(&self, key: u64, dims: usize) -> Option<Row<'_>> {
        if let Some(r) = self.tail_rows().filter(|r| r.key == key).last() {
            return Some(r);
        }
        for c in self.sealed.iter().rev() {
            let end = c.index.partition_point(|e| e.0 <= key);
            if end > 0 && c.index[end - 1].0 == key {
                let i = c.index[end - 1].1 as usize;
                return Some(Row {
                    id: c.first + i,
                    key,
                    vector: &c.vectors[i * dims..(i + 1) * dims],
                    labels: &c.labels[i],
                });
            }
        }
        None
    }

    /// Offers every live, admitted row to `top` (exact distances to the prepared query
    /// `q`). `admit` sees the key and the labels. Sealed chunks are scanned by the exact
    /// executor's block loop (the admission test runs only for rows that would enter the
    /// top-k); the tail row by row.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn scan(
        &self,
        metric: Metric,
        dims: usize,
        q: &[f32],
        dead: &Bits,
        admit: &(dyn Fn(u64, &[u32]) -> bool + Sync),
        params: &SearchParams<'_>,
        top: &mut TopK,
    ) -> Result<()> {
        for c in self.sealed.iter() {
            let view = View {
                metric,
                dims,
                rows: Rows::F32(&c.vectors),
                exact: None,
                keys: &c.keys,
                key_index: &[],
                labels: None,
            };
            let test =
                move |row: usize| !dead.has(c.first + row) && admit(c.keys[row], &c.labels[row]);
            let set = RowSet::all().and_test(Box::new(test), 1.0, c.keys.len());
            for h in flat::scan(&view, Query::F32(q), &set, params)? {
                top.push(Hit {
                    key: h.key,
                    distance: h.distance,
                });
            }
        }
        for r in self.tail_rows() {
            let d = metric::distance(metric, q, r.vector);
            if top.accepts(d) && !dead.has(r.id) && admit(r.key, r.labels) {
                top.push(Hit {
                    key: r.key,
                    distance: d,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_seal_and_lookup() {
        let d = 2;
        let mut v = DeltaView::new();
        let views: Vec<DeltaView> = (0..3000u64)
            .map(|i| {
                v = v.push(i % 2500, &[i as f32, 1.0], &[i as u32], d);
                v.clone()
            })
            .collect();
        assert_eq!(v.len(), 3000);
        // Older views keep seeing exactly their rows.
        assert_eq!(views[10].len(), 11);
        assert_eq!(views[10].rows(d).count(), 11);
        assert_eq!(views[1500].rows(d).last().unwrap().vector, &[1500.0, 1.0]);
        // Keys 0..500 occur twice; the newest row wins.
        let r = v.newest(7, d).unwrap();
        assert_eq!((r.id, r.vector), (2507, &[2507.0, 1.0][..]));
        assert_eq!(r.labels, &[2507]);
        assert_eq!(v.newest(2400, d).unwrap().labels, &[2400]);
        let r = views[2000].newest(7, d).unwrap();
        assert_eq!(r.id, 7);
        assert!(v.newest(99_999, d).is_none());
        let ids: Vec<usize> = v.rows(d).map(|r| r.id).collect();
        assert_eq!(ids, (0..3000).collect::<Vec<_>>());
        for id in [0, 1023, 1024, 2047, 2048, 2999] {
            assert_eq!(v.row(id, d), Some(&[id as f32, 1.0][..]));
        }
        assert_eq!(v.row(3000, d), None);
        assert_eq!(views[10].row(11, d), None);
    }

    #[test]
    fn a_push_on_an_older_view_starts_a_new_tail() {
        let d = 1;
        let a = DeltaView::new().push(1, &[1.0], &[], d);
        let b = a.push(2, &[2.0], &[], d);
        // An abandoned view `b`: pushing on `a` again must not disturb b's slot.
        let c = a.push(3, &[3.0], &[5], d);
        assert_eq!(b.newest(2, d).unwrap().vector, &[2.0]);
        assert_eq!(c.newest(3, d).unwrap().vector, &[3.0]);
        assert_eq!(c.newest(3, d).unwrap().labels, &[5]);
        assert!(c.newest(2, d).is_none());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn scan_over_sealed_chunks_and_tail_matches_a_full_sort() {
        let d = 3;
        let mut v = DeltaView::new();
        let mut rows = Vec::new();
        for i in 0..2600u64 {
            // Few distinct vectors: many distance ties, decided by key.
            let x = [(i % 37) as f32, (i % 11) as f32, 1.0];
            v = v.push(10_000 - i, &x, &[(i % 5) as u32], d);
            rows.push((10_000 - i, x, (i % 5) as u32));
        }
        let dead = Bits::of(&[3, 1500, 2599], 2600);
        let q = [5.0f32, 2.0, 1.0];
        let admit = |key: u64, labels: &[u32]| !key.is_multiple_of(3) && labels != [4];
        for (k, max) in [(1, None), (25, None), (2600, Some(40.0))] {
            let params = SearchParams {
                k,
                max_distance: max,
                ..SearchParams::default()
            };
            let mut top = TopK::new(k, max);
            v.scan(Metric::L2, d, &q, &dead, &admit, &params, &mut top)
                .unwrap();
            let mut want: Vec<Hit> = rows
                .iter()
                .enumerate()
                .filter(|(id, (key, _, l))| !dead.has(*id) && admit(*key, &[*l]))
                .map(|(_, (key, x, _))| Hit {
                    key: *key,
                    distance: metric::distance(Metric::L2, &q, x),
                })
                .filter(|h| h.distance <= max.unwrap_or(f32::INFINITY))
                .collect();
            want.sort_by(Hit::cmp_rank);
            want.truncate(k);
            assert_eq!(top.into_sorted(), want, "k {k}");
        }
    }
}
