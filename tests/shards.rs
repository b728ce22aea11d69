//! `ShardSet`: several gallery files searched as one give the answers of one gallery
//! holding every row (exact search), for every metric, with filters, ranges and batches;
//! mismatched shards and duplicate keys are typed errors naming the shard.

mod common;

use common::{data, read_fvecs, scrambled_key};
use vecmatch::{
    Error, Gallery, GalleryBuilder, HnswParams, KeyFilter, Metric, SearchParams, ShardSet,
};

const SHARDS: usize = 3;

struct Fixture {
    _dir: tempfile::TempDir,
    whole: Gallery,
    shards: ShardSet,
    keys: Vec<u64>,
    queries: Vec<f32>,
    dims: usize,
}

/// The shipped 5,000 rows as one gallery and as 3 shards of uneven sizes (rows dealt by a
/// scrambled key, so every shard spans the whole space).
fn fixture(metric: Metric, graph: bool) -> Fixture {
    let (d, base) = read_fvecs(data("base.fvecs")).unwrap();
    let (_, queries) = read_fvecs(data("query.fvecs")).unwrap();
    let n = base.len() / d;
    let keys: Vec<u64> = (0..n as u64).map(scrambled_key).collect();
    let dir = tempfile::tempdir().unwrap();
    let new = || {
        let mut b = GalleryBuilder::new(d, metric).unwrap();
        if graph {
            b.hnsw(HnswParams::default()).unwrap();
        }
        b
    };
    let mut whole = new();
    whole.add_batch(&keys, &base).unwrap();
    let whole_path = dir.path().join("whole.vmg");
    whole.write(&whole_path).unwrap();
    let mut parts: Vec<GalleryBuilder> = (0..SHARDS).map(|_| new()).collect();
    for (row, key) in keys.iter().enumerate() {
        // Uneven: shard 0 gets half, the others a quarter each.
        let s = match key % 4 {
            0 | 1 => 0,
            2 => 1,
            _ => 2,
        };
        parts[s].add(*key, &base[row * d..(row + 1) * d]).unwrap();
    }
    let paths: Vec<_> = parts
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let p = dir.path().join(format!("shard-{i}.vmg"));
            b.write(&p).unwrap();
            p
        })
        .collect();
    Fixture {
        whole: Gallery::open(&whole_path).unwrap(),
        shards: ShardSet::open(&paths).unwrap(),
        _dir: dir,
        keys,
        queries: queries[..40 * d].to_vec(),
        dims: d,
    }
}

fn params<'a>(k: usize, filter: Option<KeyFilter<'a>>, max: Option<f32>) -> SearchParams<'a> {
    SearchParams {
        k,
        exact: true,
        filter,
        max_distance: max,
        ..SearchParams::default()
    }
}

#[test]
fn exact_sharded_search_equals_one_gallery() {
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
        let f = fixture(metric, false);
        assert_eq!(f.shards.len(), f.whole.len());
        assert_eq!(f.shards.dims(), f.dims);
        assert_eq!(f.shards.metric(), metric);
        let allow: Vec<u64> = f.keys.iter().copied().step_by(7).collect();
        let deny: Vec<u64> = f.keys.iter().copied().step_by(3).collect();
        // A range that admits some but not all of the nearest rows of each query.
        let q0 = &f.queries[..f.dims];
        let all = f.whole.search(q0, &params(usize::MAX, None, None)).unwrap();
        let radius = all[all.len() / 200].distance;
        let cases: Vec<SearchParams<'_>> = vec![
            params(10, None, None),
            params(1, None, None),
            params(100, Some(KeyFilter::Allow(&allow)), None),
            params(25, Some(KeyFilter::Deny(&deny)), None),
            params(usize::MAX, None, Some(radius)),
            params(50, Some(KeyFilter::Deny(&deny)), Some(radius)),
        ];
        for p in &cases {
            for q in f.queries.chunks_exact(f.dims) {
                let want = f.whole.search(q, p).unwrap();
                let got = f.shards.search(q, p).unwrap();
                assert_eq!(got, want, "{metric} {p:?}");
            }
            let want = f.whole.search_batch(&f.queries, p).unwrap();
            let got = f.shards.search_batch(&f.queries, p).unwrap();
            assert_eq!(got, want, "batch {metric} {p:?}");
        }
    }
}

#[test]
fn sharded_hnsw_recall_matches_one_gallery() {
    let f = fixture(Metric::Cosine, true);
    let exact = params(10, None, None);
    let approx = SearchParams {
        k: 10,
        ef: 64,
        ..SearchParams::default()
    };
    let truth = f.whole.search_batch(&f.queries, &exact).unwrap();
    let sharded = f.shards.search_batch(&f.queries, &approx).unwrap();
    let single = f.whole.search_batch(&f.queries, &approx).unwrap();
    let recall = |got: &[Vec<vecmatch::Hit>]| {
        let mut found = 0;
        for (g, t) in got.iter().zip(&truth) {
            found += g
                .iter()
                .filter(|h| t.iter().any(|x| x.key == h.key))
                .count();
        }
        found as f64 / (10 * truth.len()) as f64
    };
    let (rs, r1) = (recall(&sharded), recall(&single));
    // Each shard is smaller and searched with the full ef: recall is at least as good.
    assert!(rs >= 0.95, "sharded recall {rs}");
    assert!(rs + 0.02 >= r1, "sharded {rs} vs one gallery {r1}");
    // The single-query path agrees with the batch path.
    for (i, q) in f.queries.chunks_exact(f.dims).enumerate() {
        assert_eq!(f.shards.search(q, &approx).unwrap(), sharded[i]);
    }
}

