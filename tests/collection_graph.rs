//! The graph across commits: a commit that only added rows inserts them into the old
//! file's graph (with the native builder's insertion), one that deleted or replaced rows — and `compact` —
//! rebuilds it; either way the new graph passes every check and keeps its recall.

mod common;

use common::{data, read_fvecs, read_ivecs};
use vecmatch::{Collection, CollectionOptions, Gallery, GalleryBuilder, HnswParams, Metric};
use vecmatch::{HnswAlgorithm, SearchParams};

/// Recall@10 of the file's graph search at `ef` against the shipped ground truth
/// (computed over all 5,000 rows: the file must hold all of them).
fn recall(path: &std::path::Path, ef: usize) -> f64 {
    let g = Gallery::open(path).unwrap();
    assert_eq!(g.len(), 5000);
    let (d, q) = read_fvecs(data("query.fvecs")).unwrap();
    let (gk, gt) = read_ivecs(data("gt.ivecs")).unwrap();
    let p = SearchParams {
        k: 10,
        ef,
        ..SearchParams::default()
    };
    let mut hit = 0;
    for (i, qv) in q.chunks_exact(d).enumerate() {
        let truth = &gt[i * gk..i * gk + 10];
        let res = g.search(qv, &p).unwrap();
        hit += res
            .iter()
            .filter(|h| truth.contains(&(h.key as i32)))
            .count();
    }
    hit as f64 / (q.len() / d * 10) as f64
}

fn checked(path: &std::path::Path) {
    let g = Gallery::open(path).unwrap();
    g.verify().unwrap();
    let r = g.graph_report().unwrap().unwrap();
    assert_eq!(r.nodes, g.len());
    assert_eq!(r.unreachable, 0, "{r:?}");
}

#[test]
fn adding_extends_the_graph_and_deleting_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let (d, base) = read_fvecs(data("base.fvecs")).unwrap();
    let old = 4000;
    // The native builder throughout, so the extended graph is compared with a rebuild
    // by the same algorithm (extending an hnsw_rs graph measured 0.881 / 0.991 at ef
    // 16 / 64 here against 0.917 / 0.997 for an hnsw_rs rebuild: the inserted rows get
    // the native builder's sparser lists).
    let native = HnswParams {
        algorithm: HnswAlgorithm::Native,
        ..HnswParams::default()
    };
    let mut b = GalleryBuilder::new(d, Metric::Cosine).unwrap();
    let keys: Vec<u64> = (0..old as u64).collect();
    b.add_batch(&keys, &base[..old * d]).unwrap();
    b.hnsw(native).unwrap();
    b.write(&path).unwrap();

    let opts = CollectionOptions {
        hnsw: Some(native),
        ..CollectionOptions::manual()
    };
    let c = Collection::open_with(&path, opts).unwrap();
    let keys: Vec<u64> = (old as u64..5000).collect();
    c.add_batch(&keys, &base[old * d..]).unwrap();
    let r = c.commit().unwrap();
    assert!(r.written && r.graph && r.graph_extended, "{r:?}");
    assert_eq!(r.rows, 5000);
    checked(&path);
    let extended = [recall(&path, 16), recall(&path, 64)];

    let r = c.compact().unwrap();
    assert!(r.graph && !r.graph_extended, "compact rebuilds: {r:?}");
    checked(&path);
    let rebuilt = [recall(&path, 16), recall(&path, 64)];
    eprintln!("recall@10 ef 16 / 64: extended {extended:?}, rebuilt {rebuilt:?}");
    // The extended graph must be as good as a rebuild within seed noise (measured
    // 0.93 / 0.998 both ways at ef 16 / 64).
    assert!(
        extended[0] >= rebuilt[0] - 0.02,
        "{extended:?} vs {rebuilt:?}"
    );
    assert!(
        extended[1] >= rebuilt[1] - 0.01,
        "{extended:?} vs {rebuilt:?}"
    );

    // A delete (or a replacement) of a row of the file rebuilds.
    c.delete(17).unwrap();
    let r = c.commit().unwrap();
    assert!(r.graph && !r.graph_extended, "{r:?}");
    checked(&path);
    c.add(17, &base[17 * d..18 * d]).unwrap();
    c.add(18, &base[19 * d..20 * d]).unwrap();
    let r = c.commit().unwrap();
    assert!(
        r.graph && !r.graph_extended,
        "a replaced row rebuilds: {r:?}"
    );
    checked(&path);
}

#[test]
fn a_different_m_rebuilds_and_any_builder_extends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let (d, base) = read_fvecs(data("base.fvecs")).unwrap();
    let mut b = GalleryBuilder::new(d, Metric::Cosine).unwrap();
    let keys: Vec<u64> = (0..300).collect();
    b.add_batch(&keys, &base[..300 * d]).unwrap();
    b.hnsw(HnswParams::default()).unwrap();
    b.write(&path).unwrap();
    let m8 = HnswParams {
        m: 8,
        ..HnswParams::default()
    };
    let native = HnswParams {
        algorithm: HnswAlgorithm::Native,
        ..HnswParams::default()
    };
    // The file's graph (hnsw_rs, M 16) is extended with either builder asked for; M 8
    // rebuilds it, after which M 8 extends.
    for (hnsw, extended) in [
        (HnswParams::default(), true),
        (native, true),
        (m8, false),
        (m8, true),
    ] {
        let opts = CollectionOptions {
            hnsw: Some(hnsw),
            ..CollectionOptions::manual()
        };
        let c = Collection::open_with(&path, opts).unwrap();
        let k = c.len() as u64;
        c.add(k, &base[k as usize * d..(k as usize + 1) * d])
            .unwrap();
        let r = c.commit().unwrap();
        assert_eq!(r.graph_extended, extended, "{hnsw:?}: {r:?}");
        checked(&path);
    }
}
