//! The search plumbing shared by every searchable handle (gallery, collection): reading
//! the query and params from C, checking the caller's buffers, and copying hits into them
//! only once the search succeeded.

use super::args;
use super::boundary::Failure;
use super::params::vecmatch_search_params;
use super::status::vecmatch_status;
use crate::{Hit, Result, SearchParams};

/// Key written to unused result slots of a batch search.
pub const VECMATCH_NO_KEY: u64 = u64::MAX;

/// The caller's result buffers: `keys` and (optional) `distances`, `capacity` each.
pub(crate) struct Out {
    pub(crate) keys: *mut u64,
    pub(crate) distances: *mut f32,
    pub(crate) capacity: usize,
}

/// A batch of row-major queries.
pub(crate) struct Batch {
    pub(crate) queries: *const f32,
    pub(crate) n_queries: usize,
    pub(crate) dims: usize,
    /// The dimensions of the handle searched.
    pub(crate) expected_dims: usize,
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

/// One query: checks every argument, runs `search`, then writes the hits and `*out_len`.
///
/// # Safety
/// `query` NULL or `dims` readable floats; `params` NULL or a valid struct; the output
/// buffers as in [`Out`]; `out_len` NULL or valid for one write.
pub(crate) unsafe fn one(
    query: *const f32,
    dims: usize,
    params: *const vecmatch_search_params,
    out: Out,
    out_len: *mut usize,
    search: impl FnOnce(&[f32], &SearchParams<'_>) -> Result<Vec<Hit>>,
) -> Result<(), Failure> {
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

/// A batch: checks every argument, runs `search` on all queries, then writes row `i` of
/// `k` hits (padded with `VECMATCH_NO_KEY` / `INFINITY`) and `out_lens[i]`.
///
/// # Safety
/// `batch.queries` NULL or `n_queries × dims` readable floats; `params` NULL or a valid
/// struct; the output buffers as in [`Out`]; `out_lens` NULL or valid for `n_queries`
/// writes.
pub(crate) unsafe fn many(
    batch: Batch,
    params: *const vecmatch_search_params,
    out: Out,
    out_lens: *mut usize,
    search: impl FnOnce(&[f32], &SearchParams<'_>) -> Result<Vec<Vec<Hit>>>,
) -> Result<(), Failure> {
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
    if batch.dims != batch.expected_dims {
        return Err(crate::Error::DimensionMismatch {
            expected: batch.expected_dims,
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
