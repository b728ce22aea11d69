//! `vecmatch_gallery`: an opened, read-only gallery and its searches.

use std::ffi::c_char;

use super::args;
use super::boundary::{self, Failure};
use super::params::{vecmatch_element_type, vecmatch_metric, vecmatch_search_params};
use super::search;
use super::status::vecmatch_status;
use crate::{Gallery, Hit, Result, SearchParams};

/// An open gallery (opaque). Read-only: every function taking a `const vecmatch_gallery *`
/// may be called from any number of threads at once on the same handle.
pub struct vecmatch_gallery {
    pub(crate) inner: Gallery,
}

impl search::Searchable for vecmatch_gallery {
    const ARG: &'static str = "gallery";

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

/// Boxes a gallery into a handle.
pub(crate) fn into_handle(g: Gallery) -> *mut vecmatch_gallery {
    Box::into_raw(Box::new(vecmatch_gallery { inner: g }))
}

/// Opens the gallery file at `path` by memory map, validating its header and section table
/// (O(1): nothing proportional to the number of vectors is read; see
/// `vecmatch_gallery_verify` for a full check). On success `*out` receives a handle to free
/// with `vecmatch_gallery_free`; on failure `*out` is untouched.
///
/// The file must not be modified or truncated while it is open (vecmatch itself never
/// edits a published file in place).
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `out` must be NULL or valid for writing
/// one pointer. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_open(
    path: *const c_char,
    out: *mut *mut vecmatch_gallery,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: the caller's contract on `path`.
        let path = unsafe { args::path(path, "path") }?;
        args::require_out(out, "out")?;
        let g = Gallery::open(&path)?;
        // SAFETY: checked non-NULL and aligned; writable is the caller's contract.
        unsafe { args::write_out(out, into_handle(g), "out") }
    })
}

/// Makes a gallery from `len` bytes of a gallery file held in memory (they are copied and
/// validated as by `vecmatch_gallery_open`; the caller keeps its buffer). On success `*out`
/// receives a handle to free with `vecmatch_gallery_free`.
///
/// # Safety
/// `data` must be NULL or point to `len` readable bytes; `out` must be NULL or valid for
/// writing one pointer. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_from_bytes(
    data: *const u8,
    len: usize,
    out: *mut *mut vecmatch_gallery,
) -> vecmatch_status {
    boundary::status(|| {
        if data.is_null() {
            return Err(Failure::null("data"));
        }
        // SAFETY: the caller's contract on `data`.
        let bytes = unsafe { args::slice(data, len, "data") }?;
        args::require_out(out, "out")?;
        let g = Gallery::from_bytes(bytes)?;
        // SAFETY: checked non-NULL and aligned; writable is the caller's contract.
        unsafe { args::write_out(out, into_handle(g), "out") }
    })
}

/// Releases a gallery. NULL is a no-op.
///
/// # Safety
/// `gallery` must be NULL or a handle from this library not freed before; no other thread
/// may be using it, and it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_free(gallery: *mut vecmatch_gallery) {
    boundary::value((), || {
        if !gallery.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, released once (the contract).
            drop(unsafe { Box::from_raw(gallery) });
        }
    })
}

/// Number of vectors in the gallery (0 for NULL).
///
/// # Safety
/// `gallery` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_len(gallery: *const vecmatch_gallery) -> usize {
    boundary::value(0, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { gallery.as_ref() };
        h.map_or(0, |g| g.inner.len())
    })
}

/// Dimensions per vector (0 for NULL).
///
/// # Safety
/// `gallery` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_dims(gallery: *const vecmatch_gallery) -> usize {
    boundary::value(0, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { gallery.as_ref() };
        h.map_or(0, |g| g.inner.dims())
    })
}

/// Whether the gallery has an HNSW graph (false for NULL).
///
/// # Safety
/// `gallery` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_has_graph(gallery: *const vecmatch_gallery) -> bool {
    boundary::value(false, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { gallery.as_ref() };
        h.is_some_and(|g| g.inner.has_graph())
    })
}

/// Writes the gallery's metric to `*out`.
///
/// # Safety
/// `gallery` must be NULL or a live handle; `out` NULL or valid for one write. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_metric(
    gallery: *const vecmatch_gallery,
    out: *mut vecmatch_metric,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let g = unsafe { args::handle(gallery, "gallery") }?;
        let m = vecmatch_metric::from_metric(g.inner.metric());
        // SAFETY: the contract on `out`.
        unsafe { args::write_out(out, m, "out") }
    })
}

