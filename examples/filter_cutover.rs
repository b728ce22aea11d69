//! Measures where an allow-list makes an exact scan of the admitted rows faster than the
//! filtered graph search (used to choose `FILTER_EXACT_FRACTION` in `src/search/mod.rs`).
//!
//! `cargo run --release --example filter_cutover -- GALLERY_WITH_GRAPH QUERIES.fvecs [EF]`
//!
//! For each admitted fraction (every `1/f`-th key allowed) it times, per query and on one
//! thread, the graph search forced past the cut-over and the exact scan of the admitted
//! rows (both including the filter resolution), interleaved, best of `ROUNDS` (default
//! 3), and how many of the exact top-10 the graph search found.
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::read_fvecs;
use vecmatch::{Gallery, KeyFilter, SearchParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let g = Gallery::open(&args[1])?;
    let d = g.dims();
    let (qd, queries) = read_fvecs(&args[2])?;
    if qd != d {
        return Err(format!("queries have {qd} dims, the gallery {d}").into());
    }
    let ef: usize = args.get(3).map_or(Ok(64), |s| s.parse())?;
    let rounds: usize = std::env::var("ROUNDS").map_or(Ok(3), |s| s.parse())?;
    let nq = (queries.len() / d) as f64;
    let keys = g.keys().to_vec();
    let plain = SearchParams {
        k: 10,
        ef,
        threads: Some(1),
        ..SearchParams::default()
    };
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let t = Instant::now();
        for q in queries.chunks_exact(d) {
            g.search(q, &plain)?;
        }
        best = best.min(t.elapsed().as_secs_f64() / nq * 1e6);
    }
    println!(
        "{} rows, ef {ef}: no filter {best:.1} us per query",
        g.len()
    );
    println!("admitted  graph_us  exact_us  graph/exact  graph_recall_vs_exact");
    for step in [200usize, 100, 50, 20, 10, 5, 4, 3, 2, 1] {
        let allow: Vec<u64> = keys.iter().step_by(step).copied().collect();
        let graph = SearchParams {
            filter: Some(KeyFilter::Allow(&allow)),
            ..plain
        };
        let exact = SearchParams {
            exact: true,
            ..graph
        };
        let (mut tg, mut te, mut same) = (f64::INFINITY, f64::INFINITY, 0usize);
        for _ in 0..rounds {
            let (mut a_t, mut b_t) = (0f64, 0f64);
            same = 0;
            for q in queries.chunks_exact(d) {
                let t = Instant::now();
                let a = vecmatch::unstable::search_graph_only(&g, q, &graph)?;
                a_t += t.elapsed().as_secs_f64();
                let t = Instant::now();
                let b = g.search(q, &exact)?;
                b_t += t.elapsed().as_secs_f64();
                same += a
                    .iter()
                    .filter(|h| b.iter().any(|x| x.key == h.key))
                    .count();
            }
            tg = tg.min(a_t / nq * 1e6);
            te = te.min(b_t / nq * 1e6);
        }
        println!(
            "{:>7.1}%  {tg:>8.1}  {te:>8.1}  {:>11.2}  {:.4}",
            100.0 / step as f64,
            tg / te,
            same as f64 / (nq * 10.0)
        );
    }
    Ok(())
}
