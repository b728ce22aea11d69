//! `vecmatch_collection`: a mutable collection (upserts, deletes, atomic commits) over a
//! gallery file.

use std::ffi::c_char;

use super::args;
use super::boundary::{self, Failure};
use super::params::{MetricArg, vecmatch_hnsw_params, vecmatch_metric, vecmatch_search_params};
use super::search;
use super::status::vecmatch_status;
use crate::{Collection, CollectionOptions, CommitReport, Hit, Result, SearchParams};

/// A mutable collection (opaque). Every function may be called from any number of threads
/// at once on the same handle: searches and lookups never block; adds and deletes are
/// serialised internally; a commit runs while searches go on. Pending (uncommitted)
/// changes live in memory only and are lost if the process ends before a commit, unless
/// `vecmatch_collection_set_durability` turned the write-ahead log on.
pub struct vecmatch_collection {
    pub(crate) inner: Collection,
}

impl search::Searchable for vecmatch_collection {
    const ARG: &'static str = "collection";

    fn dims(&self) -> usize {
        self.inner.dims()
    }

    fn search(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Hit>> {
        self.inner.search(query, params)
    }

    fn search_batch(&self, queries: &[f32], params: &SearchParams<'_>) -> Result<Vec<Vec<Hit>>> {
        self.inner.search_batch(queries, params)
    }
}

/// Options for opening or creating a collection. Start from
/// `vecmatch_collection_options_default()`; a zero-initialised struct means manual commits
/// only, the graph policy of the file, no verification at open. The durability (write-ahead
/// log) is set on the open handle with `vecmatch_collection_set_durability`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vecmatch_collection_options {
    /// Commit automatically once this many rows were added since the last commit; 0 =
    /// never. Default 10,000.
    pub auto_commit_rows: usize,
    /// Commit automatically once this fraction (in (0, 1]) of the file's rows is deleted
    /// or replaced; 0 = never. Default 0.25.
    pub auto_commit_deleted_fraction: f64,
    /// Whether commits build an HNSW graph with `hnsw` (true), or keep the file's choice
    /// and parameters (false).
    pub use_hnsw: bool,
    /// HNSW parameters when `use_hnsw` (zero fields mean the defaults).
    pub hnsw: vecmatch_hnsw_params,
    /// Verify every checksum and structure at open (one pass over the file).
    pub verify: bool,
}

impl vecmatch_collection_options {
    fn as_rust(&self) -> Result<CollectionOptions, Failure> {
        let f = self.auto_commit_deleted_fraction;
        if f.is_nan() || !(0.0..=1.0).contains(&f) {
            return Err(Failure::invalid(format!(
                "auto_commit_deleted_fraction must be 0 (never) or in (0, 1], got {f}"
            )));
        }
        Ok(CollectionOptions {
            auto_commit_rows: (self.auto_commit_rows != 0).then_some(self.auto_commit_rows),
            auto_commit_deleted_fraction: (f != 0.0).then_some(f),
            hnsw: self.use_hnsw.then(|| self.hnsw.to_rust()),
            verify: self.verify,
            // C callers get VECMATCH_ERR_LOCKED after the 200 ms grace and choose their own retry.
            lock_timeout: None,
            // Set on the open handle: `vecmatch_collection_set_durability`.
            durability: crate::Durability::CommitOnly,
        })
    }
}

/// What a commit did.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct vecmatch_commit_report {
    /// Whether a new file was written (false: nothing was pending).
    pub written: bool,
    /// Rows in the new file.
    pub rows: usize,
    /// Rows taken from the pending changes (added or replaced).
    pub added: usize,
    /// Rows of the old file left out (deleted or replaced).
    pub removed: usize,
    /// Size of the new file in bytes.
    pub bytes: u64,
    /// Whether the new file has an HNSW graph.
    pub graph: bool,
    /// Whether that graph is the old one with the added rows inserted (rows were only
    /// added), rather than rebuilt.
    pub graph_extended: bool,
    /// Wall-clock seconds the commit took.
    pub seconds: f64,
}

impl From<CommitReport> for vecmatch_commit_report {
    fn from(r: CommitReport) -> Self {
        vecmatch_commit_report {
            written: r.written,
            rows: r.rows,
            added: r.added,
            removed: r.removed,
            bytes: r.bytes,
            graph: r.graph,
            graph_extended: r.graph_extended,
            seconds: r.duration.as_secs_f64(),
        }
    }
}

