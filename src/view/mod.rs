//! The opened gallery file as the executors read it: the on-disk format and the
//! borrowed, validated slices of its sections. It sits below the executors (exact scan,
//! graph walk) and the search planner, and knows none of them.

pub mod format;
pub(crate) mod labels;

use std::borrow::Cow;

use crate::codec::Rows;
use crate::types::Metric;
use format::KeyIndexEntry;
use labels::LabelsView;

/// Borrowed, validated slices of a gallery (or of a block of a collection's pending `f32`
/// rows, without key index or labels), as the executors read them.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub metric: Metric,
    pub dims: usize,
    /// The stored rows, in the gallery's element type.
    pub rows: Rows<'a>,
    /// The `f32` rows of a compact gallery (the `RESCORE` section), if stored.
    pub exact: Option<&'a [f32]>,
    pub keys: &'a [u64],
    pub key_index: &'a [KeyIndexEntry],
    /// The `LABELS` section, if stored (checked O(1) at open only).
    pub labels: Option<LabelsView<'a>>,
}

impl<'a> View<'a> {
    /// Number of rows.
    #[inline]
    pub fn count(&self) -> usize {
        self.keys.len()
    }

    /// The row holding `key`, by binary search over the key index. On a corrupt (unverified)
    /// file the answer may be wrong but the row is always in range.
    pub fn row_of(&self, key: u64) -> Option<usize> {
        let i = self.key_index.binary_search_by(|e| e.key.cmp(&key)).ok()?;
        let row = usize::try_from(self.key_index[i].row).ok()?;
        (row < self.count()).then_some(row)
    }

    /// Distance from the prepared query `q` to the stored (possibly compact) row `row`.
    #[inline(always)]
    pub fn distance(&self, q: &[f32], row: usize) -> f32 {
        self.rows.distance(self.metric, self.dims, q, row)
    }

    /// Asks the CPU to start loading the stored row `row`.
    #[inline(always)]
    pub fn prefetch(&self, row: usize) {
        self.rows.prefetch(self.dims, row)
    }

    /// The `f32` vector of `row`: the exact rows if stored, else the stored row decoded
    /// (empty if out of range).
    pub fn vector(&self, row: usize) -> Cow<'a, [f32]> {
        match self.exact {
            Some(v) => Cow::Borrowed(v.get(row * self.dims..(row + 1) * self.dims).unwrap_or(&[])),
            None => self.rows.decoded(self.dims, row),
        }
    }
}
