//! Targeted damage to the GRAPH section, field by field (the layout of ARCHITECTURE.md):
//! every case must give an error at open, an error from `verify`/`graph_report`, or
//! search results (possibly wrong) — never a panic, an out-of-bounds read or a hang.
//! `tests/hnsw.rs` adds random damage on top.

mod support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use vecmatch::{Error, Gallery, GalleryBuilder, HnswParams, KeyFilter, Metric, SearchParams};

const N: usize = 1500;
const D: usize = 16;

fn vectors() -> Vec<f32> {
    support::Rng::with_state(0x2545_F491_4F6C_DD1D).vec(N * D)
}

/// A small gallery with a graph (built once per test binary) and its GRAPH offset.
fn original() -> &'static (Vec<u8>, usize) {
    static G: OnceLock<(Vec<u8>, usize)> = OnceLock::new();
    G.get_or_init(|| {
        let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
        let keys: Vec<u64> = (0..N as u64).map(|k| k * 7).collect();
        b.add_batch(&keys, &vectors()).unwrap();
        b.hnsw(HnswParams {
            m: 6,
            ef_construction: 40,
            seed: 3,
            ..HnswParams::default()
        })
        .unwrap();
        let g = b.build_in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        g.write_to(&path).unwrap();
        let graph = g
            .info()
            .sections
            .into_iter()
            .find(|s| s.name == "GRAPH")
            .unwrap();
        (std::fs::read(&path).unwrap(), graph.offset as usize)
    })
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Facts of the original graph needed to aim the damage.
struct Shape {
    graph: usize,
    stride0: usize,
    layer0: usize,
    max_level: usize,
}

fn shape(b: &[u8]) -> Shape {
    let graph = original().1;
    Shape {
        graph,
        stride0: u32_at(b, graph + 16) as usize,
        layer0: graph + u64_at(b, graph + 32) as usize,
        max_level: u32_at(b, graph + 24) as usize,
    }
}

/// What happened to a damaged file.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Refused at open.
    Refused,
    /// Opened; `verify` flagged it (always, since the GRAPH checksum no longer matches).
    Searched { report_ok: bool },
}

fn is_damage_error(e: &Error) -> bool {
    matches!(e, Error::Corrupt(_) | Error::ChecksumMismatch { .. })
}

/// Opens the damaged bytes and runs every kind of search on them.
fn exercise(bytes: &[u8]) -> Outcome {
    let g = match Gallery::from_bytes(bytes) {
        Ok(g) => g,
        Err(e) => {
            assert!(is_damage_error(&e), "{e:?}");
            return Outcome::Refused;
        }
    };
    let v = vectors();
    let allow: Vec<u64> = (0..N as u64).step_by(2).map(|k| k * 7).collect();
    let deny: Vec<u64> = (0..50u64).map(|k| k * 7).collect();
    let t0 = Instant::now();
    for (i, q) in v.chunks_exact(D).take(5).enumerate() {
        for ef in [1, 10, 200] {
            for filter in [
                None,
                Some(KeyFilter::Allow(&allow)),
                Some(KeyFilter::Deny(&deny)),
            ] {
                let p = SearchParams {
                    k: 10,
                    ef,
                    filter,
                    max_distance: (i % 2 == 0).then_some(0.5),
                    threads: Some(1),
                    ..SearchParams::default()
                };
                match g.search(q, &p) {
                    Ok(hits) => assert!(hits.len() <= 10),
                    Err(e) => assert!(is_damage_error(&e), "{e:?}"),
                }
            }
        }
    }
    match g.search_batch(&v[..20 * D], &SearchParams::k(5)) {
        Ok(r) => assert_eq!(r.len(), 20),
        Err(e) => assert!(is_damage_error(&e), "{e:?}"),
    }
    // A full graph walk per search at most: far below this bound, unless something loops.
    assert!(t0.elapsed() < Duration::from_secs(20), "searches too slow");
    let report = g.graph_report();
    if let Err(e) = &report {
        assert!(is_damage_error(e), "{e:?}");
    }
    let verified = g.verify();
    assert!(
        verified.as_ref().is_err_and(is_damage_error),
        "{verified:?}"
    );
    Outcome::Searched {
        report_ok: report.is_ok(),
    }
}

/// A change to the file bytes, given the graph's shape.
type Damage = fn(&mut Vec<u8>, &Shape);

fn damaged(f: impl FnOnce(&mut Vec<u8>, &Shape)) -> Outcome {
    let mut b = original().0.clone();
    let s = shape(&b);
    f(&mut b, &s);
    exercise(&b)
}

#[test]
fn the_undamaged_graph_is_clean() {
    let g = Gallery::from_bytes(&original().0).unwrap();
    g.verify().unwrap();
    let r = g.graph_report().unwrap().unwrap();
    assert_eq!((r.nodes, r.unreachable), (N, 0));
    assert!(
        shape(&original().0).max_level >= 1,
        "test needs upper levels"
    );
}

