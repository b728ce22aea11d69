//! `vecmatch.Gallery`: an immutable, memory-mapped gallery file.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::errors::IntoPy;
use crate::search::{self, Args};

/// An immutable set of vectors with unique ``uint64`` keys, opened from a gallery file by
/// memory map (O(1): nothing proportional to the number of vectors is read).
///
/// Thread-safe: any number of Python threads may search one gallery at once; searches
/// release the GIL. Pickling a gallery pickles its path (it is reopened on load), so it
/// travels to worker processes; a gallery made by ``from_bytes`` cannot be pickled.
///
/// The file must not be modified or truncated while it is open (vecmatch never edits a
/// published file in place).
#[pyclass(module = "vecmatch", frozen)]
pub(crate) struct Gallery {
    pub(crate) inner: Arc<vecmatch::Gallery>,
}

/// Shared by `Gallery.info()` and `Shards`: the facts of one gallery as a dict.
pub(crate) fn info_dict<'py>(
    py: Python<'py>,
    g: &vecmatch::Gallery,
) -> PyResult<Bound<'py, PyDict>> {
    let i = g.info();
    let d = PyDict::new(py);
    d.set_item("version", format!("{}.{}", i.version.0, i.version.1))?;
    d.set_item("metric", i.metric.name())?;
    d.set_item("dtype", i.element_type.name())?;
    d.set_item("dims", i.dims)?;
    d.set_item("count", i.count)?;
    d.set_item("file_bytes", i.file_bytes)?;
    d.set_item("created_unix_s", i.created_unix_s)?;
    d.set_item("storage", i.storage)?;
    d.set_item("has_graph", g.has_graph())?;
    d.set_item("has_f32_rows", g.has_f32_rows())?;
    d.set_item("path", g.path().map(|p| p.display().to_string()))?;
    let sections = i
        .sections
        .iter()
        .map(|s| {
            let e = PyDict::new(py);
            e.set_item("name", s.name)?;
            e.set_item("offset", s.offset)?;
            e.set_item("length", s.length)?;
            e.set_item("crc32c", s.crc32c)?;
            Ok(e)
        })
        .collect::<PyResult<Vec<_>>>()?;
    d.set_item("sections", sections)?;
    d.set_item("meta", i.meta)?;
    Ok(d)
}

#[pymethods]
impl Gallery {
    /// Opens the gallery file at ``path`` by memory map, validating its header and section
    /// table. ``verify=True`` also checks every checksum (one pass over the file).
    ///
    /// Raises ``OSError`` (e.g. ``FileNotFoundError``) if the file cannot be opened,
    /// ``CorruptFileError`` (or ``ChecksumMismatchError``) if it is not a valid gallery,
    /// ``UnsupportedVersionError`` for a newer format.
    #[staticmethod]
    #[pyo3(signature = (path, verify=false))]
    fn open(py: Python<'_>, path: PathBuf, verify: bool) -> PyResult<Gallery> {
        let options = vecmatch::OpenOptions {
            verify_checksums: verify,
        };
        // Absolute, so that a pickled gallery reopens the same file from any directory.
        let path = std::path::absolute(&path).unwrap_or(path);
        let g = py
            .detach(|| vecmatch::Gallery::open_with(&path, options))
            .py_err(py)?;
        Ok(Gallery { inner: Arc::new(g) })
    }

