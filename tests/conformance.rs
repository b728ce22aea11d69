//! One suite, run against both storages (an mmap-opened file and an in-memory gallery
//! built from the same data), and property tests of exact search against a brute-force
//! `f64` oracle.

mod common;

use common::{Rng, Truth, oracle_hits, scrambled_key};
use proptest::prelude::*;
use vecmatch::{Gallery, GalleryBuilder, Hit, KeyFilter, Metric, SearchParams};

/// Test data: keys with their vectors as given to the builder.
struct Data {
    metric: Metric,
    dims: usize,
    rows: Vec<(u64, Vec<f32>)>,
}

impl Data {
    /// `n` rows of `d` values in [-0.5, 0.5), keys scrambled (0 and `u64::MAX` among them
    /// when `n` allows), and every 7th row an exact copy of the row before it (exact ties).
    fn new(metric: Metric, n: usize, d: usize, seed: u64) -> Data {
        let mut rng = Rng::new(seed);
        let mut rows: Vec<(u64, Vec<f32>)> = Vec::with_capacity(n);
        for r in 0..n {
            let key = match r {
                3 => 0,
                5 => u64::MAX,
                _ => scrambled_key(r as u64),
            };
            let v = if r % 7 == 6 {
                rows[r - 1].1.clone()
            } else {
                (0..d).map(|_| rng.unit()).collect()
            };
            rows.push((key, v));
        }
        Data {
            metric,
            dims: d,
            rows,
        }
    }

    fn builder(&self) -> GalleryBuilder {
        let mut b = GalleryBuilder::new(self.dims, self.metric).unwrap();
        // Half one by one, half in one batch: both ingest paths.
        let half = self.rows.len() / 2;
        for (k, v) in &self.rows[..half] {
            b.add(*k, v).unwrap();
        }
        let keys: Vec<u64> = self.rows[half..].iter().map(|r| r.0).collect();
        let flat: Vec<f32> = self.rows[half..].iter().flat_map(|r| r.1.clone()).collect();
        b.add_batch(&keys, &flat).unwrap();
        b
    }

    /// Keys guaranteed not to be stored.
    fn unknown_keys(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let mut c = 1u64;
        while out.len() < 3 {
            if !self.rows.iter().any(|r| r.0 == c) {
                out.push(c);
            }
            c += 1;
        }
        out
    }

    /// Queries: a perturbed copy of a stored row, an exact copy of one, and a random vector.
    fn queries(&self) -> Vec<Vec<f32>> {
        let mut rng = Rng::new(self.dims as u64 * 1_000_003 + self.rows.len() as u64);
        let random: Vec<f32> = (0..self.dims).map(|_| rng.unit() + 0.05).collect();
        match self.rows.len() {
            0 => vec![random],
            n => {
                let near: Vec<f32> = self.rows[n / 2].1.iter().map(|x| x + 0.01).collect();
                let copy = self.rows[n - 1].1.clone();
                if n > 1000 {
                    // Large galleries: fewer queries keep the brute-force checks quick.
                    vec![near, random]
                } else {
                    vec![near, copy, random]
                }
            }
        }
    }
}

/// Every parameter combination the suite runs, built from the data's keys.
struct Filters {
    allow_few: Vec<u64>,
    allow_many: Vec<u64>,
    deny_few: Vec<u64>,
    deny_many: Vec<u64>,
    only_unknown: Vec<u64>,
    all: Vec<u64>,
}

