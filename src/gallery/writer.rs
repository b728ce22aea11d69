//! Serialising a gallery (format v1) and publishing it atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::types::{ElementType, Metric};

use super::format::*;

/// Everything that goes into one file. Slices are borrowed: nothing is copied to write.
pub(crate) struct Parts<'a> {
    pub metric: Metric,
    pub element_type: ElementType,
    pub dims: usize,
    pub count: usize,
    /// The `VECTORS` bytes: `count * dims` values of `element_type` (already normalised
    /// for cosine).
    pub vectors: &'a [u8],
    /// `count` keys, by row.
    pub keys: &'a [u64],
    /// `count` entries sorted by key.
    pub key_index: &'a [KeyIndexEntry],
    /// Optional sections with their kind: GRAPH, META, ...
    pub extra: Vec<(SectionKind, &'a [u8])>,
}

/// Writes the file bytes of `parts` to `out`. Returns the number of bytes written.
pub(crate) fn encode(parts: &Parts<'_>, out: &mut impl Write) -> std::io::Result<u64> {
    let mut payloads: Vec<(SectionKind, &[u8])> = vec![
        (SectionKind::Vectors, parts.vectors),
        (SectionKind::Keys, bytemuck::cast_slice(parts.keys)),
        (SectionKind::KeyIndex, bytemuck::cast_slice(parts.key_index)),
    ];
    payloads.extend(parts.extra.iter().copied());

    let overflow = || std::io::Error::other("gallery too large for a 64-bit file offset");
    let table_offset = HEADER_SIZE as u64;
    let table_len = (payloads.len() * SECTION_ENTRY_SIZE) as u64;
    let mut cursor = align_up(table_offset + table_len).ok_or_else(overflow)?;
    let mut entries = Vec::with_capacity(payloads.len());
    for (kind, bytes) in &payloads {
        entries.push(SectionEntry {
            kind: *kind as u32,
            flags: 0,
            offset: cursor,
            length: bytes.len() as u64,
            crc32c: crc(bytes),
            reserved: 0,
        });
        cursor = cursor
            .checked_add(bytes.len() as u64)
            .and_then(align_up)
            .ok_or_else(overflow)?;
    }
    let file_len = entries.last().map_or(cursor, |e| e.offset + e.length);
    let table: Vec<u8> = entries
        .iter()
        .flat_map(|e| bytemuck::bytes_of(e).to_vec())
        .collect();

    let mut header = Header {
        magic: MAGIC,
        version_major: VERSION_MAJOR,
        // A file without labels is a valid 1.1 file and says so.
        version_minor: if payloads.iter().any(|(k, _)| *k == SectionKind::Labels) {
            VERSION_MINOR
        } else {
            1
        },
        endian: ENDIAN_MARKER,
        header_size: HEADER_SIZE as u32,
        metric: parts.metric.code(),
        element_type: parts.element_type.code(),
        dims: parts.dims as u32,
        count: parts.count as u64,
        file_len,
        section_table_offset: table_offset,
        section_count: entries.len() as u32,
        section_entry_size: SECTION_ENTRY_SIZE as u32,
        section_table_crc: crc(&table),
        flags: 0,
        created_unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        reserved: [0; 44],
        header_crc: 0,
    };
    header.header_crc = header_crc(&header);

    out.write_all(bytemuck::bytes_of(&header))?;
    out.write_all(&table)?;
    let mut written = table_offset + table_len;
    let zeros = [0u8; ALIGN as usize];
    for (entry, (_, bytes)) in entries.iter().zip(&payloads) {
        // Sections follow each other in order, so the gap is the alignment padding (< ALIGN).
        out.write_all(&zeros[..(entry.offset - written) as usize])?;
        out.write_all(bytes)?;
        written = entry.offset + entry.length;
    }
    Ok(written)
}

/// The length [`encode`] will write for `parts` (`None` past 64-bit offsets).
pub(crate) fn encoded_len(parts: &Parts<'_>) -> Option<u64> {
    let lens = [
        std::mem::size_of_val(parts.vectors),
        std::mem::size_of_val(parts.keys),
        std::mem::size_of_val(parts.key_index),
    ]
    .into_iter()
    .chain(parts.extra.iter().map(|(_, b)| b.len()));
    let n = 3 + parts.extra.len();
    let mut cursor = align_up((HEADER_SIZE + n * SECTION_ENTRY_SIZE) as u64)?;
    let mut end = cursor;
    for len in lens {
        end = cursor.checked_add(len as u64)?;
        cursor = align_up(end)?;
    }
    Some(end)
}

/// Encodes `parts` into `buf`, which must be [`encoded_len`] bytes long (for in-memory
/// galleries: written straight into their final buffer, no intermediate copy).
pub(crate) fn encode_into(parts: &Parts<'_>, buf: &mut [u8]) -> Result<()> {
    let len = buf.len();
    let mut w = &mut buf[..];
    let written = encode(parts, &mut w).map_err(|source| Error::Io { path: None, source })?;
    if written != len as u64 {
        return Err(Error::corrupt(format!(
            "encoded {written} bytes into a buffer of {len}"
        )));
    }
    Ok(())
}

/// Writes `parts` to `path` atomically: a temporary file in the same directory is written,
/// fsynced and renamed over `path`, then the directory is fsynced. A crash at any moment
/// leaves either the old file or the new one. Returns the file size.
pub(crate) fn write_atomic(parts: &Parts<'_>, path: &Path) -> Result<u64> {
    publish(path, |w| encode(parts, w))
}

/// The temporary name used while writing `path`: `NAME.tmp-PID-N` in the same directory.
/// Leftovers from a crash are never opened as galleries and may be deleted.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path
        .file_name()
        .map(|s| s.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

/// Runs `write` into a temporary file next to `path`, then fsync + rename + dir fsync.
pub(crate) fn publish(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<u64>,
) -> Result<u64> {
    if path.file_name().is_none() {
        return Err(Error::InvalidArgument(format!(
            "{} is not a file path",
            path.display()
        )));
    }
    let tmp = temp_path(path);
    let result = (|| -> Result<u64> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let n = write(&mut w).map_err(|e| Error::io(&tmp, e))?;
        let file = w
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_dir(path)?;
    result
}

/// fsyncs the directory holding `path`, so the rename itself is durable.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    {
        let d = File::open(dir).map_err(|e| Error::io(dir, e))?;
        d.sync_all().map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes the temporary files (`NAME.tmp-PID-N`) that a process killed while writing
/// `path` left behind. Only files whose process is gone are removed (checked through
/// `/proc`, so on Linux only; elsewhere nothing is removed): a writer that is still running
/// keeps its file. A leftover is never opened as a gallery either way. Returns how many
/// were removed; errors (e.g. a read-only directory) are ignored.
pub(crate) fn remove_stale_temps(path: &Path) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return 0;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut prefix = name.to_os_string();
    prefix.push(".tmp-");
    let Some(prefix) = prefix.to_str() else {
        return 0;
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('-') else {
            continue;
        };
        let (Ok(pid), true) = (pid.parse::<u32>(), n.bytes().all(|b| b.is_ascii_digit())) else {
            continue;
        };
        if pid != std::process::id() && process_is_gone(pid) && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether no process `pid` exists (Linux: no `/proc/PID`). Elsewhere always `false`.
fn process_is_gone(pid: u32) -> bool {
    if cfg!(target_os = "linux") && Path::new("/proc/self").exists() {
        !Path::new(&format!("/proc/{pid}")).exists()
    } else {
        false
    }
}
