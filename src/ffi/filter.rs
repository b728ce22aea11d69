//! `vecmatch_filter`: a filter built with setters (labels, key lists, a key predicate),
//! the filtered searches of galleries and collections, and adding labelled rows.

use std::ffi::c_void;

use super::args;
use super::boundary::{self, Failure};
use super::builder::vecmatch_builder;
use super::collection::vecmatch_collection;
use super::gallery::vecmatch_gallery;
use super::params::vecmatch_search_params;
use super::search;
use super::status::vecmatch_status;
use crate::Filter;

/// A key predicate: returns `true` to admit `key`. `ctx` is the pointer given to
/// `vecmatch_filter_predicate`. **Called from several threads at once** during a search
/// (never after the search call returns), for some of the candidate rows only, in no
/// particular order: it must be thread-safe and should be cheap.
pub type vecmatch_key_predicate = Option<unsafe extern "C" fn(key: u64, ctx: *mut c_void) -> bool>;

/// The C predicate with its context.
#[derive(Clone, Copy)]
struct CPredicate {
    f: unsafe extern "C" fn(u64, *mut c_void) -> bool,
    ctx: *mut c_void,
}

// SAFETY: the caller of `vecmatch_filter_predicate` promises the function may be called
// with `ctx` from several threads at once (the documented contract); vecmatch only passes
// the pointer back, never dereferences it.
unsafe impl Sync for CPredicate {}
// SAFETY: as above: the pointer is only handed back to the caller's function.
unsafe impl Send for CPredicate {}

impl CPredicate {
    fn call(&self, key: u64) -> bool {
        // The contract of `vecmatch_filter_predicate`: callable from any thread in a search.
        // SAFETY: a function pointer and context the caller registered under that contract.
        unsafe { (self.f)(key, self.ctx) }
    }
}

/// A search filter (opaque): rows must pass every condition set on it (AND). Made by
/// `vecmatch_filter_new`, released by `vecmatch_filter_free`. Setters copy their lists.
/// A filter may be used by any number of concurrent searches while no thread changes it.
pub struct vecmatch_filter {
    all: Vec<u32>,
    any: Vec<u32>,
    none: Vec<u32>,
    allow: Option<Vec<u64>>,
    deny: Vec<u64>,
    predicate: Option<Box<dyn Fn(u64) -> bool + Send + Sync>>,
}

impl vecmatch_filter {
    /// The Rust filter, borrowing this handle's lists.
    fn filter(&self) -> Filter<'_> {
        let mut filter = Filter::new()
            .all_labels(&self.all)
            .any_labels(&self.any)
            .no_labels(&self.none)
            .deny_keys(&self.deny);
        if let Some(a) = &self.allow {
            filter = filter.allow_keys(a);
        }
        if let Some(p) = &self.predicate {
            filter = filter.predicate(p.as_ref());
        }
        filter
    }
}

/// Starts an empty filter (admits every row). On success `*out` receives a handle to
/// free with `vecmatch_filter_free`.
///
/// # Safety
/// `out` NULL or valid for writing one pointer. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_filter_new(out: *mut *mut vecmatch_filter) -> vecmatch_status {
    boundary::status(|| {
        args::require_out(out, "out")?;
        let f = Box::new(vecmatch_filter {
            all: Vec::new(),
            any: Vec::new(),
            none: Vec::new(),
            allow: None,
            deny: Vec::new(),
            predicate: None,
        });
        // SAFETY: checked non-NULL and aligned; writable is the caller's contract.
        unsafe { args::write_out(out, Box::into_raw(f), "out") }
    })
}

/// Releases a filter. NULL is a no-op.
///
/// # Safety
/// `filter` NULL or a handle from `vecmatch_filter_new` not freed before, not in use by a
/// search or another thread, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_filter_free(filter: *mut vecmatch_filter) {
    boundary::value((), || {
        if !filter.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, released once (the contract).
            drop(unsafe { Box::from_raw(filter) });
        }
    })
}

