//! Validation of a gallery's header and section table: everything `open` checks, in time
//! independent of the number of vectors.

use std::ops::Range;

use crate::codec;
use crate::error::{Error, Result};
use crate::types::{ElementType, Metric};

use crate::view::format::*;

/// One section as listed in the section table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionInfo {
    /// The kind code stored in the file.
    pub kind_code: u32,
    /// Upper-case name, or `"UNKNOWN"` for a kind from a newer minor version.
    pub name: &'static str,
    /// Byte offset in the file.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// Stored CRC32C.
    pub crc32c: u32,
}

/// The validated shape of a gallery file.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub header: Header,
    pub metric: Metric,
    pub element_type: ElementType,
    pub dims: usize,
    pub count: usize,
    pub sections: Vec<SectionInfo>,
    pub vectors: Range<usize>,
    pub keys: Range<usize>,
    pub key_index: Range<usize>,
    pub graph: Option<Range<usize>>,
    pub meta: Option<Range<usize>>,
    /// Per-row scales (`i8` galleries only).
    pub quant: Option<Range<usize>>,
    /// Exact `f32` rows of a compact gallery.
    pub rescore: Option<Range<usize>>,
    /// Per-row label sets.
    pub labels: Option<Range<usize>>,
}

fn read_header(bytes: &[u8]) -> Result<Header> {
    let found = bytes.len() as u64;
    if bytes.len() < 8 || bytes[..8] != MAGIC {
        if bytes.len() < 8 && MAGIC.starts_with(bytes) {
            return Err(Error::Truncated {
                expected: HEADER_SIZE as u64,
                found,
            });
        }
        return Err(Error::BadMagic);
    }
    if bytes.len() < 12 {
        return Err(Error::Truncated {
            expected: HEADER_SIZE as u64,
            found,
        });
    }
    // The version is checked before anything else, since a newer major version may lay
    // out the rest of the header differently.
    let major = u16::from_le_bytes([bytes[8], bytes[9]]);
    let minor = u16::from_le_bytes([bytes[10], bytes[11]]);
    if major != VERSION_MAJOR {
        return Err(Error::UnsupportedVersion {
            found: format!("{major}.{minor}"),
            supported: VERSION_MAJOR,
        });
    }
    let raw = bytes.get(..HEADER_SIZE).ok_or(Error::Truncated {
        expected: HEADER_SIZE as u64,
        found,
    })?;
    let header: Header = bytemuck::try_pod_read_unaligned(raw)
        .map_err(|e| Error::corrupt(format!("header: {e}")))?;
    let computed = header_crc(&header);
    if computed != header.header_crc {
        return Err(Error::ChecksumMismatch {
            region: "header".into(),
            stored: header.header_crc,
            computed,
        });
    }
    if header.endian != ENDIAN_MARKER {
        return Err(Error::corrupt(format!(
            "endianness marker {:#010x} (this reader is little-endian only)",
            header.endian
        )));
    }
    if header.header_size as usize != HEADER_SIZE {
        return Err(Error::corrupt(format!(
            "header size {} (expected {HEADER_SIZE})",
            header.header_size
        )));
    }
    Ok(header)
}

fn to_usize(v: u64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::corrupt(format!("{what} {v} does not fit in memory")))
}

