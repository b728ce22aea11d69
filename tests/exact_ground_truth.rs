//! Exact search on the shipped real embeddings (data/minilm-5k: 5,000 × 384 unit-norm
//! MiniLM vectors, 100 queries, exact top-100 by inner product) returns the ground truth.

mod common;

use common::{data, distance64, read_fvecs, read_ivecs};
use vecmatch::{Gallery, GalleryBuilder, Hit, Metric, SearchParams};

struct Set {
    d: usize,
    base: Vec<f32>,
    queries: Vec<f32>,
    /// Ground-truth ids per query (`gt_k` each, best first).
    gt: Vec<i32>,
    gt_k: usize,
}

fn load() -> Set {
    let (d, base) = read_fvecs(data("base.fvecs")).unwrap();
    let (dq, queries) = read_fvecs(data("query.fvecs")).unwrap();
    let (gt_k, gt) = read_ivecs(data("gt.ivecs")).unwrap();
    assert_eq!((d, dq, gt_k), (384, 384, 100));
    assert_eq!((queries.len() / d, gt.len() / gt_k), (100, 100));
    Set {
        d,
        base,
        queries,
        gt,
        gt_k,
    }
}

impl Set {
    fn query(&self, qi: usize) -> &[f32] {
        &self.queries[qi * self.d..(qi + 1) * self.d]
    }

    fn row(&self, id: u64) -> &[f32] {
        let id = id as usize;
        &self.base[id * self.d..(id + 1) * self.d]
    }

    /// Inner product in f64 (the ground truth's similarity).
    fn sim(&self, qi: usize, id: u64) -> f64 {
        1.0 - distance64(Metric::Dot, self.query(qi), self.row(id))
    }

    /// The top-10 of `hits` is the ground truth's, except that two neighbours may swap
    /// where their similarities differ by less than 1e-5 (float ties); every distance is
    /// the exact distance of its key under `metric` within 1e-5.
    fn check_top10(&self, metric: Metric, qi: usize, hits: &[Hit], what: &str) {
        assert_eq!(hits.len(), 10, "{what}: query {qi}");
        let truth = &self.gt[qi * self.gt_k..qi * self.gt_k + 10];
        for (rank, (h, t)) in hits.iter().zip(truth).enumerate() {
            assert!(
                h.key < 5000,
                "{what}: query {qi} rank {rank}: key {}",
                h.key
            );
            let t = u64::try_from(*t).unwrap();
            if h.key != t {
                let diff = (self.sim(qi, h.key) - self.sim(qi, t)).abs();
                assert!(
                    diff < 1e-5,
                    "{what}: query {qi} rank {rank}: {} instead of {t} (similarity diff {diff})",
                    h.key
                );
            }
            let exact = distance64(metric, self.query(qi), self.row(h.key));
            assert!(
                (f64::from(h.distance) - exact).abs() < 1e-5,
                "{what}: query {qi} key {}: distance {} vs exact {exact}",
                h.key,
                h.distance
            );
        }
        let mut keys: Vec<u64> = hits.iter().map(|h| h.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 10, "{what}: query {qi}: duplicate keys");
    }
}

/// Single and batch search use different kernels (pair vs register tile), so distances may
/// differ in the last bits: keys must agree except at such near-ties.
fn same_ranking(a: &[Hit], b: &[Hit], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x.distance - y.distance).abs() <= 1e-6,
            "{what}: {x:?} vs {y:?}"
        );
        if x.key != y.key {
            let other = b.iter().find(|h| h.key == x.key);
            assert!(
                other.is_some_and(|o| (o.distance - x.distance).abs() <= 1e-6),
                "{what}: {a:?} vs {b:?}"
            );
        }
    }
}

