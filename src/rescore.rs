//! Exact re-ranking of candidates found on compact rows ([`crate::ElementType::F16`],
//! [`crate::ElementType::I8`]) against the `f32` rows of the `RESCORE` section.

use crate::gallery::View;
use crate::types::{Hit, SearchParams};

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
    let mut hits: Vec<Hit> = rows
        .into_iter()
        .filter_map(|row| {
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

/// [`rerank`] of hits that carry keys (the exact path's top-k), mapped back to rows.
pub(crate) fn rerank_hits(
    exact: &View<'_>,
    q: &[f32],
    hits: &[Hit],
    params: &SearchParams<'_>,
) -> Vec<Hit> {
    rerank(
        exact,
        q,
        hits.iter().filter_map(|h| exact.row_of(h.key)),
        params,
    )
}
