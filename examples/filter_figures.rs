//! Filtered search at every selectivity: recall@10 against brute force and single-query
//! speed (1 thread) of the planner's choice vs a forced exact filtered scan, with labels
//! uncorrelated and correlated with the vectors.
//!
//! ```text
//! cargo run --release --example filter_figures -- [DATA_DIR] [OUT_DIR]
//! ```
//! `DATA_DIR` holds `base.fvecs` and `query.fvecs` (default
//! `/work/shared/data/dev50k-minilm-384`); `OUT_DIR` (default `target/filter_figures`)
//! receives `gallery.vmg` (cosine, HNSW M=16, ef_construction=200, seed 0x5EED; reused
//! when present), `labels.txt` (one line per base row, the `vecmatch build --labels`
//! format) and `filters.json` (each measured filter), which `tools/filter_peers.py` reads
//! to run hnswlib's `filter` on the same data. `QUERIES=n` limits the queries, `ROUNDS=n`
//! (default 3) times each path n times and keeps the best.
//!
//! Label generation (all seeded, so a run can be repeated exactly):
//! - **Zipf, uncorrelated**: label `i` in `0..1000` is on each row independently with
//!   probability `0.5 / (i + 1)` (hash of row and label, splitmix64, seed 1); label 0 is
//!   on ~50% of the rows, 4 on ~10%, 49 on ~1%, 499 on ~0.1%. Label 9999 is on every row.
//! - **Clusters, correlated**: 1000 centroids = 1000 base rows drawn by splitmix64 (seed
//!   2); each row gets label `10000 + c` for its nearest centroid `c` (cosine). A
//!   selectivity `s` is the any-of filter over clusters taken in a seeded shuffled order
//!   (seed 3) until they hold `s · n` rows.
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use support::read_fvecs;
use vecmatch::{Filter, Gallery, GalleryBuilder, HnswParams, Metric, SearchParams};

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(seed: u64, a: u64, b: u64) -> f64 {
    (splitmix(seed ^ splitmix(a ^ splitmix(b))) >> 11) as f64 / (1u64 << 53) as f64
}

const ZIPF_LABELS: u32 = 1000;
const ALL_LABEL: u32 = 9999;
const CLUSTERS: usize = 1000;
const CLUSTER_BASE: u32 = 10_000;

/// Labels per row: Zipf and cluster labels.
fn labels(d: usize, base: &[f32]) -> Result<Vec<Vec<u32>>, Box<dyn std::error::Error>> {
    let n = base.len() / d;
    let mut picked = HashSet::new();
    let mut centroids = Vec::with_capacity(CLUSTERS * d);
    let mut i = 0u64;
    while picked.len() < CLUSTERS {
        let r = (splitmix(2 ^ splitmix(i)) % n as u64) as usize;
        i += 1;
        if picked.insert(r) {
            centroids.extend_from_slice(&base[r * d..(r + 1) * d]);
        }
    }
    let mut b = GalleryBuilder::new(d, Metric::Cosine)?;
    let ids: Vec<u64> = (0..CLUSTERS as u64).collect();
    b.add_batch(&ids, &centroids)?;
    let cg = b.build_in_memory()?;
    let nearest = cg.search_batch(
        base,
        &SearchParams {
            k: 1,
            exact: true,
            ..SearchParams::default()
        },
    )?;
    Ok((0..n)
        .map(|r| {
            let mut l: Vec<u32> = (0..ZIPF_LABELS)
                .filter(|&i| unit(1, r as u64, u64::from(i)) < 0.5 / f64::from(i + 1))
                .collect();
            l.push(ALL_LABEL);
            l.push(CLUSTER_BASE + nearest[r][0].key as u32);
            l
        })
        .collect())
}

/// One measured filter: name, target selectivity, all-of and any-of labels.
struct Case {
    kind: &'static str,
    target: f64,
    all: Vec<u32>,
    any: Vec<u32>,
}

