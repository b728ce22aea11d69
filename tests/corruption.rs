//! Damaged files: every region of a gallery file is damaged in turn; open/verify report a
//! typed error, and searching a damaged file that still opens never panics.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::reseal;
use proptest::prelude::*;
use vecmatch::{Error, Gallery, KeyFilter, Metric, OpenOptions, SearchParams};

/// A small gallery file (300 × 20, cosine, scrambled keys) and its bytes.
fn fixture() -> (tempfile::TempDir, PathBuf, Vec<u8>, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let (path, keys) = common::small_file(dir.path(), 300, 20, Metric::Cosine);
    let bytes = std::fs::read(&path).unwrap();
    (dir, path, bytes, keys)
}

/// The fixture's bytes and keys, made once per test binary.
fn small_bytes() -> &'static (Vec<u8>, Vec<u64>) {
    static BYTES: OnceLock<(Vec<u8>, Vec<u64>)> = OnceLock::new();
    BYTES.get_or_init(|| {
        let (_dir, _path, bytes, keys) = fixture();
        (bytes, keys)
    })
}

/// The shipped 5,000 × 384 rows as a gallery file's bytes (built once per test binary).
fn real_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("minilm.vmg");
        common::builder(Metric::Dot).write(&path).unwrap();
        std::fs::read(&path).unwrap()
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Exercises every read path. Whatever the bytes, nothing may panic, and the answers keep
/// their shape: at most `k` hits, no NaN distance, sorted; a stored vector has `dims`
/// values; a batch has one answer per query.
fn poke(g: &Gallery, keys: &[u64]) {
    let _ = g.verify();
    let info = g.info();
    assert_eq!(info.dims, g.dims());
    let _ = g.keys();
    let q: Vec<f32> = (0..g.dims()).map(|i| (i as f32).cos()).collect();
    let some: Vec<u64> = keys.iter().copied().take(5).chain([7, u64::MAX]).collect();
    let shaped = |hits: &[vecmatch::Hit], k: usize| {
        assert!(hits.len() <= k);
        assert!(hits.iter().all(|h| !h.distance.is_nan()), "{hits:?}");
        assert!(hits.windows(2).all(|w| w[0].cmp_rank(&w[1]).is_le()));
    };
    for threads in [Some(1), Some(2)] {
        for filter in [
            None,
            Some(KeyFilter::Allow(&some)),
            Some(KeyFilter::Deny(&some)),
            Some(KeyFilter::Allow(keys)),
        ] {
            for (k, max_distance) in [(5, None), (usize::MAX, Some(0.8))] {
                let p = SearchParams {
                    k,
                    max_distance,
                    threads,
                    filter,
                    ..SearchParams::default()
                };
                if let Ok(hits) = g.search(&q, &p) {
                    shaped(&hits, k);
                }
                if let Ok(batch) = g.search_batch(&q.repeat(3), &p) {
                    assert_eq!(batch.len(), 3);
                    batch.iter().for_each(|hits| shaped(hits, k));
                }
            }
        }
    }
    for k in keys.iter().take(50).chain(&[0, 7, u64::MAX]) {
        if let Some(v) = g.get(*k) {
            assert_eq!(v.len(), g.dims());
        }
        let _ = g.contains(*k);
    }
}

