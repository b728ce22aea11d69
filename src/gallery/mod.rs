//! The gallery: an immutable set of vectors with unique `u64` keys in one file (format v1,
//! see ARCHITECTURE.md), opened by memory map or held in memory.

pub(crate) mod buffer;
mod builder;
mod graph_only;
mod layout;
pub(crate) mod lock;
mod storage;
pub(crate) mod target;
mod verify;
mod writer;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

pub use builder::GalleryBuilder;
pub use graph_only::search_graph_only;
pub use layout::SectionInfo;
pub(crate) use writer::remove_stale_temps;

use crate::codec::Rows;
use crate::error::{Error, Result};
use crate::hnsw::{self, GraphReport, graph::GraphView};
use crate::search::{self, Dead, Filter, Pending};
use crate::types::{ElementType, Hit, Metric, SearchParams};
use crate::view::View;
use crate::view::labels::LabelsView;
use layout::Layout;
use storage::Storage;

/// Options for [`Gallery::open_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Check every section checksum (and the key index) at open. Costs one pass over the
    /// file; off by default so that open stays O(1).
    pub verify_checksums: bool,
}

/// Descriptive facts about a gallery, as printed by `vecmatch info`.
#[derive(Debug, Clone)]
pub struct GalleryInfo {
    /// Format version `(major, minor)` of the file.
    pub version: (u16, u16),
    /// Distance metric.
    pub metric: Metric,
    /// Storage type of vector components.
    pub element_type: ElementType,
    /// Components per vector.
    pub dims: usize,
    /// Number of vectors.
    pub count: usize,
    /// Total size in bytes.
    pub file_bytes: u64,
    /// Creation time, seconds since the Unix epoch.
    pub created_unix_s: u64,
    /// The section table, in file order.
    pub sections: Vec<SectionInfo>,
    /// The META section's JSON text, if present and valid UTF-8.
    pub meta: Option<String>,
    /// `"mmap"` or `"memory"`.
    pub storage: &'static str,
}

/// An immutable, searchable set of vectors.
///
/// Opened from a file by memory map ([`Gallery::open`], zero-copy, O(1)) or built in memory
/// ([`GalleryBuilder::build_in_memory`]); both behave identically. `Gallery` is
/// `Send + Sync` and every search takes `&self`, so one gallery serves any number of
/// threads.
///
/// **The mmap contract**: a file must not be modified or truncated while a `Gallery` has it
/// open. vecmatch itself never edits a published file in place; it writes a new file and
/// renames it over the old one, which leaves existing mappings intact.
pub struct Gallery {
    storage: Storage,
    layout: Layout,
    path: Option<PathBuf>,
}

