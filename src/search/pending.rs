//! Rows searched beside a gallery file's (a collection's pending rows): the planner scans
//! them exactly with the query it prepared and the filter it compiled, and merges them
//! into the top-k of the gallery's rows.

use crate::error::Result;
use crate::topk::TopK;
use crate::types::{Hit, SearchParams};

use super::filter::Compiled;

/// Rows outside the gallery file that a search also covers, scanned exactly.
pub(crate) trait Pending: Sync {
    /// Offers every live row that `c` admits to `top`, with its distance to the prepared
    /// (validated, normalised for cosine) query `q`.
    ///
    /// # Errors
    /// As the exact scan ([`crate::Error::ThreadPool`] if it cannot split its work).
    fn scan(
        &self,
        q: &[f32],
        c: &Compiled<'_>,
        params: &SearchParams<'_>,
        top: &mut TopK,
    ) -> Result<()>;
}

/// The best `params.k` of `hits` (the gallery's) and the `pending` rows, best first.
pub(crate) fn merged(
    hits: Vec<Hit>,
    pending: &dyn Pending,
    q: &[f32],
    c: &Compiled<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<Hit>> {
    let mut top = TopK::new(params.k, params.max_distance);
    pending.scan(q, c, params, &mut top)?;
    for h in hits {
        top.push(h);
    }
    Ok(top.into_sorted())
}