#[test]
fn a_flipped_byte_in_any_section_is_caught_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = real_bytes();
    let good = write(dir.path(), "good.vmg", bytes);
    Gallery::open_with(
        &good,
        OpenOptions {
            verify_checksums: true,
        },
    )
    .unwrap();
    let sections = Gallery::open(&good).unwrap().info().sections;
    assert_eq!(
        sections.iter().map(|s| s.name).collect::<Vec<_>>(),
        ["VECTORS", "KEYS", "KEY_INDEX", "META"]
    );
    let keys: Vec<u64> = (0..5000).collect();
    for s in &sections {
        for pos in [s.offset, s.offset + s.length / 2, s.offset + s.length - 1] {
            let mut b = bytes.to_vec();
            b[pos as usize] ^= 0x01;
            let is_this_section = |r: Result<(), Error>| match r {
                Err(Error::ChecksumMismatch { region, .. }) => region == s.name,
                _ => false,
            };
            // In memory: open does not read sections (O(1)); verify names the section.
            let g = Gallery::from_bytes(&b).expect("section damage is not seen at open");
            assert!(is_this_section(g.verify()), "{} byte {pos}", s.name);
            poke(&g, &keys);
            if pos != s.offset + s.length / 2 {
                continue;
            }
            // As a file: plain open succeeds, open with checksums names the section.
            let path = write(dir.path(), "bad.vmg", &b);
            let g = Gallery::open(&path).unwrap();
            assert!(is_this_section(g.verify()), "{} byte {pos} (mmap)", s.name);
            let verified = Gallery::open_with(
                &path,
                OpenOptions {
                    verify_checksums: true,
                },
            );
            assert!(
                is_this_section(verified.map(drop)),
                "{} byte {pos} (open_with)",
                s.name
            );
            poke(&g, &keys);
        }
    }
}

#[test]
fn damaged_header_and_table_are_refused_at_open() {
    let (dir, _path, bytes, _) = fixture();
    // Every header byte (magic, version, fields, CRC) and every section-table byte.
    let table_end = 128 + 4 * 32;
    for pos in 0..table_end {
        let mut b = bytes.clone();
        b[pos] ^= 0x10;
        let err = Gallery::from_bytes(&b).expect_err(&format!("byte {pos}"));
        let expected = match pos {
            0..8 => matches!(err, Error::BadMagic),
            8..10 => matches!(err, Error::UnsupportedVersion { .. }),
            10..128 => {
                matches!(err, Error::ChecksumMismatch { ref region, .. } if region == "header")
            }
            _ => {
                matches!(err, Error::ChecksumMismatch { ref region, .. } if region == "section table")
            }
        };
        assert!(expected, "byte {pos}: {err:?}");
    }
    // The same through mmap, for one byte of each region.
    for pos in [3, 9, 40, 128 + 40] {
        let mut b = bytes.clone();
        b[pos] ^= 0x10;
        let p = write(dir.path(), "flip.vmg", &b);
        assert_eq!(
            Gallery::open(&p).map(drop).map_err(|e| e.to_string()),
            Gallery::from_bytes(&b).map(drop).map_err(|e| e.to_string()),
            "byte {pos}"
        );
    }
}

/// Header fields with valid CRCs but invalid values: each refused with a typed error.
#[test]
fn forged_header_fields_are_refused() {
    let (_dir, _path, bytes, _) = fixture();
    let forge = |at: usize, value: &[u8]| {
        let mut b = bytes.clone();
        b[at..at + value.len()].copy_from_slice(value);
        reseal(&mut b);
        Gallery::from_bytes(&b)
    };
    let corrupt = |r: Result<Gallery, Error>| matches!(r, Err(Error::Corrupt(_)));
    assert!(
        corrupt(forge(12, &0x0403_0201u32.to_le_bytes())),
        "endianness"
    );
    assert!(corrupt(forge(16, &64u32.to_le_bytes())), "header size");
    assert!(corrupt(forge(20, &3u32.to_le_bytes())), "metric");
    assert!(corrupt(forge(24, &1u32.to_le_bytes())), "element type");
    assert!(corrupt(forge(28, &0u32.to_le_bytes())), "dims 0");
    assert!(
        corrupt(forge(28, &21u32.to_le_bytes())),
        "dims vs VECTORS length"
    );
    assert!(
        corrupt(forge(32, &301u64.to_le_bytes())),
        "count vs sections"
    );
    assert!(
        corrupt(forge(32, &(1u64 << 40).to_le_bytes())),
        "count > u32"
    );
    assert!(
        corrupt(forge(48, &64u64.to_le_bytes())),
        "table inside header"
    );
    assert!(
        corrupt(forge(48, &u64::MAX.to_le_bytes())),
        "table offset overflow"
    );
    assert!(
        corrupt(forge(56, &65u32.to_le_bytes())),
        "section count > 64"
    );
    assert!(
        corrupt(forge(56, &u32::MAX.to_le_bytes())),
        "section count huge"
    );
    assert!(corrupt(forge(60, &16u32.to_le_bytes())), "entry size");
    // A section count of 3 drops META (optional): still a valid gallery.
    let g = forge(56, &3u32.to_le_bytes()).unwrap();
    assert!(g.info().meta.is_none());
    // file_len: larger than the file is truncation, smaller is trailing garbage.
    let len = bytes.len() as u64;
    assert!(matches!(
        forge(40, &(len + 1).to_le_bytes()),
        Err(Error::Truncated { expected, found }) if expected == len + 1 && found == len
    ));
    assert!(
        corrupt(forge(40, &(len - 1).to_le_bytes())),
        "file_len short"
    );
}

