//! Exact search on the shipped real embeddings returns the exact ground truth.

mod common;

use common::{builder, data, read_fvecs, read_ivecs};
use vecmatch::{Metric, SearchParams};

/// Single and batch search use different kernels (1×4 rows vs a 4×3 register tile), so
/// distances may differ in the last bits; keys must agree.
fn same_hits(a: &[vecmatch::Hit], b: &[vecmatch::Hit], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.key, y.key, "{what}: {a:?} vs {b:?}");
        assert!(
            (x.distance - y.distance).abs() <= 1e-6,
            "{what}: {x:?} vs {y:?}"
        );
    }
}

#[test]
fn exact_search_matches_ground_truth_for_every_metric() {
    let (d, queries) = read_fvecs(&data("query.fvecs"));
    let (gk, gt) = read_ivecs(&data("gt.ivecs"));
    let (_, base) = read_fvecs(&data("base.fvecs"));
    let sim = |q: &[f32], row: usize| -> f64 {
        q.iter()
            .zip(&base[row * d..(row + 1) * d])
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    };
    for metric in [Metric::Dot, Metric::Cosine, Metric::L2] {
        let g = builder(metric).build_in_memory().unwrap();
        let params = SearchParams {
            k: 10,
            threads: Some(1),
            ..SearchParams::default()
        };
        let batch = g.search_batch(&queries, &params).unwrap();
        for (qi, q) in queries.chunks_exact(d).enumerate() {
            let hits = g.search(q, &params).unwrap();
            same_hits(&hits, &batch[qi], &format!("{metric}: query {qi}"));
            let truth = &gt[qi * gk..qi * gk + 10];
            for (rank, (h, t)) in hits.iter().zip(truth).enumerate() {
                if h.key != *t as u64 {
                    // Only a float tie may swap neighbours.
                    let diff = (sim(q, h.key as usize) - sim(q, *t as usize)).abs();
                    assert!(
                        diff < 1e-5,
                        "{metric}: query {qi} rank {rank}: {} vs {t} (diff {diff})",
                        h.key
                    );
                }
            }
        }
    }
}

#[test]
fn thread_counts_agree() {
    let (_, queries) = read_fvecs(&data("query.fvecs"));
    let g = builder(Metric::Dot).build_in_memory().unwrap();
    let q = &queries[..384 * 20];
    let run = |threads| {
        g.search_batch(
            q,
            &SearchParams {
                k: 10,
                threads,
                ..SearchParams::default()
            },
        )
        .unwrap()
    };
    // Batches are bit-identical whatever the split across threads (one kernel per pair).
    let one = run(Some(1));
    assert_eq!(one, run(Some(2)));
    assert_eq!(one, run(None));
    assert_eq!(one[..7], run(Some(2))[..7]);
    let odd = g
        .search_batch(
            &q[..384 * 7],
            &SearchParams {
                k: 10,
                threads: Some(2),
                ..SearchParams::default()
            },
        )
        .unwrap();
    assert_eq!(odd, one[..7]);
    for (i, qq) in q.chunks_exact(384).enumerate() {
        let s = |threads| {
            g.search(
                qq,
                &SearchParams {
                    k: 10,
                    threads,
                    ..SearchParams::default()
                },
            )
            .unwrap()
        };
        same_hits(&s(Some(2)), &one[i], "single 2 threads");
        same_hits(&s(None), &one[i], "single default threads");
    }
}
