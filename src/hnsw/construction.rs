//! Which distances the native builder computes while it builds a graph.

use crate::error::{Error, Result};
use crate::metric::{Backend, BackendKind};
use crate::types::Metric;

/// The distances the native builder ([`crate::Builder::Native`]) builds a graph with.
/// Searches are not affected: they use the gallery's rows, whatever built the graph.
///
/// `Auto` (the default) is `I8` where that was measured to build faster at the same
/// graph quality: the `avx512+vnni` backend and the cosine or dot metric; `F32`
/// elsewhere. [`crate::Builder::HnswRs`] always builds on f32 rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Construction {
    /// `I8` on the `avx512+vnni` backend for cosine and dot, else `F32`.
    #[default]
    Auto,
    /// The f32 rows with the f32 kernels search uses.
    F32,
    /// `i8` codes of the rows (one scale per row, the `i8` element type's quantiser),
    /// made once per build (`n × dims` bytes more memory while building) and compared with
    /// the exact integer dot product (`vpdpbusd` on `avx512+vnni`): a quarter of the
    /// memory traffic per distance. Deterministic for a seed with one thread, as `F32`.
    I8,
}

impl Construction {
    /// The name accepted by [`Construction::from_name`]: `auto`, `f32` or `i8`.
    pub fn name(self) -> &'static str {
        match self {
            Construction::Auto => "auto",
            Construction::F32 => "f32",
            Construction::I8 => "i8",
        }
    }

    /// Parses `auto`, `f32` or `i8`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other name.
    pub fn from_name(name: &str) -> Result<Construction> {
        match name {
            "auto" => Ok(Construction::Auto),
            "f32" => Ok(Construction::F32),
            "i8" => Ok(Construction::I8),
            _ => Err(Error::InvalidArgument(format!(
                "unknown HNSW construction {name:?} (auto, f32 or i8)"
            ))),
        }
    }

    /// `F32` or `I8`: what `Auto` means for `metric` on this process's backend.
    pub fn resolve(self, metric: Metric) -> Construction {
        match self {
            Construction::Auto
                if metric != Metric::L2 && Backend::active().kind() == BackendKind::Avx512Vnni =>
            {
                Construction::I8
            }
            Construction::Auto => Construction::F32,
            c => c,
        }
    }
}
