//! The mutable collection through the public API: upserts, deletes, lookups and searches
//! against a brute-force model of the live rows, before and after commits; deleted bytes
//! gone from the committed file; auto-commit thresholds; leftover temporary files.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Rng, Truth, f32_bytes, small_file};
use vecmatch::{
    Collection, CollectionOptions, Error, Gallery, GalleryBuilder, HnswParams, KeyFilter, Metric,
    SearchParams,
};

/// The live rows as the model sees them.
type Model = BTreeMap<u64, Vec<f32>>;

fn rows_of(m: &Model) -> Vec<(u64, Vec<f32>)> {
    m.iter().map(|(k, v)| (*k, v.clone())).collect()
}

/// Checks lookups and exact searches (plain, allow, deny, range, batch) against the model.
fn check_against(c: &Collection, model: &Model, metric: Metric, rng: &mut Rng, what: &str) {
    assert_eq!(c.len(), model.len(), "{what}: len");
    let rows = rows_of(model);
    let truth = Truth::new(metric, &rows);
    let d = c.dims();
    for (k, v) in model.iter().take(20) {
        assert!(c.contains(*k), "{what}: contains {k}");
        let got = c.get(*k).unwrap();
        let mut want = v.clone();
        if metric == Metric::Cosine {
            let n = want.iter().map(|x| x * x).sum::<f32>().sqrt();
            want.iter_mut().for_each(|x| *x /= n);
        }
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{what}: get {k}");
        }
    }
    let keys: Vec<u64> = model.keys().copied().collect();
    let some: Vec<u64> = keys.iter().copied().step_by(3).collect();
    let mut queries = Vec::new();
    for i in 0..6 {
        let q = rng.vec(d);
        let filter = match i % 3 {
            0 => None,
            1 => Some(KeyFilter::Allow(&some)),
            _ => Some(KeyFilter::Deny(&some)),
        };
        let p = SearchParams {
            k: 7,
            exact: true,
            filter,
            threads: Some(1 + i % 2),
            ..SearchParams::default()
        };
        let got = c.search(&q, &p).unwrap();
        truth
            .check(&q, &p, &got)
            .unwrap_or_else(|e| panic!("{what}: query {i}: {e}"));
        let p = SearchParams {
            k: usize::MAX,
            max_distance: Some(if metric == Metric::L2 { 0.5 } else { 0.9 }),
            ..p
        };
        truth
            .check(&q, &p, &c.search(&q, &p).unwrap())
            .unwrap_or_else(|e| panic!("{what}: range query {i}: {e}"));
        queries.extend(q);
    }
    let p = SearchParams {
        k: 5,
        exact: true,
        ..SearchParams::default()
    };
    let batch = c.search_batch(&queries, &p).unwrap();
    for (q, got) in queries.chunks(d).zip(&batch) {
        truth
            .check(q, &p, got)
            .unwrap_or_else(|e| panic!("{what}: batch: {e}"));
    }
}

