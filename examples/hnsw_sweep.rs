//! Recall@10 and single-thread, single-query QPS of the HNSW search over an ef sweep, on a
//! gallery file with a graph (a quick loop for tuning the search; `vecmatch bench` is the
//! full measurement).
//!
//! `cargo run --release --example hnsw_sweep -- GALLERY QUERIES.fvecs GT.ivecs [EF,EF,..]`
//! (environment: `ROUNDS`, `MEM=1` for an in-memory gallery, `RERANK=F` for
//! `SearchParams::rerank_factor`).
//!
//! Every ef is timed `ROUNDS` times (default 5), interleaved, and the best round is kept.
//! Besides wall-clock QPS it prints "CPU QPS": queries per second of this thread's own
//! on-CPU time (`/proc/thread-self/schedstat`), which other processes competing for the
//! cores disturb far less than the wall clock (they still share the caches).
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::{read_fvecs, read_ivecs};
use vecmatch::{Gallery, SearchParams};

/// Nanoseconds this thread has spent on a CPU (Linux; 0 elsewhere).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    // MEM=1: a gallery held in memory instead of the mmap.
    let g = if std::env::var_os("MEM").is_some() {
        Gallery::from_bytes(&std::fs::read(&args[1])?)?
    } else {
        Gallery::open(&args[1])?
    };
    let (d, queries) = read_fvecs(&args[2])?;
    let (gk, gt) = read_ivecs(&args[3])?;
    let efs: Vec<usize> = args
        .get(4)
        .map_or("10,16,32,64,128,256", String::as_str)
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let rounds: usize = std::env::var("ROUNDS").map_or(Ok(5), |s| s.parse())?;
    // RERANK=F: re-rank the best k × F rows of a compact gallery with f32 rows (default 4).
    let rerank_factor: usize =
        std::env::var("RERANK").map_or(Ok(vecmatch::DEFAULT_RERANK_FACTOR), |s| s.parse())?;
    let nq = queries.len() / d;
    let mut best = vec![0f64; efs.len()];
    let mut best_cpu = vec![0f64; efs.len()];
    let mut recall = vec![0f64; efs.len()];
    for _ in 0..rounds {
        for (i, &ef) in efs.iter().enumerate() {
            let p = SearchParams {
                k: 10,
                ef,
                threads: Some(1),
                rerank_factor,
                ..SearchParams::default()
            };
            let mut hits = 0usize;
            let t = Instant::now();
            let c = cpu_ns();
            for (qi, qv) in queries.chunks_exact(d).enumerate() {
                let res = g.search(qv, &p)?;
                let truth = &gt[qi * gk..qi * gk + 10];
                hits += res
                    .iter()
                    .filter(|h| truth.contains(&(h.key as i32)))
                    .count();
            }
            best[i] = best[i].max(nq as f64 / t.elapsed().as_secs_f64());
            best_cpu[i] = best_cpu[i].max(nq as f64 * 1e9 / (cpu_ns() - c).max(1) as f64);
            recall[i] = hits as f64 / (nq * 10) as f64;
        }
    }
    println!("ef     recall@10  QPS  CPU-QPS (1 thread, best of {rounds})");
    for (i, ef) in efs.iter().enumerate() {
        println!(
            "{ef:<6} {:.4}     {:.0}  {:.0}",
            recall[i], best[i], best_cpu[i]
        );
    }
    Ok(())
}
