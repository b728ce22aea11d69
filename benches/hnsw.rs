//! HNSW: build throughput (native and hnsw_rs builders, 1 and 2 threads), single-query QPS at fixed recall@10 (0.95,
//! 0.99) against the exact-search baseline on the shipped real data, and `Gallery::open`
//! time for galleries with a graph of 20,000 and 200,000 rows. Ratios are printed at the
//! end, each measured within this run.
//!
//! `cargo bench --bench hnsw`

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::Criterion;
use support::{data, read_fvecs, read_ivecs, vecs};
use vecmatch::{Gallery, GalleryBuilder, HnswAlgorithm, HnswParams, Metric, SearchParams};

fn builder(vectors: &[f32], d: usize, params: Option<HnswParams>) -> GalleryBuilder {
    let mut b = GalleryBuilder::new(d, Metric::Dot).expect("builder");
    let keys: Vec<u64> = (0..(vectors.len() / d) as u64).collect();
    b.add_batch(&keys, vectors).expect("add");
    if let Some(p) = params {
        b.hnsw(p).expect("params");
    }
    b
}

fn recall(g: &Gallery, queries: &[f32], d: usize, gt: &[i32], gk: usize, ef: usize) -> f64 {
    let p = SearchParams {
        k: 10,
        ef,
        threads: Some(1),
        ..SearchParams::default()
    };
    let mut hit = 0;
    for (i, q) in queries.chunks_exact(d).enumerate() {
        let truth = &gt[i * gk..i * gk + 10];
        hit += g
            .search(q, &p)
            .expect("search")
            .iter()
            .filter(|h| truth.contains(&(h.key as i32)))
            .count();
    }
    hit as f64 / (queries.len() / d * 10) as f64
}

/// Queries per second of the single-query loop, best of 5.
fn qps(g: &Gallery, queries: &[f32], d: usize, p: &SearchParams<'_>) -> f64 {
    let mut best = 0f64;
    for _ in 0..5 {
        let t0 = Instant::now();
        for q in queries.chunks_exact(d) {
            black_box(g.search(q, p).expect("search"));
        }
        best = best.max((queries.len() / d) as f64 / t0.elapsed().as_secs_f64());
    }
    best
}

fn open_us(path: &Path) -> f64 {
    (0..50)
        .map(|_| {
            let t0 = Instant::now();
            black_box(Gallery::open(path).expect("open"));
            t0.elapsed().as_secs_f64() * 1e6
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let (d, base) = read_fvecs(data("base.fvecs")).expect("dataset file");
    let (_, queries) = read_fvecs(data("query.fvecs")).expect("dataset file");
    let (gk, gt) = read_ivecs(data("gt.ivecs")).expect("dataset file");
    let n = base.len() / d;

    // Build throughput: the native builder, and hnsw_rs as the baseline.
    let mut build = Vec::new();
    let mut g = None;
    for kind in [HnswAlgorithm::Native, HnswAlgorithm::HnswRs] {
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let params = HnswParams {
                algorithm: kind,
                ..HnswParams::default()
            };
            let b = builder(&base, d, Some(params));
            let t0 = Instant::now();
            let built = pool.install(|| b.build_in_memory()).expect("build");
            build.push((kind, threads, n as f64 / t0.elapsed().as_secs_f64()));
            if kind == HnswAlgorithm::Native {
                g = Some(built);
            }
        }
    }
    let g = g.expect("built");
    let exact = builder(&base, d, None).build_in_memory().expect("flat");

    // Smallest ef reaching each recall target.
    let efs = [
        8usize, 10, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 192, 256,
    ];
    let at = |target: f64| {
        efs.iter()
            .copied()
            .find(|&ef| recall(&g, &queries, d, &gt, gk, ef) >= target)
    };
    let targets: Vec<(f64, Option<usize>)> = [0.95, 0.99].iter().map(|&t| (t, at(t))).collect();

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    {
        let mut grp = c.benchmark_group("hnsw/minilm-5k single query");
        for (t, ef) in &targets {
            if let Some(ef) = *ef {
                let p = SearchParams {
                    k: 10,
                    ef,
                    threads: Some(1),
                    ..SearchParams::default()
                };
                grp.bench_function(format!("hnsw recall>={t} (ef {ef})"), |b| {
                    b.iter(|| g.search(black_box(&queries[..d]), &p))
                });
            }
        }
        let p = SearchParams {
            k: 10,
            exact: true,
            threads: Some(1),
            ..SearchParams::default()
        };
        grp.bench_function("exact (baseline)", |b| {
            b.iter(|| exact.search(black_box(&queries[..d]), &p))
        });
        grp.finish();
    }
    c.final_summary();

    // Open time with a graph: 20k vs 200k rows (a cheap graph: open time does not depend
    // on its quality).
    let dir = tempfile::tempdir().expect("tempdir");
    let cheap = HnswParams {
        m: 4,
        ef_construction: 8,
        ..HnswParams::default()
    };
    let mut opens = Vec::new();
    for rows in [20_000usize, 200_000] {
        let path = dir.path().join(format!("g{rows}.vmg"));
        builder(&vecs(rows, 64, 0), 64, Some(cheap))
            .write(&path)
            .expect("write");
        opens.push((rows, open_us(&path)));
    }

    println!("\nHNSW on data/minilm-5k ({n} x {d}, M=16, ef_construction=200), same run:");
    for (kind, t, vps) in &build {
        let base = build
            .iter()
            .find(|(k, bt, _)| *k == HnswAlgorithm::HnswRs && bt == t)
            .map_or(f64::NAN, |x| x.2);
        println!(
            "  build ({}), {t} thread(s): {vps:.0} vectors/s = {:.2}x hnsw_rs",
            kind.name(),
            vps / base
        );
    }
    let exact_qps = qps(
        &exact,
        &queries,
        d,
        &SearchParams {
            k: 10,
            exact: true,
            threads: Some(1),
            ..SearchParams::default()
        },
    );
    for (t, ef) in &targets {
        match ef {
            Some(ef) => {
                let p = SearchParams {
                    k: 10,
                    ef: *ef,
                    threads: Some(1),
                    ..SearchParams::default()
                };
                let q = qps(&g, &queries, d, &p);
                println!(
                    "  recall@10 >= {t}: ef {ef}, {q:.0} QPS single-thread = {:.1}x exact ({exact_qps:.0} QPS)",
                    q / exact_qps
                );
            }
            None => println!("  recall@10 >= {t}: not reached up to ef 256"),
        }
    }
    println!(
        "  Gallery::open with a graph: {:.1} us ({} rows) vs {:.1} us ({} rows): ratio {:.2}",
        opens[0].1,
        opens[0].0,
        opens[1].1,
        opens[1].0,
        opens[1].1 / opens[0].1
    );
}
