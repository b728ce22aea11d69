//! Damaged files: every region of a gallery file is damaged in turn; open/verify report a
//! typed error, and searching a damaged file that still opens never panics.

mod common;

use proptest::prelude::*;
use vecmatch::{Error, Gallery, KeyFilter, Metric, SearchParams};

fn fixture() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = common::small_file(dir.path(), 300, 20, Metric::Cosine);
    let bytes = std::fs::read(&path).unwrap();
    (dir, path, bytes)
}

/// Exercises every read path; must not panic whatever the bytes.
fn poke(g: &Gallery) {
    let _ = g.verify();
    let _ = g.info();
    let q: Vec<f32> = (0..g.dims()).map(|i| (i as f32).cos()).collect();
    for threads in [Some(1), Some(2)] {
        let _ = g.search(
            &q,
            &SearchParams {
                k: 5,
                threads,
                ..SearchParams::default()
            },
        );
        let deny = [1000u64, 1003, 7];
        let p = SearchParams {
            k: 5,
            threads,
            filter: Some(KeyFilter::Deny(&deny)),
            ..SearchParams::default()
        };
        let _ = g.search_batch(&[q.clone(), q.clone()].concat(), &p);
        let p = SearchParams {
            k: 5,
            threads,
            filter: Some(KeyFilter::Allow(&deny)),
            ..SearchParams::default()
        };
        let _ = g.search(&q, &p);
    }
    for k in [0, 1000, 1003, 1897, u64::MAX] {
        let _ = g.get(k);
        let _ = g.contains(k);
    }
}

#[test]
fn a_flipped_byte_in_any_section_is_caught_by_verify() {
    let (_dir, path, bytes) = fixture();
    let sections = Gallery::open(&path).unwrap().info().sections;
    assert_eq!(
        sections.iter().map(|s| s.name).collect::<Vec<_>>(),
        ["VECTORS", "KEYS", "KEY_INDEX", "META"]
    );
    for s in &sections {
        for pos in [s.offset, s.offset + s.length / 2, s.offset + s.length - 1] {
            let mut b = bytes.clone();
            b[pos as usize] ^= 0x01;
            let g = Gallery::from_bytes(&b).expect("section damage is not seen at open (O(1))");
            match g.verify() {
                Err(Error::ChecksumMismatch { region, .. }) => assert_eq!(region, s.name),
                other => panic!("{} byte {pos}: {other:?}", s.name),
            }
            poke(&g);
        }
    }
}

#[test]
fn damaged_header_and_table_are_refused_at_open() {
    let (_dir, _path, bytes) = fixture();
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
}

#[test]
fn newer_major_version_is_refused_newer_minor_is_read() {
    let (_dir, _path, bytes) = fixture();
    let mut b = bytes.clone();
    b[8..10].copy_from_slice(&2u16.to_le_bytes());
    match Gallery::from_bytes(&b) {
        Err(Error::UnsupportedVersion { found, supported }) => {
            assert_eq!(found, "2.0");
            assert_eq!(supported, 1);
        }
        other => panic!("{other:?}"),
    }
    // Minor 1 with a fixed-up header CRC: accepted.
    let mut b = bytes.clone();
    b[10..12].copy_from_slice(&1u16.to_le_bytes());
    let crc = crc32c::crc32c(&b[..124]);
    b[124..128].copy_from_slice(&crc.to_le_bytes());
    let g = Gallery::from_bytes(&b).unwrap();
    assert_eq!(g.info().version, (1, 1));
}

#[test]
fn truncation_and_garbage_give_typed_errors() {
    let (dir, _path, bytes) = fixture();
    let n = bytes.len();
    for len in [0, 1, 7, 8, 11, 100, 127, 128, 200, 300, n / 2, n - 1] {
        let err = Gallery::from_bytes(&bytes[..len]).expect_err(&format!("len {len}"));
        assert!(matches!(err, Error::Truncated { .. }), "len {len}: {err:?}");
        // Same through a real file and mmap.
        let p = dir.path().join(format!("t{len}.vmg"));
        std::fs::write(&p, &bytes[..len]).unwrap();
        assert!(
            matches!(Gallery::open(&p), Err(Error::Truncated { .. })),
            "file len {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"trailing");
    assert!(matches!(
        Gallery::from_bytes(&longer),
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(
        Gallery::from_bytes(b"definitely not a gallery file, just text"),
        Err(Error::BadMagic)
    ));
    assert!(matches!(Gallery::open(dir.path()), Err(Error::Io { .. })));
    assert!(matches!(
        Gallery::open(dir.path().join("missing.vmg")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn structurally_wrong_sections_are_refused() {
    let (_dir, _path, bytes) = fixture();
    let rewrite = |f: &dyn Fn(&mut [u8])| {
        let mut b = bytes.clone();
        f(&mut b[128..256]);
        let crc = crc32c::crc32c(&b[128..256]);
        b[64..68].copy_from_slice(&crc.to_le_bytes());
        let hcrc = crc32c::crc32c(&b[..124]);
        b[124..128].copy_from_slice(&hcrc.to_le_bytes());
        Gallery::from_bytes(&b)
    };
    // Misaligned VECTORS offset.
    assert!(matches!(
        rewrite(&|t| t[8] = t[8].wrapping_add(4)),
        Err(Error::Corrupt(_))
    ));
    // Wrong length of KEYS.
    assert!(matches!(
        rewrite(&|t| t[32 + 16] = t[32 + 16].wrapping_add(8)),
        Err(Error::Corrupt(_))
    ));
    // Duplicate section kind (KEYS entry turned into VECTORS).
    assert!(matches!(rewrite(&|t| t[32] = 1), Err(Error::Corrupt(_))));
    // Missing KEY_INDEX (entry turned into an unknown kind, which is skipped).
    assert!(matches!(rewrite(&|t| t[64] = 99), Err(Error::Corrupt(_))));
    // Section beyond the end of the file.
    assert!(matches!(
        rewrite(&|t| t[8 + 7] = 0x40),
        Err(Error::Corrupt(_))
    ));
    // Swapped kinds of VECTORS and KEYS (each name now points at the other's bytes).
    assert!(matches!(
        rewrite(&|t| {
            t[0] = 2;
            t[32] = 1;
        }),
        Err(Error::Corrupt(_))
    ));
    // Swapped table entries (kind, offset, length together) are still a valid file.
    let g = rewrite(&|t| {
        let (a, b) = t.split_at_mut(32);
        a.swap_with_slice(&mut b[..32]);
    })
    .unwrap();
    g.verify().unwrap();
}

#[test]
fn damaged_but_openable_files_are_searchable_without_panic() {
    let (_dir, path, bytes) = fixture();
    let sections = Gallery::open(&path).unwrap().info().sections;
    for s in &sections {
        // Zero or fill whole sections (zeroed pages, all-ones keys and rows).
        for fill in [0x00u8, 0xFF] {
            let mut b = bytes.clone();
            b[s.offset as usize..(s.offset + s.length) as usize].fill(fill);
            let g = Gallery::from_bytes(&b).unwrap();
            assert!(g.verify().is_err(), "{} filled with {fill:#x}", s.name);
            poke(&g);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_damage_never_panics(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let (_dir, _path, bytes) = fixture();
        let mut b = bytes.clone();
        for (i, x) in flips {
            let at = i.index(b.len());
            b[at] ^= x | 1;
        }
        if let Ok(g) = Gallery::from_bytes(&b) {
            poke(&g);
        }
    }
}
