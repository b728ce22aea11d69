//! `vecmatch_shards`: several gallery files opened and searched as one.

use std::ffi::c_char;

use super::args;
use super::boundary::{self, Failure};
use super::params::vecmatch_search_params;
use super::search;
use super::status::vecmatch_status;
use crate::{Hit, Result, SearchParams, ShardSet};

/// An open set of gallery shards (opaque). Read-only: every function taking a
/// `const vecmatch_shards *` may be called from any number of threads at once on the same
/// handle.
pub struct vecmatch_shards {
    inner: ShardSet,
}

impl search::Searchable for vecmatch_shards {
    const ARG: &'static str = "shards";

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

/// Opens the `n` gallery files `paths[0..n]` as one shard set (each by memory map, O(1)).
/// Every shard must have the same dims, metric and element type
/// (`VECMATCH_ERR_SHARD_MISMATCH` otherwise, the message naming the shard); a key should be
/// stored in one shard only (not checked here; a search returns a duplicated key once, at
/// its best distance). On success `*out` receives a handle to free with
/// `vecmatch_shards_free`; on failure `*out` is untouched.
///
/// Searches merge each shard's best hits by (distance, key): exact searches return the
/// same hits as one gallery holding every row.
///
/// # Safety
/// `paths` must be NULL or point to `n` pointers, each NULL or a NUL-terminated string;
/// `out` must be NULL or valid for writing one pointer. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_shards_open(
    paths: *const *const c_char,
    n: usize,
    out: *mut *mut vecmatch_shards,
) -> vecmatch_status {
    boundary::status(|| {
        if paths.is_null() {
            return Err(Failure::null("paths"));
        }
        // SAFETY: `n` readable pointers (the contract).
        let raw = unsafe { args::slice(paths, n, "paths") }?;
        if raw.is_empty() {
            return Err(Failure::invalid(
                "n is 0: a shard set needs at least one path",
            ));
        }
        args::require_out(out, "out")?;
        let paths = raw
            .iter()
            .enumerate()
            // SAFETY: each NULL or NUL-terminated (the contract).
            .map(|(i, p)| unsafe { args::path(*p, &format!("paths[{i}]")) })
            .collect::<Result<Vec<_>, Failure>>()?;
        let set = ShardSet::open(&paths)?;
        let handle = Box::into_raw(Box::new(vecmatch_shards { inner: set }));
        // SAFETY: checked non-NULL and aligned; writable is the caller's contract.
        unsafe { args::write_out(out, handle, "out") }
    })
}

/// Releases a shard set. NULL is a no-op.
///
/// # Safety
/// `shards` must be NULL or a handle from this library not freed before; no other thread
/// may be using it, and it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_shards_free(shards: *mut vecmatch_shards) {
    boundary::value((), || {
        if !shards.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, released once (the contract).
            drop(unsafe { Box::from_raw(shards) });
        }
    })
}

/// Number of vectors over all shards (0 for NULL).
///
/// # Safety
/// `shards` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_shards_len(shards: *const vecmatch_shards) -> usize {
    boundary::value(0, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { shards.as_ref() };
        h.map_or(0, |s| s.inner.len())
    })
}

/// Number of shards (0 for NULL).
///
/// # Safety
/// `shards` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_shards_count(shards: *const vecmatch_shards) -> usize {
    boundary::value(0, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { shards.as_ref() };
        h.map_or(0, |s| s.inner.shards().len())
    })
}

/// Dimensions per vector, the same in every shard (0 for NULL).
///
/// # Safety
/// `shards` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_shards_dims(shards: *const vecmatch_shards) -> usize {
    boundary::value(0, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { shards.as_ref() };
        h.map_or(0, |s| s.inner.dims())
    })
}

/// Checks every shard as `vecmatch_gallery_verify` does, then that no key is stored in two
/// shards (`VECMATCH_ERR_SHARD_MISMATCH` naming the key and the shards).
///
/// # Safety
/// `shards` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_shards_verify(shards: *const vecmatch_shards) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let s = unsafe { args::handle(shards, "shards") }?;
        Ok(s.inner.verify()?)
    })
}

/// Searches one query of `dims` floats over every shard, as `vecmatch_gallery_search`
/// (same parameters, buffers and errors); filters and `max_distance` apply in every shard.
///
/// # Safety
/// As `vecmatch_gallery_search`, with `shards` NULL or a live handle. Any number of
/// threads may search the same shard set at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_shards_search(
    shards: *const vecmatch_shards,
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
    unsafe { search::search_one(shards, query, dims, params, out) }
}

/// Searches `n_queries` row-major queries over every shard, as
/// `vecmatch_gallery_search_batch` (same parameters, buffers, padding and errors).
///
/// # Safety
/// As `vecmatch_gallery_search_batch`, with `shards` NULL or a live handle. Any number of
/// threads may search the same shard set at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_shards_search_batch(
    shards: *const vecmatch_shards,
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
    unsafe { search::search_many(shards, batch, params, out) }
}
