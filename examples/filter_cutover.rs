//! Measures where an allow-list makes an exact scan of the admitted rows faster than the
//! filtered graph search (used to choose `FILTER_EXACT_FRACTION`).
//!
//! `cargo run --release --example filter_cutover -- GALLERY_WITH_GRAPH QUERIES.fvecs`
use std::time::Instant;

use vecmatch::{Gallery, KeyFilter, SearchParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let g = if std::env::var("MEM").is_ok() {
        Gallery::from_bytes(&std::fs::read(&args[1])?)?
    } else {
        Gallery::open(&args[1])?
    };
    let bytes = std::fs::read(&args[2])?;
    let d = g.dims();
    let queries: Vec<f32> = bytes
        .chunks_exact(4 * (d + 1))
        .flat_map(|r| {
            r[4..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        })
        .collect();
    let n = g.len() as u64;
    let plain = SearchParams {
        k: 10,
        ef: 64,
        threads: Some(1),
        ..SearchParams::default()
    };
    let t = Instant::now();
    for q in queries.chunks_exact(d) {
        g.search(q, &plain)?;
    }
    println!(
        "no filter: {:.1} us per query",
        t.elapsed().as_secs_f64() / (queries.len() / d) as f64 * 1e6
    );
    println!("fraction  graph_us  exact_us  graph_recall_vs_exact");
    for pct in [0.5f64, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0] {
        let step = (100.0 / pct).round() as u64;
        let allow: Vec<u64> = (0..n).filter(|k| k % step == 0).collect();
        let graph = SearchParams {
            k: 10,
            ef: 64,
            filter: Some(KeyFilter::Allow(&allow)),
            threads: Some(1),
            ..SearchParams::default()
        };
        let exact = SearchParams {
            exact: true,
            ..graph
        };
        let (mut tg, mut te, mut same) = (0f64, 0f64, 0usize);
        for q in queries.chunks_exact(d) {
            let t = Instant::now();
            let a = g.search(q, &graph)?;
            tg += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let b = g.search(q, &exact)?;
            te += t.elapsed().as_secs_f64();
            same += a
                .iter()
                .filter(|h| b.iter().any(|x| x.key == h.key))
                .count();
        }
        let nq = (queries.len() / d) as f64;
        println!(
            "{pct:>7}%  {:>8.1}  {:>8.1}  {:.4}",
            tg / nq * 1e6,
            te / nq * 1e6,
            same as f64 / (nq * 10.0)
        );
    }
    Ok(())
}
