//! Data integrity across commits and checks: a commit never launders damage into a fresh
//! file, `verify` fails on graph nodes no search can reach, and values that would overflow
//! a distance are refused at the boundary (and, if forged into a file, never make a row
//! vanish from results).

mod common;

use std::ops::Range;
use std::path::{Path, PathBuf};

use common::reseal;
use vecmatch::{
    Collection, CollectionOptions, ElementType, Error, Gallery, GalleryBuilder, HnswParams, Metric,
    SearchParams,
};

const D: usize = 20;

/// A 300 × 20 L2 gallery file in `dir` (keys scrambled), its keys and bytes.
fn fixture(dir: &Path) -> (PathBuf, Vec<u64>, Vec<u8>) {
    fixture_with(dir, Metric::L2)
}

fn fixture_with(dir: &Path, metric: Metric) -> (PathBuf, Vec<u64>, Vec<u8>) {
    let (path, keys) = common::small_file(dir, 300, D, metric);
    let bytes = std::fs::read(&path).unwrap();
    (path, keys, bytes)
}

fn section(path: &Path, name: &str) -> Range<usize> {
    let s = Gallery::open(path)
        .unwrap()
        .info()
        .sections
        .into_iter()
        .find(|s| s.name == name)
        .unwrap();
    s.offset as usize..(s.offset + s.length) as usize
}

/// The change a test makes to a collection before committing.
#[derive(Debug, Clone, Copy)]
enum Op {
    Add,
    Replace,
    Delete,
    Compact,
}

const OPS: [Op; 4] = [Op::Add, Op::Replace, Op::Delete, Op::Compact];

/// Opens `path` (holding `damaged`), applies `op` and commits: the commit must fail with
/// `Error::Corrupt` naming `what`, leave the file byte for byte as it was, and keep the
/// change pending.
fn commit_is_refused(path: &Path, keys: &[u64], damaged: &[u8], op: Op, what: &str) {
    std::fs::write(path, damaged).unwrap();
    let c = Collection::open_with(path, CollectionOptions::manual()).unwrap();
    let before = c.stats();
    let result = match op {
        Op::Add => c.add(u64::MAX - 1, &[0.25; D]).and_then(|_| c.commit()),
        Op::Replace => c.add(keys[7], &[0.25; D]).and_then(|_| c.commit()),
        Op::Delete => c.delete(keys[3]).and_then(|_| c.commit()),
        Op::Compact => c.compact(),
    };
    match result {
        Err(Error::Corrupt(m)) => {
            assert!(m.contains(what), "{op:?}: {m}");
            assert!(m.contains("verify") && m.contains("unchanged"), "{m}");
        }
        other => panic!("{op:?} ({what}): expected a refusal, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(path).unwrap(),
        damaged,
        "{op:?}: file changed"
    );
    let after = c.stats();
    if !matches!(op, Op::Compact) {
        assert_ne!(after, before, "{op:?}: the change stays pending");
    }
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        // The writer lock's sidecar (`NAME.lock`) stays by design.
        .filter(|n| !n.to_string_lossy().ends_with(".lock"))
        .collect();
    assert_eq!(left.len(), 1, "temporary files left: {left:?}");
}

#[test]
fn a_flipped_byte_in_vectors_stops_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (path, keys, bytes) = fixture(dir.path());
    let v = section(&path, "VECTORS");
    // In a row that is copied (not the deleted or replaced one), and in the deleted row.
    for at in [v.start + 4 * D * 100 + 2, v.start + 4 * D * 3 + 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        assert!(matches!(
            Gallery::from_bytes(&damaged).unwrap().verify(),
            Err(Error::ChecksumMismatch { .. })
        ));
        for op in OPS {
            commit_is_refused(&path, &keys, &damaged, op, "checksum mismatch in VECTORS");
        }
    }
}

#[test]
fn damaged_keys_and_key_index_stop_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (path, keys, bytes) = fixture(dir.path());
    let (k, idx) = (section(&path, "KEYS"), section(&path, "KEY_INDEX"));
    for damage in ["KEYS flip", "duplicate key", "unsorted index"] {
        let mut b = bytes.clone();
        match damage {
            "KEYS flip" => b[k.start + 8 * 11 + 3] ^= 1,
            "duplicate key" => {
                // Row 1 gets row 0's key; checksums made valid again.
                b.copy_within(k.start..k.start + 8, k.start + 8);
                reseal(&mut b);
            }
            _ => {
                // Two KEY_INDEX entries swapped; checksums valid.
                let (first, rest) = b[idx.clone()].split_at_mut(16);
                first.swap_with_slice(&mut rest[..16]);
                reseal(&mut b);
            }
        }
        let what = match damage {
            "KEYS flip" => "checksum mismatch in KEYS",
            "duplicate key" => "disagrees with KEYS",
            _ => "not strictly sorted",
        };
        for op in OPS {
            commit_is_refused(&path, &keys, &b, op, what);
        }
    }
}