/// Default collection options: auto-commit after 10,000 added rows or 25% deleted rows,
/// the file's graph policy, no verification at open.
///
/// # Safety
/// None. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_options_default() -> vecmatch_collection_options {
    let zero = vecmatch_collection_options {
        auto_commit_rows: 0,
        auto_commit_deleted_fraction: 0.0,
        use_hnsw: false,
        hnsw: vecmatch_hnsw_params {
            m: 0,
            ef_construction: 0,
            seed: 0,
        },
        verify: false,
    };
    boundary::value(zero, || {
        let d = CollectionOptions::default();
        vecmatch_collection_options {
            auto_commit_rows: d.auto_commit_rows.unwrap_or(0),
            auto_commit_deleted_fraction: d.auto_commit_deleted_fraction.unwrap_or(0.0),
            ..zero
        }
    })
}

/// Reads optional options (NULL = defaults).
///
/// # Safety
/// `options` NULL or valid for reading.
unsafe fn read_options(
    options: *const vecmatch_collection_options,
) -> Result<CollectionOptions, Failure> {
    // SAFETY: NULL or valid for reading (the contract).
    match unsafe { options.as_ref() } {
        Some(o) => o.as_rust(),
        None => Ok(CollectionOptions::default()),
    }
}

fn into_handle(c: Collection) -> *mut vecmatch_collection {
    Box::into_raw(Box::new(vecmatch_collection { inner: c }))
}

/// Opens the gallery file at `path` as a mutable collection (`options` NULL = defaults);
/// stale temporary files of crashed commits next to it are removed. On success `*out`
/// receives a handle to free with `vecmatch_collection_free`.
///
/// One writer per file: the collection holds the file's writer lock (`NAME.lock` next to
/// it, an exclusive advisory lock) until it is freed, so a second collection on the same
/// file, in this process or another, gets `VECMATCH_ERR_LOCKED` after a 200 ms grace (retry later to
/// wait); readers (`vecmatch_gallery_open`) never take it. A write-protected file gives
/// `VECMATCH_ERR_PERMISSION`.
///
/// # Safety
/// `path` NULL or a NUL-terminated string; `options` NULL or valid for reading; `out` NULL
/// or valid for writing one pointer. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_open(
    path: *const c_char,
    options: *const vecmatch_collection_options,
    out: *mut *mut vecmatch_collection,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: the caller's contract on `path`.
        let path = unsafe { args::path(path, "path") }?;
        // SAFETY: the caller's contract on `options`.
        let options = unsafe { read_options(options) }?;
        args::require_out(out, "out")?;
        let c = Collection::open_with(&path, options)?;
        // SAFETY: checked non-NULL and aligned; writable is the caller's contract.
        unsafe { args::write_out(out, into_handle(c), "out") }
    })
}

/// Creates a new, empty collection file at `path` (which must not exist) for
/// `dims`-dimensional vectors under `metric`, and opens it. On success `*out` receives a
/// handle to free with `vecmatch_collection_free`.
///
/// # Safety
/// As `vecmatch_collection_open`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_create(
    path: *const c_char,
    dims: usize,
    metric: MetricArg,
    options: *const vecmatch_collection_options,
    out: *mut *mut vecmatch_collection,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: the caller's contract on `path`.
        let path = unsafe { args::path(path, "path") }?;
        let metric = vecmatch_metric::from_arg(metric)?;
        // SAFETY: the caller's contract on `options`.
        let options = unsafe { read_options(options) }?;
        args::require_out(out, "out")?;
        let c = Collection::create(&path, dims, metric, options)?;
        // SAFETY: checked non-NULL and aligned; writable is the caller's contract.
        unsafe { args::write_out(out, into_handle(c), "out") }
    })
}

/// Releases a collection; pending (uncommitted) changes are discarded from memory (with a
/// logging durability they stay in `NAME.wal` and come back at the next open; group mode
/// fsyncs the log here). NULL is a no-op.
///
/// # Safety
/// `collection` NULL or a handle not freed before, used by no other thread during or
/// after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_free(collection: *mut vecmatch_collection) {
    boundary::value((), || {
        if !collection.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, released once (the contract).
            drop(unsafe { Box::from_raw(collection) });
        }
    })
}

/// Live vectors: committed and pending, minus deleted (0 for NULL).
///
/// # Safety
/// `collection` NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_len(collection: *const vecmatch_collection) -> usize {
    boundary::value(0, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { collection.as_ref() };
        h.map_or(0, |c| c.inner.len())
    })
}

