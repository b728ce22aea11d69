//! Per-thread working memory of an insertion, reused from one insertion to the next and
//! pooled so a build allocates one per worker thread, not one per rayon task.

use std::sync::Mutex;

use crate::hnsw::candidates::Candidates;
use crate::hnsw::search::Cand;
use crate::hnsw::visited::Visited;

use super::select::Pick;

/// Buffers of one inserting thread.
#[derive(Default)]
pub(super) struct Scratch {
    pub visited: Visited,
    /// The beam: the best `ef_construction` rows seen, sorted.
    pub beam: Candidates,
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
    /// Starts a beam of width `ef` over `n` rows.
    pub fn begin(&mut self, n: usize, ef: usize) {
        self.visited.begin(n);
        self.beam.reset(ef);
    }

    /// Hints the CPU to load the visited bits of `rows` (before visiting them, which
    /// would otherwise wait on each in turn).
    #[inline]
    pub fn prefetch_visited(&self, rows: &[u32]) {
        self.visited.prefetch(rows);
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