#[test]
fn exact_search_matches_ground_truth_for_every_metric() {
    let set = load();
    // On unit vectors cosine, dot and L2 (2 - 2 dot) rank alike.
    for metric in [Metric::Dot, Metric::Cosine, Metric::L2] {
        let g = common::builder(metric).build_in_memory().unwrap();
        let params = SearchParams {
            k: 10,
            threads: Some(1),
            ..SearchParams::default()
        };
        let batch = g.search_batch(&set.queries, &params).unwrap();
        assert_eq!(batch.len(), 100);
        for (qi, from_batch) in batch.iter().enumerate() {
            let hits = g.search(set.query(qi), &params).unwrap();
            set.check_top10(metric, qi, &hits, &format!("{metric} single"));
            set.check_top10(metric, qi, from_batch, &format!("{metric} batch"));
            same_ranking(&hits, from_batch, &format!("{metric}: query {qi}"));
        }
    }
}

/// The shipped rows (keys = ids) plus their negations (keys 1,000,000 + id): 10,000 rows,
/// past the 8,192-row parallel cut-over. A negated row's similarity is minus the original's,
/// and on this data the 10th best similarity of every query exceeds every negated row's
/// (checked below), so the ground truth is unchanged.
fn doubled(metric: Metric) -> Gallery {
    let set = load();
    let mut b = GalleryBuilder::new(set.d, metric).unwrap();
    let ids: Vec<u64> = (0..5000).collect();
    b.add_batch(&ids, &set.base).unwrap();
    let neg: Vec<f32> = set.base.iter().map(|x| -x).collect();
    let neg_ids: Vec<u64> = (0..5000).map(|i| 1_000_000 + i).collect();
    b.add_batch(&neg_ids, &neg).unwrap();
    b.build_in_memory().unwrap()
}

#[test]
fn thread_counts_give_identical_results() {
    let set = load();
    for qi in 0..100 {
        let tenth = set.sim(qi, set.gt[qi * set.gt_k + 9] as u64);
        let best_negated = (0..5000u64)
            .map(|id| -set.sim(qi, id))
            .fold(f64::MIN, f64::max);
        assert!(
            tenth > best_negated + 1e-3,
            "query {qi}: premise of doubled()"
        );
    }
    for metric in [Metric::Dot, Metric::L2] {
        let g = doubled(metric);
        assert_eq!(g.len(), 10_000);
        let run_batch = |threads| {
            g.search_batch(
                &set.queries,
                &SearchParams {
                    k: 10,
                    threads,
                    ..SearchParams::default()
                },
            )
            .unwrap()
        };
        // Batches are bit-identical whatever the split across threads (one kernel per
        // pair), including odd batch sizes that leave partial tiles and chunks.
        let one = run_batch(Some(1));
        assert_eq!(one, run_batch(Some(2)), "{metric}: batch 1 vs 2 threads");
        assert_eq!(one, run_batch(None), "{metric}: batch 1 vs default threads");
        for nq in [1, 7, 17] {
            let part = g
                .search_batch(
                    &set.queries[..nq * set.d],
                    &SearchParams {
                        k: 10,
                        threads: Some(2),
                        ..SearchParams::default()
                    },
                )
                .unwrap();
            assert_eq!(part, one[..nq], "{metric}: batch of {nq}");
        }
        for (qi, hits) in one.iter().enumerate() {
            set.check_top10(metric, qi, hits, &format!("{metric} doubled batch"));
            // Single-query search: identical for every thread count, and the same ranking
            // as the batch.
            let single = |threads| {
                g.search(
                    set.query(qi),
                    &SearchParams {
                        k: 10,
                        threads,
                        ..SearchParams::default()
                    },
                )
                .unwrap()
            };
            let s1 = single(Some(1));
            assert_eq!(s1, single(Some(2)), "{metric}: query {qi}: 1 vs 2 threads");
            assert_eq!(
                s1,
                single(None),
                "{metric}: query {qi}: 1 vs default threads"
            );
            set.check_top10(metric, qi, &s1, &format!("{metric} doubled single"));
            same_ranking(&s1, hits, &format!("{metric}: query {qi} single vs batch"));
        }
    }
}
