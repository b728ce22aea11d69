//! HNSW: seeded recall on the shipped data, graph invariants, mmap vs memory, filters,
//! and damaged graphs (errors or wrong answers, never a panic or a hang).

mod common;

use std::sync::OnceLock;

use common::{data, read_fvecs, read_ivecs};
use vecmatch::{Error, Gallery, GalleryBuilder, HnswParams, KeyFilter, Metric, SearchParams};

/// The shipped 5,000 rows with an HNSW graph (built once per test binary).
fn gallery_bytes() -> &'static Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut b = common::builder(Metric::Dot);
        b.hnsw(HnswParams::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        b.write(&path).unwrap();
        std::fs::read(&path).unwrap()
    })
}

fn recall(g: &Gallery, ef: usize) -> f64 {
    let (d, queries) = read_fvecs(data("query.fvecs")).unwrap();
    let (gk, gt) = read_ivecs(data("gt.ivecs")).unwrap();
    let p = SearchParams {
        k: 10,
        ef,
        ..SearchParams::default()
    };
    let res = g.search_batch(&queries, &p).unwrap();
    let mut hit = 0;
    for (qi, hits) in res.iter().enumerate() {
        let truth = &gt[qi * gk..qi * gk + 10];
        hit += hits
            .iter()
            .filter(|h| truth.contains(&(h.key as i32)))
            .count();
        // Single search gives the same answer as batch.
        assert_eq!(hits, &g.search(&queries[qi * d..(qi + 1) * d], &p).unwrap());
    }
    hit as f64 / (res.len() * 10) as f64
}

#[test]
fn recall_at_10_is_high_and_grows_with_ef() {
    let g = Gallery::from_bytes(gallery_bytes()).unwrap();
    assert!(g.has_graph());
    let r16 = recall(&g, 16);
    let r64 = recall(&g, 64);
    let r256 = recall(&g, 256);
    eprintln!("recall@10: ef16 {r16:.4} ef64 {r64:.4} ef256 {r256:.4}");
    // Measured on this data: native builder (default) 0.934-0.935 at ef 16, 0.998 at
    // ef 64; hnsw_rs 0.910-0.921 and 0.997-0.999; 1.0 at ef 256 for both
    // (ARCHITECTURE.md). The thresholds hold for both builders.
    assert!(r16 >= 0.88, "ef=16 recall {r16}");
    assert!(r64 >= 0.985, "ef=64 recall {r64}");
    assert!(r256 >= 0.998, "ef=256 recall {r256}");
    assert!(r16 <= r64 && r64 <= r256 + 1e-9);
    // exact: true bypasses the graph.
    let (_, queries) = read_fvecs(data("query.fvecs")).unwrap();
    let exact = g
        .search(
            &queries[..384],
            &SearchParams {
                k: 10,
                exact: true,
                ..SearchParams::default()
            },
        )
        .unwrap();
    let (gk, gt) = read_ivecs(data("gt.ivecs")).unwrap();
    assert_eq!(
        exact.iter().map(|h| h.key as i32).collect::<Vec<_>>(),
        gt[..10].to_vec()
    );
    let _ = gk;
}

#[test]
fn graph_invariants_hold() {
    let g = Gallery::from_bytes(gallery_bytes()).unwrap();
    let r = g.graph_report().unwrap().unwrap();
    assert_eq!(r.nodes, 5000);
    assert_eq!(r.unreachable, 0, "{r:?}");
    assert!(r.max_degree0 <= 32 && r.max_degree0 > 0);
    assert!(r.max_level >= 1);
    // Upper levels hold about n / M^level nodes each (not every node: hnsw_rs keeps empty
    // neighbour lists for all 16 of its layers on every point).
    assert_eq!(r.upper_nodes.len(), r.max_level);
    assert!(
        r.upper_nodes[0] > 5000 / 32 && r.upper_nodes[0] < 5000 / 8,
        "{r:?}"
    );
    assert!(r.upper_nodes.windows(2).all(|w| w[0] >= w[1]), "{r:?}");
    g.verify().unwrap();
    let meta: serde_json::Value = serde_json::from_str(&g.info().meta.unwrap()).unwrap();
    assert_eq!(meta["hnsw"]["m"], 16);
    assert_eq!(meta["hnsw"]["builder"], "native");
}

#[test]
fn mmap_and_memory_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    std::fs::write(&path, gallery_bytes()).unwrap();
    let a = Gallery::open(&path).unwrap();
    let b = Gallery::from_bytes(gallery_bytes()).unwrap();
    let (_, queries) = read_fvecs(data("query.fvecs")).unwrap();
    let p = SearchParams {
        k: 10,
        ef: 32,
        ..SearchParams::default()
    };
    assert_eq!(
        a.search_batch(&queries, &p).unwrap(),
        b.search_batch(&queries, &p).unwrap()
    );
}