/// Dimensions per vector (0 for NULL).
///
/// # Safety
/// `collection` NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_dims(collection: *const vecmatch_collection) -> usize {
    boundary::value(0, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { collection.as_ref() };
        h.map_or(0, |c| c.inner.dims())
    })
}

/// Inserts `vector` (`dims` floats) under `key`, or replaces the vector of an existing key
/// (upsert); visible to searches when this returns. `*out_replaced` (may be NULL) says
/// whether a live key was replaced. May run an automatic commit: if that fails, its status
/// is returned but the change itself was made (and is pending).
///
/// # Safety
/// `collection` NULL or a live handle; `vector` NULL or `dims` readable floats;
/// `out_replaced` NULL or valid for one write. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_add(
    collection: *mut vecmatch_collection,
    key: u64,
    vector: *const f32,
    dims: usize,
    out_replaced: *mut bool,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let c = unsafe { args::handle(collection.cast_const(), "collection") }?;
        if vector.is_null() {
            return Err(Failure::null("vector"));
        }
        // SAFETY: `dims` readable floats (the contract).
        let v = unsafe { args::slice(vector, dims, "vector") }?;
        let replaced = c.inner.add(key, v)?;
        if !out_replaced.is_null() {
            // SAFETY: non-NULL; writable is the contract.
            unsafe { args::write_out(out_replaced, replaced, "out_replaced") }?;
        }
        Ok(())
    })
}

/// Upserts `n` vectors (row-major `vectors`, `n × dims` floats) under `keys`, as one
/// change: a search sees all of them or none. All or nothing on invalid input.
/// `*out_replaced` (may be NULL) receives how many replaced a live key.
///
/// # Safety
/// `collection` NULL or a live handle; `keys` NULL or `n` readable keys; `vectors` NULL or
/// `n × dims` readable floats; `out_replaced` NULL or valid for one write. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_add_batch(
    collection: *mut vecmatch_collection,
    keys: *const u64,
    vectors: *const f32,
    n: usize,
    dims: usize,
    out_replaced: *mut usize,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let c = unsafe { args::handle(collection.cast_const(), "collection") }?;
        if keys.is_null() {
            return Err(Failure::null("keys"));
        }
        if vectors.is_null() {
            return Err(Failure::null("vectors"));
        }
        if dims != c.inner.dims() {
            return Err(crate::Error::DimensionMismatch {
                expected: c.inner.dims(),
                found: dims,
            }
            .into());
        }
        let total = n
            .checked_mul(dims)
            .ok_or_else(|| Failure::invalid("n × dims overflows"))?;
        // SAFETY: `n` readable keys (the contract).
        let k = unsafe { args::slice(keys, n, "keys") }?;
        // SAFETY: `n × dims` readable floats (the contract).
        let v = unsafe { args::slice(vectors, total, "vectors") }?;
        let replaced = c.inner.add_batch(k, v)?;
        if !out_replaced.is_null() {
            // SAFETY: non-NULL; writable is the contract.
            unsafe { args::write_out(out_replaced, replaced, "out_replaced") }?;
        }
        Ok(())
    })
}

/// Deletes `key`: no search that starts after this returns will return it, and the next
/// commit leaves its vector out of the file. `*out_deleted` (may be NULL) says whether the
/// key was live. May run an automatic commit (see `vecmatch_collection_add`).
///
/// # Safety
/// `collection` NULL or a live handle; `out_deleted` NULL or valid for one write.
/// Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_delete(
    collection: *mut vecmatch_collection,
    key: u64,
    out_deleted: *mut bool,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let c = unsafe { args::handle(collection.cast_const(), "collection") }?;
        let deleted = c.inner.delete(key)?;
        if !out_deleted.is_null() {
            // SAFETY: non-NULL; writable is the contract.
            unsafe { args::write_out(out_deleted, deleted, "out_deleted") }?;
        }
        Ok(())
    })
}

/// Deletes `n` keys as one change (unknown keys are ignored); `*out_deleted` (may be NULL)
/// receives how many were live.
///
/// # Safety
/// `collection` NULL or a live handle; `keys` NULL or `n` readable keys; `out_deleted`
/// NULL or valid for one write. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_delete_batch(
    collection: *mut vecmatch_collection,
    keys: *const u64,
    n: usize,
    out_deleted: *mut usize,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let c = unsafe { args::handle(collection.cast_const(), "collection") }?;
        if keys.is_null() {
            return Err(Failure::null("keys"));
        }
        // SAFETY: `n` readable keys (the contract).
        let k = unsafe { args::slice(keys, n, "keys") }?;
        let deleted = c.inner.delete_batch(k)?;
        if !out_deleted.is_null() {
            // SAFETY: non-NULL; writable is the contract.
            unsafe { args::write_out(out_deleted, deleted, "out_deleted") }?;
        }
        Ok(())
    })
}