/// Parses and validates header, section table, bounds, sizes and alignment of `bytes`.
/// Reads O(number of sections) bytes; never anything proportional to the vector count.
pub(crate) fn parse(bytes: &[u8]) -> Result<Layout> {
    let header = read_header(bytes)?;
    let actual = bytes.len() as u64;
    if header.file_len > actual {
        return Err(Error::Truncated {
            expected: header.file_len,
            found: actual,
        });
    }
    if header.file_len < actual {
        return Err(Error::corrupt(format!(
            "file has {actual} bytes but its header says {}",
            header.file_len
        )));
    }
    let metric = Metric::from_code(header.metric)?;
    let element_type = ElementType::from_code(header.element_type)?;
    if header.dims == 0 {
        return Err(Error::corrupt("dims is 0"));
    }
    if header.count > u64::from(u32::MAX) {
        return Err(Error::corrupt(format!(
            "count {} exceeds the u32 row limit",
            header.count
        )));
    }
    let dims = header.dims as usize;
    let count = to_usize(header.count, "count")?;

    // Section table.
    if header.section_entry_size as usize != SECTION_ENTRY_SIZE {
        return Err(Error::corrupt(format!(
            "section entry size {}",
            header.section_entry_size
        )));
    }
    if header.section_count > MAX_SECTIONS {
        return Err(Error::corrupt(format!(
            "{} sections (limit {MAX_SECTIONS})",
            header.section_count
        )));
    }
    let table_len = u64::from(header.section_count) * SECTION_ENTRY_SIZE as u64;
    let table_end = header
        .section_table_offset
        .checked_add(table_len)
        .filter(|end| *end <= actual && header.section_table_offset >= HEADER_SIZE as u64)
        .ok_or_else(|| Error::corrupt("section table lies outside the file"))?;
    let table = &bytes[header.section_table_offset as usize..table_end as usize];
    let computed = crc(table);
    if computed != header.section_table_crc {
        return Err(Error::ChecksumMismatch {
            region: "section table".into(),
            stored: header.section_table_crc,
            computed,
        });
    }

    let row_bytes = element_type
        .row_bytes(dims)
        .ok_or_else(|| Error::corrupt("row size overflows"))? as u64;
    let expected_len = |kind: SectionKind| -> Result<Option<u64>> {
        let n = header.count;
        let v = match kind {
            SectionKind::Vectors => n.checked_mul(row_bytes),
            SectionKind::Keys => n.checked_mul(8),
            SectionKind::KeyIndex => n.checked_mul(16),
            SectionKind::Quant => n.checked_mul(4),
            SectionKind::Rescore => n
                .checked_mul(u64::from(header.dims))
                .and_then(|x| x.checked_mul(4)),
            _ => return Ok(None),
        };
        v.map(Some)
            .ok_or_else(|| Error::corrupt("section size overflows"))
    };

    let mut sections = Vec::with_capacity(header.section_count as usize);
    let (mut vectors, mut keys, mut key_index, mut graph, mut meta) =
        (None, None, None, None, None);
    let (mut quant, mut rescore, mut labels) = (None, None, None);
    for raw in table.chunks_exact(SECTION_ENTRY_SIZE) {
        let e: SectionEntry = bytemuck::try_pod_read_unaligned(raw)
            .map_err(|err| Error::corrupt(format!("section entry: {err}")))?;
        let kind = SectionKind::from_code(e.kind);
        let name = kind.map_or("UNKNOWN", SectionKind::name);
        let end = e
            .offset
            .checked_add(e.length)
            .filter(|end| *end <= actual)
            .ok_or_else(|| Error::corrupt(format!("section {name} lies outside the file")))?;
        if !e.offset.is_multiple_of(ALIGN) {
            return Err(Error::corrupt(format!(
                "section {name} at offset {} is not {ALIGN}-byte aligned",
                e.offset
            )));
        }
        if e.length > 0 && e.offset < table_end {
            return Err(Error::corrupt(format!(
                "section {name} overlaps the header or section table"
            )));
        }
        sections.push(SectionInfo {
            kind_code: e.kind,
            name,
            offset: e.offset,
            length: e.length,
            crc32c: e.crc32c,
        });
        let Some(kind) = kind else { continue };
        if let Some(want) = expected_len(kind)?
            && want != e.length
        {
            return Err(Error::corrupt(format!(
                "section {name} has {} bytes, expected {want}",
                e.length
            )));
        }
        let range = to_usize(e.offset, "offset")?..to_usize(end, "offset")?;
        let slot = match kind {
            SectionKind::Vectors => &mut vectors,
            SectionKind::Keys => &mut keys,
            SectionKind::KeyIndex => &mut key_index,
            SectionKind::Graph => &mut graph,
            SectionKind::Meta => &mut meta,
            SectionKind::Quant => &mut quant,
            SectionKind::Rescore => &mut rescore,
            SectionKind::Labels => &mut labels,
            SectionKind::Tombstones => continue,
        };
        if slot.replace(range).is_some() {
            return Err(Error::corrupt(format!("section {name} appears twice")));
        }
    }
    let missing =
        |k: SectionKind| Error::corrupt(format!("required section {} is missing", k.name()));
    match (codec::has_quant(element_type), &quant) {
        (true, None) => return Err(missing(SectionKind::Quant)),
        (true, Some(_)) | (false, None) => {}
        (false, Some(_)) => {
            return Err(Error::corrupt(format!(
                "section QUANT in a {element_type} gallery"
            )));
        }
    }
    if element_type == ElementType::F32 && rescore.is_some() {
        return Err(Error::corrupt("section RESCORE in an f32 gallery"));
    }
    Ok(Layout {
        header,
        metric,
        element_type,
        dims,
        count,
        vectors: vectors.ok_or_else(|| missing(SectionKind::Vectors))?,
        keys: keys.ok_or_else(|| missing(SectionKind::Keys))?,
        key_index: key_index.ok_or_else(|| missing(SectionKind::KeyIndex))?,
        graph,
        meta,
        quant,
        rescore,
        labels,
        sections,
    })
}