fn cases(labels: &[Vec<u32>]) -> Vec<Case> {
    let n = labels.len();
    let mut count = vec![0usize; CLUSTERS];
    for l in labels {
        if let Some(c) = l.iter().find(|&&x| x >= CLUSTER_BASE) {
            count[(c - CLUSTER_BASE) as usize] += 1;
        }
    }
    let mut order: Vec<usize> = (0..CLUSTERS).collect();
    order.sort_by_key(|&c| splitmix(3 ^ splitmix(c as u64)));
    let mut out = Vec::new();
    for (target, zipf) in [
        (0.001, 499),
        (0.01, 49),
        (0.1, 4),
        (0.5, 0),
        (1.0, ALL_LABEL),
    ] {
        out.push(Case {
            kind: "zipf",
            target,
            all: vec![zipf],
            any: vec![],
        });
        let (mut any, mut rows) = (Vec::new(), 0usize);
        for &c in &order {
            if rows as f64 >= target * n as f64 {
                break;
            }
            any.push(CLUSTER_BASE + c as u32);
            rows += count[c];
        }
        out.push(Case {
            kind: "cluster",
            target,
            all: vec![],
            any,
        });
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(
        args.get(1)
            .map_or("/work/shared/data/dev50k-minilm-384", String::as_str),
    );
    let out = PathBuf::from(args.get(2).map_or("target/filter_figures", String::as_str));
    std::fs::create_dir_all(&out)?;
    let (d, base) = read_fvecs(data.join("base.fvecs"))?;
    let (_, mut queries) = read_fvecs(data.join("query.fvecs"))?;
    if let Some(q) = std::env::var("QUERIES")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        queries.truncate(q * d);
    }
    let rounds: usize = std::env::var("ROUNDS").map_or(Ok(3), |s| s.parse())?;
    let n = base.len() / d;
    let nq = queries.len() / d;
    let t = Instant::now();
    let labels = labels(d, &base)?;
    eprintln!("labels: {:.1} s", t.elapsed().as_secs_f64());
    let text: String = labels.iter().fold(String::new(), |mut s, l| {
        let items: Vec<String> = l.iter().map(u32::to_string).collect();
        let _ = writeln!(s, "{}", items.join(" "));
        s
    });
    std::fs::write(out.join("labels.txt"), text)?;
    let path = out.join("gallery.vmg");
    let g = match Gallery::open(&path) {
        Ok(g) if g.has_labels() && g.len() == n && g.has_graph() => g,
        _ => {
            let t = Instant::now();
            let mut b = GalleryBuilder::new(d, Metric::Cosine)?;
            let keys: Vec<u64> = (0..n as u64).collect();
            b.add_batch_labeled(&keys, &base, &labels)?;
            b.hnsw(HnswParams::default())?;
            b.write(&path)?;
            eprintln!("gallery with graph: {:.1} s", t.elapsed().as_secs_f64());
            Gallery::open(&path)?
        }
    };
    let cases = cases(&labels);
    let json: Vec<_> = cases
        .iter()
        .map(
            |c| serde_json::json!({"kind": c.kind, "target": c.target, "all": c.all, "any": c.any}),
        )
        .collect();
    std::fs::write(
        out.join("filters.json"),
        serde_json::to_string_pretty(&json)?,
    )?;

    let planner = SearchParams {
        k: 10,
        threads: Some(1),
        ..SearchParams::default()
    };
    let exact = SearchParams {
        exact: true,
        ..planner
    };
    println!(
        "{n} rows x {d}, {nq} queries, k 10, ef {} (default), 1 thread, best of {rounds}",
        planner.ef
    );
    println!("labels     target  admitted  recall@10  planner_qps  exact_qps  planner/exact");
    for c in &cases {
        let f = Filter::new().all_labels(&c.all).any_labels(&c.any);
        let admitted = labels
            .iter()
            .filter(|l| {
                c.all.iter().all(|x| l.contains(x))
                    && (c.any.is_empty() || c.any.iter().any(|x| l.contains(x)))
            })
            .count();
        let mut truth = Vec::new();
        let mut te = f64::INFINITY;
        let mut tp = f64::INFINITY;
        let mut found = 0usize;
        let mut wanted = 0usize;
        for round in 0..rounds {
            let t = Instant::now();
            for q in queries.chunks_exact(d) {
                let hits = g.search_filtered(q, &f, &exact)?;
                if round == 0 {
                    truth.push(hits.iter().map(|h| h.key).collect::<HashSet<u64>>());
                }
            }
            te = te.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let mut got = Vec::with_capacity(nq);
            for q in queries.chunks_exact(d) {
                got.push(g.search_filtered(q, &f, &planner)?);
            }
            tp = tp.min(t.elapsed().as_secs_f64());
            if round == 0 {
                for (hits, want) in got.iter().zip(&truth) {
                    wanted += want.len();
                    found += hits.iter().filter(|h| want.contains(&h.key)).count();
                }
            }
        }
        let recall = if wanted == 0 {
            1.0
        } else {
            found as f64 / wanted as f64
        };
        println!(
            "{:<9} {:>6.1}%  {:>8}  {:>9.4}  {:>11.0}  {:>9.0}  {:>13.2}",
            c.kind,
            c.target * 100.0,
            admitted,
            recall,
            nq as f64 / tp,
            nq as f64 / te,
            te / tp
        );
    }
    Ok(())
}
