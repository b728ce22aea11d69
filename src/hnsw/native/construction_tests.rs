//! The builder on each [`HnswConstruction`]: graph quality of `i8` codes against f32 rows,
//! determinism for a seed with one thread, and a checked graph for every metric.

use super::tests::{fvecs, recall};
use super::*;

fn params(construction: HnswConstruction) -> HnswParams {
    HnswParams {
        construction,
        ..HnswParams::default()
    }
}

fn build_with(
    threads: usize,
    vectors: &[f32],
    d: usize,
    metric: Metric,
    p: &HnswParams,
) -> FrozenGraph {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| NativeBuilder.build(vectors, d, metric, p, &Progress::default()))
        .unwrap()
}

#[test]
fn a_graph_built_on_i8_codes_finds_what_an_f32_built_one_does() {
    let (d, base) = fvecs("base.fvecs");
    let f32_graph = build_with(2, &base, d, Metric::Dot, &params(HnswConstruction::F32)).to_bytes();
    let i8_graph = build_with(2, &base, d, Metric::Dot, &params(HnswConstruction::I8)).to_bytes();
    assert_ne!(
        f32_graph, i8_graph,
        "the i8 build computed the same distances"
    );
    for ef in [16, 64] {
        let (a, b) = (
            recall(&f32_graph, &base, d, ef),
            recall(&i8_graph, &base, d, ef),
        );
        eprintln!("ef {ef}: f32-built {a:.4}, i8-built {b:.4}");
        let margin = if ef == 64 { 0.01 } else { 0.02 };
        assert!(b >= a - margin, "ef {ef}: i8-built {b} vs f32-built {a}");
    }
}

#[test]
fn one_thread_builds_are_identical_for_a_seed_in_every_mode() {
    let (d, base) = fvecs("base.fvecs");
    let rows = &base[..1500 * d];
    for c in [
        HnswConstruction::F32,
        HnswConstruction::I8,
        HnswConstruction::Auto,
    ] {
        let p = HnswParams {
            ef_construction: 64,
            ..params(c)
        };
        let a = build_with(1, rows, d, Metric::Dot, &p).to_bytes();
        let b = build_with(1, rows, d, Metric::Dot, &p).to_bytes();
        assert!(a == b, "{c:?}: two 1-thread builds with one seed differ");
        let other = build_with(1, rows, d, Metric::Dot, &HnswParams { seed: 99, ..p });
        assert!(
            a != other.to_bytes(),
            "{c:?}: another seed gave the same graph"
        );
    }
}

#[test]
fn every_metric_builds_a_connected_graph_in_every_mode() {
    let (d, base) = fvecs("base.fvecs");
    let n = 2000;
    // Unnormalised rows for L2 and dot: each row scaled by 1..=4, as raw embeddings vary.
    let scaled: Vec<f32> = base[..n * d]
        .chunks_exact(d)
        .enumerate()
        .flat_map(|(i, r)| r.iter().map(move |x| x * (1 + i % 4) as f32))
        .collect();
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
        let rows = if metric == Metric::Cosine {
            &base[..n * d]
        } else {
            &scaled[..]
        };
        let mut repaired = Vec::new();
        for c in [HnswConstruction::F32, HnswConstruction::I8] {
            let p = HnswParams {
                ef_construction: 100,
                ..params(c)
            };
            // The whole pipeline: build, repair of the nodes a build leaves unreachable
            // (hnswlib's algorithm can), check.
            // One thread: the graphs, and so the counts, are fixed for the seed.
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            let (bytes, report, _) = pool
                .install(|| crate::hnsw::build_section(rows, d, metric, &p, &Progress::default()))
                .unwrap();
            let again = crate::hnsw::check(&GraphView::parse(&bytes, n).unwrap()).unwrap();
            assert_eq!(report.nodes, n);
            assert_eq!(again.unreachable, 0, "{metric:?} {c:?}: {again:?}");
            // Measured: cosine 0-2 repaired nodes, dot and L2 on the rows scaled 1-4× 31-77
            // (as many with codes as with f32 rows).
            assert!(report.repaired <= n / 20, "{metric:?} {c:?}: {report:?}");
            assert!(report.edges0 >= n * 8, "{metric:?} {c:?}: {report:?}");
            repaired.push(report.repaired);
        }
        assert!(
            repaired[1] <= repaired[0] + n / 100,
            "{metric:?}: repaired nodes f32 {} i8 {}",
            repaired[0],
            repaired[1]
        );
    }
}

#[test]
fn extending_on_i8_codes_keeps_recall() {
    let (d, base) = fvecs("base.fvecs");
    let n = base.len() / d;
    let old = n - n / 10;
    let p = params(HnswConstruction::I8);
    let none = Progress::default();
    let part = build_with(2, &base[..old * d], d, Metric::Dot, &p).to_bytes();
    let view = GraphView::parse(&part, old).unwrap();
    let mut grown = extend(&view, &base, d, Metric::Dot, &p, &none).unwrap();
    crate::hnsw::repair(&mut grown, &base, d, Metric::Dot);
    let grown = grown.to_bytes();
    let full = build_with(2, &base, d, Metric::Dot, &params(HnswConstruction::F32)).to_bytes();
    let (a, b) = (recall(&full, &base, d, 64), recall(&grown, &base, d, 64));
    assert!(b >= a - 0.02, "extended on i8 {b} vs f32 rebuild {a}");
}

#[test]
fn meta_records_the_construction_used() {
    let (d, base) = fvecs("base.fvecs");
    for (c, want) in [
        (HnswConstruction::F32, "f32"),
        (HnswConstruction::I8, "i8"),
        (
            HnswConstruction::Auto,
            HnswConstruction::Auto.resolve(Metric::Dot, d).name(),
        ),
    ] {
        let mut b = crate::GalleryBuilder::new(d, Metric::Dot).unwrap();
        let keys: Vec<u64> = (0..300).collect();
        b.add_batch(&keys, &base[..300 * d]).unwrap();
        b.hnsw(params(c)).unwrap();
        let g = b.build_in_memory().unwrap();
        let meta: serde_json::Value = serde_json::from_str(&g.info().meta.unwrap()).unwrap();
        assert_eq!(meta["hnsw"]["construction"], want, "{c:?}");
    }
}