#[test]
fn filters_and_range_work_with_the_graph() {
    let g = Gallery::from_bytes(gallery_bytes()).unwrap();
    let (_, queries) = read_fvecs(data("query.fvecs")).unwrap();
    let q = &queries[..384];
    let plain = g.search(q, &SearchParams::k(10)).unwrap();
    // Deny the best five: none of them comes back, the rest still does.
    let deny: Vec<u64> = plain[..5].iter().map(|h| h.key).collect();
    let p = SearchParams {
        k: 10,
        filter: Some(KeyFilter::Deny(&deny)),
        ..SearchParams::default()
    };
    let got = g.search(q, &p).unwrap();
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|h| !deny.contains(&h.key)));
    assert!(
        plain[5..]
            .iter()
            .all(|h| got.iter().any(|x| x.key == h.key))
    );
    // A large allow-list (even keys, 50%) is searched through the graph; a small one (1%)
    // falls back to an exact scan; both only return allowed keys and agree with exact.
    for step in [2u64, 100] {
        let allow: Vec<u64> = (0..5000).step_by(step as usize).collect();
        let p = SearchParams {
            k: 10,
            ef: 128,
            filter: Some(KeyFilter::Allow(&allow)),
            ..SearchParams::default()
        };
        let got = g.search(q, &p).unwrap();
        let exact = g.search(q, &SearchParams { exact: true, ..p }).unwrap();
        assert!(got.iter().all(|h| h.key % step == 0));
        let same = got
            .iter()
            .filter(|h| exact.iter().any(|e| e.key == h.key))
            .count();
        assert!(same >= 9, "step {step}: {same}/10");
    }
    // max_distance bounds the hits.
    let p = SearchParams {
        k: 10,
        max_distance: Some(plain[2].distance),
        ..SearchParams::default()
    };
    let got = g.search(q, &p).unwrap();
    assert!(got.len() >= 3 && got.iter().all(|h| h.distance <= plain[2].distance));
}

#[test]
fn small_and_odd_galleries() {
    for n in [0usize, 1, 2, 17] {
        let mut b = GalleryBuilder::new(5, Metric::L2).unwrap();
        for i in 0..n {
            b.add(i as u64 * 10, &[i as f32, 1.0, 2.0, 3.0, 4.0])
                .unwrap();
        }
        b.hnsw(HnswParams {
            m: 4,
            ef_construction: 20,
            seed: 1,
            ..HnswParams::default()
        })
        .unwrap();
        let g = b.build_in_memory().unwrap();
        g.verify().unwrap();
        let hits = g
            .search(&[3.2, 1.0, 2.0, 3.0, 4.0], &SearchParams::k(3))
            .unwrap();
        assert_eq!(hits.len(), n.min(3));
        if n > 3 {
            assert_eq!(hits[0].key, 30);
        }
    }
    let mut b = GalleryBuilder::new(2, Metric::Cosine).unwrap();
    assert!(matches!(
        b.hnsw(HnswParams {
            m: 1,
            ..HnswParams::default()
        }),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        b.hnsw(HnswParams {
            ef_construction: 0,
            ..HnswParams::default()
        }),
        Err(Error::InvalidArgument(_))
    ));
}

/// Offset and length of the GRAPH section.
fn graph_range(bytes: &[u8]) -> (usize, usize) {
    let g = Gallery::from_bytes(bytes).unwrap();
    let s = g
        .info()
        .sections
        .into_iter()
        .find(|s| s.name == "GRAPH")
        .unwrap();
    (s.offset as usize, s.length as usize)
}

#[test]
fn damaged_graphs_never_panic_or_hang() {
    let bytes = gallery_bytes();
    let (off, len) = graph_range(bytes);
    let (_, queries) = read_fvecs(data("query.fvecs")).unwrap();
    let q = &queries[..384];
    let mut rng = common::Rng::with_state(0x1234_5678);
    for round in 0..200 {
        let mut b = bytes.clone();
        // Overwrite a few u32 words of the graph with random values, or big ranges.
        for _ in 0..(1 + round % 8) {
            let s = rng.next_u64();
            let at = off + (s as usize % (len / 4)) * 4;
            let v = if round % 3 == 0 {
                u32::MAX - (s >> 40) as u32
            } else {
                (s >> 32) as u32 % 6000
            };
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        if round % 50 == 0 {
            b[off + len / 2..off + len / 2 + 4096.min(len / 2)].fill(0xFF);
        }
        match Gallery::from_bytes(&b) {
            Ok(g) => {
                assert!(
                    g.verify().is_err(),
                    "round {round}: damage not detected by verify"
                );
                let _ = g.graph_report();
                for ef in [10, 64] {
                    let _ = g.search(
                        q,
                        &SearchParams {
                            k: 10,
                            ef,
                            ..SearchParams::default()
                        },
                    );
                }
            }
            Err(e) => assert!(matches!(e, Error::Corrupt(_)), "round {round}: {e:?}"),
        }
    }
}

#[test]
fn dot_metric_with_large_norms_builds() {
    // 1 - dot is negative here; hnsw_rs asserts non-negative distances.
    let mut b = GalleryBuilder::new(3, Metric::Dot).unwrap();
    for i in 0..400u64 {
        let x = i as f32;
        b.add(i, &[x.sin() * 10.0, x.cos() * 10.0, (x * 0.37).sin() * 5.0])
            .unwrap();
    }
    b.hnsw(HnswParams {
        m: 8,
        ef_construction: 40,
        seed: 2,
        ..HnswParams::default()
    })
    .unwrap();
    let g = b.build_in_memory().unwrap();
    g.verify().unwrap();
    let q = [10.0, 0.0, 0.0];
    let approx = g
        .search(
            &q,
            &SearchParams {
                k: 5,
                ef: 100,
                ..SearchParams::default()
            },
        )
        .unwrap();
    let exact = g
        .search(
            &q,
            &SearchParams {
                k: 5,
                exact: true,
                ..SearchParams::default()
            },
        )
        .unwrap();
    assert_eq!(approx, exact);
    assert!(
        exact[0].distance < 0.0,
        "negative dot distances are allowed at search"
    );
}
