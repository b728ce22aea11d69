//! Where a write goes: the path the user gave resolved through symbolic links, the
//! identity (device + inode) of the file found there, and sidecar names (temporary files,
//! the writer lock) kept within the file-name length limit.

use std::ffi::{OsStr, OsString};
use std::fs::{self, Metadata};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Longest file name (in bytes) of the common file systems (`NAME_MAX` on Linux, the
/// macOS and Windows limits are at least as large in bytes of ASCII).
const NAME_MAX: usize = 255;

/// Symbolic links followed before giving up (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// A file's identity: which file a path names (device + inode), with its length and
/// modification time, so that a file rewritten in place (`cp` over it keeps the inode)
/// counts as changed too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: Option<std::time::SystemTime>,
}

impl FileId {
    /// The identity of the file `meta` describes (`None` where the platform has no inode
    /// numbers: the checks that use it are then skipped).
    pub(crate) fn of(meta: &Metadata) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(FileId {
                dev: meta.dev(),
                ino: meta.ino(),
                len: meta.len(),
                mtime: meta.modified().ok(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }

    /// The identity of the file at `path` (following links), `None` if there is none.
    pub(crate) fn at(path: &Path) -> Option<FileId> {
        fs::metadata(path).ok().as_ref().and_then(FileId::of)
    }
}

/// `path` with the symbolic links of its last component followed, so that a write
/// replaces the link's target (in the target's directory) and the link stays a link.
/// Directories on the way are left as spelled: a rename through them lands in the same
/// directory. A path that names nothing (or a dangling link's missing target) is returned
/// as the place where the file would be created.
///
/// # Errors
/// [`Error::InvalidArgument`] for a path without a file name, a directory, or a loop of
/// links; [`Error::Io`] (naming `path`) if a link cannot be read.
pub(crate) fn resolve(path: &Path) -> Result<PathBuf> {
    let mut real = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        if real.file_name().is_none() {
            return Err(Error::InvalidArgument(format!(
                "`{}` is not a file path",
                path.display()
            )));
        }
        match fs::symlink_metadata(&real) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&real).map_err(|e| Error::io(path, e))?;
                real = match real.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            Ok(m) if m.is_dir() => {
                return Err(Error::io(
                    path,
                    std::io::Error::new(ErrorKind::IsADirectory, "is a directory"),
                ));
            }
            _ => return Ok(real),
        }
    }
    Err(Error::InvalidArgument(format!(
        "`{}`: too many levels of symbolic links",
        path.display()
    )))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The error for a file that cannot be created at `path` (the name the user gave,
/// `real` its resolved place): a missing directory is named as such.
pub(crate) fn create_error(user: &Path, real: &Path, e: std::io::Error) -> Error {
    let dir = parent_dir(real);
    if e.kind() == ErrorKind::NotFound && !dir.is_dir() {
        return Error::io(
            user,
            std::io::Error::new(
                ErrorKind::NotFound,
                format!(
                    "cannot create it: directory `{}` does not exist",
                    dir.display()
                ),
            ),
        );
    }
    Error::io(user, e)
}

/// A sidecar of `path` in the same directory: its file name followed by `suffix`. When
/// that would exceed [`NAME_MAX`] bytes (`reserve` more are kept free for a suffix that
/// grows, such as a counter), the name is cut and a hash of the whole name keeps it
/// distinct: `PREFIX~HHHHHHHHHHHHHHHH` + `suffix`. Deterministic, so every process finds
/// the same sidecar.
pub(crate) fn sidecar(path: &Path, suffix: &str, reserve: usize) -> PathBuf {
    let name = path.file_name().unwrap_or(OsStr::new(""));
    let mut out = short_name(name, suffix.len() + reserve);
    out.push(suffix);
    path.with_file_name(out)
}

/// `name`, shortened as [`sidecar`] says if `name` plus `extra` bytes exceed [`NAME_MAX`].
pub(crate) fn short_name(name: &OsStr, extra: usize) -> OsString {
    let bytes = name.as_encoded_bytes();
    if bytes.len() + extra <= NAME_MAX {
        return name.to_os_string();
    }
    // Two CRC32C with different seeds: 64 bits, enough that distinct long names in one
    // directory do not share a sidecar (a collision would only make them share a lock).
    let hash = (u64::from(crc32c::crc32c(bytes)) << 32)
        | u64::from(crc32c::crc32c_append(0x5eed_1e55, bytes));
    let tag = format!("~{hash:016x}");
    let keep = NAME_MAX.saturating_sub(extra + tag.len());
    // Cut at a UTF-8 boundary where the name is UTF-8 (the cut must stay valid for
    // `OsString`); elsewhere keep only ASCII bytes, which are valid anywhere.
    let prefix: String = match name.to_str() {
        Some(s) => {
            let mut end = keep.min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s[..end].to_owned()
        }
        None => bytes
            .iter()
            .take(keep)
            .map(|&b| if b.is_ascii() { b as char } else { '_' })
            .collect(),
    };
    let mut out = OsString::from(prefix);
    out.push(tag);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_fit_and_stay_distinct() {
        let a = "a".repeat(300);
        let b = format!("{}b", "a".repeat(299));
        let sa = sidecar(Path::new(&a), ".lock", 0);
        let sb = sidecar(Path::new(&b), ".lock", 0);
        assert!(sa.as_os_str().len() <= NAME_MAX, "{}", sa.display());
        assert_ne!(sa, sb);
        assert_eq!(sa, sidecar(Path::new(&a), ".lock", 0), "deterministic");
        assert_eq!(
            sidecar(Path::new("dir/x.vmg"), ".lock", 0),
            Path::new("dir/x.vmg.lock")
        );
        let long_utf8 = "é".repeat(200); // 400 bytes
        let s = sidecar(Path::new(&long_utf8), ".tmp-", 36);
        assert!(s.as_os_str().len() + 36 <= NAME_MAX);
    }
}
