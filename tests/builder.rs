//! Builder validation, atomic writes and query validation.

mod common;

use vecmatch::{Error, Gallery, GalleryBuilder, Metric, SearchParams};

#[test]
fn invalid_vectors_are_rejected_with_typed_errors() {
    let mut b = GalleryBuilder::new(3, Metric::Cosine).unwrap();
    assert!(matches!(
        b.add(1, &[1.0, f32::NAN, 0.0]),
        Err(Error::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        b.add(1, &[1.0, f32::INFINITY, 0.0]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        b.add(1, &[1.0, 0.0]),
        Err(Error::DimensionMismatch {
            expected: 3,
            found: 2
        })
    ));
    assert!(matches!(
        b.add(1, &[0.0, 0.0, 0.0]),
        Err(Error::ZeroVector { .. })
    ));
    b.add(1, &[1.0, 0.0, 0.0]).unwrap();
    assert!(matches!(
        b.add(1, &[0.0, 1.0, 0.0]),
        Err(Error::DuplicateKey(1))
    ));
    assert!(matches!(
        b.add_batch(&[5, 5], &[1.0; 6]),
        Err(Error::DuplicateKey(5))
    ));
    // All or nothing: a bad row in a batch adds nothing.
    assert!(
        b.add_batch(
            &[7, 8, 9],
            &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, f32::NAN, 0.0, 0.0]
        )
        .is_err()
    );
    assert_eq!(b.len(), 1);
    b.add_batch(&[7, 8], &[1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
        .unwrap();
    assert_eq!(b.len(), 3);
    assert!(matches!(
        GalleryBuilder::new(0, Metric::L2),
        Err(Error::InvalidArgument(_))
    ));
    // Zero vectors are fine for L2 and dot.
    let mut l2 = GalleryBuilder::new(2, Metric::L2).unwrap();
    l2.add(0, &[0.0, 0.0]).unwrap();
    let mut dot = GalleryBuilder::new(2, Metric::Dot).unwrap();
    dot.add(0, &[0.0, 0.0]).unwrap();
}

#[test]
fn cosine_vectors_are_normalised_once_at_ingest() {
    let mut b = GalleryBuilder::new(2, Metric::Cosine).unwrap();
    b.add(9, &[3.0, 4.0]).unwrap();
    let g = b.build_in_memory().unwrap();
    let v = g.get(9).unwrap();
    assert!((v[0] - 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7);
    let hits = g.search(&[30.0, 40.0], &SearchParams::k(1)).unwrap();
    assert!(hits[0].distance.abs() < 1e-6);
}

#[test]
fn bad_queries_and_parameters_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = common::small_file(dir.path(), 50, 8, Metric::Cosine);
    let g = Gallery::open(&path).unwrap();
    let q = [0.5f32; 8];
    assert!(matches!(
        g.search(&q[..7], &SearchParams::default()),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        g.search(&[f32::NAN; 8], &SearchParams::default()),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        g.search(&[0.0; 8], &SearchParams::default()),
        Err(Error::ZeroVector { .. })
    ));
    assert!(matches!(
        g.search(&q, &SearchParams::k(0)),
        Err(Error::InvalidArgument(_))
    ));
    let p = SearchParams {
        threads: Some(0),
        ..SearchParams::default()
    };
    assert!(matches!(g.search(&q, &p), Err(Error::InvalidArgument(_))));
    let p = SearchParams {
        max_distance: Some(f32::NAN),
        ..SearchParams::default()
    };
    assert!(matches!(g.search(&q, &p), Err(Error::InvalidArgument(_))));
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
    assert!(
        g.search_batch(&[], &SearchParams::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn writes_are_atomic_and_replace_without_disturbing_open_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let mut a = GalleryBuilder::new(2, Metric::L2).unwrap();
    a.add(1, &[0.0, 0.0]).unwrap();
    a.write(&path).unwrap();
    let old = Gallery::open(&path).unwrap();

    let mut b = GalleryBuilder::new(2, Metric::L2).unwrap();
    b.add_batch(&[2, 3], &[5.0, 5.0, 6.0, 6.0]).unwrap();
    b.write(&path).unwrap();

    // The old handle still reads the old (unlinked) file; a new open sees the new one.
    assert_eq!(
        old.search(&[0.0, 0.0], &SearchParams::k(5)).unwrap()[0].key,
        1
    );
    assert_eq!(old.len(), 1);
    old.verify().unwrap();
    let new = Gallery::open(&path).unwrap();
    assert_eq!(new.len(), 2);
    assert_eq!(
        new.search(&[0.0, 0.0], &SearchParams::k(1)).unwrap()[0].key,
        2
    );

    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["g.vmg"]);

    // A write into a missing directory fails cleanly.
    assert!(matches!(
        b.write(dir.path().join("no/such/dir/g.vmg")),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        b.write(dir.path()),
        Err(Error::Io { .. }) | Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn empty_gallery_is_valid() {
    let b = GalleryBuilder::new(4, Metric::Cosine).unwrap();
    let g = b.build_in_memory().unwrap();
    assert!(g.is_empty());
    g.verify().unwrap();
    assert!(
        g.search(&[1.0, 0.0, 0.0, 0.0], &SearchParams::k(3))
            .unwrap()
            .is_empty()
    );
    assert!(g.get(0).is_none());
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
