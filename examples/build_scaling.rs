//! HNSW build time and recall@10 for each builder over slices of a dataset: the scaling
//! study of the native builder (expected about n log n) and a quick native-vs-hnsw_rs
//! comparison while developing. `vecmatch bench` with `../shared/bench` is the measurement
//! against the peers.
//!
//! `cargo run --release --example build_scaling -- DIR [ROWS,..] [BUILDERS] [THREADS] [EF,..]`
//!
//! `DIR` holds `base.fvecs` and `query.fvecs` (ground truth is recomputed exactly for
//! every slice, metric dot on unit vectors). Defaults: all rows, `native,hnsw_rs`, 2
//! threads, ef `10,16,32,64,128,256`. Each build prints one line: rows, builder, seconds,
//! vectors/s, seconds / (n · log2 n) in ns, mean layer-0 degree, repaired nodes, the peak
//! RSS growth while building (the graph, then the gallery's final buffer: the builder
//! already holds the vectors) against vectors + graph, and recall@10 at each ef.
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::read_fvecs;
use vecmatch::{GalleryBuilder, HnswAlgorithm, HnswParams, Metric, SearchParams};

/// A `/proc/self/status` field in bytes (Linux; 0 elsewhere).
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn list<T: std::str::FromStr>(s: Option<&String>, default: &str) -> Vec<T> {
    s.map_or(default, String::as_str)
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .ok_or("usage: build_scaling DIR [ROWS,..] [BUILDERS] [THREADS] [EF,..]")?;
    let (d, base) = read_fvecs(format!("{dir}/base.fvecs"))?;
    let (_, queries) = read_fvecs(format!("{dir}/query.fvecs"))?;
    let all = base.len() / d;
    let rows: Vec<usize> = list(args.get(2), &all.to_string());
    let builders: Vec<String> = list(args.get(3), "native,hnsw_rs");
    let threads: usize = args.get(4).and_then(|t| t.parse().ok()).unwrap_or(2);
    let efs: Vec<usize> = list(args.get(5), "10,16,32,64,128,256");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    println!("threads {threads}; recall@10 at ef {efs:?}");
    for &n in &rows {
        let n = n.min(all);
        let mut b = GalleryBuilder::new(d, Metric::Dot)?;
        let keys: Vec<u64> = (0..n as u64).collect();
        b.add_batch(&keys, &base[..n * d])?;
        let exact = b.build_in_memory()?;
        let truth = exact.search_batch(
            &queries,
            &SearchParams {
                k: 10,
                threads: Some(threads),
                ..SearchParams::default()
            },
        )?;
        for name in &builders {
            b.hnsw(HnswParams {
                algorithm: HnswAlgorithm::from_name(name)?,
                seed: std::env::var("SEED")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0x5EED),
                ..HnswParams::default()
            })?;
            let rss0 = status_bytes("VmRSS:");
            // Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let t0 = Instant::now();
            let g = pool.install(|| b.build_in_memory())?;
            let s = t0.elapsed().as_secs_f64();
            let peak = status_bytes("VmHWM:").saturating_sub(rss0) as f64 / 1048576.0;
            let info = g.info();
            let size = |name: &str| {
                info.sections
                    .iter()
                    .find(|x| x.name == name)
                    .map_or(0, |x| x.length) as f64
                    / 1048576.0
            };
            let (vecs, graph) = (size("VECTORS"), size("GRAPH"));
            let rep = g.graph_report()?.unwrap_or_default();
            let mut line = format!(
                "{n:>8} {name:>8} {s:>8.2} s {:>8.0} vec/s {:>6.1} ns/(n log2 n) deg0 {:.1} repaired {} peak ΔRSS {peak:.1} MiB = {:.2} × (vectors {vecs:.1} + graph {graph:.1}) recall",
                n as f64 / s,
                s * 1e9 / (n as f64 * (n as f64).log2()),
                rep.edges0 as f64 / n as f64,
                rep.repaired,
                peak / (vecs + graph)
            );
            for &ef in &efs {
                let p = SearchParams {
                    k: 10,
                    ef,
                    threads: Some(threads),
                    ..SearchParams::default()
                };
                let got = g.search_batch(&queries, &p)?;
                let hit: usize = got
                    .iter()
                    .zip(&truth)
                    .map(|(h, t)| {
                        h.iter()
                            .filter(|x| t.iter().any(|y| y.key == x.key))
                            .count()
                    })
                    .sum();
                line += &format!(" {:.4}", hit as f64 / (10 * truth.len()) as f64);
            }
            println!("{line}");
        }
    }
    Ok(())
}
