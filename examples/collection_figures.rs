//! Figures of the mutable collection, measured in one run on one data set:
//! - add throughput into a live collection (single `add` calls and 1,024-row batches),
//!   and search QPS with those rows pending (searched by an exact scan);
//! - search QPS (one thread, ef 64, k 10) and recall@10 with 10% and 50% of the rows
//!   deleted but not committed, then after `commit()` (recall against the exact top-10 of
//!   the remaining rows);
//! - commit time (merge + graph rebuild + atomic write) against a full build of the same
//!   rows from scratch;
//! - commits that only add rows (1%, 10%, 30% of the data): the graph extended with the
//!   new rows against `compact()` rebuilding it, time and recall@10.
//!
//! `cargo run --release --example collection_figures -- [DATA_DIR]` with `base.fvecs` and
//! `query.fvecs` in DATA_DIR (default `data/minilm-5k`).
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{Rng, read_fvecs};
use vecmatch::{Collection, CollectionOptions, GalleryBuilder, HnswParams, Metric, SearchParams};

/// Best-of-3 single-thread QPS at ef 64, and recall@10 against the exact top-10.
fn measure(c: &Collection, queries: &[f32], d: usize) -> (f64, f64) {
    let approx = SearchParams {
        k: 10,
        ef: 64,
        threads: Some(1),
        ..SearchParams::default()
    };
    let exact = SearchParams {
        exact: true,
        ..approx
    };
    let mut best = Duration::MAX;
    let mut answers = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        answers = queries
            .chunks(d)
            .map(|q| c.search(q, &approx).unwrap())
            .collect::<Vec<_>>();
        best = best.min(t.elapsed());
    }
    let (mut found, mut total) = (0, 0);
    for (q, got) in queries.chunks(d).zip(&answers) {
        let want = c.search(q, &exact).unwrap();
        total += want.len();
        found += got
            .iter()
            .filter(|h| want.iter().any(|w| w.key == h.key))
            .count();
    }
    let nq = queries.len() / d;
    (nq as f64 / best.as_secs_f64(), found as f64 / total as f64)
}

fn build(path: &std::path::Path, d: usize, keys: &[u64], rows: &[f32]) -> Duration {
    let t = Instant::now();
    let mut b = GalleryBuilder::new(d, Metric::Cosine).unwrap();
    b.add_batch(keys, rows).unwrap();
    b.hnsw(HnswParams::default()).unwrap();
    b.write(path).unwrap();
    t.elapsed()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data/minilm-5k".into());
    let (d, base) = read_fvecs(format!("{data}/base.fvecs"))?;
    let (_, queries) = read_fvecs(format!("{data}/query.fvecs"))?;
    let n = base.len() / d;
    let keys: Vec<u64> = (0..n as u64).collect();
    let dir = std::env::temp_dir().join(format!("vecmatch-figures-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("base.vmg");
    println!(
        "data: {data} ({n} × {d}, {} queries); cosine, HNSW M=16 ef_construction=200; \
         searches: 1 thread, k=10, ef=64",
        queries.len() / d
    );
    let t_full = build(&path, d, &keys, &base);
    println!("full build of {n} rows: {:.2} s", t_full.as_secs_f64());

    // Adds into a live collection.
    {
        let c = Collection::open_with(&path, CollectionOptions::manual())?;
        let (qps0, r0) = measure(&c, &queries, d);
        let m = 10_000.min(n);
        let fresh = Rng::with_state(42).vec(2 * m * d);
        let t = Instant::now();
        for (i, v) in fresh[..m * d].chunks(d).enumerate() {
            c.add(10_000_000 + i as u64, v)?;
        }
        let single = m as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let batch_keys: Vec<u64> = (0..m as u64).map(|i| 20_000_000 + i).collect();
        for (ks, vs) in batch_keys.chunks(1024).zip(fresh[m * d..].chunks(1024 * d)) {
            c.add_batch(ks, vs)?;
        }
        let batched = m as f64 / t.elapsed().as_secs_f64();
        let (qps1, r1) = measure(&c, &queries, d);
        println!(
            "add throughput into a live collection: {single:.0} vectors/s (add), \
             {batched:.0} vectors/s (add_batch of 1,024)"
        );
        println!(
            "search with {} pending rows: {qps1:.0} QPS, recall@10 {r1:.4} \
             (nothing pending: {qps0:.0} QPS, recall@10 {r0:.4})",
            2 * m
        );
    }

    println!();
    println!("| deleted | state | QPS | recall@10 |");
    println!("|---|---|---|---|");
    let mut commits = Vec::new();
    for frac in [0.10, 0.50] {
        let work = dir.join("work.vmg");
        std::fs::copy(&path, &work)?;
        let c = Collection::open_with(&work, CollectionOptions::manual())?;
        let mut rng = Rng::with_state(7 + (frac * 100.0) as u64);
        let mut order = keys.clone();
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let gone = (n as f64 * frac) as usize;
        c.delete_batch(&order[..gone])?;
        let (qps, recall) = measure(&c, &queries, d);
        println!(
            "| {:.0}% | pending | {qps:.0} | {recall:.4} |",
            frac * 100.0
        );
        let report = c.commit()?;
        let (qps, recall) = measure(&c, &queries, d);
        println!(
            "| {:.0}% | committed | {qps:.0} | {recall:.4} |",
            frac * 100.0
        );
        let mut left: Vec<u64> = order[gone..].to_vec();
        left.sort_unstable();
        let rows: Vec<f32> = left
            .iter()
            .flat_map(|&k| base[k as usize * d..(k as usize + 1) * d].iter().copied())
            .collect();
        let t_build = build(&dir.join("rebuilt.vmg"), d, &left, &rows);
        commits.push((frac, report.rows, report.duration, t_build));
    }
    println!();
    for (frac, rows, commit, full) in commits {
        println!(
            "commit after deleting {:.0}% ({rows} rows left): {:.2} s; full build of the \
             same rows: {:.2} s; ratio {:.2}",
            frac * 100.0,
            commit.as_secs_f64(),
            full.as_secs_f64(),
            commit.as_secs_f64() / full.as_secs_f64()
        );
    }

    // Commits that only add rows: the graph is extended; compact() rebuilds the same rows.
    println!();
    println!(
        "| rows in file | added | commit (extend) s | compact (rebuild) s | recall@10 extend / rebuild |"
    );
    println!("|---|---|---|---|---|");
    for frac in [0.01, 0.10, 0.30] {
        let added = ((n as f64 * frac) as usize).max(1);
        let old = n - added;
        let work = dir.join("grow.vmg");
        build(&work, d, &keys[..old], &base[..old * d]);
        let c = Collection::open_with(&work, CollectionOptions::manual())?;
        c.add_batch(&keys[old..], &base[old * d..])?;
        let extended = c.commit()?;
        assert!(extended.graph_extended);
        let (_, r_ext) = measure(&c, &queries, d);
        let rebuilt = c.compact()?;
        let (_, r_reb) = measure(&c, &queries, d);
        println!(
            "| {old} | {added} | {:.2} | {:.2} | {r_ext:.4} / {r_reb:.4} |",
            extended.duration.as_secs_f64(),
            rebuilt.duration.as_secs_f64()
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
