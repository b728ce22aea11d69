//! The mutable collection: a frozen gallery file, an in-memory delta of added rows and a
//! set of deleted rows, merged into a new file by [`Collection::commit`].

mod commit;
mod delta;
mod durability;
mod integrity;
mod snapshot;
mod wal;
mod wal_writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;

pub use commit::CommitReport;
pub use durability::Durability;

use crate::error::{Error, Result};
use crate::gallery::lock::WriterLock;
use crate::gallery::target::FileId;
use crate::gallery::{Gallery, GalleryBuilder, OpenOptions, remove_stale_temps};
use crate::hnsw::HnswParams;
use crate::ingest::{self, Ingest};
use crate::search::Filter;
use crate::types::{Hit, Metric, SearchParams};

use snapshot::{Place, Snapshot};
use wal_writer::WalWriter;

/// Options of [`Collection::open_with`] and [`Collection::create`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectionOptions {
    /// Commit automatically once this many rows were added (or replaced) since the last
    /// commit. Every search scans the added rows exactly, so this bounds that cost
    /// (10,000 rows of 384 dims are 15 MB per query). `None`: never. Default 10,000.
    pub auto_commit_rows: Option<usize>,
    /// Commit automatically once this fraction of the file's rows is deleted or replaced.
    /// The graph search walks through deleted rows without returning them, and past 35%
    /// deleted rows searches fall back to an exact scan. `None`: never. Default 0.25.
    pub auto_commit_deleted_fraction: Option<f64>,
    /// Graph of the files written by commits: `Some(params)` always builds an HNSW graph
    /// with these parameters; `None` builds one exactly when the current file has one,
    /// with the parameters recorded in its META. Default `None`.
    pub hnsw: Option<HnswParams>,
    /// Verify every checksum and structure of the file at open (one pass over the file).
    /// Default `false`.
    pub verify: bool,
    /// How long open and create wait for another writer to release the file's writer
    /// lock: `None` fails with [`Error::Locked`] after a 200 ms grace (a lock just
    /// released can look held while a child process of the releasing process starts);
    /// `Some(t)` retries for up to `t` (at least the grace) first. Default `None` (a second
    /// writer is usually a mistake worth reporting, and a caller that expects contention
    /// can choose its own wait).
    pub lock_timeout: Option<Duration>,
    /// When acknowledged changes reach the disk: only at commits (default), or through
    /// the write-ahead log `NAME.wal` (see [`Durability`]).
    pub durability: Durability,
}

impl Default for CollectionOptions {
    fn default() -> Self {
        CollectionOptions {
            auto_commit_rows: Some(10_000),
            auto_commit_deleted_fraction: Some(0.25),
            hnsw: None,
            verify: false,
            lock_timeout: None,
            durability: Durability::CommitOnly,
        }
    }
}

impl CollectionOptions {
    /// Options that never commit automatically.
    pub fn manual() -> Self {
        CollectionOptions {
            auto_commit_rows: None,
            auto_commit_deleted_fraction: None,
            ..CollectionOptions::default()
        }
    }
}

/// Counts describing a collection's current state, from [`Collection::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionStats {
    /// Live vectors (what [`Collection::len`] returns).
    pub live: usize,
    /// Rows in the committed file.
    pub committed_rows: usize,
    /// Rows of the committed file deleted or replaced since (still in the file).
    pub deleted_committed: usize,
    /// Rows added since the last commit, live or not (searched by an exact scan).
    pub pending_rows: usize,
    /// Of those, rows deleted or replaced again.
    pub deleted_pending: usize,
}

/// The writer's state: the newest snapshot and the live delta rows by key.
struct State {
    snap: Snapshot,
    /// Key → id of its live delta row.
    live: HashMap<u64, usize>,
    /// While a commit writes the file: every change made since it took its snapshot, to
    /// be replayed onto the committed file's state.
    log: Option<Vec<Change>>,
    /// The write-ahead log.
    wal: WalWriter,
    /// The identity of the committed file (named by the write-ahead log's header).
    generation: u64,
}

/// One change, as recorded for a running commit.
enum Change {
    /// `key` upserted with the vector of delta row `id` (of the snapshot being changed).
    Upsert(u64, usize),
    /// `key` deleted.
    Delete(u64),
}

