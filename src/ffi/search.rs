//! The search plumbing shared by every searchable handle (gallery, collection, shard
//! set): each search export is one call to [`search_one`] or [`search_many`] (with a
//! filter: [`search_one_with`], [`search_many_with`]), which check the handle, read the
//! query and params from C, check the caller's buffers, and copy hits into them only once
//! the search succeeded.

use super::args;
use super::boundary::{self, Failure};
use super::params::vecmatch_search_params;
use super::status::vecmatch_status;
use crate::{Hit, Result, SearchParams};

/// Key written to unused result slots of a batch search.
pub const VECMATCH_NO_KEY: u64 = u64::MAX;

/// A handle the search exports search: gallery, collection, shard set.
pub(crate) trait Searchable {
    /// The handle's argument name, for messages ("gallery", …).
    const ARG: &'static str;
    /// The dimensions of its vectors.
    fn dims(&self) -> usize;
    /// One query, no filter beyond the params.
    fn search(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Hit>>;
    /// Row-major queries, no filter beyond the params.
    fn search_batch(&self, queries: &[f32], params: &SearchParams<'_>) -> Result<Vec<Vec<Hit>>>;
}

/// The caller's result buffers: `keys` and (optional) `distances`, `capacity` each, and
/// the hit counts `lens` (one per query).
pub(crate) struct Out {
    keys: *mut u64,
    distances: *mut f32,
    capacity: usize,
    lens: *mut usize,
}

impl Out {
    /// The buffers as the export received them (not checked yet).
    pub(crate) fn new(
        keys: *mut u64,
        distances: *mut f32,
        capacity: usize,
        lens: *mut usize,
    ) -> Out {
        Out {
            keys,
            distances,
            capacity,
            lens,
        }
    }
}

/// A batch of `n_queries` row-major queries of `dims` floats, as the export received it.
pub(crate) struct Batch {
    queries: *const f32,
    n_queries: usize,
    dims: usize,
}

impl Batch {
    /// The queries as the export received them (not checked yet).
    pub(crate) fn new(queries: *const f32, n_queries: usize, dims: usize) -> Batch {
        Batch {
            queries,
            n_queries,
            dims,
        }
    }
}

/// The body of a single-query search export: [`search_one_with`] without a filter.
///
/// # Safety
/// As [`search_one_with`].
pub(crate) unsafe fn search_one<H: Searchable>(
    handle: *const H,
    query: *const f32,
    dims: usize,
    params: *const vecmatch_search_params,
    out: Out,
) -> vecmatch_status {
    let none = || Ok(());
    // SAFETY: the caller's contract.
    unsafe {
        search_one_with(handle, none, query, dims, params, out, |h, (), q, p| {
            h.search(q, p)
        })
    }
}

/// The body of a batch search export: [`search_many_with`] without filters.
///
/// # Safety
/// As [`search_many_with`].
pub(crate) unsafe fn search_many<H: Searchable>(
    handle: *const H,
    batch: Batch,
    params: *const vecmatch_search_params,
    out: Out,
) -> vecmatch_status {
    let none = || Ok(());
    // SAFETY: the caller's contract.
    unsafe {
        search_many_with(handle, none, batch, params, out, |h, (), q, p| {
            h.search_batch(q, p)
        })
    }
}

/// The body of every single-query search export, inside the panic boundary: checks
/// `handle`, then runs `extra` (which checks further arguments, e.g. a filter handle, and
/// gives what `search` needs of them), then checks the query, params and buffers; runs
/// `search`, and writes the hits and `*out.lens` only if it succeeded.
///
/// # Safety
/// `handle` NULL or a live handle; `query` NULL or `dims` readable floats; `params` NULL
/// or a valid struct whose key lists hold their lengths; `out.keys` and (if not NULL)
/// `out.distances` valid for `out.capacity` writes; `out.lens` NULL or valid for one write.
pub(crate) unsafe fn search_one_with<H: Searchable, X>(
    handle: *const H,
    extra: impl FnOnce() -> Result<X, Failure>,
    query: *const f32,
    dims: usize,
    params: *const vecmatch_search_params,
    out: Out,
    search: impl FnOnce(&H, X, &[f32], &SearchParams<'_>) -> Result<Vec<Hit>>,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { args::handle(handle, H::ARG) }?;
        let x = extra()?;
        // SAFETY: the contract on the query, params and output buffers.
        unsafe { run_one(query, dims, params, out, |q, p| search(h, x, q, p)) }
    })
}

/// The body of every batch search export, inside the panic boundary: checks `handle`,
/// then runs `extra` (as in [`search_one_with`]), then checks the queries (`batch.dims`
/// must be the handle's), params and buffers; runs `search`, and writes row `i` of `k`
/// hits and `out.lens[i]` only if it succeeded.
///
/// # Safety
/// `handle` NULL or a live handle; `batch.queries` NULL or `n_queries × dims` readable
/// floats; `params` NULL or a valid struct whose key lists hold their lengths; `out.keys`
/// and (if not NULL) `out.distances` valid for `out.capacity` writes; `out.lens` NULL or
/// valid for `n_queries` writes.
pub(crate) unsafe fn search_many_with<H: Searchable, X>(
    handle: *const H,
    extra: impl FnOnce() -> Result<X, Failure>,
    batch: Batch,
    params: *const vecmatch_search_params,
    out: Out,
    search: impl FnOnce(&H, X, &[f32], &SearchParams<'_>) -> Result<Vec<Vec<Hit>>>,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let h = unsafe { args::handle(handle, H::ARG) }?;
        let x = extra()?;
        // SAFETY: the contract on the queries, params and output buffers.
        unsafe { run_many(batch, h.dims(), params, out, |q, p| search(h, x, q, p)) }
    })
}