/// Whether `key` is live (false for NULL).
///
/// # Safety
/// `collection` NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_contains(
    collection: *const vecmatch_collection,
    key: u64,
) -> bool {
    boundary::value(false, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { collection.as_ref() };
        h.is_some_and(|c| c.inner.contains(key))
    })
}

/// Copies the live vector of `key` (normalised, for cosine) into `out` (`capacity` floats,
/// at least the dims). `VECMATCH_ERR_KEY_NOT_FOUND` if the key is not live.
///
/// # Safety
/// `collection` NULL or a live handle; `out` NULL or valid for `capacity` float writes.
/// Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_get(
    collection: *const vecmatch_collection,
    key: u64,
    out: *mut f32,
    capacity: usize,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let c = unsafe { args::handle(collection, "collection") }?;
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: the contract on `out`.
        let out = unsafe { args::slice_mut(out, capacity, "out") }?;
        let v = c.inner.get(key).ok_or_else(|| {
            Failure::new(
                vecmatch_status::VECMATCH_ERR_KEY_NOT_FOUND,
                format!("key {key} is not in the collection"),
            )
        })?;
        let dst = out
            .get_mut(..v.len())
            .ok_or_else(|| search::too_small("out", v.len(), capacity))?;
        dst.copy_from_slice(&v);
        Ok(())
    })
}

/// Writes a new file holding exactly the live vectors (deleted ones are physically gone),
/// with its graph (extended by the added rows when rows were only added, otherwise
/// rebuilt) when the collection has one, publishes it atomically (temporary
/// file, fsync, rename, directory fsync) and switches new searches to it; searches already
/// running finish on the old file. `*out_report` (may be NULL) says what was done.
/// A symbolic link is followed (its target is replaced); the file keeps its mode, owner
/// and group. If the file was replaced by another process since the collection opened or
/// last committed it, nothing is written and the status is `VECMATCH_ERR_CHANGED` (the
/// changes stay pending).
///
/// # Safety
/// `collection` NULL or a live handle; `out_report` NULL or valid for one write.
/// Thread-safe (a second commit waits for the first).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_commit(
    collection: *mut vecmatch_collection,
    out_report: *mut vecmatch_commit_report,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let c = unsafe { args::handle(collection.cast_const(), "collection") }?;
        let report = c.inner.commit()?;
        if !out_report.is_null() {
            // SAFETY: non-NULL; writable is the contract.
            unsafe { args::write_out(out_report, report.into(), "out_report") }?;
        }
        Ok(())
    })
}

/// Searches one query, committed and pending rows together (deleted keys never returned);
/// arguments and results as `vecmatch_gallery_search`.
///
/// # Safety
/// As `vecmatch_gallery_search`, with `collection` NULL or a live handle. Any number of
/// threads may search while others add, delete or commit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_search(
    collection: *const vecmatch_collection,
    query: *const f32,
    dims: usize,
    params: *const vecmatch_search_params,
    keys: *mut u64,
    distances: *mut f32,
    capacity: usize,
    out_len: *mut usize,
) -> vecmatch_status {
    let out = search::Out::new(keys, distances, capacity, out_len);
    // SAFETY: this function's contract is that of `search::search_one`.
    unsafe { search::search_one(collection, query, dims, params, out) }
}

/// Searches `n_queries` row-major queries at once; arguments and results as
/// `vecmatch_gallery_search_batch`.
///
/// # Safety
/// As `vecmatch_gallery_search_batch`, with `collection` NULL or a live handle.
/// Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_search_batch(
    collection: *const vecmatch_collection,
    queries: *const f32,
    n_queries: usize,
    dims: usize,
    params: *const vecmatch_search_params,
    keys: *mut u64,
    distances: *mut f32,
    capacity: usize,
    out_lens: *mut usize,
) -> vecmatch_status {
    let batch = search::Batch::new(queries, n_queries, dims);
    let out = search::Out::new(keys, distances, capacity, out_lens);
    // SAFETY: this function's contract is that of `search::search_many`.
    unsafe { search::search_many(collection, batch, params, out) }
}
