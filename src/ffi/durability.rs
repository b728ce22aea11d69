//! `vecmatch_durability` and `vecmatch_collection_set_durability`: the write-ahead log of a
//! collection. A setter on the open handle rather than a field of
//! `vecmatch_collection_options`, whose layout is part of the ABI.

use std::ffi::c_int;
use std::time::Duration;

use super::args;
use super::boundary::{self, Failure};
use super::collection::vecmatch_collection;
use super::status::vecmatch_status;
use crate::Durability;

/// When a collection's acknowledged changes reach the disk (see
/// `vecmatch_collection_set_durability`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vecmatch_durability {
    /// Pending changes live in memory only until a commit (the default): a crash loses
    /// them. No log is written.
    VECMATCH_DURABILITY_COMMIT_ONLY = 0,
    /// Each change is written to `NAME.wal` before the call returns and fsynced at most
    /// `group_interval_ms` later by a background thread: a process crash loses nothing
    /// acknowledged, a machine crash at most the last interval's changes.
    VECMATCH_DURABILITY_GROUP = 1,
    /// Each change is written to `NAME.wal` and fsynced before the call returns: nothing
    /// acknowledged is lost.
    VECMATCH_DURABILITY_ALWAYS = 2,
}

/// A durability mode as C passes it: any `int`, checked. The header spells it
/// `vecmatch_durability`.
pub type DurabilityArg = c_int;

fn from_arg(raw: DurabilityArg, group_interval_ms: u32) -> Result<Durability, Failure> {
    match raw {
        0 => Ok(Durability::CommitOnly),
        1 if group_interval_ms == 0 => Err(Failure::invalid(
            "VECMATCH_DURABILITY_GROUP needs group_interval_ms >= 1",
        )),
        1 => Ok(Durability::Group {
            interval: Duration::from_millis(u64::from(group_interval_ms)),
        }),
        2 => Ok(Durability::Always),
        other => Err(Failure::invalid(format!(
            "unknown durability {other} (expected VECMATCH_DURABILITY_COMMIT_ONLY, _GROUP or \
             _ALWAYS)"
        ))),
    }
}

/// Sets when the collection's acknowledged adds and deletes reach the disk.
/// `group_interval_ms` is the longest time a change stays unsynced with
/// `VECMATCH_DURABILITY_GROUP` (at least 1) and is ignored otherwise.
///
/// Switching from commit-only to a logging mode writes the write-ahead log `NAME.wal`
/// anew with every pending change (O(pending rows)); to commit-only, the log is fsynced
/// and kept until the next commit, and later changes are not logged. Whatever the mode, a
/// collection opens by replaying an existing `NAME.wal` (`VECMATCH_ERR_WAL_CORRUPT` if it
/// is damaged before its end, `VECMATCH_ERR_WAL_MISMATCH` if it belongs to another version
/// of the file), and a commit empties it. On error the mode is unchanged.
///
/// # Safety
/// `collection` NULL or a live handle. Thread-safe (serialised with adds and deletes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vecmatch_collection_set_durability(
    collection: *mut vecmatch_collection,
    durability: DurabilityArg,
    group_interval_ms: u32,
) -> vecmatch_status {
    boundary::status(|| {
        // SAFETY: NULL or a live handle (the contract).
        let c = unsafe { args::handle(collection.cast_const(), "collection") }?;
        let d = from_arg(durability, group_interval_ms)?;
        c.inner.set_durability(d)?;
        Ok(())
    })
}
