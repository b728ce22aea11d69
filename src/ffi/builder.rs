//! `vecmatch_builder`: collecting vectors with keys and writing a gallery file.

use std::ffi::c_char;

use super::args;
use super::boundary::{self, Failure};
use super::gallery::{into_handle, vecmatch_gallery};
use super::params::{
    ElementTypeArg, MetricArg, vecmatch_element_type, vecmatch_hnsw_params, vecmatch_metric,
};
use super::status::vecmatch_status;
use crate::GalleryBuilder;

/// A gallery under construction (opaque). Not thread-safe: use one builder from one thread
/// at a time (different builders on different threads are fine).
pub struct vecmatch_builder {
    pub(crate) inner: GalleryBuilder,
}

/// Starts a builder for `dims`-dimensional vectors under `metric`. On success `*out`
/// receives a handle to free with `vecmatch_builder_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing one pointer. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_new(
    dims: usize,
    metric: MetricArg,
    out: *mut *mut vecmatch_builder,
) -> vecmatch_status {
    boundary::status(|| {
        let metric = vecmatch_metric::from_arg(metric)?;
        args::require_out(out, "out")?;
        let b = Box::new(vecmatch_builder {
            inner: GalleryBuilder::new(dims, metric)?,
        });
        // SAFETY: checked non-NULL and aligned; writable is the caller's contract.
        unsafe { args::write_out(out, Box::into_raw(b), "out") }
    })
}

/// Releases a builder. NULL is a no-op.
///
/// # Safety
/// `builder` must be NULL or a handle from `vecmatch_builder_new` not freed before, not in
/// use by another thread, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_free(builder: *mut vecmatch_builder) {
    boundary::value((), || {
        if !builder.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, released once (the contract).
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}

/// Adds one vector of `dims` floats under `key`. It must be finite (and non-zero for
/// cosine); keys must be unique. A rejected vector leaves the builder unchanged.
///
/// # Safety
/// `builder` NULL or a live handle used by no other thread; `vector` NULL or `dims`
/// readable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_add(
    builder: *mut vecmatch_builder,
    key: u64,
    vector: *const f32,
    dims: usize,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live, unshared handle (the contract).
        let b = unsafe { args::handle_mut(builder, "builder") }?;
        if vector.is_null() {
            return Err(Failure::null("vector"));
        }
        // SAFETY: `dims` readable floats (the contract).
        let v = unsafe { args::slice(vector, dims, "vector") }?;
        Ok(b.inner.add(key, v)?)
    })
}

/// Adds `n` vectors of `dims` floats, row-major in `vectors` (`n × dims` floats), with
/// `keys[i]` for row `i`. All or nothing: if any row or key is rejected, none is added.
///
/// # Safety
/// `builder` NULL or a live handle used by no other thread; `keys` NULL or `n` readable
/// keys; `vectors` NULL or `n × dims` readable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_add_batch(
    builder: *mut vecmatch_builder,
    keys: *const u64,
    vectors: *const f32,
    n: usize,
    dims: usize,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live, unshared handle (the contract).
        let b = unsafe { args::handle_mut(builder, "builder") }?;
        if keys.is_null() {
            return Err(Failure::null("keys"));
        }
        if vectors.is_null() {
            return Err(Failure::null("vectors"));
        }
        if dims != b.inner.dims() {
            return Err(crate::Error::DimensionMismatch {
                expected: b.inner.dims(),
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
        Ok(b.inner.add_batch(k, v)?)
    })
}

/// Number of vectors added so far (0 for NULL).
///
/// # Safety
/// `builder` NULL or a live handle not being modified by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_len(builder: *const vecmatch_builder) -> usize {
    boundary::value(0, || {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { builder.as_ref() };
        h.map_or(0, |b| b.inner.len())
    })
}

/// Asks for an HNSW graph with `params` (NULL = defaults) when the gallery is written.
/// Without this call the gallery is searched exactly.
///
/// # Safety
/// `builder` NULL or a live handle used by no other thread; `params` NULL or valid for
/// reading.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_set_hnsw(
    builder: *mut vecmatch_builder,
    params: *const vecmatch_hnsw_params,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live, unshared handle (the contract).
        let b = unsafe { args::handle_mut(builder, "builder") }?;
        // SAFETY: NULL or valid for reading (the contract).
        let p = match unsafe { params.as_ref() } {
            Some(p) => p.to_rust(),
            None => crate::HnswParams::default(),
        };
        b.inner.hnsw(p)?;
        Ok(())
    })
}

/// Chooses how the vectors are stored (default `VECMATCH_ELEMENT_F32`): `f16` halves the
/// vector bytes and `i8` quarters them, and searches read that many fewer bytes. With
/// `keep_f32_rows` a compact gallery also keeps the `f32` rows, so searches re-rank their
/// best candidates exactly (`rerank_factor` in `vecmatch_search_params`); ignored for `f32`.
///
/// # Safety
/// `builder` NULL or a live handle used by no other thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_set_storage(
    builder: *mut vecmatch_builder,
    element_type: ElementTypeArg,
    keep_f32_rows: bool,
) -> vecmatch_status {
    boundary::status(|| {
        let e = vecmatch_element_type::from_arg(element_type)?;
        // SAFETY: NULL or a live, unshared handle (the contract).
        let b = unsafe { args::handle_mut(builder, "builder") }?;
        b.inner.element_type(e).keep_f32_rows(keep_f32_rows);
        Ok(())
    })
}

/// Builds the gallery (and its graph, if asked for) and writes it to `path` atomically:
/// a temporary file in the same directory, fsync, rename, directory fsync — readers see
/// the old file or the new one, never a partial one. The builder stays usable.
///
/// # Safety
/// `builder` NULL or a live handle not modified by another thread during the call; `path`
/// NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_write(
    builder: *const vecmatch_builder,
    path: *const c_char,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let b = unsafe { args::handle(builder, "builder") }?;
        // SAFETY: the contract on `path`.
        let path = unsafe { args::path(path, "path") }?;
        b.inner.write(&path)?;
        Ok(())
    })
}

/// Builds the gallery in memory (no file); on success `*out` receives a gallery handle to
/// free with `vecmatch_gallery_free`. The builder stays usable.
///
/// # Safety
/// `builder` NULL or a live handle not modified by another thread during the call; `out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_build(
    builder: *const vecmatch_builder,
    out: *mut *mut vecmatch_gallery,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let b = unsafe { args::handle(builder, "builder") }?;
        args::require_out(out, "out")?;
        let g = b.inner.build_in_memory()?;
        // SAFETY: checked non-NULL and aligned; writable is the caller's contract.
        unsafe { args::write_out(out, into_handle(g), "out") }
    })
}
