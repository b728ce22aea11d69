//! Collecting vectors and keys, validating them, and writing a gallery file.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::hnsw::graph::GraphView;
use crate::hnsw::{self, GraphReport, HnswParams, Progress};

use super::buffer::RowBuffer;
use crate::ingest::{self, Ingest};
use crate::metric::{value_limit, within};
use crate::types::{ElementType, Metric};

use super::Gallery;
use crate::codec::Encoded;
use crate::view::labels::LabelSets;

mod build_info {
    include!(concat!(env!("OUT_DIR"), "/build_info.rs"));
}
use super::target::FileId;
use super::writer::{self, Parts};
use crate::view::format::{KeyIndexEntry, SectionKind};

/// Builds a gallery: takes vectors with keys, validates them, and writes a file atomically
/// ([`GalleryBuilder::write`]) or builds an in-memory gallery
/// ([`GalleryBuilder::build_in_memory`]).
///
/// Validation happens at `add`: the vector must have `dims` finite components, and for
/// [`Metric::Cosine`] a non-zero norm (it is then normalised once, here); keys must be
/// unique. A rejected vector leaves the builder unchanged.
///
/// ```
/// use vecmatch::{GalleryBuilder, Metric, SearchParams};
/// let mut b = GalleryBuilder::new(3, Metric::Cosine)?;
/// b.add(7, &[1.0, 0.0, 0.0])?;
/// b.add(9, &[0.0, 1.0, 0.0])?;
/// let g = b.build_in_memory()?;
/// let hits = g.search(&[0.9, 0.1, 0.0], &SearchParams::k(1))?;
/// assert_eq!(hits[0].key, 7);
/// # Ok::<(), vecmatch::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GalleryBuilder {
    dims: usize,
    metric: Metric,
    vectors: RowBuffer,
    keys: Vec<u64>,
    /// Labels per row (written as a `LABELS` section when any row has one).
    labels: LabelSets,
    seen: HashSet<u64>,
    user_meta: Option<String>,
    element_type: ElementType,
    rescore: bool,
    hnsw: Option<HnswParams>,
    /// A GRAPH section over the first rows to extend instead of building from scratch.
    base_graph: Option<BaseGraph>,
    progress: Progress,
    /// The identity a collection's commit gives the file (META `commit`), named by its
    /// write-ahead log.
    commit_id: Option<u64>,
}

/// The GRAPH section of an earlier file, 8-byte aligned, and its row count.
#[derive(Debug, Clone)]
struct BaseGraph {
    words: Vec<u64>,
    len: usize,
    rows: usize,
}

impl GalleryBuilder {
    /// A builder for `dims`-dimensional vectors under `metric`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `dims` is 0 or above `u32::MAX`;
    /// [`Error::UnsupportedBackend`] if `VECMATCH_BACKEND` is set to a backend this CPU
    /// cannot run (see [`crate::metric::check_backend`]).
    pub fn new(dims: usize, metric: Metric) -> Result<Self> {
        crate::metric::check_backend()?;
        if dims == 0 || u32::try_from(dims).is_err() {
            return Err(Error::InvalidArgument(format!(
                "dims must be in 1..=2^32-1, got {dims}"
            )));
        }
        Ok(GalleryBuilder {
            dims,
            metric,
            vectors: RowBuffer::new(),
            keys: Vec::new(),
            labels: LabelSets::default(),
            seen: HashSet::new(),
            user_meta: None,
            element_type: ElementType::F32,
            rescore: false,
            hnsw: None,
            base_graph: None,
            progress: Progress::default(),
            commit_id: None,
        })
    }

    /// A builder over rows that are already valid and normalised (a collection's merged
    /// rows, with unique keys): nothing is checked or normalised again, so the stored
    /// values are written bit for bit.
    pub(crate) fn from_prepared(
        dims: usize,
        metric: Metric,
        vectors: RowBuffer,
        keys: Vec<u64>,
    ) -> Result<Self> {
        let mut b = Self::new(dims, metric)?;
        if vectors.len() != keys.len().saturating_mul(dims) || u32::try_from(keys.len()).is_err() {
            return Err(Error::InvalidArgument(format!(
                "{} values for {} keys of {dims} dims",
                vectors.len(),
                keys.len()
            )));
        }
        b.labels.push_empty(keys.len());
        b.vectors = vectors;
        b.keys = keys;
        Ok(b)
    }

