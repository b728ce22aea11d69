//! One suite, run against both storages (mmap file and in-memory bytes), and a property
//! test of exact search against a brute-force oracle.

mod common;

use proptest::prelude::*;
use vecmatch::{Gallery, GalleryBuilder, Hit, KeyFilter, Metric, SearchParams};

/// Brute force in f64: every admitted row, sorted by distance then key.
fn oracle(metric: Metric, rows: &[(u64, Vec<f32>)], q: &[f32], p: &SearchParams<'_>) -> Vec<Hit> {
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let mut hits: Vec<Hit> = rows
        .iter()
        .filter(|(k, _)| match p.filter {
            Some(KeyFilter::Allow(a)) => a.contains(k),
            Some(KeyFilter::Deny(d)) => !d.contains(k),
            None => true,
        })
        .map(|(k, v)| {
            let dot: f64 = v
                .iter()
                .zip(q)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            let d = match metric {
                Metric::Cosine => 1.0 - dot / (norm(v) * norm(q)),
                Metric::Dot => 1.0 - dot,
                Metric::L2 => v
                    .iter()
                    .zip(q)
                    .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                    .sum(),
            };
            Hit {
                key: *k,
                distance: d as f32,
            }
        })
        .filter(|h| p.max_distance.is_none_or(|m| h.distance <= m))
        .collect();
    hits.sort_by(Hit::cmp_rank);
    hits.truncate(p.k);
    hits
}

/// Same distances in the same order within `tol` (relative above 1.0; keys may differ
/// only at float ties, which `keys_are_right` checks separately).
fn agree(got: &[Hit], want: &[Hit], tol: f32) -> Result<(), String> {
    if got.len() != want.len() {
        // A hit right at max_distance or the k-th place may fall either side of a tie.
        let (short, long) = if got.len() < want.len() {
            (got, want)
        } else {
            (want, got)
        };
        if long.len() - short.len() > 1 {
            return Err(format!("lengths {} vs {}", got.len(), want.len()));
        }
    }
    for (g, w) in got.iter().zip(want) {
        if (g.distance - w.distance).abs() > tol * w.distance.abs().max(1.0) {
            return Err(format!("{g:?} vs {w:?}"));
        }
    }
    Ok(())
}

/// Every returned key is admitted by the filter and its distance is the oracle's distance
/// for that key.
fn keys_are_right(
    metric: Metric,
    rows: &[(u64, Vec<f32>)],
    q: &[f32],
    p: &SearchParams<'_>,
    got: &[Hit],
) -> Result<(), String> {
    let all = oracle(
        metric,
        rows,
        q,
        &SearchParams {
            k: usize::MAX,
            max_distance: None,
            ..*p
        },
    );
    for h in got {
        let Some(w) = all.iter().find(|w| w.key == h.key) else {
            return Err(format!("key {} is not admitted", h.key));
        };
        if (w.distance - h.distance).abs() > 1e-4 * w.distance.abs().max(1.0) {
            return Err(format!(
                "key {}: distance {} vs {}",
                h.key, h.distance, w.distance
            ));
        }
    }
    let mut keys: Vec<u64> = got.iter().map(|h| h.key).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() != got.len() {
        return Err("duplicate keys".into());
    }
    Ok(())
}