impl Filters {
    fn of(data: &Data) -> Filters {
        let keys: Vec<u64> = data.rows.iter().map(|r| r.0).collect();
        let unknown = data.unknown_keys();
        // Few keys (resolved one by one through the key index), with unknown keys and a
        // duplicate.
        let mut allow_few: Vec<u64> = keys.iter().copied().step_by(41).take(5).collect();
        allow_few.extend(&unknown);
        allow_few.extend(keys.first());
        // Many keys (resolved by one merge walk), with unknown keys, unsorted; for a large
        // gallery more than the parallel cut-over of admitted rows.
        let mut allow_many: Vec<u64> = keys
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| i % 20 != 0)
            .map(|(_, k)| k)
            .rev()
            .collect();
        allow_many.extend(&unknown);
        let mut deny_few: Vec<u64> = keys.iter().copied().take(3).collect();
        deny_few.extend(&unknown);
        let mut deny_many: Vec<u64> = keys.iter().copied().step_by(2).collect();
        deny_many.extend(&unknown);
        Filters {
            allow_few,
            allow_many,
            deny_few,
            deny_many,
            only_unknown: unknown,
            all: keys,
        }
    }

    fn params(&self, n: usize, radii: &[f32]) -> Vec<SearchParams<'_>> {
        let f = |filter, k| SearchParams {
            k,
            filter: Some(filter),
            ..SearchParams::default()
        };
        let mut v = vec![
            SearchParams::k(1),
            SearchParams::k(10),
            SearchParams::k(n.max(1)),
            SearchParams::k(n + 5),
            SearchParams::k(usize::MAX),
            f(KeyFilter::Allow(&self.allow_few), 4),
            f(KeyFilter::Allow(&self.allow_many), 10),
            f(KeyFilter::Allow(&self.allow_many), usize::MAX),
            f(KeyFilter::Allow(&[]), 10),
            f(KeyFilter::Allow(&self.only_unknown), 10),
            f(KeyFilter::Deny(&self.deny_few), 10),
            f(KeyFilter::Deny(&self.deny_many), 10),
            f(KeyFilter::Deny(&self.all), 10),
            f(KeyFilter::Deny(&[]), 3),
        ];
        // Range search: every row within the radius, and with k, a filter, or both.
        for &r in radii {
            v.push(SearchParams {
                k: usize::MAX,
                max_distance: Some(r),
                ..SearchParams::default()
            });
            v.push(SearchParams {
                k: 3,
                max_distance: Some(r),
                ..SearchParams::default()
            });
            v.push(SearchParams {
                k: usize::MAX,
                max_distance: Some(r),
                filter: Some(KeyFilter::Deny(&self.deny_many)),
                ..SearchParams::default()
            });
            v.push(SearchParams {
                k: usize::MAX,
                max_distance: Some(r),
                filter: Some(KeyFilter::Allow(&self.allow_many)),
                ..SearchParams::default()
            });
        }
        v
    }
}

/// Radii for range search that fall in clear gaps between exact distances (so the answer is
/// exactly determined), plus one below every distance and one above.
fn radii(data: &Data, q: &[f32]) -> Vec<f32> {
    let all = common::oracle(data.metric, &data.rows, q, &SearchParams::k(usize::MAX));
    let mut out = vec![-1.0];
    for frac in [0.1, 0.5] {
        let i = (all.len() as f64 * frac) as usize;
        if let Some(w) = all.get(i..i + 2)
            && w[1].1 - w[0].1 > 1e-3
        {
            out.push(((w[0].1 + w[1].1) / 2.0) as f32);
        }
    }
    out.push(1e30);
    out
}

/// Runs `p` with threads `Some(1)`, `Some(2)` and `None`: the answers must be identical.
fn search_all_threads(g: &Gallery, q: &[f32], p: &SearchParams<'_>) -> Vec<Hit> {
    let mut answers = [Some(1), Some(2), None].map(|threads| {
        g.search(q, &SearchParams { threads, ..*p })
            .unwrap_or_else(|e| panic!("{p:?}: {e}"))
    });
    assert_eq!(answers[0], answers[1], "threads 1 vs 2: {p:?}");
    assert_eq!(answers[0], answers[2], "threads 1 vs default: {p:?}");
    std::mem::take(&mut answers[0])
}

fn batch_all_threads(g: &Gallery, qs: &[f32], p: &SearchParams<'_>) -> Vec<Vec<Hit>> {
    let mut answers = [Some(1), Some(2), None].map(|threads| {
        g.search_batch(qs, &SearchParams { threads, ..*p })
            .unwrap_or_else(|e| panic!("batch {p:?}: {e}"))
    });
    assert_eq!(answers[0], answers[1], "batch threads 1 vs 2: {p:?}");
    assert_eq!(answers[0], answers[2], "batch threads 1 vs default: {p:?}");
    std::mem::take(&mut answers[0])
}

