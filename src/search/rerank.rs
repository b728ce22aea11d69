//! Re-ranking, owned by the planner: whether a search re-ranks (a compact gallery —
//! [`crate::ElementType::F16`], [`crate::ElementType::I8`], [`crate::ElementType::I4`] —
//! with a `RESCORE` section, and `rescore > 0`), how many candidates the executor finds
//! on the stored codes, and their exact distances on the `f32` rows.

use crate::codec::Rows;
use crate::types::{Hit, SearchParams};
use crate::view::View;

/// The view of the exact `f32` rows when this search re-ranks with them (a compact
/// gallery with a `RESCORE` section and `params.rerank_factor > 0`).
pub(crate) fn exact_rows<'a>(view: &View<'a>, params: &SearchParams<'_>) -> Option<View<'a>> {
    let exact = view.exact.filter(|_| params.rerank_factor > 0)?;
    Some(View {
        rows: Rows::F32(exact),
        exact: None,
        ..*view
    })
}

/// How many rows ahead of the distance being computed [`rerank`] prefetches (into L2, as
/// the graph beam does its f32 rows).
const PREFETCH_AHEAD: usize = 6;

/// How many candidates the compact stage returns for a final `k`.
pub(crate) fn candidates(params: &SearchParams<'_>) -> usize {
    params.k.saturating_mul(params.rerank_factor.max(1))
}

/// Re-ranks `rows` (candidate rows of `exact`'s gallery) by their exact distance to the
/// prepared query `q`: the best `params.k` within `params.max_distance`, best first.
pub(crate) fn rerank(
    exact: &View<'_>,
    q: &[f32],
    rows: impl IntoIterator<Item = usize>,
    params: &SearchParams<'_>,
) -> Vec<Hit> {
    let max = params.max_distance.unwrap_or(f32::INFINITY);
    let rows: Vec<usize> = rows.into_iter().collect();
    // The candidates' f32 rows are scattered over a file larger than the caches: load
    // each one PREFETCH_AHEAD rows before its distance.
    for &row in rows.iter().take(PREFETCH_AHEAD) {
        exact.prefetch(row);
    }
    let mut hits: Vec<Hit> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, &row)| {
            if let Some(&next) = rows.get(i + PREFETCH_AHEAD) {
                exact.prefetch(next);
            }
            // NaN (a damaged file only) ranks last, as in `TopK`.
            let distance = Some(exact.distance(q, row))
                .filter(|d| !d.is_nan())
                .unwrap_or(f32::INFINITY);
            (distance <= max).then(|| Hit {
                key: exact.keys[row],
                distance,
            })
        })
        .collect();
    hits.sort_unstable_by(Hit::cmp_rank);
    hits.truncate(params.k);
    hits
}