/// Copies `n` items at `ptr` (NULL allowed with `n == 0`) into a vector.
///
/// # Safety
/// `ptr` NULL or `n` readable items.
unsafe fn list<T: Copy>(ptr: *const T, n: usize, name: &str) -> Result<Vec<T>, Failure> {
    // SAFETY: the caller's contract.
    Ok(unsafe { args::slice(ptr, n, name) }?.to_vec())
}

/// Applies `set` to the filter behind `filter`.
///
/// # Safety
/// `filter` NULL or a live handle used by no other thread.
unsafe fn update(
    filter: *mut vecmatch_filter,
    set: impl FnOnce(&mut vecmatch_filter) -> Result<(), Failure>,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live, unshared handle (the contract).
        let f = unsafe { args::handle_mut(filter, "filter") }?;
        set(f)
    })
}

/// Admits only rows carrying every one of the `n` labels (replaces an earlier list;
/// `n == 0` removes the condition).
///
/// # Safety
/// `filter` NULL or a live handle used by no other thread; `labels` NULL or `n` readable
/// labels.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_filter_all_labels(
    filter: *mut vecmatch_filter,
    labels: *const u32,
    n: usize,
) -> vecmatch_status {
    // SAFETY: the caller's contract on both pointers.
    unsafe {
        update(filter, |f| {
            f.all = list(labels, n, "labels")?;
            Ok(())
        })
    }
}

/// Admits only rows carrying at least one of the `n` labels (`n == 0` removes the
/// condition).
///
/// # Safety
/// As `vecmatch_filter_all_labels`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_filter_any_labels(
    filter: *mut vecmatch_filter,
    labels: *const u32,
    n: usize,
) -> vecmatch_status {
    // SAFETY: the caller's contract on both pointers.
    unsafe {
        update(filter, |f| {
            f.any = list(labels, n, "labels")?;
            Ok(())
        })
    }
}

/// Admits only rows carrying none of the `n` labels (`n == 0` removes the condition).
///
/// # Safety
/// As `vecmatch_filter_all_labels`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_filter_no_labels(
    filter: *mut vecmatch_filter,
    labels: *const u32,
    n: usize,
) -> vecmatch_status {
    // SAFETY: the caller's contract on both pointers.
    unsafe {
        update(filter, |f| {
            f.none = list(labels, n, "labels")?;
            Ok(())
        })
    }
}

/// Admits only rows whose key is one of the `n` keys (unknown keys are ignored; `n == 0`
/// admits nothing). `keys` NULL removes the allow list.
///
/// # Safety
/// `filter` NULL or a live handle used by no other thread; `keys` NULL or `n` readable
/// keys.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_filter_allow_keys(
    filter: *mut vecmatch_filter,
    keys: *const u64,
    n: usize,
) -> vecmatch_status {
    // SAFETY: the caller's contract on both pointers.
    unsafe {
        update(filter, |f| {
            f.allow = if keys.is_null() {
                None
            } else {
                Some(list(keys, n, "keys")?)
            };
            Ok(())
        })
    }
}

/// Never admits rows whose key is one of the `n` keys (`n == 0` removes the condition).
///
/// # Safety
/// As `vecmatch_filter_allow_keys`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_filter_deny_keys(
    filter: *mut vecmatch_filter,
    keys: *const u64,
    n: usize,
) -> vecmatch_status {
    // SAFETY: the caller's contract on both pointers.
    unsafe {
        update(filter, |f| {
            f.deny = list(keys, n, "keys")?;
            Ok(())
        })
    }
}