    /// Replaces the labels of every row (a collection's merged rows); `labels` must hold
    /// one set per row.
    pub(crate) fn set_label_sets(&mut self, labels: LabelSets) -> Result<()> {
        if labels.rows() != self.keys.len() {
            return Err(Error::InvalidArgument(format!(
                "{} label sets for {} rows",
                labels.rows(),
                self.keys.len()
            )));
        }
        self.labels = labels;
        Ok(())
    }

    /// Reserves room for `additional` more vectors.
    pub fn reserve(&mut self, additional: usize) {
        self.vectors.reserve(additional.saturating_mul(self.dims));
        self.keys.reserve(additional);
        self.seen.reserve(additional);
    }

    /// Number of vectors added so far.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether nothing has been added.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Components per vector.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// A free-form user string stored in the META section.
    pub fn user_meta(&mut self, text: impl Into<String>) -> &mut Self {
        self.user_meta = Some(text.into());
        self
    }

    /// Stores the vectors as `element_type` (default [`ElementType::F32`]): `f16` halves
    /// the `VECTORS` section and `i8` quarters it (plus 4 bytes of scale per row), and
    /// exact scans and graph walks read that many fewer bytes. The graph, if any, is built
    /// from the `f32` vectors.
    pub fn element_type(&mut self, element_type: ElementType) -> &mut Self {
        self.element_type = element_type;
        self
    }

    /// With a compact element type, also keeps the `f32` rows in a `RESCORE` section, so
    /// searches re-rank their best candidates exactly (see
    /// [`crate::SearchParams::rerank_factor`]). The file grows by the `f32` rows; searches
    /// read them only for the candidates. Ignored for `f32`.
    pub fn keep_f32_rows(&mut self, keep_f32_rows: bool) -> &mut Self {
        self.rescore = keep_f32_rows;
        self
    }

    /// Also builds an HNSW graph (stored in the `GRAPH` section) when the gallery is
    /// written, so searches are approximate and fast unless `SearchParams::exact` is set.
    /// Building costs far more than writing a flat gallery: O(n · ef_construction · log n)
    /// distance computations, in parallel on the rayon pool.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for parameters outside their ranges (see
    /// [`HnswParams::validate`]).
    pub fn hnsw(&mut self, params: HnswParams) -> Result<&mut Self> {
        params.validate()?;
        self.hnsw = Some(params);
        Ok(self)
    }

    /// Builds the graph by inserting the rows after the first `n` into `base`, a GRAPH
    /// section over those `n` rows (which must be the same, in the same order), instead
    /// of from scratch: the collection's commit when rows were only added. Takes effect
    /// with [`GalleryBuilder::hnsw`]; the graph keeps `base`'s M.
    pub(crate) fn extend_graph(&mut self, base: &[u8], n: usize) -> &mut Self {
        // Copied into u64 words: the section's level table holds u64 fields.
        let mut words = vec![0u64; base.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..base.len()].copy_from_slice(base);
        self.base_graph = Some(BaseGraph {
            words,
            len: base.len(),
            rows: n,
        });
        self
    }

    /// A callback told `(rows inserted, total)` while the graph is built.
    pub fn progress(&mut self, progress: Progress) -> &mut Self {
        self.progress = progress;
        self
    }

    /// Adds one vector under `key`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::OutOfRange`] (L2, dot:
    /// see [`crate::metric::value_limit`]), [`Error::ZeroVector`] (cosine),
    /// [`Error::DuplicateKey`], [`Error::InvalidArgument`] past `u32::MAX` vectors.
    pub fn add(&mut self, key: u64, vector: &[f32]) -> Result<()> {
        self.add_batch(&[key], vector)
    }

    /// Adds `keys.len()` vectors, row-major in `vectors`. All or nothing: if any row is
    /// invalid, nothing is added and the error names the first bad row.
    ///
    /// # Errors
    /// As [`GalleryBuilder::add`]; [`Error::DimensionMismatch`] if `vectors.len()` is not
    /// `keys.len() * dims`.
    pub fn add_batch(&mut self, keys: &[u64], vectors: &[f32]) -> Result<()> {
        self.add_rows(keys, vectors)?;
        self.labels.push_empty(keys.len());
        Ok(())
    }

