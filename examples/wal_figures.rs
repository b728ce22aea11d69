//! Figures of the write-ahead log, measured in one run on one data set:
//! - add throughput (vectors/s) into a collection with durability commit-only, group
//!   (10 ms) and always, with single `add` calls and 1,024-row batches, as ratios to
//!   commit-only (no automatic commit: the log's cost alone);
//! - recovery: `Collection::open` replaying a log of 100,000 pending rows, against opening
//!   the gallery file holding the same rows after a commit (O(1) mmap open, and an open
//!   that verifies every checksum: one pass over the file).
//!
//! `cargo run --release --example wal_figures -- [DATA_DIR] [WORK_DIR]`: DATA_DIR holds
//! `base.fvecs` (default `data/minilm-5k`; its rows are repeated under new keys as often as
//! needed); WORK_DIR is where the files are written (default: a temporary directory in the
//! current directory — not /tmp, which may be a tmpfs where fsync costs nothing).
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::read_fvecs;
use vecmatch::{Collection, CollectionOptions, Durability, Metric};

fn options(durability: Durability) -> CollectionOptions {
    CollectionOptions {
        durability,
        ..CollectionOptions::manual()
    }
}

/// The longest a throughput run lasts.
const BUDGET: Duration = Duration::from_secs(5);

/// Adds rows (the data repeated under new keys) in batches of `batch` until `max_rows`
/// or [`BUDGET`] elapsed; returns vectors/s.
fn throughput(
    dir: &Path,
    name: &str,
    d: usize,
    data: &[f32],
    durability: Durability,
    batch: usize,
    max_rows: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let path = dir.join(name);
    let c = Collection::create(&path, d, Metric::Cosine, options(durability))?;
    let n = data.len() / d;
    let start = Instant::now();
    let mut added = 0;
    let mut keys = Vec::with_capacity(batch);
    let mut rows = Vec::with_capacity(batch * d);
    while added < max_rows && start.elapsed() < BUDGET {
        keys.clear();
        rows.clear();
        for i in added..added + batch {
            keys.push(i as u64);
            let r = i % n;
            rows.extend_from_slice(&data[r * d..(r + 1) * d]);
        }
        if batch == 1 {
            c.add(keys[0], &rows)?;
        } else {
            c.add_batch(&keys, &rows)?;
        }
        added += batch;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(c);
    for p in [path.clone(), path.with_extension("vmg.wal")] {
        let _ = std::fs::remove_file(p);
    }
    Ok(added as f64 / secs)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let data_dir = args.get(1).map_or("data/minilm-5k", String::as_str);
    let (d, data) = read_fvecs(format!("{data_dir}/base.fvecs"))?;
    let tmp = match args.get(2) {
        Some(w) => tempfile::tempdir_in(w)?,
        None => tempfile::tempdir_in(".")?,
    };
    let dir = tmp.path();
    println!(
        "data: {} rows of {d} dims from {data_dir}; files in {}",
        data.len() / d,
        dir.display()
    );

    let group = Durability::Group {
        interval: Duration::from_millis(10),
    };
    let modes = [
        ("commit-only", Durability::CommitOnly),
        ("group 10 ms", group),
        ("always", Durability::Always),
    ];
    println!("\nadd throughput (vectors/s; ratio to commit-only), cosine, {d} dims:");
    println!(
        "{:<12} {:>16} {:>8} {:>18} {:>8}",
        "durability", "add (batch 1)", "ratio", "add_batch (1,024)", "ratio"
    );
    let mut base = [0.0f64; 2];
    for (name, mode) in modes {
        let mut cells = Vec::new();
        for (j, (batch, max_rows)) in [(1usize, 20_000usize), (1024, 51_200)]
            .into_iter()
            .enumerate()
        {
            let v = throughput(dir, &format!("t{j}.vmg"), d, &data, mode, batch, max_rows)?;
            if mode == Durability::CommitOnly {
                base[j] = v;
            }
            cells.push((v, v / base[j]));
        }
        println!(
            "{:<12} {:>16.0} {:>8.3} {:>18.0} {:>8.3}",
            name, cells[0].0, cells[0].1, cells[1].0, cells[1].1
        );
    }

    // Recovery of 100,000 pending rows.
    const PENDING: usize = 100_000;
    let path = dir.join("recovery.vmg");
    let c = Collection::create(&path, d, Metric::Cosine, options(group))?;
    let n = data.len() / d;
    let mut k = 0usize;
    while k < PENDING {
        let m = 1024.min(PENDING - k);
        let keys: Vec<u64> = (k as u64..(k + m) as u64).collect();
        let mut rows = Vec::with_capacity(m * d);
        for i in k..k + m {
            let r = i % n;
            rows.extend_from_slice(&data[r * d..(r + 1) * d]);
        }
        c.add_batch(&keys, &rows)?;
        k += m;
    }
    drop(c); // no commit: the rows are in the log only
    let wal = dir.join("recovery.vmg.wal");
    let wal_bytes = std::fs::metadata(&wal)?.len();
    let t = Instant::now();
    let c = Collection::open(&path)?;
    let replay = t.elapsed();
    assert_eq!(c.len(), PENDING);
    let t = Instant::now();
    c.commit()?;
    let commit = t.elapsed();
    drop(c);
    let file_bytes = std::fs::metadata(&path)?.len();
    let t = Instant::now();
    let c = Collection::open(&path)?;
    let open = t.elapsed();
    assert_eq!((c.len(), c.stats().pending_rows), (PENDING, 0));
    let t = Instant::now();
    let _ = c.search(&data[..d], &vecmatch::SearchParams::k(10))?;
    let first_search = t.elapsed();
    drop(c);
    let t = Instant::now();
    let c = Collection::open_with(
        &path,
        CollectionOptions {
            verify: true,
            ..CollectionOptions::default()
        },
    )?;
    let verified = t.elapsed();
    drop(c);
    println!(
        "\nrecovery of {PENDING} pending rows (log {:.1} MB, warm page cache):",
        wal_bytes as f64 / 1e6
    );
    println!(
        "  open replaying the log          {:>10.3} ms",
        replay.as_secs_f64() * 1e3
    );
    println!(
        "  commit of those rows (no graph) {:>10.3} ms",
        commit.as_secs_f64() * 1e3
    );
    println!(
        "  open of the committed file      {:>10.3} ms (file {:.1} MB, mmap: O(1))",
        open.as_secs_f64() * 1e3,
        file_bytes as f64 / 1e6
    );
    println!(
        "  first exact search after it     {:>10.3} ms",
        first_search.as_secs_f64() * 1e3
    );
    println!(
        "  open of it verifying every CRC  {:>10.3} ms",
        verified.as_secs_f64() * 1e3
    );
    println!(
        "  replay / open ratio             {:>10.0}x",
        replay.as_secs_f64() / open.as_secs_f64().max(1e-9)
    );
    Ok(())
}
