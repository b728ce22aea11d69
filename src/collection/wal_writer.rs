//! Writing a collection's write-ahead log `NAME.wal`: appending records with the fsync
//! policy of the [`Durability`] mode, announcing commits, and replacing the whole log
//! atomically (temporary file, fsync, rename, directory fsync) when a commit empties it.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::gallery::remove_stale_temps;

use super::durability::{Durability, Syncer};
use super::snapshot::Snapshot;
use super::wal;

/// Rows per UPSERT record when a log is rewritten from a snapshot.
const DUMP_ROWS: usize = 1024;

/// The log of one collection, owned by its writer state (under the writer mutex).
pub(crate) struct WalWriter {
    /// `NAME.wal`.
    path: PathBuf,
    /// The gallery file (its mode is the log's).
    gallery: PathBuf,
    dims: usize,
    mode: Durability,
    /// The open log (append mode), or `None` when there is no log file.
    file: Option<Arc<File>>,
    /// End of the last valid record: where the next one goes.
    len: u64,
    /// Whether bytes past `len` may be in the file (a torn tail found at open, or a
    /// failed append): cut before the next append.
    dirty_tail: bool,
    /// The group-mode fsync thread.
    syncer: Option<Syncer>,
}

/// `NAME.wal` for the gallery `NAME`.
pub(crate) fn wal_path(gallery: &Path) -> PathBuf {
    let mut name = gallery
        .file_name()
        .map(|s| s.to_os_string())
        .unwrap_or_default();
    name.push(".wal");
    gallery.with_file_name(name)
}

impl WalWriter {
    /// A writer with no log file yet.
    pub(crate) fn new(gallery: &Path, dims: usize, mode: Durability) -> WalWriter {
        WalWriter {
            path: wal_path(gallery),
            gallery: gallery.to_path_buf(),
            dims,
            mode,
            file: None,
            len: 0,
            dirty_tail: false,
            syncer: None,
        }
    }

    /// The log's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The durability mode.
    pub(crate) fn mode(&self) -> Durability {
        self.mode
    }

    /// Whether a log file is open.
    pub(crate) fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// Continues the existing log at `path` after recovery: appends go after `valid_len`
    /// (a torn tail past it is cut before the first append).
    pub(crate) fn resume(&mut self, valid_len: u64, file_len: u64) -> Result<()> {
        let file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        self.install(Arc::new(file), valid_len)?;
        self.dirty_tail = file_len > valid_len;
        Ok(())
    }

    fn install(&mut self, file: Arc<File>, len: u64) -> Result<()> {
        self.file = Some(Arc::clone(&file));
        self.len = len;
        self.dirty_tail = false;
        self.restart_syncer()
    }

    /// Starts, restarts or stops the group fsync thread to match the mode and the file.
    fn restart_syncer(&mut self) -> Result<()> {
        match (self.mode, &self.file) {
            (Durability::Group { interval }, Some(f)) => match &self.syncer {
                Some(s) => s.set_file(Some(Arc::clone(f))),
                None => self.syncer = Some(Syncer::start(Some(Arc::clone(f)), interval)?),
            },
            _ => self.syncer = None,
        }
        Ok(())
    }

    /// Switches the mode. To a logging mode from `CommitOnly`, the log is rewritten from
    /// `snap` (changes made meanwhile were not logged); between logging modes the log is
    /// fsynced now; to `CommitOnly` it is fsynced and kept (it still replays to a state
    /// the collection went through), and later changes are not logged.
    pub(crate) fn set_mode(&mut self, mode: Durability, base: u64, snap: &Snapshot) -> Result<()> {
        let was = self.mode;
        if mode == was {
            return Ok(());
        }
        if let Some(f) = &self.file {
            f.sync_data().map_err(|e| Error::io(&self.path, e))?;
        }
        // The old group thread's last interval is covered by the fsync above.
        self.syncer = None;
        self.mode = mode;
        if mode.logs() && !was.logs() {
            let r = self.rewrite(base, Some(snap));
            if r.is_err() {
                self.mode = was;
                self.restart_syncer()?;
            }
            return r;
        }
        self.restart_syncer()
    }

    /// Cuts bytes past the last valid record (a torn tail or a failed append).
    fn clean_tail(&mut self) -> Result<()> {
        if self.dirty_tail
            && let Some(f) = &self.file
        {
            f.set_len(self.len).map_err(|e| Error::io(&self.path, e))?;
            self.dirty_tail = false;
        }
        Ok(())
    }