/// Writes how the gallery stores its vectors to `*out`.
///
/// # Safety
/// `gallery` must be NULL or a live handle; `out` NULL or valid for one write. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_element_type(
    gallery: *const vecmatch_gallery,
    out: *mut vecmatch_element_type,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let g = unsafe { args::handle(gallery, "gallery") }?;
        let e = vecmatch_element_type::from_element_type(g.inner.element_type());
        // SAFETY: the contract on `out`.
        unsafe { args::write_out(out, e, "out") }
    })
}

/// Checks every checksum, the key index and every stored value (one pass over the file,
/// plus the graph invariants when there is a graph). `VECMATCH_OK` if intact; otherwise a
/// format status (e.g. `VECMATCH_ERR_CHECKSUM_MISMATCH`) naming the damage in the message.
///
/// # Safety
/// `gallery` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_verify(
    gallery: *const vecmatch_gallery,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let g = unsafe { args::handle(gallery, "gallery") }?;
        Ok(g.inner.verify()?)
    })
}

/// Whether `key` is in the gallery (false for NULL). O(log n).
///
/// # Safety
/// `gallery` must be NULL or a live handle. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_contains(
    gallery: *const vecmatch_gallery,
    key: u64,
) -> bool {
    boundary::value(false, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { gallery.as_ref() };
        h.is_some_and(|g| g.inner.contains(key))
    })
}

/// Copies the stored vector of `key` (normalised, for the cosine metric) into `out`, which
/// holds `capacity` floats (at least the gallery's dims). `VECMATCH_ERR_KEY_NOT_FOUND` if
/// the key is absent.
///
/// # Safety
/// `gallery` must be NULL or a live handle; `out` NULL or valid for `capacity` float
/// writes. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_get(
    gallery: *const vecmatch_gallery,
    key: u64,
    out: *mut f32,
    capacity: usize,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let g = unsafe { args::handle(gallery, "gallery") }?;
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: the contract on `out`.
        let out = unsafe { args::slice_mut(out, capacity, "out") }?;
        let v = g.inner.get(key).ok_or_else(|| {
            Failure::new(
                vecmatch_status::VECMATCH_ERR_KEY_NOT_FOUND,
                format!("key {key} is not in the gallery"),
            )
        })?;
        let dst = out
            .get_mut(..v.len())
            .ok_or_else(|| search::too_small("out", v.len(), capacity))?;
        dst.copy_from_slice(&v);
        Ok(())
    })
}

/// Searches one query of `dims` floats. Writes up to `k` hits, best (smallest distance)
/// first, to `keys[0..]` and `distances[0..]`, and their number to `*out_len`. `params`
/// NULL means the defaults with `k = capacity`; `params->k` larger than `capacity` is
/// `VECMATCH_ERR_BUFFER_TOO_SMALL`. `distances` may be NULL when not wanted. Nothing is
/// written on failure (wrong `dims`, NaN in the query, invalid params).
///
/// # Safety
/// `gallery` NULL or a live handle; `query` NULL or `dims` readable floats; `params` NULL
/// or a valid struct whose key lists hold their lengths; `keys` and (if not NULL)
/// `distances` valid for `capacity` writes; `out_len` NULL or valid for one write. Any
/// number of threads may search the same gallery at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_search(
    gallery: *const vecmatch_gallery,
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
    unsafe { search::search_one(gallery, query, dims, params, out) }
}

/// Searches `n_queries` queries of `dims` floats each, stored row-major in `queries`
/// (`n_queries × dims` floats), in parallel. Query `i` writes its hits, best first, to
/// `keys[i*k ..]` and `distances[i*k ..]` and their number to `out_lens[i]`; unused slots
/// get `VECMATCH_NO_KEY` and `INFINITY`. `k` is `params->k`, or when 0 (or `params` NULL)
/// `capacity / n_queries`; `capacity` (the length of `keys` and `distances`) must be at
/// least `n_queries × k`. `distances` may be NULL. Nothing is written unless every query
/// is valid.
///
/// # Safety
/// `gallery` NULL or a live handle; `queries` NULL or `n_queries × dims` readable floats;
/// `params` NULL or a valid struct; `keys` and (if not NULL) `distances` valid for
/// `capacity` writes; `out_lens` valid for `n_queries` writes. Any number of threads may
/// search the same gallery at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_search_batch(
    gallery: *const vecmatch_gallery,
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
    unsafe { search::search_many(gallery, batch, params, out) }
}
