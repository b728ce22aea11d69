//! The write-ahead log `NAME.wal`: its byte format, the encoding of records and the reading
//! (recovery) of a log, with torn-tail and damage detection. ARCHITECTURE.md specifies the
//! format byte by byte; `log.rs` writes the file.
//!
//! Layout (little-endian): a 32-byte header, then records, each a 16-byte record header,
//! its payload and zero padding to a multiple of 8 bytes.
//!
//! ```text
//! header   0 magic "VMATCHWL" | 8 version u32 = 1 | 12 dims u32 | 16 base u64
//!          24 reserved u32 = 0 | 28 CRC32C of bytes 0..28
//! record   0 kind u32 | 4 CRC32C of (bytes 0..4, bytes 8..16, payload) | 8 payload length u64
//!          16 payload | zero padding to a multiple of 8
//! UPSERT   (kind 1) n u64 | n keys u64 | n × dims f32 (as stored: validated, normalised)
//! DELETE   (kind 2) n u64 | n keys u64
//! COMMIT   (kind 3) id u64: a commit started that writes a gallery with this identity
//! ```

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, Result};
use crate::gallery::Gallery;

/// The first eight bytes of every log.
pub(crate) const MAGIC: [u8; 8] = *b"VMATCHWL";
/// The format version this build writes and reads.
pub(crate) const VERSION: u32 = 1;
/// Bytes of the file header.
pub(crate) const HEADER_LEN: u64 = 32;
/// Bytes of a record header.
const RECORD_HEADER_LEN: u64 = 16;

const KIND_UPSERT: u32 = 1;
const KIND_DELETE: u32 = 2;
const KIND_COMMIT: u32 = 3;

/// One decoded record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// Keys upserted with their vectors (row-major, as stored), as one change.
    Upsert { keys: Vec<u64>, vectors: Vec<f32> },
    /// Keys deleted, as one change.
    Delete(Vec<u64>),
    /// A commit started that publishes a gallery with this identity: the records before it
    /// are folded into that gallery.
    Commit(u64),
}

