//! Exact search on a gallery larger than the last-level cache (200,000 × 384 f32 ≈ 307 MB,
//! mmap-opened), single query and batch, 1 and 2 threads, reported as GB/s scanned, next
//! to the machine's read bandwidth measured in the same run over an equally large buffer.
//! Also `Gallery::open` time for a 20,000-row file and a 10× larger one.
//!
//! `cargo bench --bench flat`

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use rayon::prelude::*;
use vecmatch::{Gallery, GalleryBuilder, Metric, SearchParams};

const N: usize = 200_000;
const D: usize = 384;
const BATCH: usize = 200;

fn vecs(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n * d)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn write_gallery(path: &Path, n: usize) {
    let mut b = GalleryBuilder::new(D, Metric::Cosine).expect("builder");
    let keys: Vec<u64> = (0..n as u64).collect();
    b.add_batch(&keys, &vecs(n, D, 7)).expect("add");
    b.write(path).expect("write");
}

/// Read bandwidth: sum of a buffer as large as the gallery, split over `threads`.
fn read_bandwidth(buf: &[f32], threads: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let mut best = 0f64;
    for _ in 0..5 {
        let t0 = Instant::now();
        let s: f32 = pool.install(|| {
            buf.par_chunks(buf.len().div_ceil(threads))
                .map(|c| {
                    // 8 independent lanes so the loop vectorises and is not latency-bound.
                    let mut acc = [0f32; 8];
                    for ch in c.chunks_exact(8) {
                        for i in 0..8 {
                            acc[i] += ch[i];
                        }
                    }
                    acc.iter().sum::<f32>()
                })
                .sum()
        });
        black_box(s);
        best = best.max((buf.len() * 4) as f64 / t0.elapsed().as_secs_f64() / 1e9);
    }
    best
}

/// GB/s of single-query scans, median of several timed loops.
fn single_gbs(g: &Gallery, queries: &[f32], threads: usize) -> f64 {
    let p = SearchParams {
        k: 10,
        threads: Some(threads),
        ..SearchParams::default()
    };
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        for q in queries.chunks_exact(D).take(20) {
            black_box(g.search(q, &p).expect("search"));
        }
        runs.push((20 * N * D * 4) as f64 / t0.elapsed().as_secs_f64() / 1e9);
    }
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn batch_qps(g: &Gallery, queries: &[f32], threads: usize) -> f64 {
    let p = SearchParams {
        k: 10,
        threads: Some(threads),
        ..SearchParams::default()
    };
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        black_box(g.search_batch(queries, &p).expect("batch"));
        runs.push(BATCH as f64 / t0.elapsed().as_secs_f64());
    }
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn open_us(path: &Path) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..50 {
        let t0 = Instant::now();
        let g = Gallery::open(path).expect("open");
        best = best.min(t0.elapsed().as_secs_f64() * 1e6);
        black_box(g.len());
    }
    best
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.vmg");
    let small = dir.path().join("small.vmg");
    eprintln!(
        "writing {N} x {D} gallery ({} MB)...",
        N * D * 4 / 1_000_000
    );
    write_gallery(&big, N);
    write_gallery(&small, N / 10);
    let g = Gallery::open(&big).expect("open");
    let queries = vecs(BATCH, D, 99);
    let scanned = (N * D * 4) as u64;

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    {
        let mut grp = c.benchmark_group("flat/200k x 384");
        for threads in [1, 2] {
            let p = SearchParams {
                k: 10,
                threads: Some(threads),
                ..SearchParams::default()
            };
            grp.throughput(Throughput::Bytes(scanned));
            grp.bench_function(format!("single query, {threads} thread(s)"), |b| {
                b.iter(|| g.search(black_box(&queries[..D]), &p).expect("search"))
            });
            grp.throughput(Throughput::Bytes(scanned * BATCH as u64));
            grp.bench_function(format!("batch of {BATCH}, {threads} thread(s)"), |b| {
                b.iter(|| g.search_batch(black_box(&queries), &p).expect("batch"))
            });
        }
        grp.finish();
    }
    c.bench_function("open/20k rows", |b| {
        b.iter(|| Gallery::open(black_box(&small)).expect("open"))
    });
    c.bench_function("open/200k rows", |b| {
        b.iter(|| Gallery::open(black_box(&big)).expect("open"))
    });
    c.final_summary();

    // Ratios measured back to back.
    let buf = vec![1.0f32; N * D];
    println!(
        "\nexact search on {N} x {D} f32 ({} MB, larger than the LLC), same run:",
        scanned / 1_000_000
    );
    for threads in [1, 2] {
        let bw = read_bandwidth(&buf, threads);
        let gbs = single_gbs(&g, &queries, threads);
        let qps = batch_qps(&g, &queries, threads);
        println!(
            "  {threads} thread(s): read bandwidth {bw:.1} GB/s; single-query scan {gbs:.1} GB/s = {:.2} of it; \
             batch {qps:.0} QPS = {:.1} GB/s effective",
            gbs / bw,
            qps * scanned as f64 / 1e9
        );
    }
    let (s, b) = (open_us(&small), open_us(&big));
    println!(
        "  Gallery::open: {s:.1} us (20k rows, 31 MB) vs {b:.1} us (200k rows, 307 MB): ratio {:.2}",
        b / s
    );
}
