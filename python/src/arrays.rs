//! Numpy in and out. Inputs that are already C-contiguous, aligned `float32` (vectors,
//! queries) or `uint64` (keys) arrays are borrowed without a copy; anything else (other
//! dtypes, strided or Fortran-ordered arrays, lists) is converted once by
//! `vecmatch._convert`, which also refuses keys that are not non-negative integers.
//! Results are built in Rust-owned buffers and handed to numpy without a copy.

use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyReadonlyArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use vecmatch::Hit;

/// Key of an empty result slot (`-1` as `uint64`).
pub(crate) const NO_KEY: u64 = u64::MAX;

/// A helper of `vecmatch._convert`.
fn helper<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyAny>> {
    static FLOATS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static KEYS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let cell = if name == "as_floats" { &FLOATS } else { &KEYS };
    cell.import(py, "vecmatch._convert", name).cloned()
}

/// A borrowed C-contiguous `float32` matrix: `rows × cols`, row-major.
pub(crate) struct Matrix<'py> {
    array: PyReadonlyArrayDyn<'py, f32>,
    /// Number of rows (1 for a 1-D input).
    pub(crate) rows: usize,
    /// Components per row.
    pub(crate) cols: usize,
    /// Whether the input was 1-D (one vector).
    pub(crate) one_d: bool,
}

impl Matrix<'_> {
    /// The values, row-major.
    pub(crate) fn values(&self) -> PyResult<&[f32]> {
        self.array
            .as_slice()
            .map_err(|e| PyValueError::new_err(format!("array is not contiguous: {e}")))
    }
}

fn borrow_c_f32<'py>(obj: &Bound<'py, PyAny>) -> Option<PyReadonlyArrayDyn<'py, f32>> {
    let a = obj.cast::<PyArrayDyn<f32>>().ok()?;
    if !a.is_c_contiguous() {
        return None;
    }
    let r = a.try_readonly().ok()?;
    // `as_slice` also checks alignment.
    r.as_slice().is_ok().then_some(r)
}

/// `obj` as a 1-D (one vector) or 2-D (one per row) `float32` matrix; `what` names the
/// argument in errors.
pub(crate) fn matrix<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Matrix<'py>> {
    let array = match borrow_c_f32(obj) {
        Some(a) => a,
        None => {
            let converted = helper(obj.py(), "as_floats")?.call1((obj, what))?;
            borrow_c_f32(&converted).ok_or_else(|| {
                PyValueError::new_err(format!("{what}: could not convert to float32"))
            })?
        }
    };
    let (rows, cols, one_d) = match *array.shape() {
        [c] => (1, c, true),
        [r, c] => (r, c, false),
        _ => {
            return Err(PyValueError::new_err(format!(
                "{what} must be 1-D (one vector) or 2-D (one per row), got {} dimensions",
                array.ndim()
            )));
        }
    };
    Ok(Matrix {
        array,
        rows,
        cols,
        one_d,
    })
}

/// Keys as a borrowed 1-D `uint64` array (`vecmatch._convert.as_keys` converts and checks
/// other inputs: integers ≥ 0 only).
pub(crate) struct Keys<'py>(PyReadonlyArray1<'py, u64>);

impl Keys<'_> {
    /// The keys.
    pub(crate) fn values(&self) -> PyResult<&[u64]> {
        self.0
            .as_slice()
            .map_err(|e| PyValueError::new_err(format!("keys are not contiguous: {e}")))
    }
}

fn borrow_u64<'py>(obj: &Bound<'py, PyAny>) -> Option<PyReadonlyArray1<'py, u64>> {
    let a = obj.cast::<PyArray1<u64>>().ok()?;
    let r = a.try_readonly().ok()?;
    r.as_slice().is_ok().then_some(r)
}

/// `obj` (an int, a sequence of ints or an integer array) as keys.
pub(crate) fn keys<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Keys<'py>> {
    if let Some(k) = borrow_u64(obj) {
        return Ok(Keys(k));
    }
    let converted = helper(obj.py(), "as_keys")?.call1((obj, what))?;
    borrow_u64(&converted)
        .map(Keys)
        .ok_or_else(|| PyValueError::new_err(format!("{what}: could not convert to uint64")))
}

/// Search results laid out for numpy: `n × width` keys and distances (padded with
/// [`NO_KEY`] and `inf`) and the number of hits per row.
pub(crate) struct Table {
    keys: Vec<u64>,
    distances: Vec<f32>,
    counts: Vec<i64>,
    rows: usize,
    width: usize,
}

/// A vector of `len` copies of `value`, or `MemoryError` instead of aborting the process.
fn filled<T: Clone>(len: usize, value: T) -> Result<Vec<T>, String> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| format!("cannot allocate results of {len} entries"))?;
    v.resize(len, value);
    Ok(v)
}

impl Table {
    /// Lays out one hit list per query; `width` is `k`, or (for `k=None`) the longest list.
    /// Runs without the GIL.
    pub(crate) fn new(results: &[Vec<Hit>], k: Option<usize>) -> Result<Table, String> {
        let rows = results.len();
        let width = k.unwrap_or_else(|| results.iter().map(Vec::len).max().unwrap_or(0));
        let cells = rows
            .checked_mul(width)
            .ok_or_else(|| format!("{rows} × {width} results overflow"))?;
        let mut keys = filled(cells, NO_KEY)?;
        let mut distances = filled(cells, f32::INFINITY)?;
        let mut counts = Vec::with_capacity(rows);
        for (i, hits) in results.iter().enumerate() {
            let row = i * width;
            for (j, h) in hits.iter().take(width).enumerate() {
                keys[row + j] = h.key;
                distances[row + j] = h.distance;
            }
            counts.push(hits.len().min(width) as i64);
        }
        Ok(Table {
            keys,
            distances,
            counts,
            rows,
            width,
        })
    }

    /// `(keys, distances, counts)`: 2-D arrays and a 1-D count array, or for a 1-D query
    /// 1-D arrays and an `int`.
    pub(crate) fn into_py(self, py: Python<'_>, one_d: bool) -> PyResult<Py<PyAny>> {
        if one_d {
            let count = self.counts.first().copied().unwrap_or(0);
            let keys = self.keys.into_pyarray(py);
            let distances = self.distances.into_pyarray(py);
            return Ok((keys, distances, count)
                .into_pyobject(py)?
                .into_any()
                .unbind());
        }
        let shape = (self.rows, self.width);
        let keys = Array2::from_shape_vec(shape, self.keys)
            .map_err(|e| PyMemoryError::new_err(e.to_string()))?
            .into_pyarray(py);
        let distances = Array2::from_shape_vec(shape, self.distances)
            .map_err(|e| PyMemoryError::new_err(e.to_string()))?
            .into_pyarray(py);
        let counts = self.counts.into_pyarray(py);
        Ok((keys, distances, counts)
            .into_pyobject(py)?
            .into_any()
            .unbind())
    }
}
