//! One immutable state of a collection, and every read of it: searches, lookups, counts.
//!
//! A snapshot is the frozen gallery (a memory map shared by every snapshot until the next
//! commit), the delta view, and two copy-on-write bitsets: frozen rows that were deleted
//! or replaced, and delta rows that were deleted or replaced. Readers load the current
//! snapshot once per call and never see a later change half-applied.

use std::sync::Arc;

use rayon::prelude::*;

use crate::error::Result;
use crate::filter::Bits;
use crate::flat::new_top;
use crate::gallery::Gallery;
use crate::metric::prepare_query;
use crate::types::{Hit, KeyFilter, SearchParams};

use super::delta::DeltaView;

/// An immutable state: frozen rows minus `frozen_dead`, plus delta rows minus `delta_dead`.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub frozen: Arc<Gallery>,
    pub frozen_dead: Arc<Bits>,
    pub frozen_dead_count: usize,
    pub delta: DeltaView,
    pub delta_dead: Arc<Bits>,
    pub delta_dead_count: usize,
}

/// Where a key lives in a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A live row of the frozen gallery.
    Frozen(usize),
    /// A live delta row.
    Delta(usize),
    /// Deleted or replaced in this snapshot (not live anywhere), or never stored.
    Absent,
}

impl Snapshot {
    /// A snapshot of a freshly opened gallery with no pending change.
    pub(crate) fn of(frozen: Arc<Gallery>) -> Snapshot {
        Snapshot {
            frozen,
            frozen_dead: Arc::default(),
            frozen_dead_count: 0,
            delta: DeltaView::new(),
            delta_dead: Arc::default(),
            delta_dead_count: 0,
        }
    }

    pub(crate) fn dims(&self) -> usize {
        self.frozen.dims()
    }

    /// Live rows.
    pub(crate) fn len(&self) -> usize {
        (self.frozen.len() + self.delta.len())
            .saturating_sub(self.frozen_dead_count + self.delta_dead_count)
    }

    /// Where `key` lives. O(log n) in the frozen rows plus the delta lookup.
    pub(crate) fn place(&self, key: u64) -> Place {
        if let Some(r) = self.delta.newest(key, self.dims()) {
            // The newest delta row of a key is its only possibly live one: an upsert
            // marks every older row, a delete marks the newest.
            return if self.delta_dead.has(r.id) {
                Place::Absent
            } else {
                Place::Delta(r.id)
            };
        }
        match self.frozen.view().ok().and_then(|v| v.row_of(key)) {
            Some(row) if !self.frozen_dead.has(row) => Place::Frozen(row),
            _ => Place::Absent,
        }
    }

    /// The stored (normalised for cosine) vector of `key`.
    pub(crate) fn get(&self, key: u64) -> Option<Vec<f32>> {
        match self.place(key) {
            Place::Frozen(row) => self.frozen.view().ok().map(|v| v.vector(row).into_owned()),
            Place::Delta(_) => self
                .delta
                .newest(key, self.dims())
                .map(|r| r.vector.to_vec()),
            Place::Absent => None,
        }
    }

    /// The delta's filter on keys, from the caller's key filter: a sorted copy of the
    /// keys, tested by binary search.
    fn key_filter(filter: Option<KeyFilter<'_>>) -> impl Fn(u64) -> bool + Sync {
        let (allow, mut keys) = match filter {
            None => (false, Vec::new()),
            Some(KeyFilter::Allow(k)) => (true, k.to_vec()),
            Some(KeyFilter::Deny(k)) => (false, k.to_vec()),
        };
        keys.sort_unstable();
        move |key| keys.binary_search(&key).is_ok() == allow
    }

    /// Top-k over frozen and delta rows, merged.
    pub(crate) fn search(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Hit>> {
        let frozen = self.frozen.search_excluding(
            query,
            params,
            &self.frozen_dead,
            self.frozen_dead_count,
        )?;
        if self.delta.len() == 0 {
            return Ok(frozen);
        }
        let q = prepare_query(self.frozen.metric(), self.dims(), query)?;
        let admit = Self::key_filter(params.filter);
        let mut top = new_top(params);
        self.delta.scan(
            self.frozen.metric(),
            self.dims(),
            &q,
            &self.delta_dead,
            &admit,
            &mut top,
        );
        for h in frozen {
            top.push(h);
        }
        Ok(top.into_sorted())
    }

    /// Top-k of many queries over frozen and delta rows.
    pub(crate) fn search_batch(
        &self,
        queries: &[f32],
        params: &SearchParams<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        let frozen = self.frozen.search_batch_excluding(
            queries,
            params,
            &self.frozen_dead,
            self.frozen_dead_count,
        )?;
        if self.delta.len() == 0 {
            return Ok(frozen);
        }
        let (metric, d) = (self.frozen.metric(), self.dims());
        let admit = Self::key_filter(params.filter);
        // The frozen search validated every query; prepare (normalise) each again here.
        let one = |(q, hits): (&[f32], Vec<Hit>)| -> Result<Vec<Hit>> {
            let q = prepare_query(metric, d, q)?;
            let mut top = new_top(params);
            self.delta
                .scan(metric, d, &q, &self.delta_dead, &admit, &mut top);
            for h in hits {
                top.push(h);
            }
            Ok(top.into_sorted())
        };
        let pairs = queries.chunks_exact(d).zip(frozen);
        if params.threads == Some(1) {
            return pairs.map(one).collect();
        }
        let pairs: Vec<_> = pairs.collect();
        crate::pool::install(params.threads, || pairs.into_par_iter().map(one).collect())?
    }
}