pub(crate) fn too_small(name: &str, needed: usize, capacity: usize) -> Failure {
    Failure::new(
        vecmatch_status::VECMATCH_ERR_BUFFER_TOO_SMALL,
        format!("{name} holds {capacity} elements, {needed} needed"),
    )
}

/// Reads the optional params (NULL = defaults).
///
/// # Safety
/// `params` must be NULL or valid for reading, with valid key lists.
unsafe fn read_params<'a>(
    params: *const vecmatch_search_params,
    default_k: usize,
) -> Result<SearchParams<'a>, Failure> {
    // SAFETY: NULL or valid for reading (the contract).
    let p = unsafe { params.as_ref() }.copied().unwrap_or_default();
    // SAFETY: the contract on the key lists.
    unsafe { p.as_rust(default_k) }
}

/// The output slices: `keys` required, `distances` optional.
///
/// # Safety
/// `keys` and, if not NULL, `distances` valid for `capacity` writes.
unsafe fn out_slices<'a>(out: &Out) -> Result<(&'a mut [u64], Option<&'a mut [f32]>), Failure> {
    if out.keys.is_null() {
        return Err(Failure::null("keys"));
    }
    // SAFETY: `capacity` writable keys (the contract).
    let keys = unsafe { args::slice_mut(out.keys, out.capacity, "keys") }?;
    let distances = if out.distances.is_null() {
        None
    } else {
        // SAFETY: `capacity` writable floats (the contract).
        Some(unsafe { args::slice_mut(out.distances, out.capacity, "distances") }?)
    };
    Ok((keys, distances))
}

/// Copies hits into the caller's buffers.
fn write_hits(hits: &[Hit], keys: &mut [u64], distances: Option<&mut [f32]>) {
    for (slot, h) in keys.iter_mut().zip(hits) {
        *slot = h.key;
    }
    if let Some(d) = distances {
        for (slot, h) in d.iter_mut().zip(hits) {
            *slot = h.distance;
        }
    }
}

/// One query: checks every argument, runs `search`, then writes the hits and `*out.lens`.
///
/// # Safety
/// As [`search_one_with`].
unsafe fn run_one(
    query: *const f32,
    dims: usize,
    params: *const vecmatch_search_params,
    out: Out,
    search: impl FnOnce(&[f32], &SearchParams<'_>) -> Result<Vec<Hit>>,
) -> Result<(), Failure> {
    let out_len = out.lens;
    if query.is_null() {
        return Err(Failure::null("query"));
    }
    // SAFETY: `dims` readable floats (the contract).
    let query = unsafe { args::slice(query, dims, "query") }?;
    // SAFETY: the contract on the output buffers.
    let (keys, distances) = unsafe { out_slices(&out) }?;
    args::require_out(out_len, "out_len")?;
    // SAFETY: the contract on `params`.
    let p = unsafe { read_params(params, out.capacity) }?;
    if p.k > out.capacity {
        return Err(too_small("keys", p.k, out.capacity));
    }
    let hits = search(query, &p)?;
    write_hits(&hits, keys, distances);
    // SAFETY: checked above; writable is the contract.
    unsafe { args::write_out(out_len, hits.len(), "out_len") }
}

/// A batch: checks every argument (`expected_dims`: the handle's), runs `search` on all
/// queries, then writes row `i` of `k` hits (padded with `VECMATCH_NO_KEY` / `INFINITY`)
/// and `out.lens[i]`.
///
/// # Safety
/// As [`search_many_with`].
unsafe fn run_many(
    batch: Batch,
    expected_dims: usize,
    params: *const vecmatch_search_params,
    out: Out,
    search: impl FnOnce(&[f32], &SearchParams<'_>) -> Result<Vec<Vec<Hit>>>,
) -> Result<(), Failure> {
    let out_lens = out.lens;
    if batch.queries.is_null() {
        return Err(Failure::null("queries"));
    }
    if out.keys.is_null() {
        return Err(Failure::null("keys"));
    }
    if out_lens.is_null() {
        return Err(Failure::null("out_lens"));
    }
    let n = batch.n_queries;
    if n == 0 {
        return Err(Failure::invalid("n_queries is 0"));
    }
    if batch.dims != expected_dims {
        return Err(crate::Error::DimensionMismatch {
            expected: expected_dims,
            found: batch.dims,
        }
        .into());
    }
    let total = n
        .checked_mul(batch.dims)
        .ok_or_else(|| Failure::invalid("n_queries × dims overflows"))?;
    // SAFETY: `n_queries × dims` readable floats (the contract).
    let queries = unsafe { args::slice(batch.queries, total, "queries") }?;
    // SAFETY: the contract on the output buffers.
    let (keys, mut distances) = unsafe { out_slices(&out) }?;
    // SAFETY: `n_queries` writable counts (the contract).
    let out_lens = unsafe { args::slice_mut(out_lens, n, "out_lens") }?;
    // SAFETY: the contract on `params`.
    let p = unsafe { read_params(params, out.capacity / n) }?;
    let needed = n
        .checked_mul(p.k)
        .ok_or_else(|| Failure::invalid("n_queries × k overflows"))?;
    if needed > out.capacity {
        return Err(too_small("keys", needed, out.capacity));
    }
    let results = search(queries, &p)?;
    for (i, hits) in results.iter().enumerate() {
        let row = i * p.k..(i + 1) * p.k;
        keys[row.clone()].fill(VECMATCH_NO_KEY);
        let mut d = distances.as_deref_mut().map(|d| &mut d[row.clone()]);
        if let Some(d) = d.as_deref_mut() {
            d.fill(f32::INFINITY);
        }
        write_hits(hits, &mut keys[row], d);
        out_lens[i] = hits.len();
    }
    Ok(())
}