    /// Adds one vector under `key` carrying `labels` (any `u32` values, in any order;
    /// duplicates are dropped). Labelled rows can be selected at search time with a
    /// [`crate::Filter`]; the file gains a `LABELS` section (format 1.2).
    ///
    /// # Errors
    /// As [`GalleryBuilder::add`].
    pub fn add_labeled(&mut self, key: u64, vector: &[f32], labels: &[u32]) -> Result<()> {
        self.add_rows(&[key], vector)?;
        self.labels.push(labels);
        Ok(())
    }

    /// [`GalleryBuilder::add_batch`] with one label set per row. All or nothing.
    ///
    /// # Errors
    /// As [`GalleryBuilder::add_batch`]; [`Error::InvalidArgument`] unless `labels` holds
    /// `keys.len()` sets.
    pub fn add_batch_labeled<L: AsRef<[u32]>>(
        &mut self,
        keys: &[u64],
        vectors: &[f32],
        labels: &[L],
    ) -> Result<()> {
        ingest::check_label_sets(labels.len(), keys.len())?;
        self.add_rows(keys, vectors)?;
        for l in labels {
            self.labels.push(l.as_ref());
        }
        Ok(())
    }

    fn add_rows(&mut self, keys: &[u64], vectors: &[f32]) -> Result<()> {
        let ingest = Ingest {
            dims: self.dims,
            metric: self.metric,
            element_type: self.element_type,
        };
        ingest.check_len(keys.len(), vectors)?;
        ingest::check_room(self.keys.len(), keys.len(), "gallery")?;
        let base = self.keys.len();
        let mut fresh = HashSet::with_capacity(keys.len());
        for &k in keys {
            if self.seen.contains(&k) || !fresh.insert(k) {
                return Err(Error::DuplicateKey(k));
            }
        }
        let start = self.vectors.len();
        self.vectors.extend_from_slice(vectors);
        if let Err(e) = ingest.prepare(&mut self.vectors[start..], base) {
            self.vectors.truncate(start);
            return Err(e);
        }
        self.keys.extend_from_slice(keys);
        self.seen.extend(fresh);
        Ok(())
    }

    fn key_index(&self) -> Vec<KeyIndexEntry> {
        let mut idx: Vec<KeyIndexEntry> = self
            .keys
            .iter()
            .enumerate()
            .map(|(row, &key)| KeyIndexEntry {
                key,
                row: row as u64,
            })
            .collect();
        idx.sort_unstable_by_key(|e| e.key);
        idx
    }

    /// Records `id` as the file's identity (META `commit`): set by a collection's commit.
    pub(crate) fn commit_id(&mut self, id: u64) -> &mut Self {
        self.commit_id = Some(id);
        self
    }

    fn meta_json(&self, graph: Option<(&GraphReport, &str)>) -> String {
        let mut m = serde_json::json!({
            "builder": format!("vecmatch {}", env!("CARGO_PKG_VERSION")),
            "metric": self.metric.name(),
            "element_type": self.element_type.name(),
            "target": build_info::BUILD_TARGET,
        });
        if let Some(u) = &self.user_meta {
            m["user"] = serde_json::Value::String(u.clone());
        }
        if let Some(id) = self.commit_id {
            m["commit"] = serde_json::Value::from(id);
        }
        if let (Some(p), Some((report, builder))) = (&self.hnsw, graph) {
            m["hnsw"] = serde_json::json!({
                "builder": builder, "m": p.m, "ef_construction": p.ef_construction, "seed": p.seed,
                "max_level": report.max_level, "edges0": report.edges0, "repaired_nodes": report.repaired,
            });
            // The distances the graph was built with: f32 or i8 (hnsw_rs: always f32 rows).
            let construction = match builder {
                "native" => p.construction.resolve(self.metric, self.dims),
                _ => crate::hnsw::HnswConstruction::F32,
            };
            m["hnsw"]["construction"] = construction.name().into();
        }
        m.to_string()
    }

    /// With `f16` storage chosen after the rows were added: every value must fit `f16`
    /// (a larger one would be stored as an infinity).
    fn check_storage_range(&self) -> Result<()> {
        if self.element_type != ElementType::F16 {
            return Ok(());
        }
        let limit = value_limit(self.metric, self.element_type, self.dims);
        match self.vectors.iter().position(|x| !within(*x, limit)) {
            None => Ok(()),
            Some(i) => Err(Error::OutOfRange {
                what: format!("vector row {} (f16 storage)", i / self.dims),
                index: i % self.dims,
                value: self.vectors[i],
                limit,
            }),
        }
    }

