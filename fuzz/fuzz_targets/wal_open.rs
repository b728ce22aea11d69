//! Arbitrary bytes as a collection's write-ahead log (`NAME.wal`) next to a small valid
//! gallery: opening the collection must replay the log or fail with a typed error
//! (`WalCorrupt`, `WalMismatch`, `InvalidArgument`), never panic; a replayed collection
//! must search, look up and commit (or refuse the commit with an error). When the input has a header, its base (bytes 16..24)
//! is set to the gallery's identity and its CRC fixed, so mutations reach the records.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vecmatch::{Collection, CollectionOptions, Error, Metric, SearchParams};

const DIMS: usize = 4;

/// The gallery's path, its bytes and its identity (META `commit`).
fn gallery() -> &'static (PathBuf, Vec<u8>, u64) {
    static G: OnceLock<(PathBuf, Vec<u8>, u64)> = OnceLock::new();
    G.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vecmatch-fuzz-wal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("g.vmg");
        let c = Collection::create(&path, DIMS, Metric::L2, CollectionOptions::manual()).unwrap();
        for k in 0..3u64 {
            c.add(k, &[k as f32, 1.0, 2.0, 3.0]).unwrap();
        }
        c.commit().unwrap();
        let meta = c.gallery().info().meta.unwrap();
        drop(c);
        let at = meta.find("\"commit\":").unwrap() + 9;
        let id: u64 = meta[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap();
        (path.clone(), std::fs::read(&path).unwrap(), id)
    })
}

/// CRC32C (Castagnoli), bitwise: only for the header of the input.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
        }
    }
    !c
}

fuzz_target!(|data: &[u8]| {
    let (path, bytes, id) = gallery();
    std::fs::write(path, bytes).unwrap();
    let mut log = data.to_vec();
    if log.len() >= 32 && log[0] == b'V' {
        log[16..24].copy_from_slice(&id.to_le_bytes());
        let crc = crc32c(&log[..28]);
        log[28..32].copy_from_slice(&crc.to_le_bytes());
    }
    let mut wal = path.as_os_str().to_owned();
    wal.push(".wal");
    std::fs::write(&wal, &log).unwrap();
    match Collection::open(path) {
        Ok(c) => {
            let n = c.len();
            let hits = c.search(&[0.5; DIMS], &SearchParams::k(5)).unwrap();
            assert!(hits.len() <= n.min(5));
            for k in 0..16 {
                if let Some(v) = c.get(k) {
                    assert_eq!(v.len(), DIMS);
                }
            }
            // A commit may refuse replayed values it checks (a typed error); if it
            // succeeds, it keeps every live row.
            if data.len() % 3 == 0 && c.commit().is_ok() {
                assert_eq!(c.len(), n);
            }
        }
        Err(Error::WalCorrupt { .. } | Error::WalMismatch { .. } | Error::InvalidArgument(_)) => {}
        Err(e) => panic!("unexpected error: {e}"),
    }
    let _ = std::fs::remove_file(&wal);
});