/// Random upserts and deletes (of committed keys, pending keys and unknown keys) with
/// commits in between, checked against the model after every step.
fn random_mutations(metric: Metric, graph: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = 12;
    let (path, keys) = small_file(dir.path(), 300, d, metric);
    if graph {
        let mut b = GalleryBuilder::new(d, metric).unwrap();
        let g = Gallery::open(&path).unwrap();
        for k in &keys {
            b.add(*k, &g.get(*k).unwrap()).unwrap();
        }
        b.hnsw(HnswParams {
            m: 8,
            ef_construction: 64,
            ..HnswParams::default()
        })
        .unwrap();
        b.write(&path).unwrap();
    }
    let g = Gallery::open(&path).unwrap();
    let mut model: Model = keys
        .iter()
        .map(|k| (*k, g.get(*k).unwrap().to_vec()))
        .collect();
    drop(g);
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    let mut rng = Rng::new(metric as u64 + 10 * graph as u64);
    for step in 0..12 {
        for _ in 0..40 {
            let r = rng.next_u64() % 10;
            let existing = model
                .keys()
                .nth((rng.next_u64() as usize) % model.len().max(1));
            match (r, existing.copied()) {
                (0..=3, _) => {
                    let k = 1_000_000 + rng.next_u64() % 400;
                    let v = rng.vec(d);
                    let replaced = c.add(k, &v).unwrap();
                    assert_eq!(replaced, model.insert(k, v).is_some());
                }
                (4..=5, Some(k)) => {
                    let v = rng.vec(d);
                    assert!(c.add(k, &v).unwrap(), "upsert of live key {k}");
                    model.insert(k, v);
                }
                (6..=8, Some(k)) => {
                    assert!(c.delete(k).unwrap());
                    assert!(!c.contains(k));
                    model.remove(&k);
                }
                _ => {
                    let k = 5_000_000 + rng.next_u64() % 100;
                    assert!(!c.delete(k).unwrap(), "unknown key");
                }
            }
        }
        // A batch with a repeated key: the last vector wins.
        let k = 2_000_000 + step;
        let (a, b) = (rng.vec(d), rng.vec(d));
        c.add_batch(&[k, k], &[a, b.clone()].concat()).unwrap();
        model.insert(k, b);
        let what = format!("{metric} graph={graph} step {step}");
        check_against(&c, &model, metric, &mut rng, &what);
        if step % 4 == 3 {
            let report = c.commit().unwrap();
            assert!(report.written);
            assert_eq!(report.rows, model.len());
            assert_eq!(report.graph, graph);
            let s = c.stats();
            assert_eq!((s.pending_rows, s.deleted_committed), (0, 0));
            check_against(&c, &model, metric, &mut rng, &format!("{what} committed"));
            // The file itself holds exactly the model.
            let g = Gallery::open_with(
                &path,
                vecmatch::OpenOptions {
                    verify_checksums: true,
                },
            )
            .unwrap();
            let mut stored: Vec<u64> = g.keys().to_vec();
            stored.sort_unstable();
            assert_eq!(stored, model.keys().copied().collect::<Vec<_>>());
            assert_eq!(g.has_graph(), graph);
        }
    }
}

#[test]
fn random_mutations_match_the_model_cosine() {
    random_mutations(Metric::Cosine, false);
}

#[test]
fn random_mutations_match_the_model_l2_with_graph() {
    random_mutations(Metric::L2, true);
}

#[test]
fn random_mutations_match_the_model_dot() {
    random_mutations(Metric::Dot, false);
}