    /// A gallery held in memory, from the bytes of a gallery file (copied and validated as
    /// by ``open``).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Gallery> {
        let g = py
            .detach(|| vecmatch::Gallery::from_bytes(data))
            .py_err(py)?;
        Ok(Gallery { inner: Arc::new(g) })
    }

    /// Number of vectors.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Whether ``key`` is stored. O(log n).
    fn __contains__(&self, key: u64) -> bool {
        self.inner.contains(key)
    }

    /// Components per vector.
    #[getter]
    fn dims(&self) -> usize {
        self.inner.dims()
    }

    /// The distance metric: ``"cosine"``, ``"dot"`` or ``"l2"``.
    #[getter]
    fn metric(&self) -> &'static str {
        self.inner.metric().name()
    }

    /// How vectors are stored: ``"f32"``, ``"f16"``, ``"i8"`` or ``"i4"``.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.inner.element_type().name()
    }

    /// Whether the file has an HNSW graph (searches are then approximate unless
    /// ``exact=True``).
    #[getter]
    fn has_graph(&self) -> bool {
        self.inner.has_graph()
    }

    /// The file this gallery was opened from, made absolute (``None`` for ``from_bytes``).
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.inner.path().map(PathBuf::from)
    }

    /// The stored vector of ``key`` as a ``float32`` array (normalised for the cosine
    /// metric), or ``None`` if the key is absent.
    fn get<'py>(&self, py: Python<'py>, key: u64) -> Option<Bound<'py, PyArray1<f32>>> {
        self.inner.get(key).map(|v| v.into_owned().into_pyarray(py))
    }

    /// All keys, by row, as a ``uint64`` array (a copy).
    fn keys<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        self.inner.keys().to_vec().into_pyarray(py)
    }

    /// Checks every checksum, the key index, every stored value and the graph. Returns
    /// ``None`` if intact; raises ``ChecksumMismatchError`` / ``CorruptFileError`` (or
    /// ``NonFiniteError`` for a non-finite stored value) naming the damage.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        let g = &self.inner;
        py.detach(|| g.verify()).py_err(py)
    }

    /// Facts about the file: version, metric, dtype, dims, count, sizes, sections, META.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        info_dict(py, &self.inner)
    }

    /// The ``k`` nearest stored vectors to each query.
    ///
    /// ``queries`` is one vector (1-D) or one per row (2-D). Returns ``(keys, distances,
    /// counts)``: for 2-D queries ``uint64 [n, k]``, ``float32 [n, k]`` and ``int64 [n]``
    /// (hits found per query); for a 1-D query ``uint64 [k]``, ``float32 [k]`` and an
    /// ``int``. Hits are best first (smallest distance, ties by key); missing hits are
    /// padded with key ``2**64 - 1`` and distance ``inf``, never an exception.
    ///
    /// ``ef``: HNSW beam width (ignored by exact search). ``exact``: scan every row even
    /// with a graph. ``max_distance``: only hits at most this far (with ``k=None``: every
    /// such hit). ``allow`` / ``deny``: keys that may / may not be returned (at most one).
    /// ``threads``: threads for this call (``None``: all cores). ``rerank_factor``: for compact
    /// dtypes with kept ``f32`` rows, re-rank the best ``k × rerank_factor`` exactly (``0``: off;
    /// ``None``: 4). The GIL is released while searching.
    #[pyo3(signature = (queries, k=Some(10), ef=64, exact=false, max_distance=None, allow=None, deny=None, threads=None, rerank_factor=None))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: Option<usize>,
        ef: usize,
        exact: bool,
        max_distance: Option<f32>,
        allow: Option<Bound<'py, PyAny>>,
        deny: Option<Bound<'py, PyAny>>,
        threads: Option<usize>,
        rerank_factor: Option<usize>,
    ) -> PyResult<Py<PyAny>> {
        let args = Args {
            k,
            ef,
            exact,
            max_distance,
            allow,
            deny,
            threads,
            rerank_factor,
        };
        search::run(py, self.inner.as_ref(), queries, args)
    }

    /// Pickles the path: the gallery is reopened (by memory map) on load.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let path = slf.get().inner.path().map(PathBuf::from).ok_or_else(|| {
            PyTypeError::new_err("a Gallery held in memory (from_bytes) cannot be pickled")
        })?;
        let open = slf.get_type().getattr("open")?;
        PyTuple::new(py, [open, PyTuple::new(py, [path])?.into_any()])
    }

    fn __repr__(&self) -> String {
        let path = self.inner.path().map_or_else(
            || "None".to_owned(),
            |p| format!("{:?}", p.display().to_string()),
        );
        format!(
            "Gallery(len={}, dims={}, metric={:?}, dtype={:?}, graph={}, path={path})",
            self.inner.len(),
            self.inner.dims(),
            self.inner.metric().name(),
            self.inner.element_type().name(),
            if self.inner.has_graph() {
                "True"
            } else {
                "False"
            },
        )
    }
}