/// The suite every storage must pass.
fn suite(g: &Gallery, rows: &[(u64, Vec<f32>)]) {
    let d = g.dims();
    assert_eq!(g.len(), rows.len());
    for (k, v) in rows.iter().take(20) {
        assert!(g.contains(*k));
        assert_eq!(g.get(*k).unwrap().len(), d);
        let _ = v;
    }
    assert!(!g.contains(1));
    assert_eq!(g.keys().len(), rows.len());
    let q: Vec<f32> = (0..d)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0 + 0.01)
        .collect();
    let allow: Vec<u64> = rows
        .iter()
        .step_by(3)
        .map(|r| r.0)
        .chain([1, 2, u64::MAX])
        .collect();
    let deny: Vec<u64> = rows.iter().take(rows.len() / 2).map(|r| r.0).collect();
    let params = [
        SearchParams::k(1),
        SearchParams::k(10),
        SearchParams::k(rows.len() + 5),
        SearchParams {
            k: usize::MAX,
            max_distance: Some(0.9),
            ..SearchParams::default()
        },
        SearchParams {
            k: 7,
            filter: Some(KeyFilter::Allow(&allow)),
            ..SearchParams::default()
        },
        SearchParams {
            k: 7,
            filter: Some(KeyFilter::Deny(&deny)),
            threads: Some(2),
            ..SearchParams::default()
        },
        SearchParams {
            k: 4,
            max_distance: Some(1.0),
            filter: Some(KeyFilter::Deny(&deny)),
            ..SearchParams::default()
        },
    ];
    for p in &params {
        let got = g.search(&q, p).unwrap();
        let want = oracle(g.metric(), rows, &q, p);
        agree(&got, &want, 1e-4).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        keys_are_right(g.metric(), rows, &q, p, &got).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert!(
            got.windows(2).all(|w| w[0].cmp_rank(&w[1]).is_le()),
            "sorted"
        );
        let batch = g.search_batch(&[q.clone(), q.clone()].concat(), p).unwrap();
        assert_eq!(batch.len(), 2);
        for b in &batch {
            agree(b, &got, 1e-5).unwrap_or_else(|e| panic!("batch {p:?}: {e}"));
        }
    }
}

fn rows_of(n: usize, d: usize, seed: u64) -> Vec<(u64, Vec<f32>)> {
    let mut s = seed | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    (0..n)
        .map(|r| (10_000 + 17 * r as u64, (0..d).map(|_| next()).collect()))
        .collect()
}

fn build(metric: Metric, rows: &[(u64, Vec<f32>)], d: usize) -> GalleryBuilder {
    let mut b = GalleryBuilder::new(d, metric).unwrap();
    for (k, v) in rows {
        b.add(*k, v).unwrap();
    }
    b
}

#[test]
fn mmap_and_memory_pass_the_same_suite() {
    let dir = tempfile::tempdir().unwrap();
    // Odd dims and sizes exercise every SIMD tail and tile edge; 9,000 rows cross the
    // parallel cut-over.
    for (n, d) in [(0, 3), (1, 1), (37, 3), (300, 17), (513, 385), (9_000, 24)] {
        for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
            let rows = rows_of(n, d, (n * 31 + d) as u64);
            let b = build(metric, &rows, d);
            let path = dir.path().join(format!("g-{n}-{d}-{metric}.vmg"));
            b.write(&path).unwrap();
            let mapped = Gallery::open(&path).unwrap();
            let memory = b.build_in_memory().unwrap();
            suite(&mapped, &rows);
            suite(&memory, &rows);
            let q: Vec<f32> = (0..d).map(|i| i as f32 + 1.0).collect();
            assert_eq!(
                mapped.search(&q, &SearchParams::k(5)).unwrap(),
                memory.search(&q, &SearchParams::k(5)).unwrap()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn exact_search_equals_brute_force(
        n in 0usize..300, d in 1usize..40, seed in any::<u64>(),
        metric in prop_oneof![Just(Metric::Cosine), Just(Metric::Dot), Just(Metric::L2)],
        k in 1usize..20, radius in prop::option::of(0.0f32..2.0),
        filter_kind in 0u8..3, threads in prop::option::of(1usize..3),
    ) {
        let rows = rows_of(n, d, seed);
        let g = build(metric, &rows, d).build_in_memory().unwrap();
        let keys: Vec<u64> = rows.iter().map(|r| r.0).filter(|k| k % 3 == 1).collect();
        let filter = match filter_kind { 1 => Some(KeyFilter::Allow(&keys)), 2 => Some(KeyFilter::Deny(&keys)), _ => None };
        let p = SearchParams { k, max_distance: radius, filter, threads, ..SearchParams::default() };
        let q: Vec<f32> = rows_of(1, d, seed ^ 0xABCD)[0].1.iter().map(|x| x + 0.01).collect();
        let got = g.search(&q, &p).unwrap();
        let want = oracle(metric, &rows, &q, &p);
        prop_assert!(agree(&got, &want, 1e-4).is_ok(), "{:?}", agree(&got, &want, 1e-4));
        prop_assert!(keys_are_right(metric, &rows, &q, &p, &got).is_ok(), "{:?}", keys_are_right(metric, &rows, &q, &p, &got));
    }
}