#[test]
fn an_undamaged_file_still_commits_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (path, keys, _) = fixture(dir.path());
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    c.add(u64::MAX - 1, &[0.25; D]).unwrap();
    c.delete(keys[3]).unwrap();
    let r = c.commit().unwrap();
    assert_eq!(r.rows, 300);
    Gallery::open(&path).unwrap().verify().unwrap();
    c.compact().unwrap();
    Gallery::open(&path).unwrap().verify().unwrap();
}

/// A damaged GRAPH is never copied: a commit that would extend it rebuilds it from the
/// rows (whose checksums are checked) instead, and `compact` replaces it.
#[test]
fn a_damaged_graph_is_rebuilt_not_copied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    let mut rng = common::Rng::new(5);
    let v: Vec<f32> = (0..200 * D).map(|_| rng.unit()).collect();
    b.add_batch(&(0..200).collect::<Vec<u64>>(), &v).unwrap();
    b.hnsw(HnswParams {
        m: 6,
        ef_construction: 40,
        ..HnswParams::default()
    })
    .unwrap();
    b.write(&path).unwrap();
    let g = section(&path, "GRAPH");
    let mut bytes = std::fs::read(&path).unwrap();
    // A neighbour id changed to another valid one: only the checksum can tell.
    let layer0 = g.start
        + u64::from_le_bytes(bytes[g.start + 32..g.start + 40].try_into().unwrap()) as usize;
    let slot = layer0 + 4;
    let id = u32_at(&bytes, slot);
    bytes[slot..slot + 4].copy_from_slice(&((id + 1) % 200).to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let damaged = Gallery::open(&path).unwrap();
    let report = damaged.graph_report();
    assert!(report.is_ok(), "{report:?}");
    assert!(
        matches!(damaged.verify(), Err(Error::ChecksumMismatch { ref region, .. }) if region == "GRAPH")
    );
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    // Only added rows: the graph would be extended, but its checksum fails: rebuilt.
    c.add(1000, &[0.5; D]).unwrap();
    let r = c.commit().unwrap();
    assert!(r.graph && !r.graph_extended, "{r:?}");
    Gallery::open(&path).unwrap().verify().unwrap();
    // Extended when undamaged.
    c.add(1001, &[0.25; D]).unwrap();
    assert!(c.commit().unwrap().graph_extended);
    Gallery::open(&path).unwrap().verify().unwrap();
}

// ---- unreachable graph nodes ----

const N: usize = 1500;
const GD: usize = 16;

