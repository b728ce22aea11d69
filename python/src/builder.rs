//! `vecmatch.build`: vectors and keys in, a gallery file out.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::arrays;
use crate::errors::IntoPy;
use crate::gallery::Gallery;

/// The `progress` argument as a callback of the library: `True` prints to
/// `sys.stderr` (through `vecmatch._convert.print_progress`), a callable is called with
/// `(rows inserted, total)`. Calls take the GIL; an exception in the callable is reported
/// as unraisable and does not stop the build.
fn progress(py: Python<'_>, arg: &Bound<'_, PyAny>) -> PyResult<Option<vecmatch::Progress>> {
    static PRINT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let f: Py<PyAny> = if let Ok(b) = arg.extract::<bool>() {
        if !b {
            return Ok(None);
        }
        PRINT
            .import(py, "vecmatch._convert", "print_progress")?
            .clone()
            .unbind()
    } else if arg.is_callable() {
        arg.clone().unbind()
    } else {
        return Err(PyTypeError::new_err(
            "progress must be a bool or a callable(done, total)",
        ));
    };
    let f = Arc::new(f);
    Ok(Some(vecmatch::Progress::new(move |done, total| {
        Python::attach(|py| {
            if let Err(e) = f.call1(py, (done, total)) {
                e.write_unraisable(py, None);
            }
        });
    })))
}

/// Builds a gallery file at ``path`` from ``vectors`` (``[n, dims]``, any float dtype;
/// C-contiguous ``float32`` is read in place) and ``keys`` (``n`` ints ≥ 0, unique;
/// default ``0..n``), and returns it opened as a ``Gallery``. The file is written
/// atomically (temporary file, fsync, rename).
///
/// ``metric``: ``"cosine"`` (vectors are normalised), ``"dot"`` or ``"l2"`` (squared).
/// ``dtype``: storage of the vectors, ``"f32"``, ``"f16"``, ``"i8"`` or ``"i4"``;
/// ``keep_f32_rows=True`` keeps the ``f32`` rows too, so searches re-rank exactly. ``hnsw``:
/// build an HNSW graph (``m``, ``ef_construction``) for fast approximate search.
/// ``threads``: threads for the build (``None``: all cores). ``progress``: ``True`` to
/// print the graph build's progress to stderr, or a callable ``(done, total)``.
///
/// The GIL is released while the vectors are checked and the file is built.
#[pyfunction]
#[pyo3(signature = (path, vectors, keys=None, metric="cosine", dtype="f32", keep_f32_rows=false, hnsw=true, m=16, ef_construction=200, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    py: Python<'_>,
    path: PathBuf,
    vectors: &Bound<'_, PyAny>,
    keys: Option<&Bound<'_, PyAny>>,
    metric: &str,
    dtype: &str,
    keep_f32_rows: bool,
    hnsw: bool,
    m: usize,
    ef_construction: usize,
    threads: Option<usize>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<Gallery> {
    let metric: vecmatch::Metric = metric.parse().py_err(py)?;
    // Absolute, so that the returned gallery pickles a path valid in any directory.
    let path = std::path::absolute(&path).unwrap_or(path);
    let element_type: vecmatch::ElementType = dtype.parse().py_err(py)?;
    if threads == Some(0) {
        return Err(vecmatch::Error::InvalidArgument(
            "threads must be at least 1".into(),
        ))
        .py_err(py);
    }
    let v = arrays::matrix(vectors, "vectors")?;
    if v.one_d {
        return Err(PyValueError::new_err(
            "vectors must be 2-D ([n, dims]); reshape one vector with v[None, :]",
        ));
    }
    let k = keys.map(|k| arrays::keys(k, "keys")).transpose()?;
    let given = k.as_ref().map(|k| k.values()).transpose()?;
    if let Some(g) = given
        && g.len() != v.rows
    {
        return Err(PyValueError::new_err(format!(
            "{} keys for {} vectors",
            g.len(),
            v.rows
        )));
    }
    let mut b = vecmatch::GalleryBuilder::new(v.cols, metric).py_err(py)?;
    b.element_type(element_type).keep_f32_rows(keep_f32_rows);
    if hnsw {
        b.hnsw(vecmatch::HnswParams {
            m,
            ef_construction,
            ..vecmatch::HnswParams::default()
        })
        .py_err(py)?;
    }
    if let Some(p) = progress
        .map(|p| self::progress(py, p))
        .transpose()?
        .flatten()
    {
        b.progress(p);
    }
    let values = v.values()?;
    let rows = v.rows;
    let mut work = move || -> vecmatch::Result<vecmatch::Gallery> {
        b.reserve(rows);
        match given {
            Some(keys) => b.add_batch(keys, values)?,
            None => {
                let keys: Vec<u64> = (0..rows as u64).collect();
                b.add_batch(&keys, values)?;
            }
        }
        b.write(&path)?;
        vecmatch::Gallery::open(&path)
    };
    let g = py
        .detach(|| match threads {
            None => work(),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| {
                    vecmatch::Error::InvalidArgument(format!("cannot start {n} threads: {e}"))
                })
                .and_then(|pool| pool.install(work)),
        })
        .py_err(py)?;
    Ok(Gallery { inner: Arc::new(g) })
}
