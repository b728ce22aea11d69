//! Input validation and L2 normalisation.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::types::{ElementType, Metric};

use super::MetricSpec;

/// The largest magnitude a component may have under `metric` with `dims` components when
/// stored as `element_type` (queries: [`ElementType::F32`]), so that no distance overflows
/// `f32`.
///
/// - [`Metric::Cosine`]: no limit beyond finiteness (vectors are normalised in `f64`
///   first, so stored components are at most 1).
/// - [`Metric::L2`] and [`Metric::Dot`]: `2^62 / sqrt(dims)`. Then every term
///   `(a_i - b_i)^2 <= (2 * 2^62)^2 / dims`, so a squared distance or a dot product sums
///   to at most `2^126`, a quarter of `f32::MAX` (headroom for rounding): about
///   `2.4e17` at 384 dims, `4.6e18` at 1.
/// - stored as [`ElementType::F16`] (L2 and dot): also at most 65,504, the largest finite
///   `f16`.
pub fn value_limit(metric: Metric, element_type: ElementType, dims: usize) -> f32 {
    if MetricSpec::of(metric).normalized {
        return f32::MAX;
    }
    let limit = (2f64.powi(62) / (dims.max(1) as f64).sqrt()) as f32;
    match element_type {
        ElementType::F16 => limit.min(half::f16::MAX.to_f32()),
        _ => limit,
    }
}

/// Whether `|x| <= limit` (`false` for NaN).
#[inline]
pub fn within(x: f32, limit: f32) -> bool {
    x.abs() <= limit
}

/// Checks an input vector (before normalisation): every value finite and, for L2 and dot,
/// within [`value_limit`] (`element_type`: the storage it goes to; queries use
/// [`ElementType::F32`]).
///
/// # Errors
/// [`Error::NonFinite`] or [`Error::OutOfRange`] naming `what` and the first bad index.
pub fn check_input(
    metric: Metric,
    element_type: ElementType,
    v: &[f32],
    what: impl FnOnce() -> String,
) -> Result<()> {
    let limit = value_limit(metric, element_type, v.len());
    match v.iter().position(|x| !within(*x, limit)) {
        None => Ok(()),
        Some(index) if v[index].is_finite() => Err(Error::OutOfRange {
            what: what(),
            index,
            value: v[index],
            limit,
        }),
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
/// [`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::OutOfRange`] (L2, dot:
/// see [`value_limit`]), [`Error::ZeroVector`] (cosine).
pub fn prepare_query(metric: Metric, dims: usize, query: &[f32]) -> Result<Cow<'_, [f32]>> {
    if query.len() != dims {
        return Err(Error::DimensionMismatch {
            expected: dims,
            found: query.len(),
        });
    }
    check_input(metric, ElementType::F32, query, || "query".into())?;
    if MetricSpec::of(metric).normalized {
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
        assert!(matches!(
            prepare_query(Metric::L2, 2, &[1.0, 1e20]),
            Err(Error::OutOfRange { index: 1, .. })
        ));
        assert!(prepare_query(Metric::Cosine, 2, &[1.0, 1e38]).is_ok());
        let q = prepare_query(Metric::Cosine, 2, &[3.0, 4.0]).unwrap();
        assert!((q[0] - 0.6).abs() < 1e-7 && (q[1] - 0.8).abs() < 1e-7);
    }

    #[test]
    fn the_limit_keeps_distances_finite() {
        for dims in [1, 2, 3, 384, 4096, 65_536] {
            for metric in [Metric::L2, Metric::Dot] {
                let b = value_limit(metric, ElementType::F32, dims);
                let a = vec![b; dims];
                let c = vec![-b; dims];
                assert!(check_input(metric, ElementType::F32, &a, String::new).is_ok());
                for (x, y) in [(&a, &c), (&a, &a)] {
                    let d = crate::metric::distance_with(
                        crate::metric::Backend::scalar(),
                        metric,
                        x,
                        y,
                    );
                    assert!(d.is_finite(), "{metric:?} {dims}: {d}");
                    let d = crate::metric::distance(metric, x, y);
                    assert!(d.is_finite(), "{metric:?} {dims}: {d}");
                }
                let mut over = a.clone();
                over[dims - 1] = b * 1.001;
                assert!(matches!(
                    check_input(metric, ElementType::F32, &over, String::new),
                    Err(Error::OutOfRange { .. })
                ));
            }
        }
        assert_eq!(value_limit(Metric::L2, ElementType::F16, 4), 65504.0);
        assert_eq!(value_limit(Metric::Cosine, ElementType::F16, 4), f32::MAX);
    }
}