impl Gallery {
    /// Opens a gallery file by memory map, validating header, section table, bounds, sizes
    /// and alignment (and, with a graph, the `GRAPH` header and level table). Reads
    /// nothing proportional to the number of vectors: O(1).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened or mapped; [`Error::BadMagic`],
    /// [`Error::UnsupportedVersion`], [`Error::Truncated`], [`Error::ChecksumMismatch`]
    /// (header or section table) or [`Error::Corrupt`] if it is not a valid gallery;
    /// [`Error::UnsupportedBackend`] if `VECMATCH_BACKEND` is set to a backend this CPU
    /// cannot run (see [`crate::metric::check_backend`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Gallery> {
        Self::open_with(path, OpenOptions::default())
    }

    /// [`Gallery::open`] with options (e.g. verifying every checksum).
    ///
    /// # Errors
    /// As [`Gallery::open`], plus those of [`Gallery::verify`] when `verify_checksums`.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Gallery> {
        crate::metric::check_backend()?; // before the file, so the error does not depend on it
        let path = path.as_ref();
        let storage = Storage::map(path)?;
        let mut g = Self::from_storage(storage)?;
        g.path = Some(path.to_path_buf());
        if options.verify_checksums {
            g.verify()?;
        }
        Ok(g)
    }

    /// A gallery held in memory, from the bytes of a gallery file (copied into an aligned
    /// buffer). Validated like [`Gallery::open`].
    ///
    /// # Errors
    /// As [`Gallery::open`], without I/O errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Gallery> {
        Self::from_storage(Storage::from_bytes(bytes))
    }

    /// A gallery of `len` bytes written in place by `fill` (the in-memory build path).
    pub(crate) fn from_fill(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<()>,
    ) -> Result<Gallery> {
        Self::from_storage(Storage::filled(len, fill)?)
    }

    fn from_storage(storage: Storage) -> Result<Gallery> {
        crate::metric::check_backend()?; // a bad VECMATCH_BACKEND fails here, not later
        let layout = layout::parse(storage.bytes())?;
        let g = Gallery {
            storage,
            layout,
            path: None,
        };
        g.view()?; // alignment of the typed sections
        g.graph()?; // the GRAPH header, level table and sub-ranges: O(levels)
        Ok(g)
    }

    pub(crate) fn view(&self) -> Result<View<'_>> {
        let b = self.storage.bytes();
        let l = &self.layout;
        let cast = |r: &std::ops::Range<usize>, name: &str| {
            b.get(r.clone())
                .ok_or_else(|| Error::corrupt(format!("section {name} out of bounds")))
        };
        let misaligned = |name: &str| Error::corrupt(format!("section {name} is misaligned"));
        let vectors = cast(&l.vectors, "VECTORS")?;
        let quant = match &l.quant {
            Some(r) => Some(cast(r, "QUANT")?),
            None => None,
        };
        let rows = Rows::view(l.element_type, l.dims, vectors, quant)?;
        let labels = match &l.labels {
            Some(r) => Some(LabelsView::parse(cast(r, "LABELS")?, l.count)?),
            None => None,
        };
        let exact = match &l.rescore {
            Some(r) => Some(
                bytemuck::try_cast_slice(cast(r, "RESCORE")?).map_err(|_| misaligned("RESCORE"))?,
            ),
            None => None,
        };
        Ok(View {
            metric: l.metric,
            dims: l.dims,
            rows,
            exact,
            keys: bytemuck::try_cast_slice(cast(&l.keys, "KEYS")?)
                .map_err(|_| misaligned("KEYS"))?,
            key_index: bytemuck::try_cast_slice(cast(&l.key_index, "KEY_INDEX")?)
                .map_err(|_| misaligned("KEY_INDEX"))?,
            labels,
        })
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.layout.count
    }

    /// Whether the gallery holds no vectors.
    pub fn is_empty(&self) -> bool {
        self.layout.count == 0
    }

    /// Components per vector.
    pub fn dims(&self) -> usize {
        self.layout.dims
    }

    /// The distance metric.
    pub fn metric(&self) -> Metric {
        self.layout.metric
    }

    /// Storage type of vector components.
    pub fn element_type(&self) -> ElementType {
        self.layout.element_type
    }

    /// Whether the file keeps `f32` rows beside compact ones (a `RESCORE` section) for
    /// exact re-ranking ([`GalleryBuilder::keep_f32_rows`]).
    pub fn has_f32_rows(&self) -> bool {
        self.layout.rescore.is_some()
    }

    /// Whether the file carries a `GRAPH` section (an HNSW index for approximate search).
    pub fn has_graph(&self) -> bool {
        self.layout.graph.is_some()
    }

    /// The validated graph view, if the gallery has one. O(levels), no allocation.
    pub(crate) fn graph(&self) -> Result<Option<GraphView<'_>>> {
        let Some(r) = &self.layout.graph else {
            return Ok(None);
        };
        let bytes = self
            .storage
            .bytes()
            .get(r.clone())
            .ok_or_else(|| Error::corrupt("GRAPH out of bounds"))?;
        GraphView::parse(bytes, self.layout.count).map(Some)
    }

    /// Checks every structural invariant of the HNSW graph (degrees, ids in range, entry
    /// point, levels) and counts the nodes not reachable from the entry point
    /// ([`GraphReport::unreachable`]; [`Gallery::verify`] fails if there are any). `None`
    /// without a graph. Cost: O(nodes + edges).
    ///
    /// # Errors
    /// [`Error::Corrupt`] naming the first violated invariant.
    pub fn graph_report(&self) -> Result<Option<GraphReport>> {
        match self.graph()? {
            Some(g) => hnsw::check(&g).map(Some),
            None => Ok(None),
        }
    }

    /// The file this gallery was opened from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Descriptive facts (version, sizes, section table, META). Cost: O(sections).
    pub fn info(&self) -> GalleryInfo {
        let l = &self.layout;
        let meta = l
            .meta
            .as_ref()
            .and_then(|r| self.storage.bytes().get(r.clone()))
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::to_owned);
        GalleryInfo {
            version: (l.header.version_major, l.header.version_minor),
            metric: l.metric,
            element_type: l.element_type,
            dims: l.dims,
            count: l.count,
            file_bytes: l.header.file_len,
            created_unix_s: l.header.created_unix_s,
            sections: l.sections.clone(),
            meta,
            storage: self.storage.kind(),
        }
    }

    /// Writes this gallery's bytes to `path` atomically (temporary file, fsync, rename,
    /// directory fsync). Useful to persist a gallery built in memory. Returns the size.
    ///
    /// Links, the writer lock and permissions as [`GalleryBuilder::write`].
    ///
    /// # Errors
    /// As [`GalleryBuilder::write`].
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<u64> {
        let bytes = self.storage.bytes();
        writer::write_path(path.as_ref(), |w| {
            std::io::Write::write_all(w, bytes)?;
            Ok(bytes.len() as u64)
        })
    }

    /// Checks every section checksum, the key index (sorted, unique, consistent with
    /// `KEYS`), that every stored value is finite, the `LABELS` section (offsets, sorted
    /// lists, counts and postings consistent) and, with a graph, every graph invariant
    /// of [`Gallery::graph_report`] (including that every node is reachable from the entry
    /// point). Cost: one pass over the file plus O(edges).
    ///
    /// # Errors
    /// [`Error::ChecksumMismatch`] naming the damaged section, [`Error::NonFinite`] for a
    /// stored NaN or infinity, [`Error::OutOfRange`] for a stored value beyond
    /// [`crate::metric::value_limit`], or [`Error::Corrupt`] (e.g. unreachable graph nodes).
    pub fn verify(&self) -> Result<()> {
        self.check_checksums(|_| true)?;
        self.check_key_index()?;
        self.check_values()?;
        if let Some(l) = &self.view()?.labels {
            l.verify()?;
        }
        if let Some(g) = self.graph()? {
            hnsw::check_strict(&g)?;
        }
        Ok(())
    }

    /// Whether the file carries a `LABELS` section (some row has a label).
    pub fn has_labels(&self) -> bool {
        self.layout.labels.is_some()
    }

    /// The labels of `key`, sorted and unique: `None` if the key is not stored, empty if
    /// it carries none. O(log n), borrowed from the file.
    pub fn labels(&self, key: u64) -> Option<&[u32]> {
        let v = self.view().ok()?;
        let row = v.row_of(key)?;
        Some(v.labels.map_or(&[][..], |l| l.row(row)))
    }

    /// Number of rows carrying `label` (from the per-label counts: O(log labels), no
    /// scan).
    pub fn label_count(&self, label: u32) -> usize {
        self.view()
            .ok()
            .and_then(|v| v.labels)
            .map_or(0, |l| l.count(label))
    }

    /// The keys, by row. Cost: O(1).
    pub fn keys(&self) -> &[u64] {
        self.view().map(|v| v.keys).unwrap_or(&[])
    }

    /// The stored vector of `key` (normalised if the metric is cosine), by binary search
    /// over the key index: O(log n), nothing built at open. Borrowed from the file for
    /// `f32` galleries and compact galleries with `f32` rows; otherwise the compact row
    /// decoded (so within the element type's rounding of what was added).
    pub fn get(&self, key: u64) -> Option<Cow<'_, [f32]>> {
        let v = self.view().ok()?;
        v.row_of(key).map(|r| v.vector(r))
    }

    /// Whether `key` is stored. O(log n).
    pub fn contains(&self, key: u64) -> bool {
        self.view().ok().and_then(|v| v.row_of(key)).is_some()
    }

    /// The `params.k` nearest stored vectors to `query`, best first (ties by key).
    ///
    /// With an HNSW graph (and `params.exact == false`) the search is approximate: a beam of
    /// width `params.ef` over the graph, O(ef · log n) distance computations; a filter that
    /// admits under 35% of the rows switches to an exact scan of those rows. Without a graph
    /// (or with `exact`) every admitted row is read once, split across threads
    /// (`params.threads`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::OutOfRange`] (L2, dot:
    /// see [`crate::metric::value_limit`]), [`Error::ZeroVector`] (cosine)
    /// for a bad query; [`Error::InvalidArgument`] for bad parameters.
    pub fn search(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Hit>> {
        self.search_excluding(query, None, params, None, None)
    }

    /// [`Gallery::search`] over the rows `filter` admits (AND `params.filter`): labels,
    /// key lists, a key predicate (see [`Filter`] for how the search is planned). Never
    /// fewer hits than `k` when the filter admits at least `k` rows (without
    /// `max_distance`).
    ///
    /// # Errors
    /// As [`Gallery::search`].
    pub fn search_filtered(
        &self,
        query: &[f32],
        filter: &Filter<'_>,
        params: &SearchParams<'_>,
    ) -> Result<Vec<Hit>> {
        self.search_excluding(query, Some(filter), params, None, None)
    }

    /// [`Gallery::search`] with an optional filter and a set of excluded rows (a
    /// collection's deleted and replaced rows), merged with `pending` rows (a
    /// collection's) if given. Deleted rows are traversed by the graph search but never
    /// returned.
    pub(crate) fn search_excluding(
        &self,
        query: &[f32],
        filter: Option<&Filter<'_>>,
        params: &SearchParams<'_>,
        dead: Dead<'_>,
        pending: Option<&dyn Pending>,
    ) -> Result<Vec<Hit>> {
        let view = self.view()?;
        let graph = self.graph()?;
        search::one(&view, graph.as_ref(), query, filter, params, dead, pending)
    }

    /// [`Gallery::search_batch`] with filters and excluded rows, as
    /// [`Gallery::search_excluding`].
    pub(crate) fn search_batch_excluding(
        &self,
        queries: &[f32],
        filters: &[Filter<'_>],
        params: &SearchParams<'_>,
        dead: Dead<'_>,
        pending: Option<&dyn Pending>,
    ) -> Result<Vec<Vec<Hit>>> {
        let view = self.view()?;
        let graph = self.graph()?;
        search::many(
            &view,
            graph.as_ref(),
            queries,
            filters,
            params,
            dead,
            pending,
        )
    }

    /// Searches many queries at once (`queries` row-major, `dims` per query). Returns one
    /// result list per query, in order. Exact batches are tiled so each block of gallery
    /// rows is read from memory once for many queries.
    ///
    /// # Errors
    /// As [`Gallery::search`]; [`Error::DimensionMismatch`] if `queries.len()` is not a
    /// multiple of `dims`. Nothing is returned if any query is invalid.
    pub fn search_batch(
        &self,
        queries: &[f32],
        params: &SearchParams<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        self.search_batch_excluding(queries, &[], params, None, None)
    }

    /// [`Gallery::search_batch`] with filters: `filters` holds one filter for every query
    /// or one per query (query `i` uses `filters[i]`; each is planned on its own).
    ///
    /// # Errors
    /// As [`Gallery::search_batch`]; [`Error::InvalidArgument`] unless `filters` holds 1
    /// or one per query.
    pub fn search_batch_filtered(
        &self,
        queries: &[f32],
        filters: &[Filter<'_>],
        params: &SearchParams<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        if filters.is_empty() {
            return Err(Error::InvalidArgument(
                "no filter given (give 1 for all queries, or one per query)".into(),
            ));
        }
        self.search_batch_excluding(queries, filters, params, None, None)
    }
}

impl std::fmt::Debug for Gallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gallery")
            .field("count", &self.layout.count)
            .field("dims", &self.layout.dims)
            .field("metric", &self.layout.metric)
            .field("element_type", &self.layout.element_type)
            .field("storage", &self.storage.kind())
            .field("path", &self.path)
            .finish()
    }
}
