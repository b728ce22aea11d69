//! Serialising a gallery (format v1) and publishing it atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::types::{ElementType, Metric};

use super::lock::WriterLock;
use super::target::{self, FileId};
use crate::view::format::*;

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
/// leaves either the old file or the new one. Returns the file size. As [`write_path`].
pub(crate) fn write_atomic(parts: &Parts<'_>, path: &Path) -> Result<u64> {
    write_path(path, |w| encode(parts, w))
}

/// Publishes `write` at `path` (the name the user gave) as a one-off writer: links are
/// followed; over an existing file the writer lock is taken (without waiting) and the file
/// must still be the one found when the lock was taken, and its mode and owner are kept.
/// A new file is written without the lock (nothing else can be writing it through
/// vecmatch but another new build, and then one complete file wins).
///
/// # Errors
/// [`Error::Locked`], [`Error::Changed`], [`Error::Permission`], [`Error::Io`]: see
/// [`publish`].
pub(crate) fn write_path(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<u64>,
) -> Result<u64> {
    let real = target::resolve(path)?;
    let lock;
    let mut expect = None;
    if fs::symlink_metadata(&real).is_ok() {
        lock = Some(WriterLock::acquire(path, None)?);
        expect = FileId::at(&real);
    } else {
        lock = None;
    }
    let (n, _) = publish(path, &real, expect, write)?;
    drop(lock);
    Ok(n)
}

/// Extra bytes a temporary name adds to the gallery's name: `.tmp-` (5), a PID (at most
/// 10 digits), `-` and a counter (at most 20 digits).
const TEMP_SUFFIX_MAX: usize = 36;

/// The prefix of every temporary name of `real`: `NAME.tmp-`, with `NAME` shortened so
/// that the whole temporary name stays within the file-name limit.
fn temp_prefix(real: &Path) -> std::ffi::OsString {
    let name = real.file_name().unwrap_or_default();
    let mut prefix = target::short_name(name, TEMP_SUFFIX_MAX);
    prefix.push(".tmp-");
    prefix
}

/// The temporary name used while writing `real`: `NAME.tmp-PID-N` in the same directory.
/// Leftovers from a crash are never opened as galleries and may be deleted.
fn temp_path(real: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = temp_prefix(real);
    name.push(format!("{}-{n}", std::process::id()));
    real.with_file_name(name)
}

/// Runs `write` into a temporary file next to `real` (the resolved place of `user`, the
/// name the user gave, which errors name), then fsync + rename + dir fsync.
///
/// Over an existing file: a write-protected one (no write permission bit) is refused;
/// the new file gets the old one's mode bits and owner and group (refused if this
/// process cannot keep them: only root can give a file away); the temporary file is
/// created private (0600) until then. `expect`: the identity the file at `real` must
/// still have just before the rename (else [`Error::Changed`], nothing is replaced).
/// A new file gets the default mode (0666 less the umask).
///
/// Returns the bytes written and the identity of the published file.
pub(crate) fn publish(
    user: &Path,
    real: &Path,
    expect: Option<FileId>,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<u64>,
) -> Result<(u64, Option<FileId>)> {
    if real.file_name().is_none() {
        return Err(Error::InvalidArgument(format!(
            "`{}` is not a file path",
            user.display()
        )));
    }
    let old = match fs::metadata(real) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(user, e)),
    };
    if let Some(m) = &old {
        check_replaceable(user, m)?;
    }
    if let Some(id) = expect
        && old.as_ref().and_then(FileId::of) != Some(id)
    {
        return Err(Error::Changed {
            path: user.to_path_buf(),
        });
    }
    let tmp = temp_path(real);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if old.is_some() {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let file = options
        .open(&tmp)
        .map_err(|e| target::create_error(user, real, e))?;
    let result = (|| -> Result<(u64, Option<FileId>)> {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let n = write(&mut w).map_err(|e| Error::io(user, e))?;
        let file = w
            .into_inner()
            .map_err(|e| Error::io(user, e.into_error()))?;
        if let Some(m) = &old {
            keep_permissions(user, &file, m)?;
        }
        file.sync_all().map_err(|e| Error::io(user, e))?;
        let id = file.metadata().ok().as_ref().and_then(FileId::of);
        drop(file);
        // Last check before replacing: a writer that bypassed the lock may have replaced
        // the file since it was opened. (Not atomic with the rename: it catches
        // replacements made while this writer worked, which is where they happen.)
        if let Some(want) = expect
            && FileId::at(real) != Some(want)
        {
            return Err(Error::Changed {
                path: user.to_path_buf(),
            });
        }
        fs::rename(&tmp, real).map_err(|e| Error::io(user, e))?;
        Ok((n, id))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_dir(real)?;
    result
}

/// Refuses to replace a directory or a write-protected file.
fn check_replaceable(user: &Path, m: &fs::Metadata) -> Result<()> {
    if m.is_dir() {
        return Err(Error::io(
            user,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    if m.permissions().readonly() {
        return Err(Error::Permission {
            path: user.to_path_buf(),
            reason: format!(
                "it is write-protected{}; vecmatch never makes a protected gallery writable \
                 (make it writable, e.g. `chmod u+w`, to change it)",
                mode_text(m)
            ),
        });
    }
    Ok(())
}

/// ` (mode 0444)` on Unix, empty elsewhere.
fn mode_text(m: &fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        format!(" (mode {:04o})", m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        String::new()
    }
}

/// Gives `file` the mode bits, owner and group of `old`. Changing the owner needs
/// privileges: if the ids cannot be kept the publish is refused rather than handing the
/// data to another owner or group.
#[cfg(unix)]
fn keep_permissions(user: &Path, file: &File, old: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, fchown};
    let ids = |m: &fs::Metadata| (m.uid(), m.gid());
    let meta = file.metadata().map_err(|e| Error::io(user, e))?;
    if ids(&meta) != ids(old) {
        // Owner and group at once (root, or a no-op owner change with a group this
        // user is a member of); then the group alone.
        if fchown(file, Some(old.uid()), Some(old.gid())).is_err() {
            let _ = fchown(file, None, Some(old.gid()));
        }
        let now = file.metadata().map_err(|e| Error::io(user, e))?;
        if ids(&now) != ids(old) {
            return Err(Error::Permission {
                path: user.to_path_buf(),
                reason: format!(
                    "its owner and group {}:{} cannot be kept by this process \
                     (uid {}, gid {}); run as the owner or as root",
                    old.uid(),
                    old.gid(),
                    now.uid(),
                    now.gid()
                ),
            });
        }
    }
    // After the owner: changing the owner clears set-id bits.
    let mode = old.permissions().mode() & 0o7777;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(user, e))
}

/// Elsewhere only the read-only flag is kept.
#[cfg(not(unix))]
fn keep_permissions(user: &Path, file: &File, old: &fs::Metadata) -> Result<()> {
    file.set_permissions(old.permissions())
        .map_err(|e| Error::io(user, e))
}

/// fsyncs the directory holding `path`, so the rename itself is durable.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = target::parent_dir(path);
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
/// `path` (links followed) left behind. Only files whose process is gone are removed (checked through
/// `/proc`, so on Linux only; elsewhere nothing is removed): a writer that is still running
/// keeps its file. A leftover is never opened as a gallery either way. Returns how many
/// were removed; errors (e.g. a read-only directory) are ignored.
pub(crate) fn remove_stale_temps(path: &Path) -> usize {
    let Ok(real) = target::resolve(path) else {
        return 0;
    };
    let dir = target::parent_dir(&real);
    let prefix = temp_prefix(&real);
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
