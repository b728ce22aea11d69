//! `vecmatch.Shards`: several gallery files searched as one.

use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::errors::IntoPy;
use crate::gallery::info_dict;
use crate::search::{self, Args};

/// Several gallery files (shards) searched as one: each shard's top-k is merged by
/// (distance, key), so exact searches answer exactly as one gallery holding every row.
/// Shards must agree on dims, metric and dtype (``ShardMismatchError`` otherwise). A key
/// should be stored in one shard only: this is not checked at open (``verify`` checks
/// it); a key stored twice is returned once, at its best distance.
///
/// Thread-safe and picklable (by its paths), like ``Gallery``.
#[pyclass(module = "vecmatch", frozen)]
pub(crate) struct Shards {
    inner: vecmatch::ShardSet,
    paths: Vec<PathBuf>,
}

#[pymethods]
impl Shards {
    /// Opens the gallery files in ``paths`` (each by memory map) as one shard set.
    #[new]
    #[pyo3(signature = (paths, verify=false))]
    fn new(py: Python<'_>, paths: Vec<PathBuf>, verify: bool) -> PyResult<Shards> {
        let options = vecmatch::OpenOptions {
            verify_checksums: verify,
        };
        // Absolute, so that a pickled shard set reopens the same files from any directory.
        let paths: Vec<PathBuf> = paths
            .into_iter()
            .map(|p| std::path::absolute(&p).unwrap_or(p))
            .collect();
        let inner = py
            .detach(|| vecmatch::ShardSet::open_with(&paths, options))
            .py_err(py)?;
        Ok(Shards { inner, paths })
    }

    /// The same as ``Shards(paths)``.
    #[staticmethod]
    #[pyo3(signature = (paths, verify=false))]
    fn open(py: Python<'_>, paths: Vec<PathBuf>, verify: bool) -> PyResult<Shards> {
        Self::new(py, paths, verify)
    }

    /// Number of vectors over all shards.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Whether any shard stores ``key``.
    fn __contains__(&self, key: u64) -> bool {
        self.inner.contains(key)
    }

    /// The stored vector of ``key`` (from the first shard holding it), or ``None``.
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

    /// How vectors are stored.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.inner.element_type().name()
    }

    /// The shard files (absolute paths), in order.
    #[getter]
    fn paths(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }

    /// ``Gallery.info()`` of every shard.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner
            .shards()
            .iter()
            .map(|g| info_dict(py, g))
            .collect()
    }

    /// Verifies every shard (as ``Gallery.verify``) and that no key is stored in two
    /// shards (``ShardMismatchError`` naming the key and the shards).
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        let s = &self.inner;
        py.detach(|| s.verify()).py_err(py)
    }

    /// The same as ``Gallery.search``, over every shard, merged exactly.
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

    /// Pickles the paths: the shards are reopened on load.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let cls = slf.get_type().into_any();
        let args = PyTuple::new(py, [slf.get().paths.clone().into_pyobject(py)?])?;
        PyTuple::new(py, [cls, args.into_any()])
    }

    fn __repr__(&self) -> String {
        format!(
            "Shards(shards={}, len={}, dims={}, metric={:?})",
            self.paths.len(),
            self.inner.len(),
            self.inner.dims(),
            self.inner.metric().name(),
        )
    }
}
