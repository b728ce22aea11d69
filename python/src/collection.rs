//! `vecmatch.Collection`: a mutable gallery (adds and deletes searchable at once, commits
//! that write a new file atomically).

use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;
use crate::errors::IntoPy;
use crate::search::{self, Args};

/// A mutable collection over one gallery file: ``add`` and ``delete`` are visible to
/// searches at once; ``commit`` writes a new file holding the live rows and swaps it in
/// atomically (also done automatically past ``auto_commit_rows`` added rows or
/// ``auto_commit_deleted_fraction`` deleted rows). Searches run concurrently with adds,
/// deletes and commits, from any number of threads, with the GIL released.
#[pyclass(module = "vecmatch", frozen)]
pub(crate) struct Collection {
    inner: vecmatch::Collection,
}

// Fields the library adds later keep their defaults.
#[allow(clippy::needless_update)]
fn options(
    auto_commit_rows: Option<usize>,
    auto_commit_deleted_fraction: Option<f64>,
    hnsw: Option<vecmatch::HnswParams>,
    verify: bool,
) -> vecmatch::CollectionOptions {
    vecmatch::CollectionOptions {
        auto_commit_rows,
        auto_commit_deleted_fraction,
        hnsw,
        verify,
        ..vecmatch::CollectionOptions::default()
    }
}

#[pymethods]
impl Collection {
    /// Creates an empty gallery file at ``path`` (which must not exist) and opens it.
    /// ``hnsw=True`` gives the files written by commits an HNSW graph (``m``,
    /// ``ef_construction``).
    #[staticmethod]
    #[pyo3(signature = (path, dims, metric="cosine", hnsw=false, m=16, ef_construction=200, auto_commit_rows=Some(10_000), auto_commit_deleted_fraction=Some(0.25)))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        py: Python<'_>,
        path: PathBuf,
        dims: usize,
        metric: &str,
        hnsw: bool,
        m: usize,
        ef_construction: usize,
        auto_commit_rows: Option<usize>,
        auto_commit_deleted_fraction: Option<f64>,
    ) -> PyResult<Collection> {
        let metric: vecmatch::Metric = metric.parse().py_err(py)?;
        let graph = hnsw.then(|| vecmatch::HnswParams {
            m,
            ef_construction,
            ..vecmatch::HnswParams::default()
        });
        let o = options(auto_commit_rows, auto_commit_deleted_fraction, graph, false);
        let c = py
            .detach(|| vecmatch::Collection::create(&path, dims, metric, o))
            .py_err(py)?;
        Ok(Collection { inner: c })
    }

    /// Opens the gallery file at ``path`` as a collection (O(1); ``verify=True`` checks
    /// every checksum first). Commits keep the file's HNSW graph if it has one.
    #[staticmethod]
    #[pyo3(signature = (path, auto_commit_rows=Some(10_000), auto_commit_deleted_fraction=Some(0.25), verify=false))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        auto_commit_rows: Option<usize>,
        auto_commit_deleted_fraction: Option<f64>,
        verify: bool,
    ) -> PyResult<Collection> {
        let o = options(auto_commit_rows, auto_commit_deleted_fraction, None, verify);
        let c = py
            .detach(|| vecmatch::Collection::open_with(&path, o))
            .py_err(py)?;
        Ok(Collection { inner: c })
    }

    /// Adds (or replaces) vectors: ``keys`` (n ints ≥ 0) and ``vectors`` (``[n, dims]``,
    /// or one vector with one key). All or nothing. Returns how many replaced a live key.
    fn add(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        vectors: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let k = arrays::keys(keys, "keys")?;
        let v = arrays::matrix(vectors, "vectors")?;
        let (k, vals) = (k.values()?, v.values()?);
        if k.len() != v.rows {
            return Err(PyValueError::new_err(format!(
                "{} keys for {} vectors",
                k.len(),
                v.rows
            )));
        }
        if v.cols != self.inner.dims() {
            return Err(vecmatch::Error::DimensionMismatch {
                expected: self.inner.dims(),
                found: v.cols,
            })
            .py_err(py);
        }
        let c = &self.inner;
        py.detach(|| c.add_batch(k, vals)).py_err(py)
    }

    /// Deletes keys (an int or a sequence); unknown keys are ignored. Returns how many
    /// were live.
    fn delete(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<usize> {
        let k = arrays::keys(keys, "keys")?;
        let k = k.values()?;
        let c = &self.inner;
        py.detach(|| c.delete_batch(k)).py_err(py)
    }

    /// Writes the live rows to a new file and swaps it in atomically. Returns a report
    /// (``written``, ``rows``, ``added``, ``removed``, ``bytes``, ``graph``, ``seconds``).
    fn commit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.inner;
        let r = py.detach(|| c.commit()).py_err(py)?;
        let d = PyDict::new(py);
        d.set_item("written", r.written)?;
        d.set_item("rows", r.rows)?;
        d.set_item("added", r.added)?;
        d.set_item("removed", r.removed)?;
        d.set_item("bytes", r.bytes)?;
        d.set_item("graph", r.graph)?;
        d.set_item("seconds", r.duration.as_secs_f64())?;
        Ok(d)
    }

    /// The same as ``Gallery.search``, over the live rows (committed and pending).
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
        search::run(py, &self.inner, queries, args)
    }

    /// Number of live vectors.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Whether ``key`` is live.
    fn __contains__(&self, key: u64) -> bool {
        self.inner.contains(key)
    }

    /// Whether ``key`` is live (the same as ``key in collection``).
    fn contains(&self, key: u64) -> bool {
        self.inner.contains(key)
    }

    /// The live vector of ``key`` as a ``float32`` array, or ``None``.
    fn get<'py>(&self, py: Python<'py>, key: u64) -> Option<Bound<'py, PyArray1<f32>>> {
        self.inner.get(key).map(|v| v.into_pyarray(py))
    }

    /// Components per vector.
    #[getter]
    fn dims(&self) -> usize {
        self.inner.dims()
    }

    /// The distance metric.
    #[getter]
    fn metric(&self) -> &'static str {
        self.inner.metric().name()
    }

    /// The gallery file commits write to.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    fn __repr__(&self) -> String {
        format!(
            "Collection(len={}, dims={}, metric={:?}, path={:?})",
            self.inner.len(),
            self.inner.dims(),
            self.inner.metric().name(),
            self.inner.path().display().to_string(),
        )
    }
}
