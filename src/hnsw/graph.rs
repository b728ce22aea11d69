//! The frozen HNSW graph: the owned form produced by a builder, its byte layout in the
//! `GRAPH` section, and a zero-copy view of that section (specified in ARCHITECTURE.md).
//!
//! Layout (little-endian, offsets relative to the section start, all 4-byte aligned):
//! a 64-byte [`GraphHeader`]; `max_level` × 32-byte [`LevelEntry`]; layer 0 at
//! `layer0_offset` as `count × stride0` u32 slots (slot 0 = degree, then up to `m0`
//! neighbour rows); then, per upper level, the sorted node rows, `n_nodes + 1` CSR
//! offsets and the neighbour rows.

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};

/// Magic of the GRAPH section.
pub(crate) const GRAPH_MAGIC: [u8; 8] = *b"VMGRAPH1";
const HEADER: usize = 64;
const LEVEL: usize = 32;
/// More levels than any real graph has (levels grow with log n).
const MAX_LEVELS: u32 = 64;

/// Fixed header of the GRAPH section.
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub(crate) struct GraphHeader {
    pub magic: [u8; 8],
    /// Rows in the gallery (must equal the gallery's count).
    pub count: u32,
    /// Maximum layer-0 degree (2·M).
    pub m0: u32,
    /// u32 slots per layer-0 row: `1 + m0` rounded up to a multiple of 16 (64 bytes).
    pub stride0: u32,
    /// Maximum upper-layer degree (M).
    pub m: u32,
    /// Highest level (0 for a single-layer graph).
    pub max_level: u32,
    /// Row of the entry point (a node of `max_level`).
    pub entry_point: u32,
    /// Byte offset of layer 0.
    pub layer0_offset: u64,
    /// M and ef_construction used at build time (informational).
    pub build_m: u32,
    pub build_ef_construction: u32,
    pub reserved: [u8; 16],
}

/// One upper level's CSR location.
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub(crate) struct LevelEntry {
    /// Byte offset of the sorted node rows (`n_nodes` u32), followed by `n_nodes + 1` u32
    /// CSR offsets into the neighbour array.
    pub nodes_offset: u64,
    pub n_nodes: u64,
    /// Byte offset of the neighbour rows (`n_neighbors` u32).
    pub neighbors_offset: u64,
    pub n_neighbors: u64,
}

const _: () = assert!(std::mem::size_of::<GraphHeader>() == HEADER);
const _: () = assert!(std::mem::size_of::<LevelEntry>() == LEVEL);

/// u32 slots per layer-0 row for a maximum degree `m0`: `1 + m0` rounded up to 16 (64 bytes).
pub(crate) fn stride0(m0: usize) -> usize {
    (1 + m0).div_ceil(16) * 16
}

/// One upper level of a [`FrozenGraph`], in the file's CSR form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UpperLevel {
    /// Node rows, strictly ascending.
    pub nodes: Vec<u32>,
    /// `nodes.len() + 1` offsets into `neighbors`, from 0.
    pub offsets: Vec<u32>,
    /// Neighbour rows of every node, concatenated.
    pub neighbors: Vec<u32>,
}

impl UpperLevel {
    /// Builds a level from `(row, neighbours)` pairs sorted by row (at most `m` kept each).
    pub(crate) fn from_lists<'a>(
        lists: impl IntoIterator<Item = (u32, &'a [u32])>,
        m: usize,
    ) -> Self {
        let mut l = UpperLevel {
            offsets: vec![0],
            ..UpperLevel::default()
        };
        for (row, nbrs) in lists {
            l.nodes.push(row);
            l.neighbors.extend(nbrs.iter().take(m));
            l.offsets.push(l.neighbors.len() as u32);
        }
        l
    }
}

/// A built graph before serialisation, already in the file's layout: layer 0 is the
/// `count × stride0` slot array of the GRAPH section (slot 0 the degree, then the
/// neighbours, the rest zero), the upper levels are CSR.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrozenGraph {
    pub count: usize,
    pub m: usize,
    pub m0: usize,
    pub entry_point: u32,
    /// `count × stride0(m0)` layer-0 slots.
    pub layer0: Vec<u32>,
    /// Upper levels (index 0 = level 1).
    pub upper: Vec<UpperLevel>,
    pub build_m: usize,
    pub build_ef_construction: usize,
}