fn write(
    dir: &std::path::Path,
    name: &str,
    d: usize,
    metric: Metric,
    keys: &[u64],
) -> std::path::PathBuf {
    let mut b = GalleryBuilder::new(d, metric).unwrap();
    for &k in keys {
        let v: Vec<f32> = (0..d)
            .map(|i| ((k as usize + i) % 5) as f32 + 1.0)
            .collect();
        b.add(k, &v).unwrap();
    }
    let p = dir.join(name);
    b.write(&p).unwrap();
    p
}

#[test]
fn mismatched_shards_are_typed_errors_naming_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.vmg", 8, Metric::L2, &[1, 2, 3]);
    let b = write(dir.path(), "b.vmg", 4, Metric::L2, &[4]);
    let c = write(dir.path(), "c.vmg", 8, Metric::Dot, &[5]);
    match ShardSet::open([&a, &b]) {
        Err(Error::ShardMismatch {
            shard,
            what,
            expected,
            found,
        }) => {
            assert!(shard.ends_with("b.vmg"), "{shard}");
            assert_eq!(
                (what, expected.as_str(), found.as_str()),
                ("dims", "8", "4")
            );
        }
        other => panic!("{other:?}"),
    }
    let e = ShardSet::open([&a, &c]).unwrap_err();
    assert!(
        matches!(e, Error::ShardMismatch { what: "metric", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("c.vmg"), "{e}");
    let mut f16 = GalleryBuilder::new(8, Metric::L2).unwrap();
    f16.element_type(vecmatch::ElementType::F16);
    f16.add(9, &[1.0; 8]).unwrap();
    let g = f16.build_in_memory().unwrap();
    let e = ShardSet::from_galleries([Gallery::open(&a).unwrap(), g]).unwrap_err();
    assert!(
        matches!(&e, Error::ShardMismatch { what: "element type", shard, .. } if shard == "#1"),
        "{e}"
    );
    assert!(matches!(
        ShardSet::open(Vec::<std::path::PathBuf>::new()),
        Err(Error::InvalidArgument(_))
    ));
    let e = ShardSet::open([a.clone(), dir.path().join("missing.vmg")]).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(e.to_string().contains("missing.vmg"), "{e}");
}

#[test]
fn duplicate_keys_across_shards_are_detected_and_returned_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.vmg", 4, Metric::L2, &[1, 2, 3, 10]);
    let b = write(dir.path(), "b.vmg", 4, Metric::L2, &[4, 5, 6]);
    let c = write(dir.path(), "c.vmg", 4, Metric::L2, &[7, 10, 11]);
    let ok = ShardSet::open([&a, &b]).unwrap();
    ok.check_unique_keys().unwrap();
    ok.verify().unwrap();
    let dup = ShardSet::open([&a, &b, &c]).unwrap();
    match dup.check_unique_keys() {
        Err(Error::DuplicateKeyInShards { key, first, second }) => {
            assert_eq!(key, 10);
            assert!(first.ends_with("a.vmg") && second.ends_with("c.vmg"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        dup.verify(),
        Err(Error::DuplicateKeyInShards { .. })
    ));
    // Key 10 has the same vector in both shards: a search returns it once.
    let q = dup.get(10).unwrap();
    let hits = dup.search(&q, &SearchParams::k(20)).unwrap();
    assert_eq!(hits.len(), 9);
    assert_eq!(hits.iter().filter(|h| h.key == 10).count(), 1);
    assert_eq!(dup.len(), 10);
    assert!(dup.contains(6) && !dup.contains(99));
}

#[test]
fn bad_queries_fail_like_a_gallery() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.vmg", 4, Metric::L2, &[1, 2]);
    let b = write(dir.path(), "b.vmg", 4, Metric::L2, &[3]);
    let s = ShardSet::open([&a, &b]).unwrap();
    assert!(matches!(
        s.search(&[1.0; 3], &SearchParams::k(1)),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        s.search(&[f32::NAN; 4], &SearchParams::k(1)),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        s.search_batch(&[1.0; 7], &SearchParams::k(1)),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        s.search(&[1.0; 4], &SearchParams::k(0)),
        Err(Error::InvalidArgument(_))
    ));
    // Fewer rows than k: every row, once.
    assert_eq!(s.search(&[1.0; 4], &SearchParams::k(10)).unwrap().len(), 3);
}
