//! Byte layout of the gallery file, format v1 (specified in ARCHITECTURE.md).
//!
//! Everything is little-endian. The fixed 128-byte [`Header`] is followed by the section
//! table (`section_count` × 32-byte [`SectionEntry`]), then the sections, each starting at
//! a multiple of [`ALIGN`] bytes. Structs here are `#[repr(C)]` + [`bytemuck::Pod`] with no
//! padding, so they are read with `bytemuck::try_pod_read_unaligned` and written with
//! `bytemuck::bytes_of`.

use bytemuck::{Pod, Zeroable};

/// First eight bytes of every gallery file.
pub const MAGIC: [u8; 8] = *b"VECMATCH";
/// Format major version written and read by this build. A file with a larger major is
/// refused; a larger minor is read (unknown sections are skipped).
pub const VERSION_MAJOR: u16 = 1;
/// Format minor version written by this build. Minor 1 added the `f16` and `i8` element
/// types (with the `QUANT` scales) and the `RESCORE` section; minor 2 the `LABELS`
/// section (older 1.x readers skip it); files without labels are still written as 1.1.
pub const VERSION_MINOR: u16 = 2;
/// Written as a `u32`; reads back as this value only on a little-endian reader.
pub const ENDIAN_MARKER: u32 = 0x0102_0304;
/// Every section starts at a multiple of this many bytes.
pub const ALIGN: u64 = 64;
/// Size of [`Header`] in bytes.
pub const HEADER_SIZE: usize = 128;
/// Size of [`SectionEntry`] in bytes.
pub const SECTION_ENTRY_SIZE: usize = 32;
/// Upper bound on the number of sections, so a corrupt count cannot make open slow.
pub const MAX_SECTIONS: u32 = 64;

/// The fixed header at offset 0.
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`VERSION_MAJOR`] of the writer.
    pub version_major: u16,
    /// [`VERSION_MINOR`] of the writer.
    pub version_minor: u16,
    /// [`ENDIAN_MARKER`].
    pub endian: u32,
    /// [`HEADER_SIZE`].
    pub header_size: u32,
    /// [`crate::Metric`] code.
    pub metric: u32,
    /// [`crate::ElementType`] code.
    pub element_type: u32,
    /// Components per vector.
    pub dims: u32,
    /// Number of vectors (rows).
    pub count: u64,
    /// Total file length in bytes (detects truncation and appended garbage).
    pub file_len: u64,
    /// Offset of the section table.
    pub section_table_offset: u64,
    /// Number of entries in the section table.
    pub section_count: u32,
    /// [`SECTION_ENTRY_SIZE`].
    pub section_entry_size: u32,
    /// CRC32C of the section table bytes.
    pub section_table_crc: u32,
    /// Reserved flags, zero in v1.
    pub flags: u32,
    /// Seconds since the Unix epoch when the file was written.
    pub created_unix_s: u64,
    /// Zero in v1.
    pub reserved: [u8; 44],
    /// CRC32C of the 124 bytes before this field.
    pub header_crc: u32,
}

const _: () = assert!(std::mem::size_of::<Header>() == HEADER_SIZE);
const _: () = assert!(std::mem::size_of::<SectionEntry>() == SECTION_ENTRY_SIZE);

/// One entry of the section table.
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq, Eq)]
#[repr(C)]
pub struct SectionEntry {
    /// A [`SectionKind`] code; unknown codes are skipped by readers.
    pub kind: u32,
    /// Zero in v1.
    pub flags: u32,
    /// Offset from the start of the file, a multiple of [`ALIGN`].
    pub offset: u64,
    /// Length in bytes (padding after the section is not included).
    pub length: u64,
    /// CRC32C of the section's `length` bytes.
    pub crc32c: u32,
    /// Zero in v1.
    pub reserved: u32,
}

/// One entry of the `KEY_INDEX` section: the entries are sorted by `key`, strictly
/// increasing, and `row` is the row of that key in `VECTORS` and `KEYS`.
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq, Eq)]
#[repr(C)]
pub struct KeyIndexEntry {
    /// The user key.
    pub key: u64,
    /// Its row.
    pub row: u64,
}

/// Section kinds of format v1. Codes are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum SectionKind {
    /// `count × dims` elements of the header's element type, row-major.
    Vectors = 1,
    /// `count` × `u64` keys, by row.
    Keys = 2,
    /// `count` × [`KeyIndexEntry`], sorted by key.
    KeyIndex = 3,
    /// HNSW graph (reserved; written by the HNSW index).
    Graph = 4,
    /// Deleted-row bitset (reserved).
    Tombstones = 5,
    /// `count` × `f32` per-row scales of an `i8` gallery (required for `i8`, absent
    /// otherwise).
    Quant = 6,
    /// Small UTF-8 JSON object: builder version, parameters, user string.
    Meta = 7,
    /// Optional `count × dims` `f32` rows of a compact (`f16`, `i8`) gallery, for exact
    /// re-ranking. Since format 1.1.
    Rescore = 8,
    /// Optional per-row `u32` label sets with per-label postings and counts (layout in
    /// `view/labels.rs` and ARCHITECTURE.md). Since format 1.2.
    Labels = 9,
}

impl SectionKind {
    /// Parses a code; `None` for kinds this build does not know (they are skipped).
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => SectionKind::Vectors,
            2 => SectionKind::Keys,
            3 => SectionKind::KeyIndex,
            4 => SectionKind::Graph,
            5 => SectionKind::Tombstones,
            6 => SectionKind::Quant,
            7 => SectionKind::Meta,
            8 => SectionKind::Rescore,
            9 => SectionKind::Labels,
            _ => return None,
        })
    }

    /// Upper-case name as used in `vecmatch info` and error messages.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Vectors => "VECTORS",
            SectionKind::Keys => "KEYS",
            SectionKind::KeyIndex => "KEY_INDEX",
            SectionKind::Graph => "GRAPH",
            SectionKind::Tombstones => "TOMBSTONES",
            SectionKind::Quant => "QUANT",
            SectionKind::Meta => "META",
            SectionKind::Rescore => "RESCORE",
            SectionKind::Labels => "LABELS",
        }
    }
}

/// CRC32C (Castagnoli) of `bytes`.
pub fn crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// CRC32C of a header: over its first 124 bytes (everything but `header_crc`).
pub fn header_crc(h: &Header) -> u32 {
    crc(&bytemuck::bytes_of(h)[..HEADER_SIZE - 4])
}

/// `x` rounded up to a multiple of [`ALIGN`], or `None` on overflow.
pub fn align_up(x: u64) -> Option<u64> {
    x.checked_add(ALIGN - 1).map(|v| v / ALIGN * ALIGN)
}