#[test]
fn header_fields_out_of_range_are_refused_at_open() {
    let cases: [(&str, Damage); 9] = [
        ("magic", |b, s| b[s.graph] ^= 1),
        ("count", |b, s| put_u32(b, s.graph + 8, N as u32 + 1)),
        ("m0 >= stride0", |b, s| {
            put_u32(b, s.graph + 12, s.stride0 as u32)
        }),
        ("stride0 0", |b, s| put_u32(b, s.graph + 16, 0)),
        ("stride0 huge", |b, s| put_u32(b, s.graph + 16, u32::MAX)),
        ("max_level huge", |b, s| put_u32(b, s.graph + 24, 1000)),
        ("entry point", |b, s| put_u32(b, s.graph + 28, N as u32)),
        ("layer-0 offset misaligned", |b, s| {
            let o = u64_at(b, s.graph + 32);
            put_u64(b, s.graph + 32, o + 2)
        }),
        ("layer-0 offset past the end", |b, s| {
            put_u64(b, s.graph + 32, u64::MAX - 3)
        }),
    ];
    for (what, f) in cases {
        assert_eq!(damaged(f), Outcome::Refused, "{what}");
    }
}

#[test]
fn level_table_damage_is_refused_or_harmless() {
    let entry = |b: &mut Vec<u8>, s: &Shape, field: usize, v: u64| {
        let at = s.graph + 64 + 32 * (s.max_level - 1) + 8 * field;
        put_u64(b, at, v)
    };
    // Sub-ranges out of the section: refused.
    for field in 0..4 {
        assert_eq!(
            damaged(|b, s| entry(b, s, field, u64::MAX / 2)),
            Outcome::Refused,
            "field {field}"
        );
    }
    // In range but wrong: the searches still run and the report names the damage.
    let r = damaged(|b, s| entry(b, s, 1, 0));
    assert_eq!(r, Outcome::Searched { report_ok: false });
    // One level fewer or more than written: refused or searched, never a crash.
    let _ = damaged(|b, s| put_u32(b, s.graph + 24, s.max_level as u32 - 1));
    let _ = damaged(|b, s| put_u32(b, s.graph + 24, s.max_level as u32 + 1));
}

#[test]
fn entry_point_off_the_top_level_is_reported() {
    let r = damaged(|b, s| {
        let top = s.graph + 64 + 32 * (s.max_level - 1);
        let nodes = s.graph + u64_at(b, top) as usize;
        let on_top: Vec<u32> = (0..u64_at(b, top + 8) as usize)
            .map(|i| u32_at(b, nodes + 4 * i))
            .collect();
        let off_top = (0..N as u32).find(|r| !on_top.contains(r)).unwrap();
        put_u32(b, s.graph + 28, off_top)
    });
    assert_eq!(r, Outcome::Searched { report_ok: false });
}

/// Rewrites every layer-0 row with `f(row, slots)`.
fn each_row(f: impl Fn(usize, &mut [u32])) -> Outcome {
    damaged(|b, s| {
        for r in 0..N {
            let at = s.layer0 + r * s.stride0 * 4;
            let mut slots: Vec<u32> = (0..s.stride0).map(|i| u32_at(b, at + 4 * i)).collect();
            f(r, &mut slots);
            for (i, v) in slots.iter().enumerate() {
                put_u32(b, at + 4 * i, *v);
            }
        }
    })
}

#[test]
fn layer0_degrees_beyond_m0_are_clamped() {
    let r = each_row(|_, slots| slots[0] = u32::MAX);
    assert_eq!(r, Outcome::Searched { report_ok: false });
    let r = each_row(|r, slots| slots[0] = (r as u32).wrapping_mul(2_654_435_761));
    assert_eq!(r, Outcome::Searched { report_ok: false });
}

#[test]
fn layer0_ids_out_of_range_are_skipped() {
    let r = each_row(|r, slots| {
        for (i, x) in slots[1..].iter_mut().enumerate() {
            if (r + i) % 3 == 0 {
                *x = N as u32 + (r * i) as u32;
            }
        }
    });
    assert_eq!(r, Outcome::Searched { report_ok: false });
    let r = each_row(|_, slots| slots[1..].fill(u32::MAX));
    assert_eq!(r, Outcome::Searched { report_ok: false });
}

#[test]
fn cycles_self_loops_and_empty_rows_terminate() {
    // Every node links only to itself: the beam stops after the entry's neighbourhood.
    let r = each_row(|r, slots| {
        slots[0] = 3;
        slots[1..4].fill(r as u32);
    });
    assert!(matches!(r, Outcome::Searched { .. }));
    // One big cycle, and a graph that points everything at row 0.
    let _ = each_row(|r, slots| {
        slots[0] = 1;
        slots[1] = ((r + 1) % N) as u32;
    });
    let _ = each_row(|_, slots| slots[1..].fill(0));
    // No edges at all: only the entry point can be found.
    let r = each_row(|_, slots| slots[0] = 0);
    assert!(matches!(r, Outcome::Searched { .. }));
}

#[test]
fn random_layer0_ids_in_range_give_results() {
    let mut rng = support::Rng::with_state(0x9E37_79B9_7F4A_7C15);
    let ids: Vec<u32> = (0..N * 64)
        .map(|_| (rng.next_u64() % N as u64) as u32)
        .collect();
    let r = each_row(|r, slots| {
        let n = slots.len() - 1;
        slots[1..].copy_from_slice(&ids[r * 64..r * 64 + n]);
    });
    // Random ids are valid ids: the damage is only visible to the checksum.
    assert!(matches!(r, Outcome::Searched { .. }));
}
