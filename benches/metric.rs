//! Distance kernels by dimension: our AVX2+FMA kernels against simsimd and the scalar
//! reference (f64 accumulation, the test oracle), and the multi-row shapes (a scan of
//! 1 query × 256 rows, the 4 × 3 register tile over 16 queries × 64 rows) against their
//! baselines (pair calls, one scan per query). Ends with a ratio table measured in the
//! same run, with the kernels timed in interleaved rounds so that load from other
//! processes hits every side alike.
//!
//! `cargo bench --bench metric` (criterion groups, then the table);
//! `cargo bench --bench metric -- summary-only` (a filter no group matches: the table only).

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use vecmatch::Metric;
use vecmatch::unstable::{Backend, cross_with, distance_simsimd, distance_with, scan_with};

const DIMS: [usize; 5] = [96, 128, 384, 768, 1536];
/// Shapes: dimension, rows per scan, queries × rows per cross (the batch search block is
/// 64 rows, `BATCH_BLOCK_ROWS` in src/flat.rs).
const SD: usize = 384;
const SCAN_ROWS: usize = 256;
const CQ: usize = 16;
const CR: usize = 64;

/// `n * d` deterministic pseudo-random values in [-0.5, 0.5) (xorshift64).
fn vecs(n: usize, d: usize, seed: u64) -> Vec<f32> {
    support::Rng::with_state(seed | 1).vec(n * d)
}

fn pair(c: &mut Criterion) {
    let best = Backend::active();
    for metric in [Metric::Dot, Metric::L2] {
        let mut g = c.benchmark_group(format!("pair/{metric}"));
        for d in DIMS {
            let v = vecs(2, d, 1);
            let (a, b) = v.split_at(d);
            g.throughput(Throughput::Bytes((2 * d * 4) as u64));
            g.bench_with_input(BenchmarkId::new("ours", d), &d, |x, _| {
                x.iter(|| distance_with(best, metric, black_box(a), black_box(b)))
            });
            g.bench_with_input(BenchmarkId::new("simsimd", d), &d, |x, _| {
                x.iter(|| distance_simsimd(metric, black_box(a), black_box(b)))
            });
            g.bench_with_input(BenchmarkId::new("scalar", d), &d, |x, _| {
                x.iter(|| distance_with(Backend::scalar(), metric, black_box(a), black_box(b)))
            });
        }
        g.finish();
    }
}

/// The shapes, as closures shared by the criterion groups and the summary.
struct Shapes {
    rows: Vec<f32>,
    queries: Vec<f32>,
    out: Vec<f32>,
}

impl Shapes {
    fn new() -> Shapes {
        Shapes {
            rows: vecs(SCAN_ROWS, SD, 2),
            queries: vecs(CQ, SD, 3),
            out: vec![0f32; CQ * SCAN_ROWS],
        }
    }

    /// 1 query × `SCAN_ROWS` rows with `scan_with`.
    fn scan(&mut self) {
        scan_with(
            Backend::active(),
            Metric::Dot,
            black_box(&self.queries[..SD]),
            black_box(&self.rows),
            SD,
            &mut self.out[..SCAN_ROWS],
        );
    }

    /// The same with one `distance_with` call per row.
    fn scan_pairs(&mut self) {
        let q = black_box(&self.queries[..SD]);
        for (o, r) in self.out[..SCAN_ROWS]
            .iter_mut()
            .zip(black_box(&self.rows).chunks_exact(SD))
        {
            *o = distance_with(Backend::active(), Metric::Dot, q, r);
        }
    }

    /// `CQ` queries × `CR` rows with the register tile.
    fn cross(&mut self) {
        cross_with(
            Backend::active(),
            Metric::Dot,
            black_box(&self.queries),
            black_box(&self.rows[..CR * SD]),
            SD,
            &mut self.out[..CQ * CR],
        );
    }

    /// The same with one scan per query.
    fn cross_scans(&mut self) {
        let rows = black_box(&self.rows[..CR * SD]);
        for (q, out) in black_box(&self.queries)
            .chunks_exact(SD)
            .zip(self.out.chunks_exact_mut(CR))
        {
            scan_with(Backend::active(), Metric::Dot, q, rows, SD, out);
        }
    }
}