/// A mutable set of vectors with unique `u64` keys, backed by one gallery file.
///
/// The committed rows stay in the memory-mapped file; [`Collection::add`] (an upsert: a
/// new key inserts, an existing key replaces) and [`Collection::delete`] change an
/// in-memory state that every search sees as soon as the call returns: added rows are
/// searched exactly next to the file's rows (with its HNSW graph, if any), and deleted or
/// replaced rows are never returned (the graph search walks through them). A
/// [`Collection::commit`] writes a new file holding exactly the live rows — deleted
/// vectors are physically gone — with its graph extended by the added rows (when rows
/// were only added) or rebuilt, publishes it atomically
/// (temporary file, fsync, rename, directory fsync) and switches new searches to it.
///
/// **Durability** ([`CollectionOptions::durability`]): by default pending changes live in
/// memory only — if the process ends before a commit, they are lost and the file holds
/// the last committed state; dropping a collection discards them too. With
/// [`Durability::Group`] or [`Durability::Always`] every change is written to the
/// write-ahead log `NAME.wal` before the call returns (and fsynced before it returns, or
/// within the group interval), replayed by the next open, and emptied by each commit. In
/// every mode a crash during a commit leaves the old file or the new one, complete.
///
/// # Concurrency
/// `Collection` is `Send + Sync` and every method takes `&self`.
///
/// | operation | may run concurrently with |
/// |---|---|
/// | `search`, `search_batch`, `get`, `contains`, `len`, `stats`, `gallery` | everything, any number of threads; lock-free (one atomic load of the current snapshot per call) |
/// | `add`, `add_batch`, `delete`, `delete_batch` | reads and a running commit; with each other they are serialised by an internal mutex (held for the change only) |
/// | `commit`, `compact` (also run by an auto-commit) | everything; a second commit waits for the first. While the file is written, other threads' adds and deletes go on and are carried over as pending changes |
///
/// Each read works on one snapshot: it sees every change whose call returned before it
/// started, and of a change running meanwhile either all or nothing (an `add_batch` or
/// `delete_batch` is applied as one change). A search running while a commit swaps the
/// file finishes on the old mapping, which stays valid.
///
/// # One writer per file
/// A collection holds the file's writer lock from open (or create) until it is dropped:
/// an exclusive advisory lock on a sidecar file `NAME.lock` next to the gallery (links
/// followed), so a second `Collection` on the same file, in this process or another,
/// gets [`Error::Locked`] (or waits up to [`CollectionOptions::lock_timeout`]), and so do
/// `vecmatch add`/`delete`/`compact`/`build` and the C API, which go through the same
/// code. The lock is released when the process ends, however it ends; the empty lock
/// file stays (deleting it while a writer waits would let two writers in). Readers
/// ([`Gallery::open`], searches, `vecmatch info`/`verify`/`search`) never take it.
///
/// Before each commit replaces the file, it checks that the file is still the one this
/// collection opened or last committed (device and inode, length and modification
/// time): if a writer that ignores the
/// lock (an older vecmatch, a `cp`) replaced it, the commit fails with
/// [`Error::Changed`] and writes nothing; the changes stay pending.
///
/// Commits follow a symbolic link (the target is replaced, the link stays a link) and
/// keep the file's mode, owner and group; a write-protected file (no write permission
/// bit) is refused at open with [`Error::Permission`].
///
/// ```
/// use vecmatch::{Collection, CollectionOptions, Metric, SearchParams};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("items.vmg");
/// let c = Collection::create(&path, 3, Metric::Cosine, CollectionOptions::default())?;
/// c.add(1, &[1.0, 0.0, 0.0])?;
/// c.add(2, &[0.0, 1.0, 0.0])?;
/// assert_eq!(c.search(&[0.9, 0.1, 0.0], &SearchParams::k(1))?[0].key, 1);
/// c.delete(1)?;
/// assert_eq!(c.search(&[0.9, 0.1, 0.0], &SearchParams::k(1))?[0].key, 2);
/// c.commit()?; // the file now holds key 2 only
/// assert_eq!(vecmatch::Gallery::open(&path)?.keys(), &[2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Collection {
    path: PathBuf,
    options: CollectionOptions,
    current: ArcSwap<Snapshot>,
    writer: Mutex<State>,
    /// Held for the whole of a commit: one commit at a time. Holds the identity of the
    /// file last opened or published, which must still be at the path when the next
    /// commit replaces it.
    committer: Mutex<Option<FileId>>,
    /// The writer lock, held until the collection is dropped.
    lock: WriterLock,
}