/// The file header.
pub(crate) fn encode_header(dims: usize, base: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(dims as u32).to_le_bytes());
    h[16..24].copy_from_slice(&base.to_le_bytes());
    let crc = crc32c::crc32c(&h[..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A record of `kind` whose payload of `len` bytes `fill` appends to the buffer it is
/// given: header, payload, padding, in one allocation.
fn frame(kind: u32, len: usize, fill: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let start = RECORD_HEADER_LEN as usize;
    let mut out = Vec::with_capacity(start + len.next_multiple_of(8));
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(len as u64).to_le_bytes());
    fill(&mut out);
    debug_assert_eq!(out.len(), start + len);
    let crc = record_crc(&out[0..4], &out[8..16], &out[start..]);
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    out.resize(out.len().next_multiple_of(8), 0);
    out
}

/// Appends `values` as little-endian bytes.
fn put_f32s(out: &mut Vec<u8>, values: &[f32]) {
    if cfg!(target_endian = "little") {
        out.extend_from_slice(bytemuck::cast_slice(values));
    } else {
        values
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
    }
}

fn record_crc(kind: &[u8], len: &[u8], payload: &[u8]) -> u32 {
    let c = crc32c::crc32c(kind);
    let c = crc32c::crc32c_append(c, len);
    crc32c::crc32c_append(c, payload)
}

/// An UPSERT record of `keys` and their prepared rows (`keys.len() × dims` values).
pub(crate) fn encode_upsert(keys: &[u64], vectors: &[f32]) -> Vec<u8> {
    let len = 8 + keys.len() * 8 + vectors.len() * 4;
    frame(KIND_UPSERT, len, |p| {
        p.extend_from_slice(&(keys.len() as u64).to_le_bytes());
        keys.iter()
            .for_each(|k| p.extend_from_slice(&k.to_le_bytes()));
        put_f32s(p, vectors);
    })
}

/// A DELETE record of `keys`.
pub(crate) fn encode_delete(keys: &[u64]) -> Vec<u8> {
    frame(KIND_DELETE, 8 + keys.len() * 8, |p| {
        p.extend_from_slice(&(keys.len() as u64).to_le_bytes());
        keys.iter()
            .for_each(|k| p.extend_from_slice(&k.to_le_bytes()));
    })
}

/// A COMMIT record announcing the gallery identity `id`.
pub(crate) fn encode_commit(id: u64) -> Vec<u8> {
    frame(KIND_COMMIT, 8, |p| p.extend_from_slice(&id.to_le_bytes()))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// The payload length a record of `kind` must have for the count stored in its first
/// eight bytes, or `None` for an unknown kind or a count that cannot fit `available`.
fn expected_len(kind: u32, count: u64, dims: usize, available: u64) -> Option<u64> {
    let per_row = match kind {
        KIND_UPSERT => 8 + 4 * dims as u64,
        KIND_DELETE => 8,
        KIND_COMMIT => return Some(8),
        _ => return None,
    };
    count
        .checked_mul(per_row)?
        .checked_add(8)
        .filter(|&n| n <= available)
}

/// Checks a record header read from `head` (16 bytes) against the bytes left after it:
/// returns `(kind, payload length, crc)` if the kind is known and the length fits.
fn check_head(head: &[u8], remaining: u64) -> Option<(u32, u64, u32)> {
    let kind = u32_at(head, 0);
    let crc = u32_at(head, 4);
    let len = u64_at(head, 8);
    // The padding is written with the record: a record without all of it is torn.
    if !(KIND_UPSERT..=KIND_COMMIT).contains(&kind)
        || len < 8
        || len > remaining
        || len.next_multiple_of(8) > remaining
    {
        return None;
    }
    Some((kind, len, crc))
}

/// Decodes a payload whose CRC matched. `None` if its shape is wrong.
fn decode(kind: u32, payload: &[u8], dims: usize) -> Option<Record> {
    let count = u64_at(payload, 0);
    if expected_len(kind, count, dims, payload.len() as u64)? != payload.len() as u64 {
        return None;
    }
    let n = count as usize;
    let keys = || {
        (0..n)
            .map(|i| u64_at(payload, 8 + 8 * i))
            .collect::<Vec<u64>>()
    };
    Some(match kind {
        KIND_UPSERT => {
            let at = 8 + 8 * n;
            let bytes = &payload[at..];
            let vectors = if cfg!(target_endian = "little") {
                let mut v = vec![0f32; bytes.len() / 4];
                bytemuck::cast_slice_mut::<f32, u8>(&mut v).copy_from_slice(bytes);
                v
            } else {
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            };
            Record::Upsert {
                keys: keys(),
                vectors,
            }
        }
        KIND_DELETE => Record::Delete(keys()),
        _ => Record::Commit(count),
    })
}

/// Parses a complete, valid record at the start of `b` (used to look for valid records
/// after a damaged one). Returns its framed length.
fn valid_record_at(b: &[u8], dims: usize) -> Option<u64> {
    let head = b.get(..RECORD_HEADER_LEN as usize)?;
    let rest = b.len() as u64 - RECORD_HEADER_LEN;
    let (kind, len, crc) = check_head(head, rest)?;
    let payload = &b[RECORD_HEADER_LEN as usize..(RECORD_HEADER_LEN + len) as usize];
    if record_crc(&head[0..4], &head[8..16], payload) != crc {
        return None;
    }
    decode(kind, payload, dims)?;
    Some(RECORD_HEADER_LEN + len.next_multiple_of(8))
}

/// The identity of a gallery file, named by the header of a log that applies to it: the
/// `commit` id that [`crate::Collection::commit`] records in META, or for a file written
/// otherwise (a builder, `vecmatch build`) a 64-bit checksum of its header facts (length,
/// creation time, count, dims and every section's kind, place, length and CRC).
pub(crate) fn identity(g: &Gallery) -> u64 {
    let info = g.info();
    let recorded = info
        .meta
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|v| v.get("commit").and_then(serde_json::Value::as_u64));
    if let Some(id) = recorded {
        return id;
    }
    let mut b = Vec::new();
    for x in [
        info.file_bytes,
        info.created_unix_s,
        info.count as u64,
        info.dims as u64,
    ] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    for s in &info.sections {
        b.extend_from_slice(&s.kind_code.to_le_bytes());
        b.extend_from_slice(&s.offset.to_le_bytes());
        b.extend_from_slice(&s.length.to_le_bytes());
        b.extend_from_slice(&s.crc32c.to_le_bytes());
    }
    let lo = crc32c::crc32c(&b);
    let hi = crc32c::crc32c_append(!lo, &b);
    (u64::from(hi) << 32) | u64::from(lo)
}

/// A fresh identity for the file a commit writes: random (per-process random hash keys,
/// the time, the process id and a counter), never 0 nor `current`.
pub(crate) fn new_commit_id(current: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        h.write_u128(now);
        h.write_u32(std::process::id());
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let id = h.finish();
        if id != 0 && id != current {
            return id;
        }
    }
}