/// Admits only rows whose key `predicate(key, ctx)` accepts; NULL removes the
/// predicate. The function is **called from several threads at once** while a search
/// with this filter runs, never after that search call returns.
///
/// # Safety
/// `filter` NULL or a live handle used by no other thread; `predicate` NULL or a function
/// safe to call with `ctx` from any thread, concurrently, for as long as the filter is
/// used in searches.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_filter_predicate(
    filter: *mut vecmatch_filter,
    predicate: vecmatch_key_predicate,
    ctx: *mut c_void,
) -> vecmatch_status {
    // SAFETY: the caller's contract on the handle.
    unsafe {
        update(filter, |f| {
            f.predicate = predicate.map(|f| {
                let p = CPredicate { f, ctx };
                Box::new(move |key| p.call(key)) as Box<dyn Fn(u64) -> bool + Send + Sync>
            });
            Ok(())
        })
    }
}

/// The filters of a batch: `n` handles (1 for all queries, or one per query).
///
/// # Safety
/// `filters` NULL or `n` readable pointers, each NULL or a live handle.
unsafe fn filter_list<'a>(
    filters: *const *const vecmatch_filter,
    n: usize,
) -> Result<Vec<&'a vecmatch_filter>, Failure> {
    if filters.is_null() {
        return Err(Failure::null("filters"));
    }
    if n == 0 {
        return Err(Failure::invalid("n_filters is 0"));
    }
    // SAFETY: `n` readable pointers (the contract).
    let ptrs = unsafe { args::slice(filters, n, "filters") }?;
    ptrs.iter()
        // SAFETY: each NULL or a live handle (the contract).
        .map(|&p| unsafe { args::handle(p, "filters[i]") })
        .collect()
}

/// `vecmatch_gallery_search` over the rows `filter` admits (AND the key lists of
/// `params`). Never fewer than `k` hits when the filter admits at least `k` rows (and
/// no `max_distance`): a short graph walk is rerun exactly.
///
/// # Safety
/// As `vecmatch_gallery_search`; `filter` NULL or a live handle not changed during the
/// call. Any number of threads may search at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_search_filtered(
    gallery: *const vecmatch_gallery,
    query: *const f32,
    dims: usize,
    params: *const vecmatch_search_params,
    filter: *const vecmatch_filter,
    keys: *mut u64,
    distances: *mut f32,
    capacity: usize,
    out_len: *mut usize,
) -> vecmatch_status {
    let out = search::Out::new(keys, distances, capacity, out_len);
    // SAFETY: NULL or a live handle (the contract).
    let filter = || unsafe { args::handle(filter, "filter") };
    // SAFETY: this function's contract is that of `search::search_one_with`.
    unsafe {
        search::search_one_with(gallery, filter, query, dims, params, out, |g, f, q, p| {
            g.inner.search_filtered(q, &f.filter(), p)
        })
    }
}

/// `vecmatch_gallery_search_batch` with filters: `n_filters` handles, 1 for every query
/// or one per query (query `i` uses `filters[i]`).
///
/// # Safety
/// As `vecmatch_gallery_search_batch`; `filters` NULL or `n_filters` readable pointers to
/// live handles not changed during the call. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_gallery_search_batch_filtered(
    gallery: *const vecmatch_gallery,
    queries: *const f32,
    n_queries: usize,
    dims: usize,
    params: *const vecmatch_search_params,
    filters: *const *const vecmatch_filter,
    n_filters: usize,
    keys: *mut u64,
    distances: *mut f32,
    capacity: usize,
    out_lens: *mut usize,
) -> vecmatch_status {
    let batch = search::Batch::new(queries, n_queries, dims);
    let out = search::Out::new(keys, distances, capacity, out_lens);
    // SAFETY: the contract on the filter list.
    let filters = || unsafe { filter_list(filters, n_filters) };
    // SAFETY: this function's contract is that of `search::search_many_with`.
    unsafe {
        search::search_many_with(gallery, filters, batch, params, out, |g, handles, q, p| {
            let fs: Vec<Filter<'_>> = handles.iter().map(|h| h.filter()).collect();
            g.inner.search_batch_filtered(q, &fs, p)
        })
    }
}