fn graph_file(dir: &Path) -> (PathBuf, Vec<f32>) {
    let mut rng = common::Rng::new(11);
    let v: Vec<f32> = (0..N * GD).map(|_| rng.unit()).collect();
    let mut b = GalleryBuilder::new(GD, Metric::L2).unwrap();
    b.add_batch(&(0..N as u64).collect::<Vec<_>>(), &v).unwrap();
    b.hnsw(HnswParams {
        m: 6,
        ef_construction: 40,
        seed: 3,
        ..HnswParams::default()
    })
    .unwrap();
    let path = dir.join("graph.vmg");
    b.write(&path).unwrap();
    (path, v)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Removes from every layer-0 list of a row outside `cut` its links into `cut` (valid
/// checksums afterwards): no row of `cut` can be reached from the entry point on layer 0.
fn cut_off(bytes: &mut [u8], graph: usize, cut: &Range<u32>) {
    let stride0 = u32_at(bytes, graph + 16) as usize;
    let entry = u32_at(bytes, graph + 28);
    assert!(
        !cut.contains(&entry),
        "pick a range without the entry point"
    );
    let layer0 =
        graph + u64::from_le_bytes(bytes[graph + 32..graph + 40].try_into().unwrap()) as usize;
    for r in (0..N as u32).filter(|r| !cut.contains(r)) {
        let at = layer0 + r as usize * stride0 * 4;
        let deg = u32_at(bytes, at) as usize;
        let kept: Vec<u32> = (0..deg)
            .map(|i| u32_at(bytes, at + 4 * (1 + i)))
            .filter(|x| !cut.contains(x))
            .collect();
        bytes[at..at + 4].copy_from_slice(&(kept.len() as u32).to_le_bytes());
        for (i, x) in kept.iter().enumerate() {
            bytes[at + 4 * (1 + i)..at + 4 * (2 + i)].copy_from_slice(&x.to_le_bytes());
        }
    }
    reseal(bytes);
}

#[test]
fn unreachable_graph_nodes_fail_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (path, v) = graph_file(dir.path());
    let g = section(&path, "GRAPH");
    let mut bytes = std::fs::read(&path).unwrap();
    Gallery::from_bytes(&bytes).unwrap().verify().unwrap();
    let entry = u32_at(&bytes, g.start + 28);
    let cut = if entry < 1000 { 1000..1400 } else { 100..500 };
    cut_off(&mut bytes, g.start, &cut);
    let damaged = Gallery::from_bytes(&bytes).unwrap();
    let report = damaged.graph_report().unwrap().unwrap();
    assert!(report.unreachable >= 400, "{report:?}");
    match damaged.verify() {
        Err(Error::Corrupt(m)) => {
            let count = format!("{} of {N} nodes are unreachable", report.unreachable);
            assert!(m.contains(&count), "{m}");
        }
        other => panic!("verify must fail: {other:?}"),
    }
    // Searches never panic and keep their shape.
    for q in v.chunks_exact(GD).take(20) {
        for ef in [1, 16, 200] {
            let p = SearchParams {
                k: 10,
                ef,
                ..SearchParams::default()
            };
            let hits = damaged.search(q, &p).unwrap();
            assert!(hits.len() <= 10);
            assert!(hits.windows(2).all(|w| w[0].cmp_rank(&w[1]).is_le()));
        }
    }
    // The CLI: FAILED, exit 1, one line naming the count.
    std::fs::write(&path, &bytes).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vecmatch"))
        .args(["verify", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("unreachable") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    // A commit that only adds rows does not extend such a graph: it rebuilds it.
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    c.add(N as u64, &[0.5; GD]).unwrap();
    let r = c.commit().unwrap();
    assert!(r.graph && !r.graph_extended, "{r:?}");
    Gallery::open(&path).unwrap().verify().unwrap();
}

// ---- values that overflow the metric ----

#[test]
fn values_that_overflow_a_distance_are_refused() {
    for metric in [Metric::L2, Metric::Dot] {
        let limit = vecmatch::unstable::value_limit(metric, ElementType::F32, D);
        assert!(limit > 1e17 && limit < 2e18, "{limit}");
        let mut big = vec![0.5f32; D];
        big[4] = 1e30;
        let mut b = GalleryBuilder::new(D, metric).unwrap();
        assert!(matches!(
            b.add(1, &big),
            Err(Error::OutOfRange { index: 4, ref what, .. }) if what == "vector row 0"
        ));
        big[4] = -f32::MAX;
        assert!(matches!(b.add(1, &big), Err(Error::OutOfRange { .. })));
        big[4] = limit;
        b.add(1, &big).unwrap();
        big[4] = -limit;
        b.add(2, &big).unwrap();
        let g = b.build_in_memory().unwrap();
        g.verify().unwrap();
        // The largest allowed values still give finite distances, in every search path.
        let hits = g.search(&big, &SearchParams::k(2)).unwrap();
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.distance.is_finite()), "{hits:?}");
        let mut q = big.clone();
        q[0] = 1e30;
        assert!(matches!(
            g.search(&q, &SearchParams::k(2)),
            Err(Error::OutOfRange { ref what, index: 0, .. }) if what == "query"
        ));
        // Collections refuse them too, and nothing changes.
        let dir = tempfile::tempdir().unwrap();
        let c = Collection::create(
            dir.path().join("c.vmg"),
            D,
            metric,
            CollectionOptions::manual(),
        )
        .unwrap();
        assert!(matches!(c.add(1, &q), Err(Error::OutOfRange { .. })));
        assert!(c.is_empty());
        assert!(matches!(
            c.search(&q, &SearchParams::k(1)),
            Err(Error::OutOfRange { .. })
        ));
    }
    // Cosine normalises first (in f64): any finite value is fine.
    let mut b = GalleryBuilder::new(2, Metric::Cosine).unwrap();
    b.add(1, &[f32::MAX, 1.0]).unwrap();
    let g = b.build_in_memory().unwrap();
    assert!(
        g.search(&[f32::MAX, f32::MAX], &SearchParams::k(1))
            .unwrap()[0]
            .distance
            .is_finite()
    );
}

#[test]
fn f16_galleries_refuse_values_beyond_f16() {
    // Chosen before the rows are added: refused at add.
    let mut b = GalleryBuilder::new(4, Metric::L2).unwrap();
    b.element_type(ElementType::F16);
    assert!(matches!(
        b.add(1, &[1.0, 70_000.0, 0.0, 0.0]),
        Err(Error::OutOfRange {
            index: 1,
            limit: 65504.0,
            ..
        })
    ));
    b.add(1, &[1.0, 65_504.0, 0.0, 0.0]).unwrap();
    b.build_in_memory().unwrap().verify().unwrap();
    // Chosen after: refused when written, before anything is written.
    let mut b = GalleryBuilder::new(4, Metric::Dot).unwrap();
    b.add(1, &[1.0, -1e6, 0.0, 0.0]).unwrap();
    b.element_type(ElementType::F16);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.vmg");
    assert!(matches!(b.write(&path), Err(Error::OutOfRange { .. })));
    assert!(!path.exists());
    // A collection over an f16 gallery refuses them at add.
    let mut b = GalleryBuilder::new(4, Metric::L2).unwrap();
    b.element_type(ElementType::F16);
    b.add(1, &[1.0; 4]).unwrap();
    b.write(&path).unwrap();
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    assert!(matches!(
        c.add(2, &[1.0, 1.0, 1e5, 1.0]),
        Err(Error::OutOfRange { index: 2, .. })
    ));
    // Cosine rows are normalised first: large values are fine.
    let mut b = GalleryBuilder::new(4, Metric::Cosine).unwrap();
    b.element_type(ElementType::F16);
    b.add(1, &[1e30, 1.0, 0.0, 0.0]).unwrap();
    b.build_in_memory().unwrap().verify().unwrap();
}

/// Rows whose distance is NaN or infinite (possible only in a forged file) rank last but
/// are never dropped from the results.
#[test]
fn rows_with_nan_distances_do_not_vanish() {
    let dir = tempfile::tempdir().unwrap();
    let (path, keys, bytes) = fixture_with(dir.path(), Metric::Dot);
    let v = section(&path, "VECTORS");
    let mut b = bytes.clone();
    // With a query of 2s, row 5 (all -f32::MAX) has the dot product -inf (distance
    // +inf), row 9 (signs alternating) inf - inf = NaN.
    for i in 0..D {
        let x = (-f32::MAX).to_le_bytes();
        b[v.start + 4 * (5 * D + i)..][..4].copy_from_slice(&x);
        let y = if i % 2 == 0 { f32::MAX } else { -f32::MAX };
        b[v.start + 4 * (9 * D + i)..][..4].copy_from_slice(&y.to_le_bytes());
    }
    reseal(&mut b);
    let g = Gallery::from_bytes(&b).unwrap();
    assert!(matches!(g.verify(), Err(Error::OutOfRange { .. })));
    let q = [2.0f32; D];
    for threads in [Some(1), Some(2)] {
        let p = SearchParams {
            k: 300,
            exact: true,
            threads,
            ..SearchParams::default()
        };
        let hits = g.search(&q, &p).unwrap();
        assert_eq!(hits.len(), 300);
        assert!(hits.iter().all(|h| !h.distance.is_nan()));
        let last: Vec<u64> = hits[298..].iter().map(|h| h.key).collect();
        let mut want = vec![keys[5], keys[9]];
        want.sort_unstable();
        assert_eq!(last, want);
        let batch = g.search_batch(&q.repeat(3), &p).unwrap();
        assert!(batch.iter().all(|h| h.len() == 300));
    }
}

// ---- thread counts ----

/// Runs `f` on another thread and fails if it does not finish within `secs`.
fn promptly<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("did not return promptly")
}

#[test]
fn huge_thread_counts_return_promptly_with_correct_results() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, _) = fixture(dir.path());
    let g = Gallery::open(&path).unwrap();
    let q: Vec<f32> = (0..4 * D).map(|i| (i as f32).sin()).collect();
    let want = g.search_batch(&q, &SearchParams::k(10)).unwrap();
    for threads in [usize::MAX, 100_000, 20_000] {
        let g = Gallery::open(&path).unwrap();
        let q = q.clone();
        let got = promptly(60, move || {
            let p = SearchParams {
                threads: Some(threads),
                ..SearchParams::k(10)
            };
            (
                g.search(&q[..D], &p).unwrap(),
                g.search_batch(&q, &p).unwrap(),
            )
        });
        assert_eq!(got.0, want[0]);
        assert_eq!(got.1, want);
    }
    assert!(vecmatch::thread_limit() >= 4);
}