/// The suite every storage must pass. Returns every answer, for comparing storages.
fn suite(g: &Gallery, data: &Data) -> Vec<Vec<Hit>> {
    let (d, n) = (data.dims, data.rows.len());
    assert_eq!((g.dims(), g.len(), g.metric()), (d, n, data.metric));
    assert_eq!(g.is_empty(), n == 0);
    let keys: Vec<u64> = data.rows.iter().map(|r| r.0).collect();
    assert_eq!(g.keys(), keys.as_slice(), "keys() lists keys by row");

    // get / contains: every key, with its stored vector (normalised for cosine).
    for (k, v) in &data.rows {
        assert!(g.contains(*k), "contains({k})");
        let stored = g.get(*k).unwrap_or_else(|| panic!("get({k})"));
        assert_eq!(stored.len(), d);
        if data.metric == Metric::Cosine {
            let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            for (s, x) in stored.iter().zip(v) {
                assert!(
                    (f64::from(*s) - f64::from(*x) / norm).abs() < 1e-6,
                    "get({k})"
                );
            }
        } else {
            assert_eq!(stored, v.as_slice(), "get({k})");
        }
    }
    for k in data.unknown_keys() {
        assert!(!g.contains(k) && g.get(k).is_none(), "unknown key {k}");
    }

    let truth = Truth::new(data.metric, &data.rows);
    let filters = Filters::of(data);
    let queries = data.queries();
    let flat: Vec<f32> = queries.concat();
    let mut answers = Vec::new();
    for (qi, q) in queries.iter().enumerate() {
        for p in &filters.params(n, &radii(data, q)) {
            let got = search_all_threads(g, q, p);
            truth
                .check(q, p, &got)
                .unwrap_or_else(|e| panic!("n {n} d {d} {}: query {qi} {p:?}: {e}", data.metric));
            answers.push(got);
        }
    }
    // Batches: every query at once, checked against the oracle too.
    for p in &filters.params(n, &radii(data, &queries[0])) {
        let got = batch_all_threads(g, &flat, p);
        assert_eq!(got.len(), queries.len());
        for (qi, (q, hits)) in queries.iter().zip(&got).enumerate() {
            truth.check(q, p, hits).unwrap_or_else(|e| {
                panic!("n {n} d {d} {}: batch query {qi} {p:?}: {e}", data.metric)
            });
        }
        answers.extend(got);
    }
    answers
}

#[test]
fn mmap_and_memory_pass_the_same_suite() {
    let dir = tempfile::tempdir().unwrap();
    // Dims 1, 3, 17, 385 exercise the SIMD tails (8- and 32-lane blocks) and the batch
    // tile edges (4 queries x 3 rows); 9,000 rows cross the parallel cut-over (8,192).
    for (n, d) in [
        (0, 3),
        (1, 1),
        (2, 1),
        (37, 3),
        (300, 17),
        (200, 32),
        (100, 385),
        (9_000, 9),
    ] {
        for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
            let data = Data::new(metric, n, d, (n * 31 + d) as u64);
            let b = data.builder();
            let path = dir.path().join(format!("g-{n}-{d}-{metric}.vmg"));
            b.write(&path).unwrap();
            let mapped = Gallery::open(&path).unwrap();
            let memory = b.build_in_memory().unwrap();
            assert_eq!(mapped.info().storage, "mmap");
            assert_eq!(memory.info().storage, "memory");
            let a = suite(&mapped, &data);
            let b = suite(&memory, &data);
            // Same bytes, same code: bit-identical answers.
            assert_eq!(a, b, "mmap vs memory: n {n} d {d} {metric}");
        }
    }
}

#[test]
fn ties_are_broken_by_key_across_thread_splits() {
    // 10,000 copies of one vector (keys scrambled) cross the parallel cut-over: every
    // distance is equal, so the answer is the k smallest keys, whatever the split.
    let (n, d) = (10_000, 5);
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
        let mut b = GalleryBuilder::new(d, metric).unwrap();
        let keys: Vec<u64> = (0..n as u64).map(scrambled_key).collect();
        b.add_batch(&keys, &[0.25; 10_000 * 5]).unwrap();
        let g = b.build_in_memory().unwrap();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        let q = [0.5, -0.5, 0.25, 0.0, 1.0];
        for k in [1, 7, 300] {
            let p = SearchParams::k(k);
            let got = search_all_threads(&g, &q, &p);
            assert_eq!(got.iter().map(|h| h.key).collect::<Vec<_>>(), sorted[..k]);
            assert!(got.iter().all(|h| h.distance == got[0].distance));
            let batch = batch_all_threads(&g, &q.repeat(20), &p);
            for hits in &batch {
                assert_eq!(hits.iter().map(|h| h.key).collect::<Vec<_>>(), sorted[..k]);
            }
            // Deny the first half of the winners: the next keys take their place.
            let deny = &sorted[..k / 2];
            let p = SearchParams {
                filter: Some(KeyFilter::Deny(deny)),
                ..p
            };
            let got = search_all_threads(&g, &q, &p);
            assert_eq!(
                got.iter().map(|h| h.key).collect::<Vec<_>>(),
                sorted[k / 2..k / 2 + k]
            );
        }
    }
}

