//! The writer lock: one writer per gallery file, across processes.
//!
//! Every writer (a [`crate::Collection`], and [`crate::GalleryBuilder::write`] /
//! [`crate::Gallery::write_to`] over an existing file) holds an exclusive advisory lock
//! (`flock` on Unix, `LockFileEx` on Windows, through `fs4`) on a sidecar file
//! `NAME.lock` next to the gallery, from open to publish. Readers never take it.
//!
//! Why a sidecar and not the gallery itself: a lock belongs to an open file (an inode),
//! and every commit replaces the gallery by a rename, so a lock on the gallery would stay
//! on the old, unlinked inode while the next writer locked the new one. The sidecar is
//! never replaced.
//!
//! Why the sidecar is never deleted: a process waiting for the lock holds the file open;
//! if the holder deleted the name on release, a third process would create and lock a new
//! file under the same name while the waiter locked the old one, and both would write.
//! An empty `NAME.lock` stays behind; deleting it by hand while no writer runs is
//! harmless. The lock is released by the operating system when the process ends, however
//! it ends, so a crash never leaves a gallery locked.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;

use crate::error::{Error, Result};

use super::target;

/// Pause between attempts while waiting for the lock (doubling up to this bound).
const MAX_POLL: Duration = Duration::from_millis(50);

/// How long a writer retries even without a timeout. A lock belongs to an open file,
/// and a child process started by any thread of the holder's process (`fork`, or
/// `posix_spawn`) shares it until its `exec` closes the file (close-on-exec): a writer
/// that has just dropped its lock can still see it held for that moment. Measured in
/// `tests/wal.rs` on a loaded 2-core machine as an occasional spurious `Locked`.
const GRACE: Duration = Duration::from_millis(200);

/// An exclusive writer lock on one gallery path, held until dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    /// The locked file; closing it releases the lock.
    _file: File,
    /// The gallery path with its symbolic links followed (where writes go).
    real: PathBuf,
}

impl WriterLock {
    /// Takes the writer lock of the gallery at `path` (the name the user gave; links are
    /// followed, so every spelling of one file shares one lock). `timeout`: `None` fails
    /// if another writer still holds it after a short grace (200 ms, see [`GRACE`]);
    /// `Some(t)` retries for up to `t` (at least the grace).
    ///
    /// # Errors
    /// [`Error::Locked`] if another writer holds the lock (after `timeout`);
    /// [`Error::Io`] (naming `path`) if the lock file cannot be created, e.g. a missing
    /// directory.
    pub(crate) fn acquire(path: &Path, timeout: Option<Duration>) -> Result<WriterLock> {
        let real = target::resolve(path)?;
        let lock_path = lock_path(&real);
        let file = open_lock_file(&lock_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => target::create_error(path, &real, e),
            _ => Error::io(&lock_path, e),
        })?;
        let deadline = Instant::now() + timeout.unwrap_or_default().max(GRACE);
        let mut pause = Duration::from_millis(1);
        loop {
            if FileExt::try_lock_exclusive(&file).map_err(|e| Error::io(&lock_path, e))? {
                return Ok(WriterLock { _file: file, real });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Locked {
                    path: path.to_path_buf(),
                    lock_file: lock_path,
                });
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// The gallery path with its links followed: where the writer publishes.
    pub(crate) fn real_path(&self) -> &Path {
        &self.real
    }
}

/// Opens (or creates) the lock file. An existing one is opened read-only: a lock needs
/// no write access, so a lock file created by another user (mode 0644) still works.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    match OpenOptions::new().read(true).open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path),
        other => other,
    }
}

/// The lock file of the gallery at `real` (links already followed): `NAME.lock`,
/// shortened to fit the file-name limit.
pub(crate) fn lock_path(real: &Path) -> PathBuf {
    target::sidecar(real, ".lock", 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_then_succeeds_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.vmg");
        let a = WriterLock::acquire(&p, None).unwrap();
        match WriterLock::acquire(&p, Some(Duration::from_millis(30))) {
            Err(Error::Locked { path, lock_file }) => {
                assert_eq!(path, p);
                assert_eq!(lock_file, dir.path().join("g.vmg.lock"));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(a);
        let _b = WriterLock::acquire(&p, None).unwrap();
        assert!(dir.path().join("g.vmg.lock").exists());
    }

    #[test]
    fn missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/g.vmg");
        let e = WriterLock::acquire(&p, None).unwrap_err().to_string();
        assert!(e.contains("does not exist") && e.contains("g.vmg"), "{e}");
        assert!(!e.contains(".lock"), "{e}");
    }
}