    /// Appends one framed record; fsyncs it if `sync`. On error the record is cut off
    /// again (so a failed call leaves nothing that a replay would apply).
    fn append(&mut self, record: &[u8], sync: bool) -> Result<()> {
        let Some(file) = self.file.clone() else {
            return Ok(());
        };
        if let Some(e) = self.syncer.as_ref().and_then(Syncer::failed) {
            return Err(Error::io(
                &self.path,
                std::io::Error::other(format!(
                    "an earlier background fsync of the log failed ({e}); commit to \
                     write a new log"
                )),
            ));
        }
        self.clean_tail()?;
        let written = (&*file)
            .write_all(record)
            .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            self.dirty_tail = true;
            let _ = self.clean_tail();
            return Err(Error::io(&self.path, e));
        }
        self.len += record.len() as u64;
        if let Some(s) = &self.syncer {
            s.written();
        }
        Ok(())
    }

    /// In a logging mode, the log must be open (it is from open on; this guards the
    /// invariant rather than acknowledging an unlogged change).
    fn require_file(&self) -> Result<()> {
        match self.file {
            Some(_) => Ok(()),
            None => Err(Error::io(
                &self.path,
                std::io::Error::other("the write-ahead log is not open"),
            )),
        }
    }

    /// Logs an upsert of `keys` with their prepared rows (logging modes only).
    pub(crate) fn upsert(&mut self, keys: &[u64], rows: &[f32]) -> Result<()> {
        if !self.mode.logs() {
            return Ok(());
        }
        self.require_file()?;
        self.append(
            &wal::encode_upsert(keys, rows),
            self.mode == Durability::Always,
        )
    }

    /// Logs a delete of `keys` (logging modes only).
    pub(crate) fn delete(&mut self, keys: &[u64]) -> Result<()> {
        if !self.mode.logs() || keys.is_empty() {
            return Ok(());
        }
        self.require_file()?;
        self.append(&wal::encode_delete(keys), self.mode == Durability::Always)
    }

    /// Announces a commit that will publish a gallery of identity `next` (any mode, if a
    /// log file exists), fsynced before the gallery is written: after a crash between the
    /// publication and [`WalWriter::rewrite`], recovery knows which records the new file
    /// holds.
    pub(crate) fn announce_commit(&mut self, next: u64) -> Result<()> {
        self.append(&wal::encode_commit(next), true)
    }

    /// Replaces the log atomically by one for the gallery `base` holding the pending
    /// changes of `snap` (deleted committed keys, then live added rows: deleted vectors
    /// are not written), or removes it (`snap` `None`, or `CommitOnly` with nothing
    /// pending). A temporary file `NAME.wal.tmp-PID-N` is written, fsynced, given the
    /// gallery's mode, renamed over `NAME.wal`; the directory is fsynced.
    pub(crate) fn rewrite(&mut self, base: u64, snap: Option<&Snapshot>) -> Result<()> {
        let pending = snap.filter(|s| s.delta.len() > 0 || s.frozen_dead_count > 0);
        let snap = match (self.mode.logs(), snap, pending) {
            (true, Some(s), _) | (false, _, Some(s)) => s,
            _ => return self.remove(),
        };
        remove_stale_temps(&self.path);
        let tmp = temp_path(&self.path);
        let written = (|| -> Result<File> {
            let file = OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| Error::io(&tmp, e))?;
            set_mode_of(&file, &self.gallery, &tmp)?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let io = |e| Error::io(&tmp, e);
            w.write_all(&wal::encode_header(self.dims, base))
                .map_err(io)?;
            dump(snap, self.dims, &mut w).map_err(io)?;
            let file = w.into_inner().map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
            fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
            Ok(file)
        })();
        let file = match written {
            Ok(f) => f,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        sync_dir(&self.path)?;
        let len = file.metadata().map_err(|e| Error::io(&self.path, e))?.len();
        self.install(Arc::new(file), len)
    }

    /// Removes the log file (and fsyncs the directory).
    fn remove(&mut self) -> Result<()> {
        self.file = None;
        self.len = 0;
        self.dirty_tail = false;
        self.syncer = None;
        match fs::remove_file(&self.path) {
            Ok(()) => sync_dir(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }
}

/// Writes the pending changes of `snap` as records: one DELETE of the committed keys
/// deleted or replaced, then UPSERTs of the live added rows.
fn dump(snap: &Snapshot, dims: usize, w: &mut impl Write) -> std::io::Result<()> {
    if snap.frozen_dead_count > 0 {
        let view = snap.frozen.view().map_err(std::io::Error::other)?;
        let dead: Vec<u64> = view
            .keys
            .iter()
            .enumerate()
            .filter(|(row, _)| snap.frozen_dead.has(*row))
            .map(|(_, &k)| k)
            .collect();
        w.write_all(&wal::encode_delete(&dead))?;
    }
    let (mut keys, mut rows) = (Vec::new(), Vec::new());
    for r in snap.delta.rows(dims) {
        if snap.delta_dead.has(r.id) {
            continue;
        }
        keys.push(r.key);
        rows.extend_from_slice(r.vector);
        if keys.len() == DUMP_ROWS {
            w.write_all(&wal::encode_upsert(&keys, &rows))?;
            keys.clear();
            rows.clear();
        }
    }
    if !keys.is_empty() {
        w.write_all(&wal::encode_upsert(&keys, &rows))?;
    }
    Ok(())
}

/// `NAME.wal.tmp-PID-N` next to the log.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path
        .file_name()
        .map(|s| s.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

/// Gives `file` the permission bits of the gallery, plus owner read and write (the log
/// is appended to): a private gallery has a private log.
fn set_mode_of(file: &File, gallery: &Path, tmp: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(gallery)
            .map_err(|e| Error::io(gallery, e))?
            .permissions()
            .mode();
        file.set_permissions(fs::Permissions::from_mode((mode & 0o777) | 0o600))
            .map_err(|e| Error::io(tmp, e))?;
    }
    #[cfg(not(unix))]
    let _ = (file, gallery, tmp);
    Ok(())
}

/// fsyncs the directory holding `path`, so a rename or removal is durable.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
