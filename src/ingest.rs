//! Validation of rows on their way in, the same for a [`crate::GalleryBuilder`] and a
//! [`crate::Collection`]: the batch's length, every value (finite, within the metric's
//! range for the storage type), cosine normalisation, label sets per key and the row
//! limit. Key uniqueness differs (a builder refuses a key twice, a collection upserts)
//! and stays with each.

use crate::error::{Error, Result};
use crate::metric::{MetricSpec, check_input, normalize_in_place};
use crate::types::{ElementType, Metric};

/// How many rows a gallery or collection holds at most (row numbers are `u32`).
const MAX_ROWS: usize = u32::MAX as usize;

/// Where rows go: what their values are checked against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ingest {
    pub(crate) dims: usize,
    pub(crate) metric: Metric,
    /// The storage type (`f16` narrows the value range).
    pub(crate) element_type: ElementType,
}

impl Ingest {
    /// Checks that `vectors` holds `n_keys` rows of `dims` values.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] (the expected and found lengths).
    pub(crate) fn check_len(&self, n_keys: usize, vectors: &[f32]) -> Result<()> {
        let expected = n_keys.saturating_mul(self.dims);
        if vectors.len() != expected {
            return Err(Error::DimensionMismatch {
                expected,
                found: vectors.len(),
            });
        }
        Ok(())
    }

    /// Checks every row of `rows` (whole rows of `dims`) with [`check_input`] and, for
    /// cosine, normalises it in place. Errors name the row as `first_row + i`.
    ///
    /// # Errors
    /// [`Error::NonFinite`], [`Error::OutOfRange`], [`Error::ZeroVector`] for the first bad
    /// row; the rows before it may already be normalised.
    pub(crate) fn prepare(&self, rows: &mut [f32], first_row: usize) -> Result<()> {
        for (i, row) in rows.chunks_exact_mut(self.dims).enumerate() {
            let what = || format!("vector row {}", first_row + i);
            check_input(self.metric, self.element_type, row, what)?;
            if MetricSpec::of(self.metric).normalized {
                normalize_in_place(row, what)?;
            }
        }
        Ok(())
    }
}

/// Checks that a batch of `n_keys` rows comes with one label set per key.
///
/// # Errors
/// [`Error::InvalidArgument`] naming both counts.
pub(crate) fn check_label_sets(n_sets: usize, n_keys: usize) -> Result<()> {
    if n_sets != n_keys {
        return Err(Error::InvalidArgument(format!(
            "{n_sets} label sets for {n_keys} keys"
        )));
    }
    Ok(())
}

/// Checks that `held + adding` rows fit a `what` ("gallery", "collection").
///
/// # Errors
/// [`Error::InvalidArgument`] past 2^32-1 rows.
pub(crate) fn check_room(held: usize, adding: usize, what: &str) -> Result<()> {
    if held.saturating_add(adding) > MAX_ROWS {
        return Err(Error::InvalidArgument(format!(
            "a {what} holds at most 2^32-1 vectors"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COSINE: Ingest = Ingest {
        dims: 2,
        metric: Metric::Cosine,
        element_type: ElementType::F32,
    };

    #[test]
    fn lengths_label_sets_and_room_are_checked() {
        assert!(COSINE.check_len(2, &[0.0; 4]).is_ok());
        assert!(matches!(
            COSINE.check_len(2, &[0.0; 3]),
            Err(Error::DimensionMismatch {
                expected: 4,
                found: 3
            })
        ));
        assert!(check_label_sets(2, 2).is_ok());
        let e = check_label_sets(1, 2).unwrap_err().to_string();
        assert!(e.contains("1 label sets for 2 keys"), "{e}");
        assert!(check_room(MAX_ROWS - 1, 1, "gallery").is_ok());
        let e = check_room(MAX_ROWS, 1, "collection")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a collection holds at most 2^32-1 vectors"),
            "{e}"
        );
    }

    #[test]
    fn rows_are_checked_and_normalised_with_their_numbers() {
        let mut rows = [3.0, 4.0, 0.0, 2.0];
        COSINE.prepare(&mut rows, 0).unwrap();
        assert_eq!(rows, [0.6, 0.8, 0.0, 1.0]);
        let mut bad = [1.0, 0.0, f32::NAN, 1.0];
        let e = COSINE.prepare(&mut bad, 10).unwrap_err().to_string();
        assert!(e.contains("vector row 11"), "{e}");
        let mut zero = [0.0, 0.0];
        assert!(matches!(
            COSINE.prepare(&mut zero, 0),
            Err(Error::ZeroVector { .. })
        ));
        let l2 = Ingest {
            metric: Metric::L2,
            ..COSINE
        };
        let mut big = [1e30, 0.0];
        assert!(matches!(
            l2.prepare(&mut big, 0),
            Err(Error::OutOfRange { .. })
        ));
    }
}
