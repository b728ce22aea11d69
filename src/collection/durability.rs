//! How durable a collection's acknowledged changes are ([`Durability`]), and the
//! background thread that fsyncs the write-ahead log in group mode.

use std::fs::File;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// When a change made by [`crate::Collection::add`] or [`crate::Collection::delete`]
/// (and their batch forms) reaches the disk. Part of [`crate::CollectionOptions`]; can be
/// changed on an open collection with [`crate::Collection::set_durability`].
///
/// Every mode keeps the commit guarantee: a crash during a commit leaves the old file or
/// the new one, complete. The modes differ in what happens to the changes made since the
/// last commit ("pending") when the process or the machine dies.
///
/// | mode | a change is written to `NAME.wal` | fsync of `NAME.wal` | lost if the process dies (kill -9, panic=abort) | lost if the machine dies (power, kernel) | cost per `add` (one row) |
/// |---|---|---|---|---|---|
/// | `CommitOnly` | never | — | every pending change | every pending change | none |
/// | `Group { interval }` | before the call returns | at most `interval` later, by a background thread | nothing | changes of the last `interval` (plus one fsync's duration) | one `write` |
/// | `Always` | before the call returns | before the call returns | nothing | nothing | one `write` + one `fdatasync` |
///
/// A change is visible to searches only once it is in the log (and, with `Always`, on
/// disk), so a search never returns a row that a crash can take back in `Always` mode.
/// With any mode, an existing `NAME.wal` is replayed when the collection opens (also by
/// the CLI's `add`, `delete` and `compact`, whose commit then folds it into the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Pending changes live in memory only until [`crate::Collection::commit`]; no log is
    /// written. Fastest, and the default (the behaviour of vecmatch 0.1).
    #[default]
    CommitOnly,
    /// Each change is written to the log before the call returns; a background thread
    /// fsyncs the log at most every `interval` (and a commit or dropping the collection
    /// fsyncs it at once). A process crash loses nothing acknowledged; a machine crash
    /// loses at most the changes of the last `interval`. `interval` must be at least
    /// 1 ms.
    Group {
        /// The longest time an acknowledged change stays unsynced.
        interval: Duration,
    },
    /// Each change is written and fsynced (`fdatasync`) before the call returns: nothing
    /// acknowledged is lost, at the cost of one fsync per call (use batches).
    Always,
}

impl Durability {
    /// Whether changes are written to the log.
    pub(crate) fn logs(self) -> bool {
        !matches!(self, Durability::CommitOnly)
    }

    /// [`Error::InvalidArgument`] for a zero group interval.
    pub(crate) fn validate(self) -> Result<()> {
        match self {
            Durability::Group { interval } if interval < Duration::from_millis(1) => {
                Err(Error::InvalidArgument(format!(
                    "the group fsync interval must be at least 1 ms, got {interval:?}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// What the group fsync thread shares with the writer.
struct Shared {
    state: Mutex<SyncState>,
    wake: Condvar,
}

struct SyncState {
    /// The log file being written (replaced when the log is rewritten).
    file: Option<Arc<File>>,
    /// Whether something was written since the last fsync.
    dirty: bool,
    stop: bool,
    /// The first failed background fsync, kept until the log is rewritten.
    error: Option<std::io::Error>,
}

/// The group-mode fsync thread: wakes every `interval`, fsyncs the log if it was written
/// to. Stopped (with a last fsync) when dropped.
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Syncer {
    /// Starts the thread for `file`.
    pub(crate) fn start(file: Option<Arc<File>>, interval: Duration) -> Result<Syncer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(SyncState {
                file,
                dirty: false,
                stop: false,
                error: None,
            }),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vecmatch-wal-sync".into())
            .spawn(move || run(&s, interval))
            .map_err(|e| Error::Io {
                path: None,
                source: e,
            })?;
        Ok(Syncer {
            shared,
            thread: Some(thread),
        })
    }

    /// Notes a write to be fsynced within the interval.
    pub(crate) fn written(&self) {
        self.shared.lock().dirty = true;
    }

    /// The error of a failed background fsync, if any (it stays until [`Syncer::set_file`]).
    pub(crate) fn failed(&self) -> Option<String> {
        self.shared.lock().error.as_ref().map(|e| e.to_string())
    }

    /// Switches to a new log file (nothing to sync in it yet), forgetting earlier errors.
    pub(crate) fn set_file(&self, file: Option<Arc<File>>) {
        let mut g = self.shared.lock();
        g.file = file;
        g.dirty = false;
        g.error = None;
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // The last fsync: what was written since the thread's last one.
        let g = self.shared.lock();
        if let (true, Some(f)) = (g.dirty, &g.file) {
            let _ = f.sync_data();
        }
    }
}

fn run(shared: &Shared, interval: Duration) {
    let mut g = shared.lock();
    let mut last = Instant::now();
    loop {
        let wait = interval.saturating_sub(last.elapsed());
        if !wait.is_zero() {
            g = shared
                .wake
                .wait_timeout(g, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if g.stop {
            return;
        }
        if last.elapsed() < interval {
            continue; // woken early
        }
        last = Instant::now();
        if !g.dirty {
            continue;
        }
        let Some(file) = g.file.clone() else {
            continue;
        };
        // Clear first: a write after this point sets it again and is fsynced next time.
        g.dirty = false;
        drop(g);
        let r = file.sync_data();
        g = shared.lock();
        if let Err(e) = r
            && g.file.as_ref().is_some_and(|f| Arc::ptr_eq(f, &file))
        {
            g.error.get_or_insert(e);
        }
    }
}