/// Where the records applied at recovery started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// The log's base is the gallery: every record applied.
    Base,
    /// The gallery was published by a commit that the log announced (a crash came before
    /// the log was emptied): the records after that COMMIT record applied.
    Commit,
    /// The log names another gallery but holds no change: nothing applied, nothing lost.
    EmptyOther,
}

/// What [`recover`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// Where the applied records start.
    pub start: Start,
    /// Records applied (UPSERT and DELETE).
    pub applied: usize,
    /// End of the last valid record: the log's valid length.
    pub valid_len: u64,
    /// The file's length (more than `valid_len` after a torn tail).
    pub file_len: u64,
}

fn damaged(path: &Path, offset: u64, reason: impl Into<String>) -> Error {
    Error::WalCorrupt {
        path: path.to_path_buf(),
        offset,
        reason: reason.into(),
    }
}

/// Reads the log at `path` for a gallery of `dims` dimensions and identity `gallery_id`,
/// and passes the records that apply to `apply`, in order (see [`Start`]).
///
/// A torn tail (an incomplete or damaged last record, with no valid record after it) is
/// ignored: `valid_len` ends before it. A damaged record followed by a valid one is an
/// [`Error::WalCorrupt`] naming its offset; a log of another gallery that holds changes is
/// an [`Error::WalMismatch`]. In both cases `apply` may have been called for earlier
/// records, and the caller discards what it built.
pub(crate) fn recover(
    path: &Path,
    dims: usize,
    gallery_id: u64,
    mut apply: impl FnMut(Record) -> Result<()>,
) -> Result<Recovery> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = [0u8; HEADER_LEN as usize];
    if file_len < HEADER_LEN {
        return Err(damaged(path, 0, "shorter than its 32-byte header"));
    }
    file.read_exact(&mut head).map_err(|e| Error::io(path, e))?;
    if head[0..8] != MAGIC {
        return Err(damaged(
            path,
            0,
            "not a vecmatch write-ahead log (bad magic)",
        ));
    }
    if crc32c::crc32c(&head[..28]) != u32_at(&head, 28) {
        return Err(damaged(path, 0, "header checksum mismatch"));
    }
    let version = u32_at(&head, 8);
    if version != VERSION {
        return Err(damaged(
            path,
            8,
            format!("log format version {version}, this build reads {VERSION}"),
        ));
    }
    let log_dims = u32_at(&head, 12) as usize;
    if log_dims != dims {
        return Err(Error::WalMismatch {
            path: path.to_path_buf(),
            reason: format!("it holds {log_dims}-dimensional rows, the gallery {dims}"),
        });
    }
    let base = u64_at(&head, 16);
    let mut start = (base == gallery_id).then_some(Start::Base);
    let mut reader = io::BufReader::with_capacity(1 << 20, file);
    let mut at = HEADER_LEN;
    let mut applied = 0;
    let mut changes = 0usize; // UPSERT/DELETE records seen, applied or not
    let mut payload = Vec::new();
    while at < file_len {
        let mut rh = [0u8; RECORD_HEADER_LEN as usize];
        let remaining = file_len - at;
        let parsed = if remaining >= RECORD_HEADER_LEN {
            reader.read_exact(&mut rh).map_err(|e| Error::io(path, e))?;
            check_head(&rh, remaining - RECORD_HEADER_LEN)
        } else {
            None
        };
        let record = parsed.and_then(|(kind, len, crc)| {
            let framed = len.next_multiple_of(8);
            payload.resize(framed as usize, 0);
            if reader.read_exact(&mut payload).is_err() {
                return None;
            }
            let body = &payload[..len as usize];
            (record_crc(&rh[0..4], &rh[8..16], body) == crc)
                .then(|| decode(kind, body, dims))
                .flatten()
                .map(|r| (r, RECORD_HEADER_LEN + framed))
        });
        let Some((record, framed)) = record else {
            // A bad record: a torn tail if nothing valid follows it, else damage.
            if let Some(next) = valid_record_after(path, at, dims)? {
                return Err(damaged(
                    path,
                    at,
                    format!("damaged record (a valid record follows at byte {next})"),
                ));
            }
            break;
        };
        match record {
            Record::Commit(id) => {
                if start.is_none() && id == gallery_id {
                    start = Some(Start::Commit);
                }
            }
            r => {
                changes += 1;
                if start.is_some() {
                    if let Record::Upsert { vectors, .. } = &r
                        && let Some(i) = vectors.iter().position(|x| !x.is_finite())
                    {
                        return Err(damaged(
                            path,
                            at,
                            format!("non-finite value at index {i} of an UPSERT record"),
                        ));
                    }
                    apply(r)?;
                    applied += 1;
                }
            }
        }
        at += framed;
    }
    let start = match start {
        Some(s) => s,
        None if changes == 0 => Start::EmptyOther,
        None => {
            return Err(Error::WalMismatch {
                path: path.to_path_buf(),
                reason: "it was written for another version of the gallery file (replaced \
                         since, or restored from a copy); move it away to open the file \
                         without its changes"
                    .into(),
            });
        }
    };
    Ok(Recovery {
        start,
        applied,
        valid_len: at,
        file_len,
    })
}

