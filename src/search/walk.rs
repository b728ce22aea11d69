//! The graph-walk plan: the HNSW executor's candidate rows (on codes when the search
//! re-ranks), re-ranked on the `f32` rows or mapped to hits.

use rayon::prelude::*;

use crate::codec::Query;
use crate::error::Result;
use crate::filter::RowSet;
use crate::hnsw::graph::GraphView;
use crate::hnsw::search::{Cand, search};
use crate::types::{Hit, SearchParams};
use crate::view::View;

use super::rerank;

/// The walk's rows as hits: the best `params.k` within `params.max_distance`, best first.
fn hits(view: &View<'_>, found: Vec<Cand>, params: &SearchParams<'_>) -> Vec<Hit> {
    let max = params.max_distance.unwrap_or(f32::INFINITY);
    let mut hits: Vec<Hit> = found
        .into_iter()
        .filter(|c| c.d <= max)
        .map(|c| Hit {
            key: view.keys[c.row as usize],
            distance: c.d,
        })
        .collect();
    hits.sort_unstable_by(Hit::cmp_rank);
    hits.truncate(params.k);
    hits
}

/// Approximate top-k of the prepared query `q` (normalised for cosine) over the rows of
/// `set`. With a re-ranked search over compact rows the walk compares codes with codes
/// (the beam only has to find the candidates) and the best `k × rerank_factor` of the
/// `ef` rows it returns (by code distance; all of them when `ef` is smaller) are
/// re-ranked. Re-ranking all `ef` rows read `ef` f32 rows (24 cache lines each at 384-d)
/// per query for no recall: on dev50k (i8 and i4, ef 16-256) and on 300k synthetic rows
/// (i4) recall@10 was the same to four digits with 40 re-ranked, and ef 64-256 ran
/// 10-35% faster (EPYC Zen 4, 1 thread).
pub(crate) fn one(
    view: &View<'_>,
    g: &GraphView<'_>,
    q: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Vec<Hit> {
    let exact = rerank::exact_rows(view, params);
    let coded = exact
        .as_ref()
        .and_then(|_| view.rows.coded_query(view.metric, q));
    let query = coded.as_ref().map_or(Query::F32(q), Query::Coded);
    let mut found = search(view, g, query, set, params);
    match exact {
        Some(exact) => {
            found.sort_unstable();
            found.truncate(rerank::candidates(params));
            rerank::rerank(&exact, q, found.iter().map(|c| c.row as usize), params)
        }
        None => hits(view, found, params),
    }
}

/// [`one`] for many prepared queries (row-major), in parallel over queries.
pub(crate) fn many(
    view: &View<'_>,
    g: &GraphView<'_>,
    prepared: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<Vec<Hit>>> {
    let d = view.dims;
    if params.threads == Some(1) {
        return Ok(prepared
            .chunks_exact(d)
            .map(|q| one(view, g, q, set, params))
            .collect());
    }
    crate::pool::install(params.threads, || {
        prepared
            .par_chunks_exact(d)
            .map(|q| one(view, g, q, set, params))
            .collect()
    })
}
