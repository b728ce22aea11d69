//! Where a gallery's bytes live: a read-only memory map of a file, or an in-memory copy
//! (an aligned heap buffer, or for large galleries an anonymous mapping backed by
//! transparent huge pages). All hand out one `&[u8]` whose start is at least 64-byte
//! aligned, so sections (64-byte aligned offsets) can be viewed in place with
//! `bytemuck::try_cast_slice`.

use std::fs::File;
use std::path::Path;

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};

/// 64 bytes with 64-byte alignment: the unit of the in-memory buffer.
#[derive(Clone, Copy, Pod, Zeroable)]
#[repr(C, align(64))]
pub(crate) struct Block([u8; 64]);

/// The bytes of one gallery.
pub(crate) enum Storage {
    /// A read-only shared mapping of the whole file.
    Mmap(memmap2::Mmap),
    /// A heap copy (in-memory galleries); `len` bytes of `blocks` are used.
    Memory { blocks: Vec<Block>, len: usize },
    /// An in-memory copy in a read-only anonymous mapping advised for huge pages.
    Anonymous(memmap2::Mmap),
}

/// In-memory galleries at least this large go to an anonymous mapping with
/// `MADV_HUGEPAGE`: graph search reads rows at random, and with 4 KiB pages nearly every
/// row costs a TLB miss (a 20k × 384 gallery spans 7,500 pages). On the 20k dev set HNSW
/// search at ef 32 and 64 took 10-15% less time on huge pages than on the heap copy
/// (interleaved runs in one process).
const HUGE_PAGE_MIN: usize = 4 << 20;

impl Storage {
    /// Maps `path` read-only.
    ///
    /// The mmap contract: the file must not be modified or truncated while it is mapped.
    /// vecmatch never edits a published file in place (it writes a new file and renames).
    pub(crate) fn map(path: &Path) -> Result<Storage> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            // Mapping a directory fails with "No such device"; say what it is.
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
            ));
        }
        let len = meta.len();
        if len == 0 {
            // Mapping an empty file fails on some platforms; report it as truncated.
            return Err(Error::Truncated {
                expected: crate::view::format::HEADER_SIZE as u64,
                found: 0,
            });
        }
        // The mapping is read-only. Its soundness relies on the documented contract that no
        // one modifies or truncates the file while it is open (vecmatch itself only ever
        // replaces files by rename). Every byte read from it is validated before use, so
        // arbitrary (but stable) contents cannot cause undefined behaviour.
        // SAFETY: read-only mapping under the mmap contract (above).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Ok(Storage::Mmap(map))
    }

    /// Copies `bytes` into a fresh 64-byte-aligned buffer (huge pages when large and
    /// available).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Storage {
        if bytes.len() >= HUGE_PAGE_MIN
            && let Ok(s) = Self::anonymous(bytes)
        {
            return s;
        }
        let mut blocks = vec![Block([0; 64]); bytes.len().div_ceil(64)];
        bytemuck::cast_slice_mut::<Block, u8>(&mut blocks)[..bytes.len()].copy_from_slice(bytes);
        Storage::Memory {
            blocks,
            len: bytes.len(),
        }
    }

    /// A fresh 64-byte-aligned buffer of `len` bytes (huge pages when large and
    /// available), zeroed, then written by `fill`.
    pub(crate) fn filled(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<()>,
    ) -> Result<Storage> {
        if len >= HUGE_PAGE_MIN
            && let Ok(mut map) = memmap2::MmapOptions::new().len(len).map_anon()
        {
            #[cfg(target_os = "linux")]
            let _ = map.advise(memmap2::Advice::HugePage);
            fill(&mut map)?;
            let map = map
                .make_read_only()
                .map_err(|source| Error::Io { path: None, source })?;
            return Ok(Storage::Anonymous(map));
        }
        let mut blocks = vec![Block([0; 64]); len.div_ceil(64)];
        fill(&mut bytemuck::cast_slice_mut::<Block, u8>(&mut blocks)[..len])?;
        Ok(Storage::Memory { blocks, len })
    }

    /// Copies `bytes` into an anonymous mapping (page-aligned), asking for transparent huge
    /// pages where the platform has them (best effort: a refusal leaves normal pages).
    fn anonymous(bytes: &[u8]) -> std::io::Result<Storage> {
        let mut map = memmap2::MmapOptions::new().len(bytes.len()).map_anon()?;
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        map.copy_from_slice(bytes);
        Ok(Storage::Anonymous(map.make_read_only()?))
    }

    /// All bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mmap(m) | Storage::Anonymous(m) => m,
            Storage::Memory { blocks, len } => &bytemuck::cast_slice::<Block, u8>(blocks)[..*len],
        }
    }

    /// `"mmap"` or `"memory"`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Storage::Mmap(_) => "mmap",
            Storage::Memory { .. } | Storage::Anonymous(_) => "memory",
        }
    }
}
