//! What a commit checks before it writes: the old file's bytes it copies and the merged
//! rows, so that a commit never launders damage (a flipped byte, a duplicate key, an
//! unsorted key index) into a new file with fresh, valid checksums.
//!
//! Cost: one sequential CRC32C pass over the sections copied (hardware CRC32C runs at
//! several GB/s, against a commit that already reads every row, sorts the keys, encodes
//! and writes the file and fsyncs it), a walk of the key index and one pass over the
//! merged keys (sorted copy) and values.

use std::path::Path;

use crate::error::{Error, Result};
use crate::metric::{value_limit, within};

use super::snapshot::Snapshot;

/// Checks the committed file of `snap` and the merged rows (`keys`, `vectors` as they
/// will be written) of a commit to `path`: the checksum of every section but `GRAPH`
/// (a commit copies the graph only after checking it, and otherwise rebuilds it from
/// the rows, so a damaged graph does not stop `compact` from replacing it), the key
/// index, unique merged keys and finite values within the metric's range.
///
/// # Errors
/// [`Error::Corrupt`] naming the damage and the file; nothing was written.
pub(crate) fn check_commit(
    snap: &Snapshot,
    path: &Path,
    keys: &[u64],
    vectors: &[f32],
) -> Result<()> {
    let refuse = |what: String| {
        Error::corrupt(format!(
            "commit refused, {} is damaged: {what}; the file was left unchanged \
             (run `vecmatch verify` on it, then rebuild it or restore a copy)",
            path.display()
        ))
    };
    let old = &snap.frozen;
    old.check_checksums(|name| name != "GRAPH")
        .and_then(|()| old.check_key_index())
        .map_err(|e| refuse(e.to_string()))?;
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(refuse(format!("key {} would be stored twice", w[0])));
    }
    let d = snap.dims();
    let limit = value_limit(old.metric(), old.element_type(), d);
    if let Some(i) = vectors.iter().position(|x| !within(*x, limit)) {
        return Err(refuse(format!(
            "row {} (key {}) holds the value {} at index {}, which is not finite or \
             beyond {limit:e}",
            i / d,
            keys.get(i / d).copied().unwrap_or_default(),
            vectors[i],
            i % d
        )));
    }
    Ok(())
}
