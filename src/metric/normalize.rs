//! Input validation and L2 normalisation.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::types::Metric;

/// Checks that every value is finite.
///
/// # Errors
/// [`Error::NonFinite`] naming `what` and the first bad index.
pub fn check_finite(v: &[f32], what: impl FnOnce() -> String) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            what: what(),
            index,
        }),
    }
}

/// Scales `v` to unit L2 norm (norm computed in `f64`).
///
/// # Errors
/// [`Error::ZeroVector`] if the norm is zero (or underflows), [`Error::NonFinite`] if it
/// overflows.
pub fn normalize_in_place(v: &mut [f32], what: impl Fn() -> String) -> Result<()> {
    let norm = v
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if !norm.is_finite() {
        return Err(Error::NonFinite {
            what: what(),
            index: 0,
        });
    }
    if norm == 0.0 || norm < f64::from(f32::MIN_POSITIVE) {
        return Err(Error::ZeroVector { what: what() });
    }
    let inv = 1.0 / norm;
    for x in v.iter_mut() {
        *x = (f64::from(*x) * inv) as f32;
    }
    Ok(())
}

/// Validates a query against a gallery's dimensions and returns it ready for the kernels
/// (normalised for [`Metric::Cosine`]; borrowed unchanged otherwise).
///
/// # Errors
/// [`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::ZeroVector`] (cosine).
pub fn prepare_query(metric: Metric, dims: usize, query: &[f32]) -> Result<Cow<'_, [f32]>> {
    if query.len() != dims {
        return Err(Error::DimensionMismatch {
            expected: dims,
            found: query.len(),
        });
    }
    check_finite(query, || "query".into())?;
    if metric == Metric::Cosine {
        let mut q = query.to_vec();
        normalize_in_place(&mut q, || "query".into())?;
        Ok(Cow::Owned(q))
    } else {
        Ok(Cow::Borrowed(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_queries() {
        assert!(matches!(
            prepare_query(Metric::L2, 3, &[1.0, 2.0]),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            prepare_query(Metric::L2, 2, &[1.0, f32::NAN]),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            prepare_query(Metric::Cosine, 2, &[0.0, 0.0]),
            Err(Error::ZeroVector { .. })
        ));
        let q = prepare_query(Metric::Cosine, 2, &[3.0, 4.0]).unwrap();
        assert!((q[0] - 0.6).abs() < 1e-7 && (q[1] - 0.8).abs() < 1e-7);
    }
}
