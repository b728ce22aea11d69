//! Per-thread working memory of an insertion, reused from one insertion to the next and
//! pooled so a build allocates one per worker thread, not one per rayon task.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

use crate::hnsw::search::Cand;

use super::select::Pick;

/// Buffers of one inserting thread.
#[derive(Default)]
pub(super) struct Scratch {
    /// Epoch stamps: a row is visited in this search when its stamp equals `epoch`.
    visited: Vec<u32>,
    epoch: u32,
    pub candidates: BinaryHeap<Reverse<Cand>>,
    pub results: BinaryHeap<Cand>,
    /// A copy of the list being read.
    pub buf: Vec<u32>,
    /// Unvisited neighbours of the node being expanded.
    pub fresh: Vec<u32>,
    /// The beam's result, ascending.
    pub found: Vec<Cand>,
    pub picks: Vec<Pick>,
    pub picked: Vec<Pick>,
    pub chosen: Vec<Cand>,
    /// A layer-0 list with its cached distances.
    pub entries: Vec<(u32, f32)>,
}

impl Scratch {
    /// Starts a search over `n` rows: a new epoch makes every row unvisited in O(1).
    pub fn begin(&mut self, n: usize) {
        if self.visited.len() < n {
            self.visited.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.visited.iter_mut().for_each(|v| *v = 0);
            self.epoch = 1;
        }
        self.candidates.clear();
        self.results.clear();
    }

    /// Hints the CPU to load the visited stamps of `rows` (before [`Scratch::visit`]ing
    /// them, which would otherwise wait on each in turn).
    #[inline]
    pub fn prefetch_visited(&self, rows: &[u32]) {
        for &r in rows {
            if let Some(v) = self.visited.get(r as usize..r as usize + 1) {
                crate::metric::prefetch_lines(v, 1);
            }
        }
    }

    /// Marks `row` visited; returns whether it was new.
    #[inline]
    pub fn visit(&mut self, row: u32) -> bool {
        match self.visited.get_mut(row as usize) {
            Some(v) if *v != self.epoch => {
                *v = self.epoch;
                true
            }
            _ => false,
        }
    }
}

/// Scratches not in use.
#[derive(Default)]
pub(super) struct Pool(Mutex<Vec<Scratch>>);

/// A scratch taken from a [`Pool`], returned to it on drop.
pub(super) struct Lease<'a> {
    pool: &'a Pool,
    pub scratch: Scratch,
}

impl Pool {
    /// A scratch from the pool, or a new one.
    pub fn take(&self) -> Lease<'_> {
        let scratch = match self.0.lock() {
            Ok(mut v) => v.pop(),
            Err(p) => p.into_inner().pop(),
        }
        .unwrap_or_default();
        Lease {
            pool: self,
            scratch,
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let s = std::mem::take(&mut self.scratch);
        match self.pool.0.lock() {
            Ok(mut v) => v.push(s),
            Err(p) => p.into_inner().push(s),
        }
    }
}