/// With a graph, deleted and replaced committed rows are never returned by the
/// approximate search either, and recall stays high.
#[test]
fn graph_search_skips_deleted_rows() {
    let mut b = common::builder(Metric::Cosine);
    b.hnsw(HnswParams::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    b.write(&path).unwrap();
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    let (d, queries) = common::read_fvecs(common::data("query.fvecs")).unwrap();
    // Delete the exact top-3 of every query: none may come back.
    let mut deleted = std::collections::HashSet::new();
    for q in queries.chunks(d) {
        let exact = SearchParams {
            k: 3,
            exact: true,
            ..SearchParams::default()
        };
        for h in c.search(q, &exact).unwrap() {
            c.delete(h.key).unwrap();
            deleted.insert(h.key);
        }
    }
    let (mut found, mut total) = (0, 0);
    for q in queries.chunks(d) {
        let want = c
            .search(
                q,
                &SearchParams {
                    k: 10,
                    exact: true,
                    ..SearchParams::default()
                },
            )
            .unwrap();
        let got = c.search(q, &SearchParams::k(10)).unwrap();
        assert!(got.iter().all(|h| !deleted.contains(&h.key)));
        total += want.len();
        found += got
            .iter()
            .filter(|h| want.iter().any(|w| w.key == h.key))
            .count();
    }
    let recall = found as f64 / total as f64;
    assert!(recall > 0.95, "recall@10 {recall}");
}

/// Finds `needle` anywhere in `haystack`.
fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn deleted_vectors_are_physically_gone_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let d = 16;
    let (path, keys) = small_file(dir.path(), 200, d, Metric::L2);
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    let victim = keys[77];
    let victim_bytes: Vec<u8> = f32_bytes(&c.get(victim).unwrap());
    let fresh: Vec<f32> = (0..d).map(|i| 1000.0 + i as f32 * 0.125).collect();
    c.add(42, &fresh).unwrap();
    c.commit().unwrap();
    let fresh_bytes = f32_bytes(&fresh);
    let raw = std::fs::read(&path).unwrap();
    assert!(contains_bytes(&raw, &victim_bytes));
    assert!(
        contains_bytes(&raw, &fresh_bytes),
        "the added row is written"
    );
    // Delete one committed row and the freshly committed row, replace another.
    c.delete(victim).unwrap();
    c.delete(42).unwrap();
    let replaced = keys[5];
    let old_bytes = f32_bytes(&c.get(replaced).unwrap());
    c.add(replaced, &vec![7.5; d]).unwrap();
    // Still in the file until the commit.
    assert!(contains_bytes(
        &std::fs::read(&path).unwrap(),
        &victim_bytes
    ));
    let report = c.commit().unwrap();
    assert_eq!((report.removed, report.added, report.rows), (3, 1, 199));
    let raw = std::fs::read(&path).unwrap();
    for (what, b) in [
        ("deleted", &victim_bytes),
        ("deleted pending", &fresh_bytes),
        ("replaced", &old_bytes),
    ] {
        assert!(!contains_bytes(&raw, b), "{what} vector still in the file");
    }
    assert!(contains_bytes(&raw, &f32_bytes(&[7.5; 16])));
    assert!(!contains_bytes(&raw, &victim.to_le_bytes()), "deleted key");
}

#[test]
fn create_add_commit_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.vmg");
    let c = Collection::create(&path, 4, Metric::Cosine, CollectionOptions::manual()).unwrap();
    assert!(c.is_empty());
    assert!(
        c.search(&[1.0, 0.0, 0.0, 0.0], &SearchParams::k(3))
            .unwrap()
            .is_empty()
    );
    c.add_batch(
        &[1, 2, 3],
        &[1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0.],
    )
    .unwrap();
    assert_eq!(c.len(), 3);
    c.commit().unwrap();
    drop(c);
    let c = Collection::open(&path).unwrap();
    assert_eq!(c.len(), 3);
    let hits = c
        .search(&[0.1, 1.0, 0.0, 0.0], &SearchParams::k(1))
        .unwrap();
    assert_eq!(hits[0].key, 2);
    assert!(matches!(
        Collection::create(&path, 4, Metric::Cosine, CollectionOptions::default()),
        Err(Error::InvalidArgument(_))
    ));
    // Nothing pending: commit writes nothing, compact rewrites.
    assert!(!c.commit().unwrap().written);
    assert!(c.compact().unwrap().written);
}

