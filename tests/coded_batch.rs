//! Re-ranked exact batches over `i8` and `i4` rows compare codes with codes (the integer
//! batch tiles, `vpdpbusd`, on `avx512+vnni`), exactly as a single-query search does: so
//! there a batch returns, bit for bit, what the same queries return one at a time, with
//! and without a key filter, on one thread and on several. Other backends keep decoding
//! the rows for the f32 tile (as fast there), so only the recall check applies.

mod common;

use common::{builder, data, read_fvecs};
use vecmatch::{ElementType, Gallery, KeyFilter, Metric, SearchParams};

fn gallery(metric: Metric, et: ElementType, rescore: bool) -> Gallery {
    let mut b = builder(metric);
    b.element_type(et).keep_f32_rows(rescore);
    // (`rescore`: keep the f32 rows beside the codes.)
    b.build_in_memory().unwrap()
}

fn check_batch_equals_single(g: &Gallery, params: &SearchParams<'_>) {
    let (d, q) = read_fvecs(data("query.fvecs")).unwrap();
    let q = &q[..40 * d];
    let batch = g.search_batch(q, params).unwrap();
    assert_eq!(batch.len(), 40);
    for (i, hits) in batch.iter().enumerate() {
        let single = g.search(&q[i * d..(i + 1) * d], params).unwrap();
        assert_eq!(hits.len(), params.k.min(g.len()));
        assert_eq!(
            hits,
            &single,
            "query {i}: batch and single differ ({:?})",
            g.element_type()
        );
    }
}

#[test]
fn coded_batches_equal_single_queries() {
    if vecmatch::hardware_acceleration() != "avx512+vnni" {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "coded batches: backend {} has no integer tiles; skipped",
            vecmatch::hardware_acceleration()
        );
        return;
    }
    let allow: Vec<u64> = (0..5000).filter(|k| k % 3 != 1).collect();
    for et in [ElementType::I8, ElementType::I4] {
        for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
            // Re-ranked on f32 rows: candidates from codes × codes for cosine and dot
            // (from f32 queries for L2), final distances from the same f32 kernel. (Without
            // f32 rows a batch uses the f32 tile, whose summation order differs from the
            // pair kernel's in the last bits: documented in ARCHITECTURE.md.)
            let g = gallery(metric, et, true);
            for threads in [Some(1), Some(2)] {
                for filter in [None, Some(KeyFilter::Allow(&allow))] {
                    let params = SearchParams {
                        k: 10,
                        exact: true,
                        threads,
                        filter,
                        ..SearchParams::default()
                    };
                    check_batch_equals_single(&g, &params);
                }
            }
        }
    }
}

/// The re-ranked compact batch still finds the true neighbours (recall@10 against the
/// shipped ground truth, computed on f32 rows).
#[test]
fn coded_batches_keep_recall() {
    let (d, q) = read_fvecs(data("query.fvecs")).unwrap();
    let (k_gt, gt) = common::read_ivecs(data("gt.ivecs")).unwrap();
    for et in [ElementType::I8, ElementType::I4] {
        let g = gallery(Metric::Dot, et, true);
        let params = SearchParams {
            k: 10,
            exact: true,
            ..SearchParams::default()
        };
        let res = g.search_batch(&q, &params).unwrap();
        let mut found = 0;
        for (i, hits) in res.iter().enumerate() {
            let truth = &gt[i * k_gt..i * k_gt + 10];
            found += hits
                .iter()
                .filter(|h| truth.contains(&(h.key as i32)))
                .count();
        }
        let recall = found as f64 / (10 * res.len()) as f64;
        assert!(recall >= 0.99, "{et:?}: recall@10 {recall}");
        assert_eq!(res.len(), q.len() / d);
    }
}