impl FrozenGraph {
    /// An empty-linked graph of `count` rows (every layer-0 degree 0, no upper levels).
    pub(crate) fn empty(count: usize, m: usize, ef_construction: usize) -> Self {
        FrozenGraph {
            count,
            m,
            m0: 2 * m,
            entry_point: 0,
            layer0: vec![0; count * stride0(2 * m)],
            upper: Vec::new(),
            build_m: m,
            build_ef_construction: ef_construction,
        }
    }

    /// Layer-0 neighbours of `row`.
    pub(crate) fn neighbors0(&self, row: usize) -> &[u32] {
        let s = stride0(self.m0);
        let slots = &self.layer0[row * s..(row + 1) * s];
        &slots[1..1 + (slots[0] as usize).min(self.m0)]
    }

    /// Replaces the layer-0 neighbours of `row` (at most `m0` kept).
    pub(crate) fn set_neighbors0(&mut self, row: usize, nbrs: &[u32]) {
        let s = stride0(self.m0);
        let slots = &mut self.layer0[row * s..(row + 1) * s];
        let k = nbrs.len().min(self.m0);
        slots.fill(0);
        slots[0] = k as u32;
        slots[1..1 + k].copy_from_slice(&nbrs[..k]);
    }

    /// Serialises into GRAPH section bytes (a copy of the arrays behind a header).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let stride0 = stride0(self.m0);
        let max_level = self.upper.len();
        let layer0_offset = (HEADER + LEVEL * max_level).div_ceil(64) * 64;
        let upper_bytes: usize = self
            .upper
            .iter()
            .map(|l| 4 * (l.nodes.len() + l.offsets.len() + l.neighbors.len()))
            .sum();
        let mut out = Vec::with_capacity(layer0_offset + self.layer0.len() * 4 + upper_bytes);
        out.resize(layer0_offset, 0);
        out.extend_from_slice(bytemuck::cast_slice(&self.layer0));
        let mut levels = Vec::with_capacity(max_level);
        for l in &self.upper {
            let nodes_offset = out.len() as u64;
            out.extend_from_slice(bytemuck::cast_slice(&l.nodes));
            out.extend_from_slice(bytemuck::cast_slice(&l.offsets));
            let neighbors_offset = out.len() as u64;
            out.extend_from_slice(bytemuck::cast_slice(&l.neighbors));
            levels.push(LevelEntry {
                nodes_offset,
                n_nodes: l.nodes.len() as u64,
                neighbors_offset,
                n_neighbors: l.neighbors.len() as u64,
            });
        }
        let header = GraphHeader {
            magic: GRAPH_MAGIC,
            count: self.count as u32,
            m0: self.m0 as u32,
            stride0: stride0 as u32,
            m: self.m as u32,
            max_level: max_level as u32,
            entry_point: self.entry_point,
            layer0_offset: layer0_offset as u64,
            build_m: self.build_m as u32,
            build_ef_construction: self.build_ef_construction as u32,
            reserved: [0; 16],
        };
        out[..HEADER].copy_from_slice(bytemuck::bytes_of(&header));
        for (i, l) in levels.iter().enumerate() {
            out[HEADER + i * LEVEL..HEADER + (i + 1) * LEVEL]
                .copy_from_slice(bytemuck::bytes_of(l));
        }
        out
    }
}

/// One upper level of a [`GraphView`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Level<'a> {
    nodes: &'a [u32],
    offsets: &'a [u32],
    neighbors: &'a [u32],
}

/// A validated, zero-copy view of a GRAPH section. [`GraphView::parse`] checks the
/// header, the level table and every sub-range (O(levels), no allocation, so it runs per
/// search call); ids read from it are bounds-checked by the accessors, so a corrupt graph
/// gives wrong answers, never out-of-bounds reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GraphView<'a> {
    pub header: GraphHeader,
    bytes: &'a [u8],
    layer0: &'a [u32],
    levels: &'a [LevelEntry],
}

fn corrupt(what: &str) -> Error {
    Error::corrupt(format!("GRAPH section: {what}"))
}

fn u32s<'a>(bytes: &'a [u8], offset: u64, n: u64, what: &str) -> Result<&'a [u32]> {
    let start = usize::try_from(offset).map_err(|_| corrupt(what))?;
    let len = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| corrupt(what))?;
    let end = start.checked_add(len).ok_or_else(|| corrupt(what))?;
    let b = bytes
        .get(start..end)
        .ok_or_else(|| corrupt(&format!("{what} out of bounds")))?;
    bytemuck::try_cast_slice(b).map_err(|_| corrupt(&format!("{what} misaligned")))
}