impl Collection {
    /// Opens the gallery file at `path` as a collection, with default options.
    ///
    /// # Errors
    /// As [`Gallery::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Collection> {
        Self::open_with(path, CollectionOptions::default())
    }

    /// Opens the gallery file at `path` as a collection. O(1) like [`Gallery::open`]
    /// (unless `options.verify`), plus the replay of the write-ahead log `NAME.wal` if one
    /// exists (whatever `options.durability`): its changes become pending changes,
    /// searchable at once (O(size of the log)). Temporary files that a killed commit left
    /// next to the file are removed (those whose process is gone).
    ///
    /// With a logging [`Durability`] and no log yet, an empty `NAME.wal` is created (with
    /// the gallery's permission bits). A log left by a commit that was interrupted after
    /// publishing the new file is rewritten without the records that file holds.
    ///
    /// # Errors
    /// As [`Gallery::open`]; [`Error::InvalidArgument`] for options out of range;
    /// [`Error::Locked`] if another writer holds the file; [`Error::Permission`] if it is
    /// write-protected;
    /// [`Error::WalCorrupt`] if the log is damaged before its end (a damaged or incomplete
    /// last record is a torn write and is ignored); [`Error::WalMismatch`] if it holds
    /// changes for another version of the file; [`Error::Io`] if it cannot be read or
    /// written.
    pub fn open_with(path: impl AsRef<Path>, options: CollectionOptions) -> Result<Collection> {
        if let Some(f) = options.auto_commit_deleted_fraction
            && !(f > 0.0 && f <= 1.0)
        {
            return Err(Error::InvalidArgument(format!(
                "auto_commit_deleted_fraction must be in (0, 1], got {f}"
            )));
        }
        if let Some(p) = &options.hnsw {
            p.validate()?;
        }
        options.durability.validate()?;
        let path = path.as_ref();
        let lock = Self::lock(path, &options)?;
        Self::open_locked(path, lock, options)
    }

    /// Takes the writer lock of `path`: the first step of every open, before anything is
    /// read.
    fn lock(path: &Path, options: &CollectionOptions) -> Result<WriterLock> {
        WriterLock::acquire(path, options.lock_timeout)
    }

    /// Opens `path` for a writer holding its lock.
    fn open_locked(
        path: &Path,
        lock: WriterLock,
        options: CollectionOptions,
    ) -> Result<Collection> {
        let real = lock.real_path();
        if let Ok(m) = std::fs::metadata(real)
            && m.is_file()
            && m.permissions().readonly()
        {
            return Err(Error::Permission {
                path: path.to_path_buf(),
                reason: "it is write-protected; vecmatch never makes a protected gallery \
                         writable (make it writable, e.g. `chmod u+w`, to change it)"
                    .into(),
            });
        }
        remove_stale_temps(real);
        // The identity is taken before the mapping: if the file is swapped in between, the
        // first commit fails with `Changed` rather than overwriting the newcomer.
        let file_id = FileId::at(real);
        let gallery = Gallery::open_with(
            path,
            OpenOptions {
                verify_checksums: options.verify,
            },
        )?;
        let generation = wal::identity(&gallery);
        let dims = gallery.dims();
        let mut st = State {
            snap: Snapshot::of(Arc::new(gallery)),
            live: HashMap::new(),
            log: None,
            wal: WalWriter::new(real, dims, options.durability),
            generation,
        };
        st.recover()?;
        Ok(Collection {
            path: path.to_path_buf(),
            options,
            current: ArcSwap::from_pointee(st.snap.clone()),
            writer: Mutex::new(st),
            committer: Mutex::new(file_id),
            lock,
        })
    }

    /// Creates an empty gallery file at `path` (with an empty HNSW graph if
    /// `options.hnsw` is set) and opens it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `path` exists or `dims` is out of range;
    /// [`Error::Io`] if the file cannot be written; [`Error::Locked`] if another writer
    /// holds the path's lock.
    pub fn create(
        path: impl AsRef<Path>,
        dims: usize,
        metric: Metric,
        options: CollectionOptions,
    ) -> Result<Collection> {
        let path = path.as_ref();
        options.durability.validate()?;
        let mut b = GalleryBuilder::new(dims, metric)?;
        if let Some(p) = options.hnsw {
            p.validate()?;
            b.hnsw(p)?;
        }
        let exists = || {
            let real = crate::gallery::target::resolve(path)?;
            match std::fs::symlink_metadata(real) {
                Ok(_) => Err(Error::InvalidArgument(format!(
                    "{} already exists",
                    path.display()
                ))),
                Err(_) => Ok(()),
            }
        };
        // Checked before the lock (an existing file is the likelier mistake than a
        // running writer) and again under it (another creator may have won meanwhile).
        exists()?;
        let lock = Self::lock(path, &options)?;
        exists()?;
        b.write_locked(path, lock.real_path(), None)?;
        Self::open_locked(path, lock, options)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while writing cannot leave a half-published snapshot (snapshots are
        // swapped whole), so a poisoned lock is still usable.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The file this collection commits to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Components per vector.
    pub fn dims(&self) -> usize {
        self.current.load().dims()
    }

    /// The distance metric.
    pub fn metric(&self) -> Metric {
        self.current.load().frozen.metric()
    }

    /// Number of live vectors (committed and pending, minus deleted). O(1).
    pub fn len(&self) -> usize {
        self.current.load().len()
    }

    /// Whether no vector is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts of committed, pending and deleted rows. O(1).
    pub fn stats(&self) -> CollectionStats {
        let s = self.current.load();
        CollectionStats {
            live: s.len(),
            committed_rows: s.frozen.len(),
            deleted_committed: s.frozen_dead_count,
            pending_rows: s.delta.len(),
            deleted_pending: s.delta_dead_count,
        }
    }

    /// The committed gallery currently searched (without the pending changes). It stays
    /// valid after later commits.
    pub fn gallery(&self) -> Arc<Gallery> {
        Arc::clone(&self.current.load().frozen)
    }

    /// Whether `key` is live. O(log n) plus a scan of at most 1,024 recently added keys.
    pub fn contains(&self, key: u64) -> bool {
        self.current.load().place(key) != Place::Absent
    }

    /// The stored vector of `key` (normalised if the metric is cosine), copied.
    pub fn get(&self, key: u64) -> Option<Vec<f32>> {
        self.current.load().get(key)
    }

    /// The labels of a live `key`, sorted and unique (empty if it carries none), copied.
    pub fn labels(&self, key: u64) -> Option<Vec<u32>> {
        self.current.load().labels(key)
    }

    /// The `params.k` nearest live vectors to `query`, best first, as
    /// [`Gallery::search`] over the committed rows (minus deleted and replaced ones)
    /// merged with an exact scan of the rows added since the last commit.
    ///
    /// # Errors
    /// As [`Gallery::search`].
    pub fn search(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Hit>> {
        self.snapshot().search(query, None, params)
    }

    /// [`Collection::search`] over the live rows `filter` admits (AND `params.filter`),
    /// committed and pending alike, as [`Gallery::search_filtered`].
    ///
    /// # Errors
    /// As [`Gallery::search`].
    pub fn search_filtered(
        &self,
        query: &[f32],
        filter: &Filter<'_>,
        params: &SearchParams<'_>,
    ) -> Result<Vec<Hit>> {
        self.snapshot().search(query, Some(filter), params)
    }

    /// [`Collection::search_batch`] with one filter for all queries or one per query, as
    /// [`Gallery::search_batch_filtered`].
    ///
    /// # Errors
    /// As [`Gallery::search_batch_filtered`].
    pub fn search_batch_filtered(
        &self,
        queries: &[f32],
        filters: &[Filter<'_>],
        params: &SearchParams<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        if filters.is_empty() {
            return Err(Error::InvalidArgument(
                "no filter given (give 1 for all queries, or one per query)".into(),
            ));
        }
        self.snapshot().search_batch(queries, filters, params)
    }

    /// Many queries at once (row-major), as [`Gallery::search_batch`]; every query sees
    /// the same snapshot.
    ///
    /// # Errors
    /// As [`Gallery::search_batch`].
    pub fn search_batch(
        &self,
        queries: &[f32],
        params: &SearchParams<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        self.snapshot().search_batch(queries, &[], params)
    }

    /// Validates (and for cosine normalises) `keys.len()` rows into one buffer.
    fn prepare(&self, keys: &[u64], vectors: &[f32]) -> Result<Vec<f32>> {
        let ingest = Ingest {
            dims: self.dims(),
            metric: self.metric(),
            element_type: self.current.load().frozen.element_type(),
        };
        ingest.check_len(keys.len(), vectors)?;
        let mut rows = vectors.to_vec();
        ingest.prepare(&mut rows, 0)?;
        Ok(rows)
    }

    /// Inserts `vector` under `key`, or replaces the vector of an existing key (upsert).
    /// Visible to searches when this returns. Returns whether a live key was replaced.
    /// Cost: O(dims) (plus, when it replaces a committed row, a copy of the deleted-row
    /// bitset, n/8 bytes); may run an automatic commit.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::OutOfRange`] (L2, dot:
    /// see [`crate::metric::value_limit`]; `f16` files), [`Error::ZeroVector`] (cosine)
    /// for a bad vector (nothing changes). If an automatic commit fails, its error is
    /// returned, but the change itself was made (and is pending).
    pub fn add(&self, key: u64, vector: &[f32]) -> Result<bool> {
        self.add_batch(&[key], vector).map(|n| n == 1)
    }

    /// Upserts `keys.len()` rows (row-major `vectors`) as one change: a search sees all of
    /// them or none. A key given twice keeps its last vector. Returns how many rows
    /// replaced a live key (a key given twice counts once more).
    ///
    /// # Errors
    /// As [`Collection::add`]; all or nothing: if any row is invalid, nothing changes and
    /// the error names the first bad row.
    pub fn add_batch(&self, keys: &[u64], vectors: &[f32]) -> Result<usize> {
        self.add_batch_labeled::<&[u32]>(keys, vectors, &[])
    }

    /// [`Collection::add`] of a row carrying `labels` (any order; duplicates dropped). The
    /// labels replace those of the key's old row, are searchable with a
    /// [`crate::Filter`] at once, and are written to the file's `LABELS` section by the
    /// next commit.
    ///
    /// # Errors
    /// As [`Collection::add`].
    pub fn add_labeled(&self, key: u64, vector: &[f32], labels: &[u32]) -> Result<bool> {
        self.add_batch_labeled(&[key], vector, &[labels])
            .map(|n| n == 1)
    }

    /// [`Collection::add_batch`] with one label set per row (`labels` empty: no labels
    /// on any row).
    ///
    /// # Errors
    /// As [`Collection::add_batch`]; [`Error::InvalidArgument`] unless `labels` is empty
    /// or holds `keys.len()` sets, and for a non-empty label set while the durability mode
    /// logs (the write-ahead log does not record labels yet).
    pub fn add_batch_labeled<L: AsRef<[u32]>>(
        &self,
        keys: &[u64],
        vectors: &[f32],
        labels: &[L],
    ) -> Result<usize> {
        if !labels.is_empty() {
            ingest::check_label_sets(labels.len(), keys.len())?;
        }
        let sets: Vec<Vec<u32>> = labels
            .iter()
            .map(|l| {
                let mut l = l.as_ref().to_vec();
                l.sort_unstable();
                l.dedup();
                l
            })
            .collect();
        let rows = self.prepare(keys, vectors)?;
        let d = self.dims();
        let mut st = self.state();
        ingest::check_room(st.snap.len(), keys.len(), "collection")?;
        if st.wal.mode().logs() && sets.iter().any(|l| !l.is_empty()) {
            return Err(labels_not_logged());
        }
        st.wal.upsert(keys, &rows)?;
        let mut replaced = 0;
        for (i, (&key, v)) in keys.iter().zip(rows.chunks_exact(d)).enumerate() {
            let l = sets.get(i).map_or(&[][..], |l| l.as_slice());
            replaced += usize::from(st.upsert(key, v, l, d));
        }
        self.publish(st)?;
        Ok(replaced)
    }

    /// Deletes `key`: it is never returned by a search that starts after this returns.
    /// Returns whether the key was live. Cost: O(1), plus a copy of the deleted-row
    /// bitset (n/8 bytes); may run an automatic commit.
    ///
    /// # Errors
    /// Only from an automatic commit (the delete itself was made).
    pub fn delete(&self, key: u64) -> Result<bool> {
        self.delete_batch(&[key]).map(|n| n == 1)
    }

    /// Deletes many keys as one change. Returns how many were live (unknown keys are
    /// ignored).
    ///
    /// # Errors
    /// As [`Collection::delete`].
    pub fn delete_batch(&self, keys: &[u64]) -> Result<usize> {
        let mut st = self.state();
        if st.wal.mode().logs() {
            let live: Vec<u64> = keys
                .iter()
                .copied()
                .filter(|&k| st.snap.place(k) != Place::Absent)
                .collect();
            st.wal.delete(&live)?;
        }
        let mut deleted = 0;
        for &key in keys {
            if st.kill(key) {
                deleted += 1;
                if let Some(log) = &mut st.log {
                    log.push(Change::Delete(key));
                }
            }
        }
        if deleted > 0 {
            self.publish(st)?;
        }
        Ok(deleted)
    }

    /// Makes `st.snap` current, releases the writer lock, then commits if a threshold is
    /// reached (and no commit is running already).
    fn publish(&self, st: MutexGuard<'_, State>) -> Result<()> {
        self.current.store(Arc::new(st.snap.clone()));
        let o = &self.options;
        let rows = o
            .auto_commit_rows
            .is_some_and(|n| st.snap.delta.len() >= n.max(1));
        let n = st.snap.frozen.len();
        let deleted = o.auto_commit_deleted_fraction.is_some_and(|f| {
            st.snap.frozen_dead_count > 0 && st.snap.frozen_dead_count as f64 >= f * n as f64
        });
        let running = st.log.is_some();
        drop(st);
        if (rows || deleted) && !running {
            self.commit_inner(false)?;
        }
        Ok(())
    }

    /// The current durability mode.
    pub fn durability(&self) -> Durability {
        self.state().wal.mode()
    }

    /// Changes the durability mode of this open collection. From `CommitOnly` to a logging
    /// mode, the write-ahead log is written anew with every pending change (so that it
    /// replays to the current state); between logging modes the log is fsynced now; to
    /// `CommitOnly`, the log is fsynced and kept until the next commit (it replays to the
    /// state at this call), and later changes are not logged. Cost: O(pending rows) when a
    /// log is written.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero group interval, or for a logging mode while
    /// pending rows carry labels (the log does not record labels yet); [`Error::Io`] if the log
    /// cannot be written (the mode is then unchanged or `CommitOnly`-like until the next
    /// successful call).
    pub fn set_durability(&self, durability: Durability) -> Result<()> {
        durability.validate()?;
        let mut st = self.state();
        let (generation, snap) = (st.generation, st.snap.clone());
        let d = snap.dims();
        if durability.logs()
            && (0..snap.delta.len()).any(|id| {
                snap.delta
                    .row_and_labels(id, d)
                    .is_some_and(|(_, l)| !l.is_empty())
            })
        {
            return Err(labels_not_logged());
        }
        st.wal.set_mode(durability, generation, &snap)
    }

    /// Writes a new gallery file holding exactly the live rows (deleted and replaced
    /// vectors are not copied), with an HNSW graph if the file had one (or `options.hnsw`
    /// asks for one), publishes it atomically (temporary file, fsync,
    /// rename, directory fsync) and switches searches to it; searches already running
    /// finish on the old file's mapping. Does nothing if nothing is pending.
    ///
    /// The file holds the state at the moment the commit started. Adds and deletes from
    /// other threads go on while it writes (they stay pending and are carried over onto
    /// the new file's state); another commit waits for this one.
    ///
    /// The graph: when rows were only added since the last commit (no row of the file
    /// deleted or replaced) and the graph has the requested M, the new rows are inserted
    /// into a copy of the file's graph with the native builder's algorithm
    /// ([`CommitReport::graph_extended`]);
    /// otherwise it is rebuilt from scratch, like a fresh build of the live rows.
    /// Extending costs the graph copy plus the new rows' insertions, a fraction of a
    /// rebuild for small deltas, at the same recall (`examples/collection_figures.rs` measures both).
    ///
    /// Cost otherwise: a copy of every live row into memory, the graph, and writing the
    /// file; searches are not slowed down beyond sharing the cores.
    ///
    /// Before writing, the commit checks what it copies (see ARCHITECTURE.md, "Commits
    /// never launder damage"): the checksums of the file's sections, its key index, and
    /// that the merged keys are unique and the values finite and in range. Cost: one
    /// sequential read of the file more, about a fifth of a flat commit in the page cache.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the file is damaged (nothing is written; the message names
    /// the damage). [`Error::Io`] if the file cannot be written or reopened. On error the changes stay
    /// pending and searches go on as before (if only the reopening failed, the file
    /// already holds the merged rows: the same contents).
    ///
    /// With a write-ahead log, a commit first appends (and fsyncs) a record announcing
    /// the new file, and after publishing it replaces the log atomically by one holding
    /// only the changes made meanwhile (so deleted vectors leave the log too); in
    /// `CommitOnly` mode an existing log is removed. If only that last step fails, its
    /// error is returned with the new file and state in place, and the old log still
    /// replays correctly onto the new file (ARCHITECTURE.md, "Write-ahead log").
    pub fn commit(&self) -> Result<CommitReport> {
        self.commit_inner(false)
    }

    /// [`Collection::commit`], even with nothing pending: rewrites the file (always rebuilding
    /// its graph), e.g. to reclaim space or to repair a graph after `verify` complained.
    ///
    /// # Errors
    /// As [`Collection::commit`].
    pub fn compact(&self) -> Result<CommitReport> {
        self.commit_inner(true)
    }

    fn commit_inner(&self, force: bool) -> Result<CommitReport> {
        let mut published = self
            .committer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (snap, next_id) = {
            let mut st = self.state();
            let snap = st.snap.clone();
            let pending = snap.delta.len() > 0 || snap.frozen_dead_count > 0;
            if !pending && !force {
                return Ok(CommitReport {
                    rows: snap.frozen.len(),
                    ..CommitReport::default()
                });
            }
            // Announced (and fsynced) before the file is written: see `wal::recover`.
            let next = wal::new_commit_id(st.generation);
            st.wal.announce_commit(next)?;
            st.log = Some(Vec::new());
            (snap, next)
        };
        let written = self.write_file(&snap, force, &mut published, next_id);
        let mut st = self.state();
        let log = st.log.take().unwrap_or_default();
        let (report, frozen) = written?;
        // The new file holds `snap`; replay what changed since onto it.
        let wal = std::mem::replace(
            &mut st.wal,
            WalWriter::new(self.lock.real_path(), snap.dims(), Durability::CommitOnly),
        );
        let mut next = State {
            snap: Snapshot::of(frozen),
            live: HashMap::new(),
            log: None,
            wal,
            generation: next_id,
        };
        let d = snap.dims();
        for change in log {
            match change {
                Change::Upsert(key, id) => {
                    if let Some((v, l)) = st.snap.delta.row_and_labels(id, d) {
                        next.upsert(key, v, l, d);
                    }
                }
                Change::Delete(key) => {
                    next.kill(key);
                }
            }
        }
        *st = next;
        self.current.store(Arc::new(st.snap.clone()));
        // Empty the log: what it held is in the file. Changes made while the file was
        // written stay (rewritten from the state: deleted vectors are not copied).
        let snap = st.snap.clone();
        if st.wal.mode().logs() {
            st.wal.rewrite(next_id, Some(&snap))?;
        } else if st.wal.has_file() {
            st.wal.rewrite(next_id, None)?;
        }
        Ok(report)
    }

    /// Writes the merged file of `snap` over the file of identity `*published` and maps
    /// it; `*published` becomes the new file's identity.
    fn write_file(
        &self,
        snap: &Snapshot,
        rebuild: bool,
        published: &mut Option<FileId>,
        commit_id: u64,
    ) -> Result<(CommitReport, Arc<Gallery>)> {
        let info = snap.frozen.info();
        let (recorded, user) = commit::recorded_meta(info.meta.as_deref());
        let graph = self.options.hnsw.or(if snap.frozen.has_graph() {
            Some(recorded.unwrap_or_default())
        } else {
            None
        });
        let real = self.lock.real_path();
        remove_stale_temps(real);
        let target = commit::Target {
            user: &self.path,
            real,
            expect: *published,
        };
        let (report, id) = commit::write_merged(snap, &target, graph, user, rebuild, commit_id)?;
        *published = id;
        let frozen = Arc::new(Gallery::open(&self.path)?);
        Ok((report, frozen))
    }
}

impl State {
    /// Replays the write-ahead log, if there is one, and prepares it for appends.
    fn recover(&mut self) -> Result<()> {
        let path = self.wal.path().to_path_buf();
        remove_stale_temps(&path);
        if std::fs::symlink_metadata(&path).is_err() {
            if self.wal.mode().logs() {
                let snap = self.snap.clone();
                self.wal.rewrite(self.generation, Some(&snap))?;
            }
            return Ok(());
        }
        let (generation, d) = (self.generation, self.snap.dims());
        let r = wal::recover(&path, d, generation, |record| self.apply(record))?;
        if r.start == wal::Start::Base {
            self.wal.resume(r.valid_len, r.file_len)
        } else {
            // A commit published the file and was interrupted before emptying the log
            // (or the log is an empty one of another file): finish its work.
            let snap = self.snap.clone();
            self.wal.rewrite(generation, Some(&snap))
        }
    }

    /// Applies one replayed record.
    fn apply(&mut self, record: wal::Record) -> Result<()> {
        let d = self.snap.dims();
        match record {
            wal::Record::Upsert { keys, vectors } => {
                if self.snap.len().saturating_add(keys.len()) > u32::MAX as usize {
                    return Err(Error::InvalidArgument(
                        "the write-ahead log holds more than 2^32-1 vectors".into(),
                    ));
                }
                for (&key, v) in keys.iter().zip(vectors.chunks_exact(d)) {
                    self.upsert(key, v, &[], d);
                }
            }
            wal::Record::Delete(keys) => {
                for key in keys {
                    self.kill(key);
                }
            }
            wal::Record::Commit(_) => {}
        }
        Ok(())
    }

    /// Upserts `key` with the prepared vector `v` and its sorted, unique labels. Returns
    /// whether a live key was replaced.
    fn upsert(&mut self, key: u64, v: &[f32], labels: &[u32], d: usize) -> bool {
        let replaced = self.kill(key);
        let id = self.snap.delta.len();
        self.snap.delta = self.snap.delta.push(key, v, labels, d);
        self.live.insert(key, id);
        if let Some(log) = &mut self.log {
            log.push(Change::Upsert(key, id));
        }
        replaced
    }

    /// Marks the live row of `key` (delta or committed) deleted. Returns whether there
    /// was one.
    fn kill(&mut self, key: u64) -> bool {
        if let Some(id) = self.live.remove(&key) {
            if Arc::make_mut(&mut self.snap.delta_dead).set(id) {
                self.snap.delta_dead_count += 1;
            }
            return true;
        }
        let row = self.snap.frozen.view().ok().and_then(|v| v.row_of(key));
        match row {
            Some(row) if !self.snap.frozen_dead.has(row) => {
                Arc::make_mut(&mut self.snap.frozen_dead).set(row);
                self.snap.frozen_dead_count += 1;
                true
            }
            _ => false,
        }
    }
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish()
    }
}

/// The error for labelled rows under a logging durability mode: the write-ahead log does
/// not record labels yet, so accepting them would lose the labels of a replayed row.
fn labels_not_logged() -> Error {
    Error::InvalidArgument(
        "the write-ahead log does not record labels yet: add labelled rows with \
         Durability::CommitOnly (and commit them), or add them without labels"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn collection_is_send_and_sync() {
        assert_send_sync::<Collection>();
    }

    /// A crash after a commit published the new file but before it emptied the log: the
    /// log (base: the old file) announces the new file's identity, so recovery replays
    /// only the records after the announcement, then rewrites the log without the rest
    /// (the deleted vector leaves it).
    #[test]
    fn a_commit_interrupted_before_emptying_the_log_is_finished_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        let o = CollectionOptions {
            durability: Durability::Always,
            ..CollectionOptions::manual()
        };
        let c = Collection::create(&path, 2, Metric::L2, o).unwrap();
        let secret = [123.25f32, -7.5];
        c.add(1, &[1.0, 0.0]).unwrap();
        c.add(2, &secret).unwrap();
        c.delete(2).unwrap();
        let before = std::fs::read(wal_writer::wal_path(&path)).unwrap();
        c.commit().unwrap();
        let id = wal::identity(&c.gallery());
        drop(c);
        // The log as the crash left it: the old records, the announcement, and a change
        // made while the file was written.
        let mut log = before;
        log.extend(wal::encode_commit(id));
        log.extend(wal::encode_upsert(&[3], &[0.0, 3.0]));
        let wal = wal_writer::wal_path(&path);
        std::fs::write(&wal, &log).unwrap();
        let c = Collection::open(&path).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c.contains(1) && c.contains(3) && !c.contains(2));
        assert_eq!(c.stats().pending_rows, 1, "key 1 is not replayed again");
        let bytes = std::fs::read(&wal).unwrap();
        let needle: Vec<u8> = secret.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert!(
            !bytes.windows(8).any(|w| w == needle),
            "the deleted row left the log"
        );
        assert_eq!(
            bytes[16..24],
            id.to_le_bytes(),
            "the log's base is the new file"
        );
        drop(c);
        // And again: the rewritten log replays the same state.
        let c = Collection::open(&path).unwrap();
        assert!(c.contains(1) && c.contains(3) && !c.contains(2));
    }
}
