//! A/B of the native builder's construction distances ([`HnswConstruction`]): f32 rows
//! against `i8` codes, built alternately in one process (so both see the same machine
//! load), with build time and recall@10 of each graph.
//!
//! `cargo run --release --example build_construction -- DIR [ROUNDS] [THREADS] [METRIC] [MODES] [ROWS]`
//!
//! `DIR` holds `base.fvecs` and `query.fvecs`; the ground truth is recomputed exactly
//! under `METRIC` (cosine, dot or l2). Defaults: 3 rounds, 2 threads, cosine, modes
//! `f32,i8`, all rows. Each build prints one line (mode, seconds, vectors/s, recall@10 at
//! ef 16 / 32 / 64, and the CPU seconds of the build, which other processes on a shared
//! machine disturb less); the end prints, per mode, the minimum times over the rounds, the ratio
//! to the first mode's and the mean recall. The seed changes per round (`0x5EED + round`),
//! the same for every mode.
use std::time::Instant;

use vecmatch::{GalleryBuilder, HnswConstruction, HnswParams, Metric, SearchParams};

fn fvecs(path: &str) -> Result<(usize, Vec<f32>), Box<dyn std::error::Error>> {
    let b = std::fs::read(path)?;
    let d = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let v = b
        .chunks_exact(4 * (d + 1))
        .flat_map(|r| {
            r[4..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        })
        .collect();
    Ok((d, v))
}

const EFS: [usize; 3] = [16, 32, 64];

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat` (Linux; 0
/// elsewhere). Less sensitive than wall time to other processes on a shared machine.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are 14 and 15.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .ok_or("usage: build_construction DIR [ROUNDS] [THREADS] [METRIC] [MODES] [ROWS]")?;
    let rounds: usize = args.get(2).map_or(Ok(3), |s| s.parse())?;
    let threads: usize = args.get(3).map_or(Ok(2), |s| s.parse())?;
    let metric: Metric = args.get(4).map_or("cosine", String::as_str).parse()?;
    let modes = args
        .get(5)
        .map_or("f32,i8", String::as_str)
        .split(',')
        .map(HnswConstruction::from_name)
        .collect::<Result<Vec<_>, _>>()?;
    let (d, base) = fvecs(&format!("{dir}/base.fvecs"))?;
    let (_, queries) = fvecs(&format!("{dir}/query.fvecs"))?;
    let n: usize = args
        .get(6)
        .map_or(Ok(base.len() / d), |s| s.parse())?
        .min(base.len() / d);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut b = GalleryBuilder::new(d, metric)?;
    let keys: Vec<u64> = (0..n as u64).collect();
    b.add_batch(&keys, &base[..n * d])?;
    let exact = b.build_in_memory()?;
    let search = |ef: usize| SearchParams {
        k: 10,
        ef,
        threads: Some(threads),
        ..SearchParams::default()
    };
    let truth = exact.search_batch(&queries, &search(0))?;
    println!(
        "{n} rows × {d}, {} queries, metric {}, {threads} threads, kernels {}",
        truth.len(),
        metric.name(),
        vecmatch::hardware_acceleration()
    );
    // Per mode: build seconds of each round, recall sums per ef.
    let mut times = vec![Vec::new(); modes.len()];
    let mut cpus = vec![Vec::new(); modes.len()];
    let mut recalls = vec![[0f64; EFS.len()]; modes.len()];
    for round in 0..rounds {
        for (i, &mode) in modes.iter().enumerate() {
            b.hnsw(HnswParams {
                construction: mode,
                seed: 0x5EED + round as u64,
                ..HnswParams::default()
            })?;
            let (t0, c0) = (Instant::now(), cpu_seconds());
            let g = pool.install(|| b.build_in_memory())?;
            let s = t0.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - c0;
            times[i].push(s);
            cpus[i].push(cpu);
            let rep = g.graph_report()?.unwrap_or_default();
            let mut line = format!(
                "round {round} {:>4} ({:>3}) {s:>7.2} s (cpu {cpu:>7.2} s) {:>7.0} vec/s repaired {} recall",
                mode.name(),
                mode.resolve(metric, d).name(),
                n as f64 / s,
                rep.repaired
            );
            for (j, &ef) in EFS.iter().enumerate() {
                let got = g.search_batch(&queries, &search(ef))?;
                let hit: usize = got
                    .iter()
                    .zip(&truth)
                    .map(|(h, t)| {
                        h.iter()
                            .filter(|x| t.iter().any(|y| y.key == x.key))
                            .count()
                    })
                    .sum();
                let r = hit as f64 / (10 * truth.len()) as f64;
                recalls[i][j] += r;
                line += &format!(" {r:.4}");
            }
            println!("{line}");
        }
    }
    let min = |t: &[f64]| t.iter().copied().fold(f64::INFINITY, f64::min);
    let first = min(&times[0]);
    for (i, mode) in modes.iter().enumerate() {
        let m = min(&times[i]);
        let c = min(&cpus[i]);
        let mean: Vec<String> = recalls[i]
            .iter()
            .map(|r| format!("{:.4}", r / rounds as f64))
            .collect();
        println!(
            "{:>4}: min {m:.2} s ({:.0} vec/s, min cpu {c:.2} s), {:.3}× the speed of {}; mean recall@10 at ef {EFS:?}: {}",
            mode.name(),
            n as f64 / m,
            first / m,
            modes[0].name(),
            mean.join(" / ")
        );
    }
    Ok(())
}
