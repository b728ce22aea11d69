//! The exact-scan plan: the flat executor's candidates on the stored rows, re-ranked on
//! the `f32` rows when the search asks for it, as hits.

use rayon::prelude::*;

use crate::codec::Query;
use crate::error::Result;
use crate::filter::RowSet;
use crate::flat;
use crate::pool;
use crate::topk::RowHit;
use crate::types::{Hit, SearchParams};
use crate::view::View;

use super::rerank;

/// The executor's rows as hits: already the best `k` within the bound, best first, so
/// only the type changes (in place: both are 16 bytes).
fn hits(found: Vec<RowHit>) -> Vec<Hit> {
    found
        .into_iter()
        .map(|c| Hit {
            key: c.key,
            distance: c.distance,
        })
        .collect()
}

/// Exact top-k of the prepared query `q` over the rows of `set`.
pub(crate) fn one(
    view: &View<'_>,
    q: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<Hit>> {
    let Some(exact) = rerank::exact_rows(view, params) else {
        return Ok(hits(flat::scan(view, Query::F32(q), set, params)?));
    };
    if params.max_distance.is_some() {
        // A range search must not lose rows near the threshold to rounding: scan the
        // exact rows.
        return Ok(hits(flat::scan(&exact, Query::F32(q), set, params)?));
    }
    let wide = SearchParams {
        k: rerank::candidates(params),
        ..*params
    };
    // The candidates are re-ranked, so i8 rows are compared with a coded query (integer
    // dot products: the scan runs at memory speed instead of at decoding speed).
    let coded = view.rows.coded_query(view.metric, q);
    let compact = coded.as_ref().map_or(Query::F32(q), Query::Coded);
    let found = flat::scan(view, compact, set, &wide)?;
    Ok(rerank::rerank(
        &exact,
        q,
        found.iter().map(|c| c.row as usize),
        params,
    ))
}

/// Exact top-k of many prepared queries (row-major) over the rows of `set`.
pub(crate) fn many(
    view: &View<'_>,
    qs: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<Vec<Hit>>> {
    let all = |v: Vec<Vec<RowHit>>| v.into_iter().map(hits).collect();
    let Some(exact) = rerank::exact_rows(view, params) else {
        return Ok(all(flat::scan_batch(view, qs, set, params, false)?));
    };
    if params.max_distance.is_some() {
        return Ok(all(flat::scan_batch(&exact, qs, set, params, false)?));
    }
    let wide = SearchParams {
        k: rerank::candidates(params),
        ..*params
    };
    // The candidates are re-ranked: compare codes with codes, as `one` does (where the
    // integer tiles make that faster than the f32 tile).
    let found = flat::scan_batch(view, qs, set, &wide, true)?;
    let d = view.dims;
    let rerank = |(q, c): (&[f32], &Vec<RowHit>)| {
        rerank::rerank(&exact, q, c.iter().map(|c| c.row as usize), params)
    };
    pool::install(params.threads, || {
        qs.par_chunks(d).zip(found.par_iter()).map(rerank).collect()
    })
}
