//! Each element type (f32, f16, i8 with and without f32 re-ranking, i4 with it) on the shipped real
//! data (5,000 × 384 MiniLM embeddings): the distance kernels on one pair of rows, exact
//! search (single query, 1 thread; batch of 100, 1 thread) and HNSW search (single query,
//! 1 thread, ef 32 and 64), all against f32 in the same run, with recall@10 printed beside
//! each gallery.
//!
//! `cargo bench --bench element_types`

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use support::{data, read_fvecs, read_ivecs};
use vecmatch::unstable::{
    Backend, distance_f16_with, distance_i8_with, distance_with, dot_i8i8_with,
};
use vecmatch::{ElementType, Gallery, GalleryBuilder, HnswParams, Metric, SearchParams};

/// The storage configurations compared: element type and whether f32 rows are kept.
const CONFIGS: [(ElementType, bool, &str); 5] = [
    (ElementType::F32, false, "f32"),
    (ElementType::F16, false, "f16"),
    (ElementType::I8, false, "i8"),
    (ElementType::I8, true, "i8+rescore"),
    (ElementType::I4, true, "i4+rescore"),
];

fn gallery(base: &[f32], d: usize, et: ElementType, rescore: bool) -> Gallery {
    let mut b = GalleryBuilder::new(d, Metric::Dot).expect("builder");
    let keys: Vec<u64> = (0..(base.len() / d) as u64).collect();
    b.add_batch(&keys, base).expect("add");
    b.element_type(et).keep_f32_rows(rescore);
    b.hnsw(HnswParams::default()).expect("params");
    // One thread: every configuration gets the same graph.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    pool.install(|| b.build_in_memory()).expect("build")
}

fn recall(g: &Gallery, queries: &[f32], gt: &[i32], gk: usize, p: &SearchParams<'_>) -> f64 {
    let res = g.search_batch(queries, p).expect("search");
    let hit: usize = res
        .iter()
        .enumerate()
        .map(|(i, hits)| {
            let truth = &gt[i * gk..i * gk + 10];
            hits.iter()
                .filter(|h| truth.contains(&(h.key as i32)))
                .count()
        })
        .sum();
    hit as f64 / (res.len() * 10) as f64
}

fn main() {
    let (d, base) = read_fvecs(data("base.fvecs")).expect("dataset file");
    let (_, queries) = read_fvecs(data("query.fvecs")).expect("dataset file");
    let (gk, gt) = read_ivecs(data("gt.ivecs")).expect("dataset file");

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();

    // Kernels: one query against one stored row of each type.
    {
        let be = Backend::active();
        let (q, x) = (&queries[..d], &base[..d]);
        let h: Vec<u16> = x
            .iter()
            .map(|v| half::f16::from_f32(*v).to_bits())
            .collect();
        let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        let codes: Vec<i8> = x.iter().map(|v| (v * 127.0 / max).round() as i8).collect();
        let qcodes: Vec<i8> = q.iter().map(|v| (v * 127.0 / max).round() as i8).collect();
        let mut grp = c.benchmark_group(format!("kernel/dot/{d}"));
        grp.bench_with_input(BenchmarkId::new("f32", d), &d, |b, _| {
            b.iter(|| distance_with(be, Metric::Dot, black_box(q), black_box(x)))
        });
        grp.bench_with_input(BenchmarkId::new("f16", d), &d, |b, _| {
            b.iter(|| distance_f16_with(be, Metric::Dot, black_box(q), black_box(&h)))
        });
        grp.bench_with_input(BenchmarkId::new("i8", d), &d, |b, _| {
            b.iter(|| distance_i8_with(be, Metric::Dot, black_box(q), black_box(&codes), 0.01))
        });
        grp.bench_with_input(BenchmarkId::new("i8 x i8 codes", d), &d, |b, _| {
            b.iter(|| dot_i8i8_with(be, black_box(&qcodes), black_box(&codes)))
        });
        grp.finish();
    }

    let galleries: Vec<(&str, Gallery)> = CONFIGS
        .iter()
        .map(|&(et, rescore, name)| (name, gallery(&base, d, et, rescore)))
        .collect();
    let exact = SearchParams {
        k: 10,
        exact: true,
        threads: Some(1),
        ..SearchParams::default()
    };
    let graph = |ef| SearchParams {
        k: 10,
        ef,
        threads: Some(1),
        ..SearchParams::default()
    };
    for (name, g) in &galleries {
        println!(
            "{name:>11}: recall@10 exact {:.4}, hnsw ef 32 {:.4}, ef 64 {:.4}",
            recall(g, &queries, &gt, gk, &exact),
            recall(g, &queries, &gt, gk, &graph(32)),
            recall(g, &queries, &gt, gk, &graph(64)),
        );
    }
    {
        let mut grp = c.benchmark_group("element_types/minilm-5k");
        for (name, g) in &galleries {
            grp.bench_function(format!("{name} exact single"), |b| {
                b.iter(|| g.search(black_box(&queries[..d]), &exact))
            });
            grp.bench_function(format!("{name} exact batch of 100"), |b| {
                b.iter(|| g.search_batch(black_box(&queries), &exact))
            });
            for ef in [32, 64] {
                let p = graph(ef);
                grp.bench_function(format!("{name} hnsw ef {ef} single"), |b| {
                    b.iter(|| g.search(black_box(&queries[..d]), &p))
                });
            }
        }
        grp.finish();
    }
    c.final_summary();
}
