//! The native module `vecmatch._vecmatch` of the Python package `vecmatch`: pyo3 bindings
//! over the Rust library (which knows nothing of Python). The package's `__init__.py`
//! re-exports everything; see `python/README.md`.

mod arrays;
mod builder;
mod collection;
mod errors;
mod gallery;
mod search;
mod shards;

use pyo3::prelude::*;

/// Exact and HNSW vector search over memory-mapped gallery files (native module).
#[pymodule]
fn _vecmatch(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<gallery::Gallery>()?;
    m.add_class::<collection::Collection>()?;
    m.add_class::<shards::Shards>()?;
    m.add_function(wrap_pyfunction!(builder::build, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("NO_KEY", arrays::NO_KEY)?;
    m.add("hardware_acceleration", vecmatch::hardware_acceleration())?;
    Ok(())
}
