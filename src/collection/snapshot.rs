//! One immutable state of a collection, and every read of it: searches, lookups, counts.
//!
//! A snapshot is the frozen gallery (a memory map shared by every snapshot until the next
//! commit), the delta view, and two copy-on-write bitsets: frozen rows that were deleted
//! or replaced, and delta rows that were deleted or replaced. Readers load the current
//! snapshot once per call and never see a later change half-applied.

use std::sync::Arc;

use crate::error::Result;
use crate::filter::Bits;
use crate::gallery::Gallery;
use crate::search::filter::Compiled;
use crate::search::{Dead, Filter, Pending};
use crate::topk::TopK;
use crate::types::{Hit, SearchParams};

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

    /// The labels of a live `key`.
    pub(crate) fn labels(&self, key: u64) -> Option<Vec<u32>> {
        match self.place(key) {
            Place::Frozen(_) => self.frozen.labels(key).map(<[u32]>::to_vec),
            Place::Delta(_) => self
                .delta
                .newest(key, self.dims())
                .map(|r| r.labels.to_vec()),
            Place::Absent => None,
        }
    }

    fn dead(&self) -> Dead<'_> {
        Some((&self.frozen_dead, self.frozen_dead_count))
    }

    /// The delta rows for the planner, if there are any.
    fn pending(&self) -> Option<&dyn Pending> {
        (self.delta.len() > 0).then_some(self as &dyn Pending)
    }

    /// Top-k over frozen and delta rows, merged; `filter` (AND `params.filter`) applies
    /// to both.
    pub(crate) fn search(
        &self,
        query: &[f32],
        filter: Option<&Filter<'_>>,
        params: &SearchParams<'_>,
    ) -> Result<Vec<Hit>> {
        self.frozen
            .search_excluding(query, filter, params, self.dead(), self.pending())
    }

    /// Top-k of many queries over frozen and delta rows; `filters` as in
    /// `Gallery::search_batch_filtered` (or empty).
    pub(crate) fn search_batch(
        &self,
        queries: &[f32],
        filters: &[Filter<'_>],
        params: &SearchParams<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        self.frozen
            .search_batch_excluding(queries, filters, params, self.dead(), self.pending())
    }
}

/// The delta rows, live and admitted, searched exactly beside the frozen rows.
impl Pending for Snapshot {
    fn scan(
        &self,
        q: &[f32],
        c: &Compiled<'_>,
        params: &SearchParams<'_>,
        top: &mut TopK,
    ) -> Result<()> {
        let admit = |key, labels: &[u32]| c.admits(key, labels);
        let (metric, dims) = (self.frozen.metric(), self.dims());
        self.delta
            .scan(metric, dims, q, &self.delta_dead, &admit, params, top)
    }
}
