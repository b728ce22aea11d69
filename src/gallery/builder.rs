//! Collecting vectors and keys, validating them, and writing a gallery file.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::hnsw::{self, GraphReport, HnswParams, Progress};
use crate::metric::{check_finite, normalize_in_place};
use crate::types::{ElementType, Metric};

use super::Gallery;

mod build_info {
    include!(concat!(env!("OUT_DIR"), "/build_info.rs"));
}
use super::format::{KeyIndexEntry, SectionKind};
use super::writer::{self, Parts};

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
    vectors: Vec<f32>,
    keys: Vec<u64>,
    seen: HashSet<u64>,
    user_meta: Option<String>,
    hnsw: Option<HnswParams>,
    progress: Progress,
}

impl GalleryBuilder {
    /// A builder for `dims`-dimensional vectors under `metric`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `dims` is 0 or above `u32::MAX`.
    pub fn new(dims: usize, metric: Metric) -> Result<Self> {
        if dims == 0 || u32::try_from(dims).is_err() {
            return Err(Error::InvalidArgument(format!(
                "dims must be in 1..=2^32-1, got {dims}"
            )));
        }
        Ok(GalleryBuilder {
            dims,
            metric,
            vectors: Vec::new(),
            keys: Vec::new(),
            seen: HashSet::new(),
            user_meta: None,
            hnsw: None,
            progress: Progress::default(),
        })
    }

    /// A builder over rows that are already valid and normalised (a collection's merged
    /// rows, with unique keys): nothing is checked or normalised again, so the stored
    /// values are written bit for bit.
    pub(crate) fn from_prepared(
        dims: usize,
        metric: Metric,
        vectors: Vec<f32>,
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
        b.vectors = vectors;
        b.keys = keys;
        Ok(b)
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

    /// A callback told `(rows inserted, total)` while the graph is built.
    pub fn progress(&mut self, progress: Progress) -> &mut Self {
        self.progress = progress;
        self
    }

    /// Adds one vector under `key`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::ZeroVector`] (cosine),
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
        let d = self.dims;
        if vectors.len() != keys.len().saturating_mul(d) {
            return Err(Error::DimensionMismatch {
                expected: keys.len().saturating_mul(d),
                found: vectors.len(),
            });
        }
        if self.keys.len() + keys.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument(
                "a gallery holds at most 2^32-1 vectors".into(),
            ));
        }
        let base = self.keys.len();
        let mut fresh = HashSet::with_capacity(keys.len());
        for &k in keys {
            if self.seen.contains(&k) || !fresh.insert(k) {
                return Err(Error::DuplicateKey(k));
            }
        }
        let start = self.vectors.len();
        self.vectors.extend_from_slice(vectors);
        let checked = self.vectors[start..]
            .chunks_exact_mut(d)
            .enumerate()
            .try_for_each(|(i, row)| {
                let what = || format!("vector row {}", base + i);
                check_finite(row, what)?;
                if self.metric == Metric::Cosine {
                    normalize_in_place(row, what)?;
                }
                Ok(())
            });
        if let Err(e) = checked {
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

    fn meta_json(&self, graph: Option<(&GraphReport, &str)>) -> String {
        let mut m = serde_json::json!({
            "builder": format!("vecmatch {}", env!("CARGO_PKG_VERSION")),
            "metric": self.metric.name(),
            "target": build_info::BUILD_TARGET,
        });
        if let Some(u) = &self.user_meta {
            m["user"] = serde_json::Value::String(u.clone());
        }
        if let (Some(p), Some((report, builder))) = (&self.hnsw, graph) {
            m["hnsw"] = serde_json::json!({
                "builder": builder, "m": p.m, "ef_construction": p.ef_construction, "seed": p.seed,
                "max_level": report.max_level, "edges0": report.edges0, "repaired_nodes": report.repaired,
            });
        }
        m.to_string()
    }

    fn with_parts<T>(&self, f: impl FnOnce(&Parts<'_>) -> Result<T>) -> Result<T> {
        let key_index = self.key_index();
        let graph = match &self.hnsw {
            Some(p) => Some(hnsw::build_section(
                &self.vectors,
                self.dims,
                self.metric,
                p,
                &self.progress,
            )?),
            None => None,
        };
        let meta = self.meta_json(graph.as_ref().map(|(_, r, b)| (r, *b)));
        let mut extra = vec![(SectionKind::Meta, meta.as_bytes())];
        if let Some((bytes, _, _)) = &graph {
            extra.push((SectionKind::Graph, bytes.as_slice()));
        }
        let parts = Parts {
            metric: self.metric,
            element_type: ElementType::F32,
            dims: self.dims,
            count: self.keys.len(),
            vectors: &self.vectors,
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
    /// # Errors
    /// [`Error::Io`] on any file-system failure (the temporary file is removed).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<u64> {
        self.with_parts(|p| writer::write_atomic(p, path.as_ref()))
    }

    /// Builds the gallery in memory, with the same bytes a file would hold.
    ///
    /// # Errors
    /// Only on internal inconsistencies (reported as [`Error::Corrupt`]).
    pub fn build_in_memory(&self) -> Result<Gallery> {
        let bytes = self.with_parts(writer::encode_to_vec)?;
        Gallery::from_bytes(&bytes)
    }
}