/// The offset of the first valid record that starts after `bad` (at a multiple of 8 bytes
/// past it), if any. Reads the rest of the file (only when a record is bad: at most one
/// record's bytes for a torn tail).
fn valid_record_after(path: &Path, bad: u64, dims: usize) -> Result<Option<u64>> {
    use std::io::{Seek, SeekFrom};
    let mut rest = Vec::new();
    File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(bad))?;
            f.read_to_end(&mut rest)
        })
        .map_err(|e| Error::io(path, e))?;
    Ok((8..rest.len())
        .step_by(8)
        .find(|&p| valid_record_at(&rest[p..], dims).is_some())
        .map(|p| bad + p as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_log(dir: &Path, dims: usize, base: u64, records: &[Vec<u8>]) -> std::path::PathBuf {
        let path = dir.join("t.wal");
        let mut b = encode_header(dims, base).to_vec();
        records.iter().for_each(|r| b.extend_from_slice(r));
        std::fs::write(&path, b).unwrap();
        path
    }

    fn collect(path: &Path, dims: usize, id: u64) -> Result<(Recovery, Vec<Record>)> {
        let mut out = Vec::new();
        let r = recover(path, dims, id, |rec| {
            out.push(rec);
            Ok(())
        })?;
        Ok((r, out))
    }

    #[test]
    fn records_round_trip_and_are_aligned() {
        let up = encode_upsert(&[7, 9], &[1.0, -2.5, 3.0, 0.25, 5.0, 6.0]);
        let del = encode_delete(&[7]);
        let com = encode_commit(42);
        for r in [&up, &del, &com] {
            assert_eq!(r.len() % 8, 0);
            assert_eq!(valid_record_at(r, 3), Some(r.len() as u64));
        }
        // An odd number of floats is padded.
        let odd = encode_upsert(&[1], &[1.0, 2.0, 3.0]);
        assert_eq!(odd.len(), 16 + 8 + 8 + 12 + 4);
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), 3, 5, &[up, del, com, odd]);
        let (r, recs) = collect(&path, 3, 5).unwrap();
        assert_eq!(r.start, Start::Base);
        assert_eq!(r.applied, 3);
        assert_eq!(r.valid_len, r.file_len);
        assert_eq!(
            recs,
            vec![
                Record::Upsert {
                    keys: vec![7, 9],
                    vectors: vec![1.0, -2.5, 3.0, 0.25, 5.0, 6.0]
                },
                Record::Delete(vec![7]),
                Record::Upsert {
                    keys: vec![1],
                    vectors: vec![1.0, 2.0, 3.0]
                },
            ]
        );
    }

    #[test]
    fn every_flipped_bit_of_a_record_is_detected() {
        let up = encode_upsert(&[3], &[1.0, 2.0]);
        for byte in 0..up.len() {
            for bit in 0..8 {
                let mut b = up.clone();
                b[byte] ^= 1 << bit;
                assert!(
                    valid_record_at(&b, 2).is_none(),
                    "flip of bit {bit} of byte {byte} not detected"
                );
            }
        }
    }

    #[test]
    fn a_torn_tail_is_ignored_at_any_length() {
        let dir = tempfile::tempdir().unwrap();
        let a = encode_upsert(&[1], &[1.0, 0.0]);
        let b = encode_upsert(&[2], &[0.0, 1.0]);
        for cut in 0..b.len() {
            let path = write_log(dir.path(), 2, 1, &[a.clone(), b[..cut].to_vec()]);
            let (r, recs) = collect(&path, 2, 1).unwrap();
            assert_eq!(recs.len(), 1, "cut at {cut}");
            assert_eq!(r.valid_len, HEADER_LEN + a.len() as u64);
            assert_eq!(r.file_len, r.valid_len + cut as u64);
        }
        // A complete last record with a bad checksum is a torn tail too.
        let mut bad = b.clone();
        bad[20] ^= 1;
        let path = write_log(dir.path(), 2, 1, &[a.clone(), bad]);
        assert_eq!(collect(&path, 2, 1).unwrap().1.len(), 1);
    }

    #[test]
    fn damage_followed_by_a_valid_record_is_an_error_naming_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let a = encode_upsert(&[1], &[1.0, 0.0]);
        let mut b = encode_upsert(&[2], &[0.0, 1.0]);
        let c = encode_delete(&[1]);
        b[30] ^= 0x10;
        let path = write_log(dir.path(), 2, 1, &[a.clone(), b.clone(), c]);
        let e = collect(&path, 2, 1).unwrap_err();
        let at = HEADER_LEN + a.len() as u64;
        match &e {
            Error::WalCorrupt {
                offset, path: p, ..
            } => {
                assert_eq!(*offset, at);
                assert_eq!(p, &path);
            }
            other => panic!("expected WalCorrupt, got {other:?}"),
        }
        assert!(e.to_string().contains("t.wal"), "{e}");
        // A damaged length field as well.
        let mut b2 = encode_upsert(&[2], &[0.0, 1.0]);
        b2[9] = 0xff;
        let path = write_log(dir.path(), 2, 1, &[a, b2, encode_delete(&[1])]);
        assert!(matches!(
            collect(&path, 2, 1),
            Err(Error::WalCorrupt { offset, .. }) if offset == at
        ));
    }

    /// Random damage (flipped bytes, cuts, garbage, random lengths) never panics nor
    /// reads past the file: recovery returns records or a typed error.
    #[test]
    fn arbitrary_damage_gives_records_or_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let good = [
            encode_upsert(&[1, 2], &[1.0, 2.0, 3.0, 4.0]),
            encode_delete(&[1]),
            encode_commit(77),
            encode_upsert(&[3], &[5.0, 6.0]),
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..1000 {
            let mut b = encode_header(2, 1).to_vec();
            good.iter().for_each(|r| b.extend_from_slice(r));
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % b.len();
                match next() % 4 {
                    0 => b[at] ^= 1 << (next() % 8),
                    1 => b.truncate(at.max(1)),
                    2 => b.extend((0..next() % 40).map(|_| next() as u8)),
                    _ if b.len() >= 8 => {
                        // A record length pointing anywhere.
                        let at = at.min(b.len() - 8);
                        b[at..at + 8].copy_from_slice(&next().to_le_bytes());
                    }
                    _ => {}
                }
            }
            let path = dir.path().join("fuzz.wal");
            std::fs::write(&path, &b).unwrap();
            for id in [1, 77, 5] {
                match collect(&path, 2, id) {
                    Ok((r, _)) => assert!(r.valid_len <= r.file_len, "round {round}"),
                    Err(Error::WalCorrupt { .. } | Error::WalMismatch { .. }) => {}
                    Err(e) => panic!("round {round}: unexpected error {e}"),
                }
            }
        }
    }

    #[test]
    fn header_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), 2, 1, &[]);
        assert!(matches!(
            collect(&path, 3, 1),
            Err(Error::WalMismatch { .. })
        ));
        let mut b = std::fs::read(&path).unwrap();
        b[20] ^= 1;
        std::fs::write(&path, &b).unwrap();
        assert!(matches!(
            collect(&path, 2, 1),
            Err(Error::WalCorrupt { offset: 0, .. })
        ));
        std::fs::write(&path, &b[..10]).unwrap();
        assert!(matches!(
            collect(&path, 2, 1),
            Err(Error::WalCorrupt { offset: 0, .. })
        ));
    }

    #[test]
    fn another_gallery_is_refused_unless_the_log_is_empty_and_a_commit_mark_selects() {
        let dir = tempfile::tempdir().unwrap();
        let up = |k| encode_upsert(&[k], &[1.0, 0.0]);
        let path = write_log(dir.path(), 2, 1, &[up(1), encode_commit(9), up(2)]);
        // Gallery 1: everything; gallery 9 (the commit's): after the mark; others: refused.
        assert_eq!(collect(&path, 2, 1).unwrap().1.len(), 2);
        let (r, recs) = collect(&path, 2, 9).unwrap();
        assert_eq!((r.start, recs.len()), (Start::Commit, 1));
        assert!(matches!(&recs[0], Record::Upsert { keys, .. } if keys == &[2]));
        assert!(matches!(
            collect(&path, 2, 4),
            Err(Error::WalMismatch { .. })
        ));
        let path = write_log(dir.path(), 2, 1, &[encode_commit(9)]);
        assert_eq!(collect(&path, 2, 4).unwrap().0.start, Start::EmptyOther);
    }
}