impl<'a> GraphView<'a> {
    /// The whole section.
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Validates the section's structure against a gallery of `count` rows.
    pub(crate) fn parse(bytes: &'a [u8], count: usize) -> Result<Self> {
        let header: GraphHeader = bytes
            .get(..HEADER)
            .and_then(|h| bytemuck::try_pod_read_unaligned(h).ok())
            .ok_or_else(|| corrupt("shorter than its header"))?;
        if header.magic != GRAPH_MAGIC {
            return Err(corrupt("bad magic"));
        }
        if header.count as usize != count {
            return Err(corrupt(&format!(
                "built for {} rows, gallery has {count}",
                header.count
            )));
        }
        if header.max_level > MAX_LEVELS || header.stride0 == 0 || header.m0 >= header.stride0 {
            return Err(corrupt("bad level count or layer-0 stride"));
        }
        if count > 0 && header.entry_point as usize >= count {
            return Err(corrupt("entry point out of range"));
        }
        let n0 = u64::from(header.count) * u64::from(header.stride0);
        let layer0 = u32s(bytes, header.layer0_offset, n0, "layer 0")?;
        let table = bytes
            .get(HEADER..HEADER + LEVEL * header.max_level as usize)
            .ok_or_else(|| corrupt("level table out of bounds"))?;
        let levels: &[LevelEntry] =
            bytemuck::try_cast_slice(table).map_err(|_| corrupt("level table misaligned"))?;
        let g = GraphView {
            header,
            bytes,
            layer0,
            levels,
        };
        for l in 1..=levels.len() {
            g.level(l)?;
        }
        Ok(g)
    }

    fn level(&self, level: usize) -> Result<Level<'a>> {
        let e = level
            .checked_sub(1)
            .and_then(|i| self.levels.get(i))
            .ok_or_else(|| corrupt("no such level"))?;
        let nodes = u32s(self.bytes, e.nodes_offset, e.n_nodes, "level nodes")?;
        let off_at = e
            .nodes_offset
            .checked_add(e.n_nodes.saturating_mul(4))
            .ok_or_else(|| corrupt("offsets"))?;
        let offsets = u32s(
            self.bytes,
            off_at,
            e.n_nodes.saturating_add(1),
            "level offsets",
        )?;
        let neighbors = u32s(
            self.bytes,
            e.neighbors_offset,
            e.n_neighbors,
            "level neighbours",
        )?;
        Ok(Level {
            nodes,
            offsets,
            neighbors,
        })
    }

    /// Highest level.
    pub(crate) fn max_level(&self) -> usize {
        self.levels.len()
    }

    /// Layer-0 neighbours of `row` (degree clamped to `m0`; ids not yet range-checked).
    #[inline]
    pub(crate) fn neighbors0(&self, row: usize) -> &'a [u32] {
        let s = self.header.stride0 as usize;
        match self.layer0.get(row * s..(row + 1) * s) {
            Some(slots) => {
                let deg = (slots[0] as usize).min(self.header.m0 as usize).min(s - 1);
                &slots[1..1 + deg]
            }
            None => &[],
        }
    }

    /// Hints the CPU to load the layer-0 slots of `row` (the next node the beam expands).
    #[inline]
    pub(crate) fn prefetch0(&self, row: usize) {
        let s = self.header.stride0 as usize;
        if let Some(slots) = self.layer0.get(row * s..(row + 1) * s) {
            crate::metric::prefetch_lines(slots, 4);
        }
    }

    /// The degree stored for `row` on layer 0, unclamped (for invariant checks).
    pub(crate) fn raw_degree0(&self, row: usize) -> Option<u32> {
        self.layer0.get(row * self.header.stride0 as usize).copied()
    }

    /// The CSR offsets of upper `level` (1-based), for invariant checks.
    pub(crate) fn level_offsets(&self, level: usize) -> (&'a [u32], usize) {
        self.level(level)
            .map_or((&[][..], 0), |l| (l.offsets, l.neighbors.len()))
    }

    /// Neighbours of `row` on upper `level` (1-based), empty if it is not on that level.
    pub(crate) fn neighbors_upper(&self, level: usize, row: u32) -> &'a [u32] {
        let Ok(l) = self.level(level) else { return &[] };
        let Ok(i) = l.nodes.binary_search(&row) else {
            return &[];
        };
        let (Some(&a), Some(&b)) = (l.offsets.get(i), l.offsets.get(i + 1)) else {
            return &[];
        };
        l.neighbors.get(a as usize..b as usize).unwrap_or(&[])
    }

    /// Node rows of upper `level` (1-based).
    pub(crate) fn level_nodes(&self, level: usize) -> &'a [u32] {
        self.level(level).map_or(&[], |l| l.nodes)
    }
}