#[test]
fn newer_major_version_is_refused_newer_minor_is_read() {
    let (dir, _path, bytes, _) = fixture();
    for major in [0u16, 2, u16::MAX] {
        let mut b = bytes.clone();
        b[8..10].copy_from_slice(&major.to_le_bytes());
        // Refused whether or not the header CRC is fixed up: the version is read first.
        for sealed in [false, true] {
            if sealed {
                reseal(&mut b);
            }
            match Gallery::from_bytes(&b) {
                Err(Error::UnsupportedVersion { found, supported }) => {
                    let minor = u16::from_le_bytes([b[10], b[11]]);
                    assert_eq!(found, format!("{major}.{minor}"));
                    assert_eq!(supported, 1);
                }
                other => panic!("major {major}: {other:?}"),
            }
        }
        if major == 2 {
            let p = write(dir.path(), "v2.vmg", &b);
            assert!(matches!(
                Gallery::open(&p),
                Err(Error::UnsupportedVersion { .. })
            ));
        }
    }
    // Minor 1 with a fixed-up header CRC, and an unknown section kind (skipped): accepted.
    let mut b = bytes.clone();
    b[10..12].copy_from_slice(&1u16.to_le_bytes());
    b[128 + 3 * 32..128 + 3 * 32 + 4].copy_from_slice(&99u32.to_le_bytes()); // META -> 99
    reseal(&mut b);
    let g = Gallery::from_bytes(&b).unwrap();
    assert_eq!(g.info().version, (1, 1));
    assert_eq!(g.info().sections[3].name, "UNKNOWN");
    assert!(g.info().meta.is_none());
    g.verify().unwrap();
    assert_eq!(g.len(), 300);
}

