//! The search planner: one home for the decisions a query needs, top to bottom —
//! resolve the filter (keys, labels, predicate, a collection's deleted rows) into a row
//! set with an estimated size ([`resolve`]), prepare the query once ([`prepare`]),
//! choose an exact scan ([`exact`]) or a graph walk ([`walk`]), have the executor find
//! candidate rows on the stored codes, re-rank them on the `f32` rows when asked
//! ([`rerank`]), map rows to keys once at the end, and rerun exactly when a graph walk
//! comes back short. The executors ([`crate::flat`], [`crate::hnsw`]) only see a row
//! set (an explicit row list, a bitset and a row-admission test) and return rows; they
//! know nothing of labels, keys, predicates or re-ranking.

mod exact;
pub(crate) mod filter;
mod pending;
mod prepare;
pub(crate) mod rerank;
pub(crate) mod resolve;
mod walk;

use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::filter::{Bits, RowSet};
use crate::hnsw::graph::GraphView;
use crate::metric::prepare_query;
use crate::types::{Hit, SearchParams};
use crate::view::View;

use filter::Compiled;
pub use filter::{Filter, KeyPredicate};
pub(crate) use pending::Pending;

/// When a filter admits fewer than this fraction of the rows, the search scans the
/// admitted rows exactly instead of walking the graph (whose beam must pass through many
/// filtered-out nodes). Measured with `examples/filter_cutover.rs` on the 20k dev set
/// (ef 64, 1 thread, five runs): the exact scan is 1.7-2× faster at 25% admitted, the
/// graph 0.8-1.14× the exact time at 33%, 2.4-3× faster at 50% (re-run the example to
/// reproduce on your machine).
pub(crate) const FILTER_EXACT_FRACTION: f64 = 0.35;

/// A collection's deleted rows: the bitset and how many it holds.
pub(crate) type Dead<'d> = Option<(&'d Arc<Bits>, usize)>;

/// The rows of `view` admitted by `c`, minus `dead`.
fn row_set<'s>(view: &View<'s>, c: &'s Compiled<'s>, dead: Dead<'_>) -> RowSet<'s> {
    let set = if c.is_empty() {
        RowSet::all()
    } else {
        resolve::resolve(view, c)
    };
    match dead {
        Some((bits, count)) => set.without(bits, count),
        None => set,
    }
}

/// Whether the planner scans `set` exactly rather than walking the graph.
fn exact_is_better(set: &RowSet<'_>, n: usize) -> bool {
    !set.is_all() && (set.admitted(n) as f64) < FILTER_EXACT_FRACTION * n as f64
}

/// Whether a graph walk's `hits` may have missed admitted rows: fewer than `k` hits (no
/// distance bound) while the set admits more rows than were found (or an unknown number).
fn is_short(hits: &[Hit], set: &RowSet<'_>, params: &SearchParams<'_>, n: usize) -> bool {
    params.max_distance.is_none()
        && hits.len() < params.k
        && (!set.count_is_exact() || hits.len() < set.admitted(n))
}