/// `vecmatch_collection_search` over the live rows `filter` admits, committed and
/// pending alike.
///
/// # Safety
/// As `vecmatch_collection_search`; `filter` NULL or a live handle not changed during
/// the call. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_search_filtered(
    collection: *const vecmatch_collection,
    query: *const f32,
    dims: usize,
    params: *const vecmatch_search_params,
    filter: *const vecmatch_filter,
    keys: *mut u64,
    distances: *mut f32,
    capacity: usize,
    out_len: *mut usize,
) -> vecmatch_status {
    let out = search::Out::new(keys, distances, capacity, out_len);
    // SAFETY: NULL or a live handle (the contract).
    let filter = || unsafe { args::handle(filter, "filter") };
    // SAFETY: this function's contract is that of `search::search_one_with`.
    unsafe {
        search::search_one_with(
            collection,
            filter,
            query,
            dims,
            params,
            out,
            |c, f, q, p| c.inner.search_filtered(q, &f.filter(), p),
        )
    }
}

/// `vecmatch_collection_search_batch` with filters, as
/// `vecmatch_gallery_search_batch_filtered`.
///
/// # Safety
/// As `vecmatch_gallery_search_batch_filtered`, with `collection` NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_search_batch_filtered(
    collection: *const vecmatch_collection,
    queries: *const f32,
    n_queries: usize,
    dims: usize,
    params: *const vecmatch_search_params,
    filters: *const *const vecmatch_filter,
    n_filters: usize,
    keys: *mut u64,
    distances: *mut f32,
    capacity: usize,
    out_lens: *mut usize,
) -> vecmatch_status {
    let batch = search::Batch::new(queries, n_queries, dims);
    let out = search::Out::new(keys, distances, capacity, out_lens);
    // SAFETY: the contract on the filter list.
    let filters = || unsafe { filter_list(filters, n_filters) };
    // SAFETY: this function's contract is that of `search::search_many_with`.
    unsafe {
        search::search_many_with(
            collection,
            filters,
            batch,
            params,
            out,
            |c, handles, q, p| {
                let fs: Vec<Filter<'_>> = handles.iter().map(|h| h.filter()).collect();
                c.inner.search_batch_filtered(q, &fs, p)
            },
        )
    }
}

/// `vecmatch_builder_add` of a row carrying `n_labels` labels (any order; duplicates
/// dropped). The gallery gains a `LABELS` section.
///
/// # Safety
/// As `vecmatch_builder_add`; `labels` NULL or `n_labels` readable labels.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_builder_add_labeled(
    builder: *mut vecmatch_builder,
    key: u64,
    vector: *const f32,
    dims: usize,
    labels: *const u32,
    n_labels: usize,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live, unshared handle (the contract).
        let b = unsafe { args::handle_mut(builder, "builder") }?;
        if vector.is_null() {
            return Err(Failure::null("vector"));
        }
        // SAFETY: `dims` readable floats (the contract).
        let v = unsafe { args::slice(vector, dims, "vector") }?;
        // SAFETY: `n_labels` readable labels (the contract).
        let l = unsafe { args::slice(labels, n_labels, "labels") }?;
        Ok(b.inner.add_labeled(key, v, l)?)
    })
}

/// `vecmatch_collection_add` of a row carrying `n_labels` labels (they replace the old
/// row's labels).
///
/// # Safety
/// As `vecmatch_collection_add`; `labels` NULL or `n_labels` readable labels.
/// Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_add_labeled(
    collection: *mut vecmatch_collection,
    key: u64,
    vector: *const f32,
    dims: usize,
    labels: *const u32,
    n_labels: usize,
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
        // SAFETY: `n_labels` readable labels (the contract).
        let l = unsafe { args::slice(labels, n_labels, "labels") }?;
        let replaced = c.inner.add_labeled(key, v, l)?;
        if !out_replaced.is_null() {
            // SAFETY: non-NULL; writable is the contract.
            unsafe { args::write_out(out_replaced, replaced, "out_replaced") }?;
        }
        Ok(())
    })
}