#[test]
fn truncation_and_garbage_give_typed_errors() {
    let (dir, path, bytes, _) = fixture();
    let n = bytes.len();
    let sections = Gallery::open(&path).unwrap().info().sections;
    let mut lens = vec![
        0,
        1,
        7,
        8,
        11,
        12,
        100,
        127,
        128,
        200,
        255,
        256,
        n / 2,
        n - 1,
    ];
    for s in &sections {
        let (o, l) = (s.offset as usize, s.length as usize);
        lens.extend([o, o + 1, o + l / 2, o + l - 1]);
    }
    for len in lens {
        let want_truncated = |r: Result<Gallery, Error>| match r {
            Err(Error::Truncated { expected, found }) => {
                found == len as u64 && expected == if len < 128 { 128 } else { n as u64 }
            }
            _ => false,
        };
        assert!(
            want_truncated(Gallery::from_bytes(&bytes[..len])),
            "len {len}"
        );
        // Same through a real file and mmap.
        let p = write(dir.path(), &format!("t{len}.vmg"), &bytes[..len]);
        assert!(want_truncated(Gallery::open(&p)), "file len {len}");
    }
    // Appended bytes: the header's file length no longer matches.
    for extra in [&b"x"[..], b"trailing", &[0u8; 64], &bytes[..]] {
        let mut longer = bytes.clone();
        longer.extend_from_slice(extra);
        assert!(
            matches!(Gallery::from_bytes(&longer), Err(Error::Corrupt(_))),
            "{} appended bytes",
            extra.len()
        );
        let p = write(dir.path(), "longer.vmg", &longer);
        assert!(matches!(Gallery::open(&p), Err(Error::Corrupt(_))));
    }
    // Garbage.
    let mut rng = common::Rng::new(99);
    let noise: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    for garbage in [
        &b"definitely not a gallery file, just text"[..],
        &noise,
        &[0u8; 128],
        &[0xFFu8; 4096],
        b"VECMATCx",
        b"XECMATCH",
    ] {
        assert!(
            matches!(Gallery::from_bytes(garbage), Err(Error::BadMagic)),
            "{:?}",
            &garbage[..8]
        );
        let p = write(dir.path(), "garbage.vmg", garbage);
        assert!(matches!(Gallery::open(&p), Err(Error::BadMagic)));
    }
    // A valid magic followed by garbage: typed, whatever it is.
    let mut b = b"VECMATCH".to_vec();
    b.extend(&noise);
    assert!(Gallery::from_bytes(&b).is_err());
    // Not a file at all.
    assert!(matches!(Gallery::open(dir.path()), Err(Error::Io { .. })));
    let missing = dir.path().join("missing.vmg");
    match Gallery::open(&missing) {
        Err(Error::Io { path, source }) => {
            assert_eq!(path.as_deref(), Some(missing.as_path()));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn structurally_wrong_sections_are_refused() {
    let (_dir, _path, bytes, _) = fixture();
    let rewrite = |f: &dyn Fn(&mut [u8])| {
        let mut b = bytes.clone();
        f(&mut b[128..256]);
        reseal(&mut b);
        Gallery::from_bytes(&b)
    };
    let corrupt = |r: Result<Gallery, Error>| matches!(r, Err(Error::Corrupt(_)));
    // Misaligned VECTORS offset.
    assert!(corrupt(rewrite(&|t| t[8] = t[8].wrapping_add(4))));
    // Wrong length of KEYS.
    assert!(corrupt(rewrite(
        &|t| t[32 + 16] = t[32 + 16].wrapping_add(8)
    )));
    // Duplicate section kind (KEYS entry turned into VECTORS).
    assert!(corrupt(rewrite(&|t| t[32] = 1)));
    // Missing KEY_INDEX (entry turned into an unknown kind, which is skipped).
    assert!(corrupt(rewrite(&|t| t[64] = 99)));
    // Section beyond the end of the file, and an offset + length that overflows.
    assert!(corrupt(rewrite(&|t| t[8 + 7] = 0x40)));
    assert!(corrupt(rewrite(&|t| t[16..24].fill(0xFF))));
    // A section overlapping the header / the table.
    assert!(corrupt(rewrite(
        &|t| t[8..16].copy_from_slice(&0u64.to_le_bytes())
    )));
    assert!(corrupt(rewrite(&|t| {
        t[8..16].copy_from_slice(&192u64.to_le_bytes())
    })));
    // Swapped kinds of VECTORS and KEYS (each name now points at the other's bytes).
    assert!(corrupt(rewrite(&|t| {
        t[0] = 2;
        t[32] = 1;
    })));
    // Swapped table entries (kind, offset, length together) are still a valid file.
    let g = rewrite(&|t| {
        let (a, b) = t.split_at_mut(32);
        a.swap_with_slice(&mut b[..32]);
    })
    .unwrap();
    g.verify().unwrap();
}

/// Section contents changed and every CRC recomputed (a forged or buggy file): open and
/// search must stay safe, and `verify` must still find what is wrong.
#[test]
fn forged_section_contents_are_found_by_verify_and_searched_safely() {
    let (_dir, path, bytes, keys) = fixture();
    let sections = Gallery::open(&path).unwrap().info().sections;
    let range = |name: &str| {
        let s = sections.iter().find(|s| s.name == name).unwrap();
        s.offset as usize..(s.offset + s.length) as usize
    };
    let forged = |f: &dyn Fn(&mut [u8])| {
        let mut b = bytes.clone();
        f(&mut b);
        reseal(&mut b);
        let g = Gallery::from_bytes(&b).unwrap();
        poke(&g, &keys);
        g
    };
    let (vectors, keys_s, index) = (range("VECTORS"), range("KEYS"), range("KEY_INDEX"));

    // NaN and infinities in VECTORS.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let g = forged(&|b| {
            b[vectors.start + 4 * 45..vectors.start + 4 * 46].copy_from_slice(&bad.to_le_bytes())
        });
        assert!(
            // Value 45 of 20-dim rows: row 2, component 5.
            matches!(g.verify(), Err(Error::NonFinite { index: 5, ref what }) if what == "stored vector row 2"),
            "{bad}"
        );
    }
    // A KEYS entry changed: KEY_INDEX disagrees.
    let g = forged(&|b| b[keys_s.start + 8..keys_s.start + 16].fill(0xAB));
    assert!(matches!(g.verify(), Err(Error::Corrupt(_))));
    // KEY_INDEX rows out of range: lookups of those keys find nothing.
    let g = forged(&|b| {
        for e in index.clone().step_by(16) {
            b[e + 8..e + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        }
    });
    assert!(matches!(g.verify(), Err(Error::Corrupt(_))));
    assert!(keys.iter().all(|k| !g.contains(*k) && g.get(*k).is_none()));
    let p = SearchParams {
        filter: Some(KeyFilter::Allow(&keys)),
        ..SearchParams::default()
    };
    assert!(g.search(&[1.0; 20], &p).unwrap().is_empty());
    // KEY_INDEX out of order.
    let g = forged(&|b| {
        let (first, rest) = b[index.clone()].split_at_mut(16);
        first.swap_with_slice(&mut rest[..16]);
    });
    assert!(matches!(g.verify(), Err(Error::Corrupt(_))));
    // Everything zeroed or filled with 0xFF (NaN rows, keys all equal, rows out of range).
    for fill in [0x00u8, 0xFF] {
        let g = forged(&|b| b[vectors.start..index.end].fill(fill));
        assert!(g.verify().is_err(), "fill {fill:#x}");
        let hits = g.search(&[1.0; 20], &SearchParams::k(5)).unwrap();
        // Zero rows are ranked (distance 1); NaN rows too, last (distance +inf): a NaN
        // distance never makes a row vanish.
        assert_eq!(hits.len(), 5);
        let want = if fill == 0 { 1.0 } else { f32::INFINITY };
        assert!(hits.iter().all(|h| h.distance == want), "{hits:?}");
    }
}

#[test]
fn damaged_but_openable_files_are_searchable_without_panic() {
    let (dir, path, bytes, keys) = fixture();
    let sections = Gallery::open(&path).unwrap().info().sections;
    for s in &sections {
        // Zero or fill whole sections (zeroed pages, all-ones keys and rows).
        for fill in [0x00u8, 0xFF] {
            let mut b = bytes.clone();
            b[s.offset as usize..(s.offset + s.length) as usize].fill(fill);
            let g = Gallery::from_bytes(&b).unwrap();
            assert!(
                matches!(g.verify(), Err(Error::ChecksumMismatch { ref region, .. }) if region == s.name),
                "{} filled with {fill:#x}",
                s.name
            );
            poke(&g, &keys);
            let p = write(dir.path(), "filled.vmg", &b);
            poke(&Gallery::open(&p).unwrap(), &keys);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    /// Random bytes flipped anywhere, with or without recomputed CRCs: open and verify give
    /// typed errors or succeed, and search never panics.
    #[test]
    fn random_damage_never_panics(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        in_structure in any::<bool>(),
        sealed in any::<bool>(),
    ) {
        let (bytes, keys) = small_bytes();
        let mut b = bytes.clone();
        // Half the cases aim at the header and section table, where every field matters.
        let span = if in_structure { 256 } else { b.len() };
        for (i, x) in flips {
            let at = i.index(span);
            b[at] ^= x | 1;
        }
        if sealed {
            reseal(&mut b);
        }
        match Gallery::from_bytes(&b) {
            Ok(g) => poke(&g, keys),
            Err(e) => prop_assert!(!matches!(e, Error::Io { .. }), "{e:?}"),
        }
    }
}

/// The fixture with an HNSW graph (so every kind of section is present), as bytes.
fn graph_bytes() -> &'static (Vec<u8>, Vec<u64>) {
    static BYTES: OnceLock<(Vec<u8>, Vec<u64>)> = OnceLock::new();
    BYTES.get_or_init(|| {
        let (bytes, keys) = small_bytes();
        let g = Gallery::from_bytes(bytes).unwrap();
        let mut b = vecmatch::GalleryBuilder::new(g.dims(), g.metric()).unwrap();
        for k in keys {
            b.add(*k, &g.get(*k).unwrap()).unwrap();
        }
        b.hnsw(vecmatch::HnswParams {
            m: 8,
            ef_construction: 40,
            ..Default::default()
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        b.write(&path).unwrap();
        (std::fs::read(&path).unwrap(), keys.clone())
    })
}

fn is_typed_damage(e: &Error) -> bool {
    matches!(
        e,
        Error::BadMagic
            | Error::UnsupportedVersion { .. }
            | Error::Truncated { .. }
            | Error::ChecksumMismatch { .. }
            | Error::Corrupt(_)
            | Error::NonFinite { .. }
    )
}

/// Every 4 KiB page zeroed in turn (and every 512-byte block of the first page, where
/// header and table live), in memory and through mmap: open refuses it with a typed
/// error, or it opens, `verify` reports it, and every search path stays well-behaved.
#[test]
fn zeroed_pages_are_refused_or_reported() {
    let (bytes, keys) = graph_bytes();
    let dir = tempfile::tempdir().unwrap();
    let blocks = (0..bytes.len().div_ceil(4096))
        .map(|p| (p * 4096, 4096))
        .chain((1..8).map(|b| (b * 512, 512)));
    for (start, len) in blocks {
        let mut b = bytes.clone();
        let end = (start + len).min(b.len());
        b[start..end].fill(0);
        for g in [
            Gallery::from_bytes(&b),
            Gallery::open(write(dir.path(), "zeroed.vmg", &b)),
        ] {
            match g {
                Err(e) => assert!(is_typed_damage(&e), "page at {start}: {e:?}"),
                Ok(g) => {
                    let e = g.verify().expect_err("verify passes a zeroed page");
                    assert!(is_typed_damage(&e), "page at {start}: {e:?}");
                    poke(&g, keys);
                }
            }
        }
    }
}

/// Section table entries swapped (whole entries: the same file in another table order)
/// or with their kinds swapped (each section read as another kind), CRCs recomputed.
#[test]
fn swapped_sections_are_refused_or_reported() {
    let (bytes, keys) = graph_bytes();
    let original = Gallery::from_bytes(bytes).unwrap();
    let n = original.info().sections.len();
    let q = [0.5f32; 20];
    let want = original.search(&q, &SearchParams::k(10)).unwrap();
    let entry = |i: usize| 128 + 32 * i;
    for i in 0..n {
        for j in i + 1..n {
            // Whole entries: the reader finds sections by kind, so nothing changes.
            let mut b = bytes.clone();
            let (ei, ej) = (entry(i), entry(j));
            let tmp: Vec<u8> = b[ei..ei + 32].to_vec();
            b.copy_within(ej..ej + 32, ei);
            b[ej..ej + 32].copy_from_slice(&tmp);
            reseal(&mut b);
            let g = Gallery::from_bytes(&b).unwrap();
            g.verify().unwrap();
            assert_eq!(g.search(&q, &SearchParams::k(10)).unwrap(), want);
            // Kinds only: a section is taken for another.
            let mut b = bytes.clone();
            let ki: [u8; 4] = b[ei..ei + 4].try_into().unwrap();
            b.copy_within(ej..ej + 4, ei);
            b[ej..ej + 4].copy_from_slice(&ki);
            reseal(&mut b);
            match Gallery::from_bytes(&b) {
                Err(e) => assert!(is_typed_damage(&e), "kinds {i}<->{j}: {e:?}"),
                Ok(g) => {
                    let e = g.verify().expect_err("verify passes swapped kinds");
                    assert!(is_typed_damage(&e), "kinds {i}<->{j}: {e:?}");
                    poke(&g, keys);
                }
            }
        }
    }
}