/// One prepared query over the rows of `set`: exact scan or graph walk, with the exact
/// rerun of a short walk.
fn one_in(
    view: &View<'_>,
    graph: Option<&GraphView<'_>>,
    q: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<Hit>> {
    let n = view.count();
    let g = match graph {
        Some(g) if !params.exact && !exact_is_better(set, n) => g,
        _ => return exact::one(view, q, set, params),
    };
    let hits = walk::one(view, g, q, set, params);
    if is_short(&hits, set, params, n) {
        return exact::one(view, q, set, params);
    }
    Ok(hits)
}

/// One query with an optional filter (AND `params.filter`) over the rows of `view` minus
/// `dead` rows, and the `pending` rows (a collection's) if given.
pub(crate) fn one(
    view: &View<'_>,
    graph: Option<&GraphView<'_>>,
    query: &[f32],
    filter: Option<&Filter<'_>>,
    params: &SearchParams<'_>,
    dead: Dead<'_>,
    pending: Option<&dyn Pending>,
) -> Result<Vec<Hit>> {
    params.validate()?;
    let q = prepare_query(view.metric, view.dims, query)?;
    let c = Compiled::new(filter, params.filter);
    let set = row_set(view, &c, dead);
    let hits = one_in(view, graph, &q, &set, params)?;
    match pending {
        Some(p) => pending::merged(hits, p, &q, &c, params),
        None => Ok(hits),
    }
}

/// The graph walk of one query without the exact fallback for selective filters (to
/// measure that cut-over: `examples/filter_cutover.rs`); without a graph, the exact scan.
pub(crate) fn graph_only(
    view: &View<'_>,
    graph: Option<&GraphView<'_>>,
    query: &[f32],
    params: &SearchParams<'_>,
) -> Result<Vec<Hit>> {
    params.validate()?;
    let q = prepare_query(view.metric, view.dims, query)?;
    let set = resolve::key_filter(view, params.filter);
    match graph {
        Some(g) => Ok(walk::one(view, g, &q, &set, params)),
        None => exact::one(view, &q, &set, params),
    }
}

/// Many queries (row-major) with `filters`: none (only `params.filter`), one for all
/// queries, or one per query. Over the rows of `view` minus `dead` rows, and the
/// `pending` rows if given.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `filters` holds 0, 1 or one per query; as a single
/// search for a bad query or parameters.
pub(crate) fn many(
    view: &View<'_>,
    graph: Option<&GraphView<'_>>,
    queries: &[f32],
    filters: &[Filter<'_>],
    params: &SearchParams<'_>,
    dead: Dead<'_>,
    pending: Option<&dyn Pending>,
) -> Result<Vec<Vec<Hit>>> {
    params.validate()?;
    let d = view.dims;
    let prepared = prepare::batch(view, queries)?;
    let nq = prepared.len() / d;
    if filters.len() > 1 {
        if filters.len() != nq {
            return Err(Error::InvalidArgument(format!(
                "{} filters for {nq} queries (give 1 for all, or one per query)",
                filters.len()
            )));
        }
        // Each query has its own rows: resolve and plan query by query, in parallel.
        let each = |(q, f): (&[f32], &Filter<'_>)| {
            let c = Compiled::new(Some(f), params.filter);
            let set = row_set(view, &c, dead);
            let p = SearchParams {
                threads: Some(1),
                ..*params
            };
            let hits = one_in(view, graph, q, &set, &p)?;
            match pending {
                Some(pending) => pending::merged(hits, pending, q, &c, &p),
                None => Ok(hits),
            }
        };
        let pairs = prepared.chunks_exact(d).zip(filters);
        if params.threads == Some(1) {
            return pairs.map(each).collect();
        }
        let pairs: Vec<_> = pairs.collect();
        return crate::pool::install(params.threads, || pairs.into_par_iter().map(each).collect())?;
    }
    let c = Compiled::new(filters.first(), params.filter);
    let set = row_set(view, &c, dead);
    let n = view.count();
    let results = match graph {
        Some(g) if !params.exact && !exact_is_better(&set, n) => {
            let mut results = walk::many(view, g, &prepared, &set, params)?;
            for (hits, q) in results.iter_mut().zip(prepared.chunks_exact(d)) {
                if is_short(hits, &set, params, n) {
                    *hits = exact::one(view, q, &set, params)?;
                }
            }
            results
        }
        _ => exact::many(view, &prepared, &set, params)?,
    };
    let Some(pending) = pending else {
        return Ok(results);
    };
    let merge = |(hits, q): (Vec<Hit>, &[f32])| pending::merged(hits, pending, q, &c, params);
    if params.threads == Some(1) {
        return results
            .into_iter()
            .zip(prepared.chunks_exact(d))
            .map(merge)
            .collect();
    }
    crate::pool::install(params.threads, || {
        results
            .into_par_iter()
            .zip(prepared.par_chunks_exact(d))
            .map(merge)
            .collect()
    })?
}