fn shapes(c: &mut Criterion) {
    let mut s = Shapes::new();
    let mut g = c.benchmark_group(format!("shapes/dot/{SD}"));
    g.throughput(Throughput::Elements(SCAN_ROWS as u64));
    g.bench_function(format!("scan 1x{SCAN_ROWS}"), |x| x.iter(|| s.scan()));
    g.bench_function(format!("scan 1x{SCAN_ROWS} (pair calls)"), |x| {
        x.iter(|| s.scan_pairs())
    });
    g.throughput(Throughput::Elements((CQ * CR) as u64));
    g.bench_function(format!("cross {CQ}x{CR} (4x3 tile)"), |x| {
        x.iter(|| s.cross())
    });
    g.bench_function(format!("cross {CQ}x{CR} (scan per query)"), |x| {
        x.iter(|| s.cross_scans())
    });
    g.finish();
}

/// Nanoseconds per call of each closure: `ROUNDS` interleaved rounds of ~10 ms per
/// closure, best round kept. Interleaving makes the ratios robust to load changing
/// during the run (the machine is shared); the best round is the least disturbed one.
fn race<const K: usize>(mut fs: [&mut dyn FnMut(); K]) -> [f64; K] {
    const ROUNDS: usize = 10;
    let mut best = [f64::INFINITY; K];
    for _ in 0..ROUNDS {
        for (f, b) in fs.iter_mut().zip(best.iter_mut()) {
            let mut n = 0u64;
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_millis(10) {
                for _ in 0..16 {
                    f();
                }
                n += 16;
            }
            *b = b.min(t0.elapsed().as_nanos() as f64 / n as f64);
        }
    }
    best
}

/// The ratio table (speed-up = baseline time ÷ our time, same run).
fn summary() {
    let best = Backend::active();
    println!(
        "\nkernel summary ({}), same run, interleaved rounds; speed-up = other time / our time:",
        vecmatch::hardware_acceleration()
    );
    println!(
        "{:>6} {:>6} {:>9} {:>11} {:>10} {:>11} {:>10}",
        "metric", "dims", "ours ns", "simsimd ns", "scalar ns", "vs simsimd", "vs scalar"
    );
    for metric in [Metric::Dot, Metric::L2] {
        for d in DIMS {
            let v = vecs(2, d, 1);
            let (a, b) = v.split_at(d);
            let [ours, ss, sc] = race([
                &mut || {
                    black_box(distance_with(best, metric, black_box(a), black_box(b)));
                },
                &mut || {
                    black_box(distance_simsimd(metric, black_box(a), black_box(b)));
                },
                &mut || {
                    black_box(distance_with(
                        Backend::scalar(),
                        metric,
                        black_box(a),
                        black_box(b),
                    ));
                },
            ]);
            println!(
                "{:>6} {d:>6} {ours:>9.1} {ss:>11.1} {sc:>10.1} {:>10.2}x {:>9.2}x",
                metric.name(),
                ss / ours,
                sc / ours
            );
        }
    }
    let s = std::cell::RefCell::new(Shapes::new());
    let [scan, scan_pairs] = race([&mut || s.borrow_mut().scan(), &mut || {
        s.borrow_mut().scan_pairs()
    }]);
    println!(
        "scan 1x{SCAN_ROWS} rows x {SD} dims (dot): {:.1} ns/row; {:.2}x the pair-call loop",
        scan / SCAN_ROWS as f64,
        scan_pairs / scan
    );
    let [tile, scans] = race([&mut || s.borrow_mut().cross(), &mut || {
        s.borrow_mut().cross_scans()
    }]);
    println!(
        "cross {CQ}x{CR} rows x {SD} dims (dot): 4x3 tile {:.1} GFLOP/s, scan per query {:.1} GFLOP/s; tile {:.2}x",
        (2 * CQ * CR * SD) as f64 / tile,
        (2 * CQ * CR * SD) as f64 / scans,
        scans / tile
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
