//! The native HNSW builder: determinism with one thread, recall against exact results and
//! against the hnsw_rs builder on the shipped data, thread-count independence of recall,
//! graph invariants, and degenerate inputs.

mod common;

use std::sync::OnceLock;

use common::{data, read_fvecs, read_ivecs};
use vecmatch::{Gallery, GalleryBuilder, HnswAlgorithm, HnswParams, Metric, SearchParams};

/// The native builder's parameters (the default builder, named for clarity).
fn native() -> HnswParams {
    HnswParams {
        algorithm: HnswAlgorithm::Native,
        ..HnswParams::default()
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// The first `n` shipped rows with a graph from `params`, built on `threads` threads.
fn build(n: usize, params: HnswParams, threads: usize) -> Gallery {
    let (d, base) = read_fvecs(data("base.fvecs")).unwrap();
    let mut b = GalleryBuilder::new(d, Metric::Dot).unwrap();
    let keys: Vec<u64> = (0..n as u64).collect();
    b.add_batch(&keys, &base[..n * d]).unwrap();
    b.hnsw(params).unwrap();
    pool(threads).install(|| b.build_in_memory()).unwrap()
}

/// The GRAPH section's bytes.
fn graph_bytes(g: &Gallery) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    g.write_to(&path).unwrap();
    let s = g
        .info()
        .sections
        .into_iter()
        .find(|s| s.name == "GRAPH")
        .unwrap();
    std::fs::read(&path).unwrap()[s.offset as usize..(s.offset + s.length) as usize].to_vec()
}

fn recall(g: &Gallery, ef: usize) -> f64 {
    let (_, queries) = read_fvecs(data("query.fvecs")).unwrap();
    let (gk, gt) = read_ivecs(data("gt.ivecs")).unwrap();
    let p = SearchParams {
        k: 10,
        ef,
        ..SearchParams::default()
    };
    let res = g.search_batch(&queries, &p).unwrap();
    let hit: usize = res
        .iter()
        .enumerate()
        .map(|(qi, hits)| {
            let truth = &gt[qi * gk..qi * gk + 10];
            hits.iter()
                .filter(|h| truth.contains(&(h.key as i32)))
                .count()
        })
        .sum();
    hit as f64 / (res.len() * 10) as f64
}

const N: usize = 5000;

/// Native on 1 and 2 threads, and (with the `hnsw-rs` feature) hnsw_rs on 2, all over the
/// shipped 5,000 rows (built once).
fn galleries() -> &'static [Gallery] {
    static G: OnceLock<Vec<Gallery>> = OnceLock::new();
    G.get_or_init(|| {
        let native = native();
        #[allow(unused_mut)]
        let mut v = vec![build(N, native, 1), build(N, native, 2)];
        #[cfg(feature = "hnsw-rs")]
        v.push(build(
            N,
            HnswParams {
                algorithm: HnswAlgorithm::HnswRs,
                ..HnswParams::default()
            },
            2,
        ));
        v
    })
}

/// Without the `hnsw-rs` feature, asking for the hnsw_rs builder is a clear error.
#[cfg(not(feature = "hnsw-rs"))]
#[test]
fn hnsw_rs_builder_needs_its_feature() {
    let p = HnswParams {
        algorithm: HnswAlgorithm::HnswRs,
        ..HnswParams::default()
    };
    let mut b = GalleryBuilder::new(2, Metric::L2).unwrap();
    b.add(1, &[0.0, 1.0]).unwrap();
    b.hnsw(p).unwrap();
    match b.build_in_memory() {
        Err(vecmatch::Error::InvalidArgument(m)) => assert!(m.contains("hnsw-rs"), "{m}"),
        other => panic!("expected InvalidArgument, got {:?}", other.map(|g| g.len())),
    }
}

#[test]
fn one_thread_builds_are_identical_for_a_seed() {
    let p = HnswParams {
        ef_construction: 64,
        ..native()
    };
    let a = graph_bytes(&build(1500, p, 1));
    let b = graph_bytes(&build(1500, p, 1));
    assert!(a == b, "two 1-thread builds with one seed differ");
    let c = graph_bytes(&build(1500, HnswParams { seed: 99, ..p }, 1));
    assert!(a != c, "another seed gave the same graph");
}

