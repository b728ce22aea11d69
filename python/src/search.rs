//! The one search entry point shared by `Gallery`, `Collection` and `Shards`: arguments
//! from Python, the search with the GIL released, results as numpy arrays.

use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;
use vecmatch::{Hit, KeyFilter, Result as VmResult, SearchParams};

use crate::arrays::{self, Table};
use crate::errors::IntoPy;

/// Something searchable from Python.
pub(crate) trait Searchable: Sync {
    /// Components per vector.
    fn dims(&self) -> usize;
    /// One query.
    fn search_one(&self, query: &[f32], params: &SearchParams<'_>) -> VmResult<Vec<Hit>>;
    /// Row-major queries.
    fn search_many(&self, queries: &[f32], params: &SearchParams<'_>) -> VmResult<Vec<Vec<Hit>>>;
}

impl Searchable for vecmatch::Gallery {
    fn dims(&self) -> usize {
        vecmatch::Gallery::dims(self)
    }
    fn search_one(&self, q: &[f32], p: &SearchParams<'_>) -> VmResult<Vec<Hit>> {
        self.search(q, p)
    }
    fn search_many(&self, q: &[f32], p: &SearchParams<'_>) -> VmResult<Vec<Vec<Hit>>> {
        self.search_batch(q, p)
    }
}

impl Searchable for vecmatch::Collection {
    fn dims(&self) -> usize {
        vecmatch::Collection::dims(self)
    }
    fn search_one(&self, q: &[f32], p: &SearchParams<'_>) -> VmResult<Vec<Hit>> {
        self.search(q, p)
    }
    fn search_many(&self, q: &[f32], p: &SearchParams<'_>) -> VmResult<Vec<Vec<Hit>>> {
        self.search_batch(q, p)
    }
}

impl Searchable for vecmatch::ShardSet {
    fn dims(&self) -> usize {
        vecmatch::ShardSet::dims(self)
    }
    fn search_one(&self, q: &[f32], p: &SearchParams<'_>) -> VmResult<Vec<Hit>> {
        self.search(q, p)
    }
    fn search_many(&self, q: &[f32], p: &SearchParams<'_>) -> VmResult<Vec<Vec<Hit>>> {
        self.search_batch(q, p)
    }
}

/// The keyword arguments of `search`, as Python gave them.
pub(crate) struct Args<'py> {
    pub(crate) k: Option<usize>,
    pub(crate) ef: usize,
    pub(crate) exact: bool,
    pub(crate) max_distance: Option<f32>,
    pub(crate) allow: Option<Bound<'py, PyAny>>,
    pub(crate) deny: Option<Bound<'py, PyAny>>,
    pub(crate) threads: Option<usize>,
    pub(crate) rerank_factor: Option<usize>,
}

/// Runs a search: queries (1-D or 2-D) in, `(keys, distances, counts)` out. The GIL is
/// released for the search itself and for laying out the results.
pub(crate) fn run<T: Searchable>(
    py: Python<'_>,
    target: &T,
    queries: &Bound<'_, PyAny>,
    args: Args<'_>,
) -> PyResult<Py<PyAny>> {
    let q = arrays::matrix(queries, "queries")?;
    if q.cols != target.dims() {
        return Err(vecmatch::Error::DimensionMismatch {
            expected: target.dims(),
            found: q.cols,
        })
        .py_err(py);
    }
    if args.allow.is_some() && args.deny.is_some() {
        return Err(PyValueError::new_err("give at most one of allow and deny"));
    }
    let k = match (args.k, args.max_distance) {
        (Some(k), _) => k,
        (None, Some(_)) => usize::MAX,
        (None, None) => {
            return Err(PyValueError::new_err(
                "k=None (every hit) needs max_distance",
            ));
        }
    };
    let allow = args
        .allow
        .as_ref()
        .map(|a| arrays::keys(a, "allow"))
        .transpose()?;
    let deny = args
        .deny
        .as_ref()
        .map(|d| arrays::keys(d, "deny"))
        .transpose()?;
    let filter = match (&allow, &deny) {
        (Some(a), _) => Some(KeyFilter::Allow(a.values()?)),
        (_, Some(d)) => Some(KeyFilter::Deny(d.values()?)),
        _ => None,
    };
    let params = SearchParams {
        k,
        ef: args.ef,
        max_distance: args.max_distance,
        filter,
        exact: args.exact,
        threads: args.threads,
        rerank_factor: args.rerank_factor.unwrap_or(vecmatch::DEFAULT_RERANK_FACTOR),
    };
    let values = q.values()?;
    let rows = q.rows;
    let laid_out = py.detach(|| {
        let results = if rows == 1 {
            target.search_one(values, &params).map(|h| vec![h])
        } else if rows == 0 {
            params.validate().map(|()| Vec::new())
        } else {
            target.search_many(values, &params)
        };
        results.map(|r| Table::new(&r, args.k))
    });
    let table = laid_out.py_err(py)?.map_err(PyMemoryError::new_err)?;
    table.into_py(py, q.one_d)
}