/// Vectors drawn from a seed; `int` draws small integers, for which every f32 distance is
/// exact (no rounding), so the answer must equal the oracle's bit for bit.
fn random_data(metric: Metric, n: usize, d: usize, seed: u64, int: bool) -> Data {
    let mut rng = Rng::new(seed);
    let value = |rng: &mut Rng| {
        if int {
            (rng.next_u64() % 7) as f32 - 3.0
        } else {
            rng.unit() * 2.0
        }
    };
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(n);
    while rows.len() < n {
        let key = match rng.next_u64() % 8 {
            0 => rng.next_u64() % 16, // small keys, some colliding (skipped)
            _ => rng.next_u64(),
        };
        if !seen.insert(key) {
            continue;
        }
        let mut v: Vec<f32> = (0..d).map(|_| value(&mut rng)).collect();
        if metric == Metric::Cosine && v.iter().all(|x| *x == 0.0) {
            v[0] = 1.0;
        }
        rows.push((key, v));
    }
    Data {
        metric,
        dims: d,
        rows,
    }
}

fn metric_strategy() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::Cosine), Just(Metric::Dot), Just(Metric::L2)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn exact_search_equals_brute_force(
        n in 0usize..300, d in 1usize..40, seed in any::<u64>(), int in any::<bool>(),
        metric in metric_strategy(),
        k in prop_oneof![1usize..20, Just(usize::MAX)],
        // Whole numbers hit exact distances of integer data: the boundary is inclusive.
        radius in prop::option::of(prop_oneof![-0.5f32..3.0, (-2i8..8).prop_map(f32::from)]),
        filter_kind in 0u8..3, threads in prop::option::of(1usize..4),
        nq in 0usize..20,
    ) {
        let data = random_data(metric, n, d, seed, int);
        let g = data.builder().build_in_memory().unwrap();
        let truth = Truth::new(metric, &data.rows);
        let some: Vec<u64> = data.rows.iter().map(|r| r.0).filter(|k| k % 3 == 1).chain([7, 8]).collect();
        let filter = match filter_kind {
            1 => Some(KeyFilter::Allow(&some)),
            2 => Some(KeyFilter::Deny(&some)),
            _ => None,
        };
        let p = SearchParams { k, max_distance: radius, filter, threads, ..SearchParams::default() };
        let mut qs = random_data(metric, nq.max(1), d, !seed, int).rows;
        // Some queries are stored vectors (distance 0 for L2 and cosine).
        for (i, q) in qs.iter_mut().enumerate().skip(1).step_by(3) {
            if let Some(r) = data.rows.get(i * 7 % n.max(1)) { q.1.clone_from(&r.1); }
        }
        let queries: Vec<Vec<f32>> = qs.into_iter().map(|q| q.1).collect();
        let single: Vec<Vec<Hit>> = queries.iter().map(|q| g.search(q, &p).unwrap()).collect();
        let batch = g.search_batch(&queries[..nq].concat(), &p).unwrap();
        prop_assert_eq!(batch.len(), nq);
        for (qi, q) in queries.iter().enumerate() {
            let answers = std::iter::once(&single[qi]).chain(batch.get(qi));
            for got in answers {
                if int && metric != Metric::Cosine {
                    // Small integers: every distance is exact, so is the answer.
                    prop_assert_eq!(got, &oracle_hits(metric, &data.rows, q, &p), "query {}", qi);
                } else {
                    let r = truth.check(q, &p, got);
                    prop_assert!(r.is_ok(), "query {}: {}", qi, r.unwrap_err());
                }
            }
        }
    }
}

#[test]
fn one_gallery_serves_many_threads_at_once() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let data = Data::new(Metric::Dot, 9_000, 12, 5);
    let path = dir.path().join("shared.vmg");
    data.builder().write(&path).unwrap();
    let g = Gallery::open(&path).unwrap();
    shareable(&g);
    let queries = data.queries();
    let p = SearchParams::k(25);
    let want: Vec<Vec<Hit>> = queries
        .iter()
        .map(|q| {
            g.search(
                q,
                &SearchParams {
                    threads: Some(1),
                    ..p
                },
            )
            .unwrap()
        })
        .collect();
    let want_batch = g.search_batch(&queries.concat(), &p).unwrap();
    // Concurrent callers, each asking for its own thread count (pools are shared).
    std::thread::scope(|s| {
        for t in 0..4 {
            let (g, queries, want, want_batch) = (&g, &queries, &want, &want_batch);
            s.spawn(move || {
                let threads = [None, Some(1), Some(2), Some(3)][t];
                for _ in 0..5 {
                    for (q, w) in queries.iter().zip(want) {
                        assert_eq!(&g.search(q, &SearchParams { threads, ..p }).unwrap(), w);
                    }
                    let batch = g
                        .search_batch(&queries.concat(), &SearchParams { threads, ..p })
                        .unwrap();
                    assert_eq!(&batch, want_batch);
                }
            });
        }
    });
}
