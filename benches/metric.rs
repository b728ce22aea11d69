//! Distance kernels by dimension: our AVX2+FMA kernels against simsimd and the scalar
//! reference, and the multi-row shapes (row-by-row scan, 4 × 3 register tile)
//! against repeated pair calls. Ends with a ratio table measured in the same run.
//!
//! `cargo bench --bench metric`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use vecmatch::Metric;
use vecmatch::metric::{Backend, cross_with, distance_simsimd, distance_with, scan_with};

const DIMS: [usize; 5] = [96, 128, 384, 768, 1536];

fn vecs(n: usize, d: usize) -> Vec<f32> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..n * d)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn pair(c: &mut Criterion) {
    let best = Backend::active();
    for metric in [Metric::Dot, Metric::L2] {
        let mut g = c.benchmark_group(format!("pair/{metric}"));
        for d in DIMS {
            let v = vecs(2, d);
            let (a, b) = v.split_at(d);
            g.throughput(Throughput::Bytes((2 * d * 4) as u64));
            g.bench_with_input(BenchmarkId::new("ours", d), &d, |x, _| {
                x.iter(|| distance_with(best, metric, black_box(a), black_box(b)))
            });
            g.bench_with_input(BenchmarkId::new("simsimd", d), &d, |x, _| {
                x.iter(|| distance_simsimd(metric, black_box(a), black_box(b)))
            });
            g.bench_with_input(BenchmarkId::new("scalar", d), &d, |x, _| {
                x.iter(|| distance_with(Backend::Scalar, metric, black_box(a), black_box(b)))
            });
        }
        g.finish();
    }
}

fn shapes(c: &mut Criterion) {
    let best = Backend::active();
    let d = 384;
    let rows = vecs(256, d);
    let queries = vecs(16, d);
    let mut out = vec![0f32; 16 * 256];
    let mut g = c.benchmark_group("shapes/dot/384");
    g.throughput(Throughput::Elements(256));
    g.bench_function("scan 1x256 (scan)", |x| {
        x.iter(|| {
            scan_with(
                best,
                Metric::Dot,
                black_box(&queries[..d]),
                black_box(&rows),
                d,
                &mut out[..256],
            )
        })
    });
    g.bench_function("scan 1x256 (pair loop)", |x| {
        x.iter(|| {
            for (o, r) in out[..256].iter_mut().zip(rows.chunks_exact(d)) {
                *o = distance_with(best, Metric::Dot, black_box(&queries[..d]), r);
            }
        })
    });
    g.throughput(Throughput::Elements(16 * 256));
    g.bench_function("cross 16x256 (4x3 tile)", |x| {
        x.iter(|| {
            cross_with(
                best,
                Metric::Dot,
                black_box(&queries),
                black_box(&rows),
                d,
                &mut out,
            )
        })
    });
    g.bench_function("cross 16x256 (scan per query)", |x| {
        x.iter(|| {
            for (qi, q) in queries.chunks_exact(d).enumerate() {
                scan_with(
                    best,
                    Metric::Dot,
                    black_box(q),
                    &rows,
                    d,
                    &mut out[qi * 256..(qi + 1) * 256],
                );
            }
        })
    });
    g.finish();
}

/// Nanoseconds per call of `f`, best of 5 rounds of ~50 ms.
fn ns_per_call(mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let mut n = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(50) {
            for _ in 0..64 {
                f();
            }
            n += 64;
        }
        best = best.min(t0.elapsed().as_nanos() as f64 / n as f64);
    }
    best
}

/// Ratios measured back to back in this run (speed-up = their time ÷ our time).
fn summary() {
    let best = Backend::active();
    println!(
        "\nkernel summary ({}), speed-up of ours = other time / our time:",
        vecmatch::hardware_acceleration()
    );
    println!(
        "{:>6} {:>6} {:>12} {:>12} {:>12} {:>14}",
        "metric", "dims", "ours ns", "simsimd ns", "vs simsimd", "vs scalar"
    );
    for metric in [Metric::Dot, Metric::L2] {
        for d in DIMS {
            let v = vecs(2, d);
            let (a, b) = v.split_at(d);
            let ours = ns_per_call(|| {
                black_box(distance_with(best, metric, black_box(a), black_box(b)));
            });
            let ss = ns_per_call(|| {
                black_box(distance_simsimd(metric, black_box(a), black_box(b)));
            });
            let sc = ns_per_call(|| {
                black_box(distance_with(
                    Backend::Scalar,
                    metric,
                    black_box(a),
                    black_box(b),
                ));
            });
            println!(
                "{:>6} {d:>6} {ours:>12.1} {ss:>12.1} {:>11.2}x {:>13.2}x",
                metric.name(),
                ss / ours,
                sc / ours
            );
        }
    }
    let d = 384;
    let rows = vecs(256, d);
    let queries = vecs(16, d);
    let mut out = vec![0f32; 16 * 256];
    let tile =
        ns_per_call(|| cross_with(best, Metric::Dot, &queries, black_box(&rows), d, &mut out));
    let per_query = ns_per_call(|| {
        for (qi, q) in queries.chunks_exact(d).enumerate() {
            scan_with(
                best,
                Metric::Dot,
                q,
                black_box(&rows),
                d,
                &mut out[qi * 256..(qi + 1) * 256],
            );
        }
    });
    let pairs = ns_per_call(|| {
        for (qi, q) in queries.chunks_exact(d).enumerate() {
            for (o, r) in out[qi * 256..(qi + 1) * 256]
                .iter_mut()
                .zip(rows.chunks_exact(d))
            {
                *o = distance_with(best, Metric::Dot, q, black_box(r));
            }
        }
    });
    println!(
        "16 queries x 256 rows x 384 dims (dot): 4x3 tile {:.2} GFLOP/s; {:.2}x the per-query scan, {:.2}x pair calls",
        (2 * 16 * 256 * d) as f64 / tile,
        per_query / tile,
        pairs / tile
    );
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    pair(&mut c);
    shapes(&mut c);
    c.final_summary();
    summary();
}
