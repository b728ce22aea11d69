//! Builder validation, atomic writes and query validation.

mod common;

use std::path::Path;

use vecmatch::{Error, Gallery, GalleryBuilder, Hit, Metric, SearchParams};

#[test]
fn invalid_vectors_are_rejected_with_typed_errors() {
    let mut b = GalleryBuilder::new(3, Metric::Cosine).unwrap();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        match b.add(1, &[1.0, bad, 0.0]) {
            Err(Error::NonFinite { what, index: 1 }) => assert_eq!(what, "vector row 0"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(matches!(
        b.add(1, &[1.0, 0.0]),
        Err(Error::DimensionMismatch {
            expected: 3,
            found: 2
        })
    ));
    assert!(matches!(
        b.add(1, &[1.0, 0.0, 0.0, 0.0]),
        Err(Error::DimensionMismatch {
            expected: 3,
            found: 4
        })
    ));
    assert!(matches!(
        b.add(1, &[0.0, 0.0, 0.0]),
        Err(Error::ZeroVector { .. })
    ));
    // Too small to normalise (the norm underflows f32): refused like zero.
    assert!(matches!(
        b.add(1, &[1e-40, 0.0, 0.0]),
        Err(Error::ZeroVector { .. })
    ));
    assert!(b.is_empty());
    b.add(1, &[1.0, 0.0, 0.0]).unwrap();
    assert!(matches!(
        b.add(1, &[0.0, 1.0, 0.0]),
        Err(Error::DuplicateKey(1))
    ));
    assert!(matches!(
        GalleryBuilder::new(0, Metric::L2),
        Err(Error::InvalidArgument(_))
    ));
    // Zero vectors are fine for L2 and dot, and are searched like any other.
    for metric in [Metric::L2, Metric::Dot] {
        let mut b = GalleryBuilder::new(2, metric).unwrap();
        b.add(0, &[0.0, 0.0]).unwrap();
        b.add(1, &[3.0, 4.0]).unwrap();
        let g = b.build_in_memory().unwrap();
        let hits = g.search(&[3.0, 4.0], &SearchParams::k(2)).unwrap();
        let want = match metric {
            Metric::L2 => [
                Hit {
                    key: 1,
                    distance: 0.0,
                },
                Hit {
                    key: 0,
                    distance: 25.0,
                },
            ],
            _ => [
                Hit {
                    key: 0,
                    distance: 1.0,
                },
                Hit {
                    key: 1,
                    distance: -24.0,
                },
            ],
        };
        let mut want = want.to_vec();
        want.sort_by(Hit::cmp_rank);
        assert_eq!(hits, want, "{metric}");
    }
}

#[test]
fn add_batch_is_all_or_nothing() {
    let mut b = GalleryBuilder::new(3, Metric::Cosine).unwrap();
    b.add_batch(&[1, 2], &[1.0, 0.0, 0.0, 0.0, 2.0, 0.0])
        .unwrap();
    // Each failing batch holds good rows and keys before the bad one.
    let failures: [(&[u64], &[f32], &str); 6] = [
        // A duplicate inside the batch.
        (&[5, 6, 5], &[1.0; 9], "dup in batch"),
        // A key added by an earlier call.
        (&[7, 2], &[1.0; 6], "dup across calls"),
        (&[7, 8], &[1.0, 1.0, 1.0, f32::NAN, 0.0, 0.0], "NaN"),
        (&[7, 8], &[1.0, 1.0, 1.0, 0.0, 0.0, 0.0], "zero vector"),
        // Ragged: the values are not keys × dims.
        (&[7, 8], &[1.0; 5], "ragged"),
        (&[7], &[1.0; 6], "more values than keys"),
    ];
    for (keys, values, what) in failures {
        let err = b.add_batch(keys, values).unwrap_err();
        let ok = match what {
            "dup in batch" => matches!(err, Error::DuplicateKey(5)),
            "dup across calls" => matches!(err, Error::DuplicateKey(2)),
            "NaN" => {
                matches!(err, Error::NonFinite { ref what, index: 0 } if what == "vector row 3")
            }
            "zero vector" => {
                matches!(err, Error::ZeroVector { ref what } if what == "vector row 3")
            }
            _ => matches!(err, Error::DimensionMismatch { .. }),
        };
        assert!(ok, "{what}: {err:?}");
        assert_eq!(b.len(), 2, "{what}: nothing added");
    }
    // The keys of failed batches were not consumed, and no partial row was left behind.
    b.add_batch(
        &[5, 6, 7, 8],
        &[0.0, 0.0, 3.0, 0.0, 4.0, 0.0, 1.0, 1.0, 0.0, 2.0, 0.0, 0.0],
    )
    .unwrap();
    assert_eq!(b.len(), 6);
    let g = b.build_in_memory().unwrap();
    assert_eq!(g.keys(), [1, 2, 5, 6, 7, 8]);
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let want: [(u64, [f32; 3]); 6] = [
        (1, [1.0, 0.0, 0.0]),
        (2, [0.0, 1.0, 0.0]),
        (5, [0.0, 0.0, 1.0]),
        (6, [0.0, 1.0, 0.0]),
        (7, [s, s, 0.0]),
        (8, [1.0, 0.0, 0.0]),
    ];
    for (k, v) in want {
        let got = g.get(k).unwrap();
        assert!(
            got.iter().zip(v).all(|(a, b)| (a - b).abs() < 1e-7),
            "{k}: {got:?}"
        );
    }
    g.verify().unwrap();
}

#[test]
fn cosine_vectors_are_normalised_once_at_ingest() {
    let mut b = GalleryBuilder::new(2, Metric::Cosine).unwrap();
    b.add(9, &[3.0, 4.0]).unwrap();
    b.add(10, &[-3e30, 4e30]).unwrap();
    let g = b.build_in_memory().unwrap();
    let v = g.get(9).unwrap();
    assert!((v[0] - 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7);
    let v = g.get(10).unwrap();
    assert!((v[0] + 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7);
    let hits = g.search(&[30.0, 40.0], &SearchParams::k(2)).unwrap();
    assert_eq!(hits[0].key, 9);
    assert!(hits[0].distance.abs() < 1e-6);
    // 1 - cos: (-0.6, 0.8)·(0.6, 0.8) = 0.28.
    assert!((hits[1].distance - 0.72).abs() < 1e-6);
}

#[test]
fn bad_queries_and_parameters_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = common::small_file(dir.path(), 50, 8, Metric::Cosine);
    let g = Gallery::open(&path).unwrap();
    let empty = GalleryBuilder::new(8, Metric::Cosine)
        .unwrap()
        .build_in_memory()
        .unwrap();
    let q = [0.5f32; 8];
    // The same validation whether or not the gallery holds anything.
    for g in [&g, &empty] {
        assert!(matches!(
            g.search(&q[..7], &SearchParams::default()),
            Err(Error::DimensionMismatch {
                expected: 8,
                found: 7
            })
        ));
        assert!(matches!(
            g.search(&[], &SearchParams::default()),
            Err(Error::DimensionMismatch { .. })
        ));
        let mut nan = q;
        nan[3] = f32::NAN;
        assert!(matches!(
            g.search(&nan, &SearchParams::default()),
            Err(Error::NonFinite { index: 3, .. })
        ));
        assert!(matches!(
            g.search(&[0.0; 8], &SearchParams::default()),
            Err(Error::ZeroVector { .. })
        ));
        let bad_params = [
            SearchParams::k(0),
            SearchParams {
                threads: Some(0),
                ..SearchParams::default()
            },
            SearchParams {
                max_distance: Some(f32::NAN),
                ..SearchParams::default()
            },
        ];
        for p in &bad_params {
            assert!(
                matches!(g.search(&q, p), Err(Error::InvalidArgument(_))),
                "{p:?}"
            );
            assert!(
                matches!(g.search_batch(&q, p), Err(Error::InvalidArgument(_))),
                "batch {p:?}"
            );
        }
        // Batch: a ragged buffer, and a bad query in the middle, fail the whole call.
        assert!(matches!(
            g.search_batch(&[0.5; 12], &SearchParams::default()),
            Err(Error::DimensionMismatch { .. })
        ));
        let mut qs = vec![0.5f32; 24];
        qs[13] = f32::INFINITY;
        match g.search_batch(&qs, &SearchParams::default()) {
            Err(Error::NonFinite { what, index: 5 }) => assert_eq!(what, "query 1"),
            other => panic!("{other:?}"),
        }
        let mut qs = vec![0.5f32; 24];
        qs[16..].fill(0.0);
        match g.search_batch(&qs, &SearchParams::default()) {
            Err(Error::ZeroVector { what }) => assert_eq!(what, "query 2"),
            other => panic!("{other:?}"),
        }
        assert!(
            g.search_batch(&[], &SearchParams::default())
                .unwrap()
                .is_empty()
        );
    }
    // Zero queries are fine for dot and L2: every row of the same norm ties, so keys decide.
    for metric in [Metric::Dot, Metric::L2] {
        let mut b = GalleryBuilder::new(2, metric).unwrap();
        b.add_batch(
            &[30, 10, 20, 40],
            &[1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0],
        )
        .unwrap();
        let g = b.build_in_memory().unwrap();
        let hits = g.search(&[0.0, 0.0], &SearchParams::k(3)).unwrap();
        assert_eq!(
            hits.iter().map(|h| h.key).collect::<Vec<_>>(),
            [10, 20, 30],
            "{metric}"
        );
        assert!(hits.iter().all(|h| h.distance == 1.0), "{hits:?}");
    }
}

/// Names in `dir` that look like leftover temporary files.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

fn builder_of(n: usize, d: usize, seed: u64) -> GalleryBuilder {
    let mut b = GalleryBuilder::new(d, Metric::L2).unwrap();
    let keys: Vec<u64> = (0..n as u64).map(|r| r * 10 + seed).collect();
    let v = common::vecs(n, d, seed);
    b.add_batch(&keys, &v).unwrap();
    b
}

#[test]
fn writes_are_atomic_and_replace_without_disturbing_open_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let old_b = builder_of(2000, 16, 1);
    old_b.write(&path).unwrap();
    assert!(temp_files(dir.path()).is_empty());
    let old = Gallery::open(&path).unwrap();
    let q = [0.1f32; 16];
    let p = SearchParams::k(20);
    let before = old.search(&q, &p).unwrap();
    let old_vec = old.get(10 + 1).unwrap().to_vec();

    // Replace it twice: by a builder, then by an in-memory gallery's write_to.
    let new_b = builder_of(500, 16, 2);
    let new_mem = new_b.build_in_memory().unwrap();
    for round in 0..2 {
        if round == 0 {
            new_b.write(&path).unwrap();
        } else {
            new_mem.write_to(&path).unwrap();
        }
        assert!(temp_files(dir.path()).is_empty(), "round {round}");
        // The old handle still reads the old (now unlinked) file, unchanged.
        assert_eq!(old.len(), 2000);
        assert_eq!(old.search(&q, &p).unwrap(), before);
        assert_eq!(old.get(11).unwrap(), old_vec.as_slice());
        assert!(!old.contains(2));
        old.verify().unwrap();
        // A fresh open sees the new content.
        let new = Gallery::open(&path).unwrap();
        assert_eq!(new.len(), 500);
        assert!(new.contains(2) && !new.contains(11));
        assert_eq!(new.search(&q, &p).unwrap(), new_mem.search(&q, &p).unwrap());
        new.verify().unwrap();
    }

    // Failing writes: into a missing directory, and over a directory (the rename fails
    // after the temporary file was written). Both fail cleanly and leave nothing behind.
    assert!(matches!(
        new_b.write(dir.path().join("no/such/dir/g.vmg")),
        Err(Error::Io { .. })
    ));
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert!(matches!(new_b.write(&sub), Err(Error::Io { .. })));
    assert!(matches!(new_mem.write_to(&sub), Err(Error::Io { .. })));
    assert!(sub.is_dir());
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
    assert!(matches!(
        new_b.write(dir.path().join("..")),
        Err(Error::InvalidArgument(_))
    ));
    // The published file is still the last good one.
    assert_eq!(Gallery::open(&path).unwrap().len(), 500);
}

#[test]
fn empty_gallery_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
        let b = GalleryBuilder::new(4, metric).unwrap();
        let path = dir.path().join(format!("empty-{metric}.vmg"));
        b.write(&path).unwrap();
        for g in [b.build_in_memory().unwrap(), Gallery::open(&path).unwrap()] {
            assert!(g.is_empty());
            assert_eq!(g.len(), 0);
            assert!(g.keys().is_empty());
            g.verify().unwrap();
            let q = [1.0, 0.0, 0.0, 0.0];
            for k in [1, 3, usize::MAX] {
                assert!(g.search(&q, &SearchParams::k(k)).unwrap().is_empty());
            }
            let batch = g.search_batch(&q.repeat(20), &SearchParams::k(3)).unwrap();
            assert_eq!(batch, vec![Vec::<Hit>::new(); 20]);
            assert!(g.get(0).is_none() && !g.contains(0));
        }
    }
}

#[test]
fn meta_records_builder_and_user_text() {
    let mut b = GalleryBuilder::new(2, Metric::Dot).unwrap();
    b.user_meta("demo \"gallery\"");
    b.add(1, &[1.0, 2.0]).unwrap();
    let g = b.build_in_memory().unwrap();
    let meta: serde_json::Value = serde_json::from_str(&g.info().meta.unwrap()).unwrap();
    assert_eq!(meta["user"], "demo \"gallery\"");
    assert_eq!(meta["metric"], "dot");
    assert!(meta["builder"].as_str().unwrap().starts_with("vecmatch "));
}
