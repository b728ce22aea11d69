//! `vecmatch add`, `vecmatch delete` and `vecmatch compact`: change a gallery through a
//! [`Collection`] and commit once, atomically (the file holds the old rows or the new
//! ones, whatever happens to the process).

use std::path::{Path, PathBuf};
use std::time::Duration;

use vecmatch::{Collection, CollectionOptions, CommitReport, Error};

use crate::CliError;
use crate::input::{read_keys, read_unique_keys, read_vectors};
use crate::progress;

#[derive(clap::Args)]
pub struct AddArgs {
    /// Gallery file to change (replaced atomically).
    gallery: PathBuf,
    /// Vectors: .fvecs, .npy (float32, 2-D) or raw little-endian float32 (with --dims).
    #[arg(long)]
    input: PathBuf,
    /// Keys: .npy of uint64, or text with one integer per line, each at most once. An
    /// existing key has its vector replaced. Default: the keys after the largest one in
    /// the gallery.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Dimensions (required for raw float32 input; checked against other formats).
    #[arg(long)]
    dims: Option<usize>,
    #[command(flatten)]
    lock: LockArgs,
}

/// How a command that changes a gallery meets another writer of it.
#[derive(clap::Args)]
pub struct LockArgs {
    /// Wait up to this many seconds for another writer of the gallery (a running `add`,
    /// `delete`, `compact` or program with the file open as a collection) to finish.
    /// Default: fail at once with "locked by another writer" (exit 1).
    #[arg(long, value_name = "SECONDS", value_parser = parse_wait)]
    wait: Option<Duration>,
}

/// Parses `--wait`: non-negative seconds, fractions allowed.
fn parse_wait(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .and_then(|x| Duration::try_from_secs_f64(x).ok())
        .ok_or_else(|| format!("{s:?} is not a number of seconds"))
}

#[derive(clap::Args)]
pub struct DeleteArgs {
    /// Gallery file to change (replaced atomically).
    gallery: PathBuf,
    /// Keys to delete: .npy of uint64, or text with one integer per line. Unknown keys are
    /// counted and ignored.
    #[arg(long)]
    keys: PathBuf,
    #[command(flatten)]
    lock: LockArgs,
}

#[derive(clap::Args)]
pub struct CompactArgs {
    /// Gallery file to rewrite (replaced atomically).
    gallery: PathBuf,
    #[command(flatten)]
    lock: LockArgs,
}

/// Opens the gallery as a collection: the writer lock is held until the command ends.
fn open(path: &Path, lock: &LockArgs) -> Result<Collection, CliError> {
    let options = CollectionOptions {
        lock_timeout: lock.wait,
        ..CollectionOptions::manual()
    };
    Collection::open_with(path, options).map_err(|e| match e {
        // These name the gallery already.
        Error::Locked { .. } | Error::Permission { .. } | Error::Io { path: Some(_), .. } => {
            CliError::from(e)
        }
        e => CliError::runtime(format!("{}: {e}", path.display())),
    })
}

fn commit(c: &Collection, force: bool) -> Result<CommitReport, CliError> {
    let r = if force { c.compact() } else { c.commit() };
    r.map_err(|e| match e {
        Error::Changed { .. } | Error::Permission { .. } => CliError::from(e),
        e => CliError::runtime(format!("commit to {}: {e}", c.path().display())),
    })
}

fn summary(c: &Collection, r: &CommitReport) -> String {
    format!(
        "{} now holds {} vectors, {} bytes{}",
        c.path().display(),
        r.rows,
        r.bytes,
        match (r.graph, r.graph_extended) {
            (false, _) => "",
            (true, true) => " (HNSW graph extended with the added rows)",
            (true, false) => " (HNSW graph rebuilt)",
        }
    )
}

pub fn run_add(a: AddArgs) -> Result<(), CliError> {
    let c = open(&a.gallery, &a.lock)?;
    let m = read_vectors(&a.input, a.dims)?;
    if m.dims != c.dims() {
        return Err(CliError::runtime(format!(
            "{} has {}-d vectors but {} holds {}-d vectors",
            a.input.display(),
            m.dims,
            a.gallery.display(),
            c.dims()
        )));
    }
    let n = m.rows();
    let keys: Vec<u64> = match &a.keys {
        Some(p) => {
            let k = read_unique_keys(p)?;
            if k.len() != n {
                return Err(CliError::runtime(format!(
                    "{} holds {} keys but {} holds {n} vectors",
                    p.display(),
                    k.len(),
                    a.input.display()
                )));
            }
            k
        }
        None => {
            // Rows replayed from a write-ahead log may hold keys past the file's largest:
            // fold them into the file first, so the new keys are free.
            if c.stats().pending_rows > 0 {
                c.commit().map_err(CliError::from)?;
            }
            let g = c.gallery();
            let first = g.keys().iter().max().map_or(Some(0), |k| k.checked_add(1));
            let first = first
                .filter(|f| f.checked_add(n as u64).is_some())
                .ok_or_else(|| CliError::runtime("no free keys after the largest key"))?;
            (first..first + n as u64).collect()
        }
    };
    let pb = progress::bar(n as u64, "adding");
    const CHUNK: usize = 4096;
    let mut replaced = 0;
    for (i, (ks, vs)) in keys
        .chunks(CHUNK)
        .zip(m.data.chunks(CHUNK * m.dims))
        .enumerate()
    {
        replaced += c.add_batch(ks, vs).map_err(|e| {
            CliError::runtime(format!(
                "{} (rows from {}): {e}",
                a.input.display(),
                i * CHUNK
            ))
        })?;
        pb.inc(ks.len() as u64);
    }
    pb.finish_and_clear();
    let r = commit(&c, false)?;
    eprintln!(
        "added {n} vectors ({replaced} replaced existing keys); {}",
        summary(&c, &r)
    );
    Ok(())
}

pub fn run_delete(a: DeleteArgs) -> Result<(), CliError> {
    let c = open(&a.gallery, &a.lock)?;
    let keys = read_keys(&a.keys)?;
    let deleted = c.delete_batch(&keys).map_err(CliError::from)?;
    let r = commit(&c, false)?;
    let rows = if r.written { r.rows } else { c.len() };
    eprintln!(
        "deleted {deleted} of {} keys ({} not found); {} now holds {rows} vectors",
        keys.len(),
        keys.len() - deleted,
        a.gallery.display()
    );
    Ok(())
}

pub fn run_compact(a: CompactArgs) -> Result<(), CliError> {
    let c = open(&a.gallery, &a.lock)?;
    let r = commit(&c, true)?;
    eprintln!("compacted: {}", summary(&c, &r));
    Ok(())
}
