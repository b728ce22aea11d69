//! The integrity checks of a gallery file, one concern each: section checksums, the key
//! index, the stored values. [`super::Gallery::verify`] runs them all (plus the graph
//! checks); a collection's commit runs them on the file it copies from.

use crate::error::{Error, Result};
use crate::metric::{value_limit, within};
use crate::types::ElementType;

use super::Gallery;
use crate::codec::Rows;
use crate::view::format;

impl Gallery {
    /// Checks the CRC32C of every section whose name `wanted` accepts, in file order (one
    /// sequential pass over those bytes).
    ///
    /// # Errors
    /// [`Error::ChecksumMismatch`] naming the first damaged section; [`Error::Corrupt`]
    /// for a section out of bounds.
    pub(crate) fn check_checksums(&self, wanted: impl Fn(&str) -> bool) -> Result<()> {
        let bytes = self.storage.bytes();
        for s in self.layout.sections.iter().filter(|s| wanted(s.name)) {
            let start = usize::try_from(s.offset).map_err(|_| Error::corrupt("offset"))?;
            let end = s
                .offset
                .checked_add(s.length)
                .and_then(|e| usize::try_from(e).ok())
                .ok_or_else(|| Error::corrupt("offset"))?;
            let region = bytes
                .get(start..end)
                .ok_or_else(|| Error::corrupt("section out of bounds"))?;
            let computed = format::crc(region);
            if computed != s.crc32c {
                return Err(Error::ChecksumMismatch {
                    region: s.name.into(),
                    stored: s.crc32c,
                    computed,
                });
            }
        }
        Ok(())
    }

    /// Checks that `KEY_INDEX` is strictly sorted by key and that each entry names the row
    /// holding its key in `KEYS` (so keys are unique). Cost: O(n).
    ///
    /// # Errors
    /// [`Error::Corrupt`] naming the first bad entry.
    pub(crate) fn check_key_index(&self) -> Result<()> {
        let v = self.view()?;
        if v.key_index.len() != v.keys.len() {
            return Err(Error::corrupt(format!(
                "KEY_INDEX holds {} entries for {} keys",
                v.key_index.len(),
                v.keys.len()
            )));
        }
        for (i, e) in v.key_index.iter().enumerate() {
            if i > 0 && v.key_index[i - 1].key >= e.key {
                return Err(Error::corrupt(format!(
                    "KEY_INDEX not strictly sorted at entry {i} (key {} repeated or out of order)",
                    e.key
                )));
            }
            let ok = usize::try_from(e.row).ok().and_then(|r| v.keys.get(r)) == Some(&e.key);
            if !ok {
                return Err(Error::corrupt(format!(
                    "KEY_INDEX entry {i} disagrees with KEYS"
                )));
            }
        }
        Ok(())
    }

    /// Checks that every stored value (and every stored `f32` row of a compact gallery) is
    /// finite, and that `f32` values are within `metric::value_limit` (L2 and dot), so no
    /// distance overflows. Cost: one pass over the rows.
    ///
    /// # Errors
    /// [`Error::NonFinite`] or [`Error::OutOfRange`] naming the first bad row.
    pub(crate) fn check_values(&self) -> Result<()> {
        let v = self.view()?;
        let exact = v.exact.map(Rows::F32);
        for (what, rows) in [("stored vector", Some(v.rows)), ("stored f32 row", exact)] {
            if let Some((row, index)) = rows.and_then(|r| r.first_non_finite(v.dims)) {
                return Err(Error::NonFinite {
                    what: format!("{what} row {row}"),
                    index,
                });
            }
            if let Some(Rows::F32(x)) = rows {
                let limit = value_limit(v.metric, ElementType::F32, v.dims);
                if let Some(i) = x.iter().position(|x| !within(*x, limit)) {
                    return Err(Error::OutOfRange {
                        what: format!("{what} row {}", i / v.dims.max(1)),
                        index: i % v.dims.max(1),
                        value: x[i],
                        limit,
                    });
                }
            }
        }
        Ok(())
    }
}