#[test]
fn bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.vmg");
    let c = Collection::create(&path, 3, Metric::Cosine, CollectionOptions::manual()).unwrap();
    c.add(1, &[1.0, 2.0, 3.0]).unwrap();
    let before = c.stats();
    assert!(matches!(
        c.add(2, &[1.0, 2.0]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        c.add(2, &[1.0, f32::NAN, 3.0]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(c.add(2, &[0.0; 3]), Err(Error::ZeroVector { .. })));
    // All or nothing: a bad second row keeps the first out too.
    assert!(
        c.add_batch(&[3, 4], &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
            .is_err()
    );
    assert_eq!(c.stats(), before);
    assert!(!c.contains(3));
    assert!(matches!(
        c.search(&[1.0, 0.0], &SearchParams::k(1)),
        Err(Error::DimensionMismatch { .. })
    ));
    let bad = CollectionOptions {
        auto_commit_deleted_fraction: Some(0.0),
        ..CollectionOptions::default()
    };
    assert!(Collection::open_with(&path, bad).is_err());
}

#[test]
fn auto_commit_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let (path, keys) = small_file(dir.path(), 100, 8, Metric::L2);
    let opts = CollectionOptions {
        auto_commit_rows: Some(10),
        auto_commit_deleted_fraction: Some(0.2),
        ..CollectionOptions::default()
    };
    let c = Collection::open_with(&path, opts).unwrap();
    for k in 0..9 {
        c.add(k, &[k as f32; 8]).unwrap();
    }
    assert_eq!(c.stats().pending_rows, 9);
    assert_eq!(Gallery::open(&path).unwrap().len(), 100);
    c.add(9, &[9.0; 8]).unwrap();
    assert_eq!(c.stats().pending_rows, 0, "the 10th add commits");
    assert_eq!(Gallery::open(&path).unwrap().len(), 110);
    // 20% of 110 rows = 22 deletes.
    c.delete_batch(&keys[..21]).unwrap();
    assert_eq!(c.stats().deleted_committed, 21);
    c.delete(keys[21]).unwrap();
    assert_eq!(c.stats().deleted_committed, 0);
    assert_eq!(Gallery::open(&path).unwrap().len(), 88);
    assert_eq!(c.len(), 88);
}

#[test]
fn commit_keeps_graph_parameters_and_user_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let mut b = GalleryBuilder::new(8, Metric::L2).unwrap();
    let mut rng = Rng::new(3);
    for k in 0..300 {
        b.add(k, &rng.vec(8)).unwrap();
    }
    b.user_meta("my note");
    b.hnsw(HnswParams {
        m: 6,
        ef_construction: 40,
        seed: 9,
        ..HnswParams::default()
    })
    .unwrap();
    b.write(&path).unwrap();
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    c.delete(5).unwrap();
    c.commit().unwrap();
    let g = Gallery::open(&path).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&g.info().meta.unwrap()).unwrap();
    assert_eq!(meta["user"], "my note");
    assert_eq!(meta["hnsw"]["m"], 6);
    assert_eq!(meta["hnsw"]["ef_construction"], 40);
    g.verify().unwrap();
    assert!(g.graph_report().unwrap().is_some());
}

#[test]
fn searches_on_an_old_snapshot_survive_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (path, keys) = small_file(dir.path(), 500, 8, Metric::L2);
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    let old = c.gallery();
    c.delete_batch(&keys[..250]).unwrap();
    c.commit().unwrap();
    c.delete_batch(&keys[250..400]).unwrap();
    c.commit().unwrap();
    // The old mapping is still valid after two renames over its file.
    assert_eq!(old.len(), 500);
    assert_eq!(
        old.search(&[0.0; 8], &SearchParams::k(500)).unwrap().len(),
        500
    );
    assert_eq!(c.len(), 100);
}

fn temp_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    v.sort();
    v
}

#[cfg(target_os = "linux")]
#[test]
fn stale_temp_files_of_dead_processes_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = small_file(dir.path(), 10, 4, Metric::L2);
    let dead = dir.path().join("small.vmg.tmp-4000000000-0");
    let mine = dir
        .path()
        .join(format!("small.vmg.tmp-{}-77", std::process::id()));
    let other = dir.path().join("other.vmg.tmp-4000000000-0");
    for p in [&dead, &mine, &other] {
        std::fs::write(p, b"partial").unwrap();
    }
    let c = Collection::open(&path).unwrap();
    assert_eq!(
        temp_names(dir.path()),
        vec![
            "other.vmg.tmp-4000000000-0".to_string(),
            format!("small.vmg.tmp-{}-77", std::process::id())
        ]
    );
    drop(c);
}