    fn with_parts<T>(&self, f: impl FnOnce(&Parts<'_>) -> Result<T>) -> Result<T> {
        self.check_storage_range()?;
        let key_index = self.key_index();
        let graph = match (&self.hnsw, &self.base_graph) {
            (Some(p), Some(base)) => {
                let bytes = &bytemuck::cast_slice::<u64, u8>(&base.words)[..base.len];
                let view = GraphView::parse(bytes, base.rows)?;
                Some(hnsw::extend_section(
                    &view,
                    &self.vectors,
                    self.dims,
                    self.metric,
                    p,
                    &self.progress,
                )?)
            }
            (Some(p), None) => Some(hnsw::build_section(
                &self.vectors,
                self.dims,
                self.metric,
                p,
                &self.progress,
            )?),
            (None, _) => None,
        };
        let meta = self.meta_json(graph.as_ref().map(|(_, r, b)| (r, *b)));
        let labels = (!self.labels.is_empty()).then(|| self.labels.encode());
        let mut extra = vec![(SectionKind::Meta, meta.as_bytes())];
        if let Some(l) = &labels {
            extra.push((SectionKind::Labels, l.as_slice()));
        }
        if let Some((bytes, _, _)) = &graph {
            extra.push((SectionKind::Graph, bytes.as_slice()));
        }
        let encoded = Encoded::new(self.element_type, &self.vectors, self.dims);
        let f32_bytes: &[u8] = bytemuck::cast_slice(&self.vectors);
        let vectors = match &encoded {
            Some(e) => {
                if let Some(q) = e.quant() {
                    extra.push((SectionKind::Quant, q));
                }
                if self.rescore {
                    extra.push((SectionKind::Rescore, f32_bytes));
                }
                e.vectors()
            }
            None => f32_bytes,
        };
        let parts = Parts {
            metric: self.metric,
            element_type: self.element_type,
            dims: self.dims,
            count: self.keys.len(),
            vectors,
            keys: &self.keys,
            key_index: &key_index,
            extra,
        };
        f(&parts)
    }

    /// Writes the gallery file atomically (building the HNSW graph first if asked for) (temporary file, fsync, rename, directory
    /// fsync): readers see the old file or the new one, never a partial one. Returns the
    /// file size in bytes.
    ///
    /// A symbolic link at `path` is followed: its target is replaced and the link stays.
    /// Over an existing file this takes the writer lock for the write (see
    /// [`crate::Collection`]) and keeps the file's mode, owner and group.
    ///
    /// # Errors
    /// [`Error::Io`] on any file-system failure (the temporary file is removed);
    /// [`Error::Locked`] if a writer holds the existing file; [`Error::Permission`] if
    /// it is write-protected or its owner cannot be kept; [`Error::Changed`] if it was
    /// replaced by another process meanwhile;
    /// [`Error::OutOfRange`] (nothing written) if the element type is `f16`, chosen after
    /// rows were added, and a value of an L2 or dot row exceeds 65,504.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<u64> {
        self.with_parts(|p| writer::write_atomic(p, path.as_ref()))
    }

    /// Writes the file as [`GalleryBuilder::write`] for a writer that already holds the
    /// lock: `real` is the resolved path, `user` the name errors use, `expect` the identity
    /// the file must still have. Returns the size and the new file's identity.
    pub(crate) fn write_locked(
        &self,
        user: &Path,
        real: &Path,
        expect: Option<FileId>,
    ) -> Result<(u64, Option<FileId>)> {
        self.with_parts(|p| writer::publish(user, real, expect, |w| writer::encode(p, w)))
    }

    /// Builds the gallery in memory, with the same bytes a file would hold.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] as for [`GalleryBuilder::write`]; otherwise only on internal
    /// inconsistencies (reported as [`Error::Corrupt`]).
    pub fn build_in_memory(&self) -> Result<Gallery> {
        self.with_parts(|p| {
            let len = writer::encoded_len(p)
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| Error::InvalidArgument("gallery too large for memory".into()))?;
            Gallery::from_fill(len, |buf| writer::encode_into(p, buf))
        })
    }
}