#[test]
fn recall_matches_hnswlib_and_hnsw_rs() {
    let all = galleries();
    let (one, two, rs) = (&all[0], &all[1], all.get(2));
    for g in all {
        g.verify().unwrap();
        let r = g.graph_report().unwrap().unwrap();
        assert_eq!(r.unreachable, 0, "{r:?}");
    }
    let meta: serde_json::Value = serde_json::from_str(&one.info().meta.unwrap()).unwrap();
    assert_eq!(meta["hnsw"]["builder"], "native");
    // Measured on this data (recall@10, M=16, ef_construction=200): native 1 and 2
    // threads 0.934-0.935 at ef 16, 0.979-0.983 at ef 32, 0.998 at ef 64, 0.999-1.0 at
    // ef 128; hnsw_rs over five seeds 0.907-0.924, 0.979-0.984, 0.997-0.999, 1.0
    // (hnswlib: 0.903-0.917, 0.971, 0.992, 1.0). Floors keep a margin of ~15 misses in
    // 1,000 below native's range.
    let floors = [(16, 0.918), (32, 0.965), (64, 0.985), (128, 0.995)];
    // Native matches or beats hnsw_rs at every ef (the condition for being the default);
    // the allowance is seed-to-seed noise.
    let gaps = [0.01, 0.01, 0.005, 0.005];
    for ((ef, floor), gap) in floors.into_iter().zip(gaps) {
        let (r1, r2) = (recall(one, ef), recall(two, ef));
        eprintln!("ef {ef}: native 1t {r1:.4}, 2t {r2:.4}");
        assert!(r1 >= floor && r2 >= floor, "ef {ef}: {r1} / {r2} < {floor}");
        if let Some(rs) = rs {
            let rr = recall(rs, ef);
            eprintln!("ef {ef}: hnsw_rs {rr:.4}");
            assert!(
                r1 >= rr - gap && r2 >= rr - gap,
                "ef {ef}: {r1} / {r2} vs hnsw_rs {rr}"
            );
        }
        // Threads change the graph but not its quality beyond noise.
        assert!(
            (r1 - r2).abs() <= 0.03,
            "ef {ef}: 1 thread {r1}, 2 threads {r2}"
        );
    }
}

/// The graph passes every check, and searching with each row's vector finds at least
/// `min_recall` of the exact top 5 (distances compared, so ties may pick either row).
fn exact_agreement(rows: &[Vec<f32>], metric: Metric, m: usize, min_recall: f64) {
    let d = rows[0].len();
    let mut b = GalleryBuilder::new(d, metric).unwrap();
    for (i, r) in rows.iter().enumerate() {
        b.add(i as u64 * 3 + 1, r).unwrap();
    }
    b.hnsw(HnswParams {
        m,
        ef_construction: 16,
        ..native()
    })
    .unwrap();
    let g = pool(2).install(|| b.build_in_memory()).unwrap();
    g.verify().unwrap();
    let report = g.graph_report().unwrap().unwrap();
    assert_eq!(report.unreachable, 0, "{report:?}");
    assert!(report.max_degree0 <= 2 * m);
    let (mut found, mut total) = (0, 0);
    for r in rows {
        let k = rows.len().min(5);
        let p = SearchParams {
            k,
            ef: 64,
            ..SearchParams::default()
        };
        let approx = g.search(r, &p).unwrap();
        let exact = g.search(r, &SearchParams { exact: true, ..p }).unwrap();
        assert_eq!(approx.len(), k);
        let worst = exact.last().unwrap().distance;
        found += approx.iter().filter(|h| h.distance <= worst).count();
        total += k;
    }
    let recall = found as f64 / total as f64;
    assert!(
        recall >= min_recall,
        "{} rows, {metric:?}: recall {recall}",
        rows.len()
    );
}

#[test]
fn degenerate_inputs() {
    let row = |i: usize| {
        vec![
            (i as f32).sin(),
            (i as f32 * 0.7).cos(),
            1.0 + i as f32 * 0.01,
        ]
    };
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
        // One row, two rows, fewer rows than M.
        for n in [1, 2, 5, 15] {
            let rows: Vec<Vec<f32>> = (0..n).map(row).collect();
            exact_agreement(&rows, metric, 16, 1.0);
        }
        // All rows identical (every distance ties).
        exact_agreement(&vec![vec![0.5, -0.25, 1.0]; 40], metric, 4, 1.0);
        // Many rows, tiny M: several levels and full lists pruned often.
        let rows: Vec<Vec<f32>> = (0..300).map(row).collect();
        // (Inner product on rows of unequal norms is not a metric: graph search finds
        // less of the exact top-k; measured 0.76 here.)
        let floor = if metric == Metric::Dot { 0.7 } else { 0.95 };
        exact_agreement(&rows, metric, 2, floor);
    }
}

#[test]
fn an_empty_gallery_gets_an_empty_graph() {
    let mut b = GalleryBuilder::new(4, Metric::L2).unwrap();
    b.hnsw(native()).unwrap();
    let g = b.build_in_memory().unwrap();
    g.verify().unwrap();
    assert!(
        g.search(&[1.0, 0.0, 0.0, 0.0], &SearchParams::k(3))
            .unwrap()
            .is_empty()
    );
}
