//! Query preparation, once per search call: validated and normalised (for cosine) before
//! the planner resolves, chooses and runs anything.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::metric::prepare_query;
use crate::view::View;

/// Validates and prepares (normalises for cosine) every query of a batch.
pub(crate) fn batch<'q>(view: &View<'_>, queries: &'q [f32]) -> Result<Cow<'q, [f32]>> {
    let d = view.dims;
    if !queries.len().is_multiple_of(d) {
        return Err(Error::DimensionMismatch {
            expected: d,
            found: queries.len() % d,
        });
    }
    let mut owned: Option<Vec<f32>> = None;
    for (i, q) in queries.chunks_exact(d).enumerate() {
        let p = prepare_query(view.metric, d, q).map_err(|e| match e {
            Error::NonFinite { index, .. } => Error::NonFinite {
                what: format!("query {i}"),
                index,
            },
            Error::ZeroVector { .. } => Error::ZeroVector {
                what: format!("query {i}"),
            },
            other => other,
        })?;
        if let Cow::Owned(v) = p {
            owned
                .get_or_insert_with(|| Vec::with_capacity(queries.len()))
                .extend_from_slice(&v);
        }
    }
    Ok(owned.map_or(Cow::Borrowed(queries), Cow::Owned))
}
