//! Which distances the native builder computes while it builds a graph.

use crate::error::{Error, Result};
use crate::metric::{Backend, BackendKind};
use crate::types::Metric;

/// The distances the native builder ([`crate::HnswAlgorithm::Native`]) builds a graph with.
/// Searches are not affected: they use the gallery's rows, whatever built the graph.
///
/// `Auto` (the default) is `I8` where that was measured to build faster at the same
/// graph quality: a SIMD integer kernel (backends `avx2+fma`, `avx512`, `avx512+vnni`)
/// and at least [`HnswConstruction::AUTO_I8_MIN_DIMS`] (64) dimensions; `F32` elsewhere (the
/// scalar and NEON backends have no SIMD `i8` kernel; at 16 dims codes were no faster).
/// Measured on 50,000 MiniLM rows, 2 threads, M=16, ef_construction=200
/// (`examples/build_construction.rs`, interleaved builds on a shared machine, min times):
/// at 384 dims `I8` builds 1.9–2.2× as fast on `avx512+vnni` (2.0–2.2× in CPU time), 2.1×
/// on `avx512` and 1.9× on `avx2+fma`, recall@10 at ef 64 (mean over 2–3 seeds)
/// 0.0015–0.0025 below the f32-built graph's (0.986 against 0.988), at ef 16 and 32 equal;
/// L2 the same on those rows and on rows scaled by 0.5–2× (1.8×, ef 64 −0.0017, ef 16
/// +0.0035); the first 64 dims 1.15×, the first 16 0.97×, recall equal.
/// [`crate::HnswAlgorithm::HnswRs`] always builds on f32 rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HnswConstruction {
    /// `I8` on the `avx2+fma`, `avx512` and `avx512+vnni` backends for 64 to
    /// [`HnswConstruction::MAX_I8_DIMS`] dimensions, else `F32`.
    #[default]
    Auto,
    /// The f32 rows with the f32 kernels search uses.
    F32,
    /// `i8` codes of the rows (one scale per row, the `i8` element type's quantiser),
    /// made once per build (`n × dims` bytes more memory while building) and compared with
    /// the exact integer dot product (`vpdpbusd` on `avx512+vnni`): a quarter of the
    /// memory traffic per distance. Deterministic for a seed with one thread, as `F32`. At
    /// most [`HnswConstruction::MAX_I8_DIMS`] (133,144) dimensions.
    I8,
}

impl HnswConstruction {
    /// The most dimensions `I8` builds with: the integer dot product of two rows of codes
    /// in `-127..=127` must fit an `i32`. A build asking for `I8` with more fails with
    /// [`Error::InvalidArgument`].
    pub const MAX_I8_DIMS: usize = (i32::MAX / (127 * 127)) as usize;

    /// The fewest dimensions `Auto` builds on `i8` codes with: below, f32 rows are small
    /// and codes were measured no faster.
    pub const AUTO_I8_MIN_DIMS: usize = 64;

    /// What a build of `dims`-dimensional rows under `metric` uses: [`HnswConstruction::resolve`],
    /// and an error for `I8` above [`HnswConstruction::MAX_I8_DIMS`].
    pub(crate) fn for_build(self, metric: Metric, dims: usize) -> Result<HnswConstruction> {
        match self.resolve(metric, dims) {
            HnswConstruction::I8 if dims > Self::MAX_I8_DIMS => {
                Err(Error::InvalidArgument(format!(
                    "HNSW construction on i8 codes needs at most {} dims, got {dims}",
                    Self::MAX_I8_DIMS
                )))
            }
            c => Ok(c),
        }
    }

    /// The name accepted by [`HnswConstruction::from_name`]: `auto`, `f32` or `i8`.
    pub fn name(self) -> &'static str {
        match self {
            HnswConstruction::Auto => "auto",
            HnswConstruction::F32 => "f32",
            HnswConstruction::I8 => "i8",
        }
    }

    /// Parses `auto`, `f32` or `i8`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other name.
    pub fn from_name(name: &str) -> Result<HnswConstruction> {
        match name {
            "auto" => Ok(HnswConstruction::Auto),
            "f32" => Ok(HnswConstruction::F32),
            "i8" => Ok(HnswConstruction::I8),
            _ => Err(Error::InvalidArgument(format!(
                "unknown HNSW construction {name:?} (auto, f32 or i8)"
            ))),
        }
    }

    /// `F32` or `I8`: what `Auto` means for `dims`-dimensional rows under `metric` on this
    /// process's backend (today the same for every metric).
    pub fn resolve(self, metric: Metric, dims: usize) -> HnswConstruction {
        let _ = metric;
        match self {
            HnswConstruction::Auto
                if (Self::AUTO_I8_MIN_DIMS..=Self::MAX_I8_DIMS).contains(&dims)
                    && has_simd_i8(Backend::active()) =>
            {
                HnswConstruction::I8
            }
            HnswConstruction::Auto => HnswConstruction::F32,
            c => c,
        }
    }
}

/// Whether `backend` has a SIMD `i8` dot product kernel (`metric::dot_i8i8`).
fn has_simd_i8(backend: Backend) -> bool {
    matches!(
        backend.kind(),
        BackendKind::Avx2Fma | BackendKind::Avx512 | BackendKind::Avx512Vnni
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_auto_resolves_by_metric_and_backend() {
        for c in [
            HnswConstruction::Auto,
            HnswConstruction::F32,
            HnswConstruction::I8,
        ] {
            assert_eq!(HnswConstruction::from_name(c.name()).unwrap(), c);
        }
        assert!(matches!(
            HnswConstruction::from_name("f16"),
            Err(Error::InvalidArgument(_))
        ));
        for m in [Metric::Cosine, Metric::Dot, Metric::L2] {
            assert_eq!(HnswConstruction::F32.resolve(m, 384), HnswConstruction::F32);
            assert_eq!(HnswConstruction::I8.resolve(m, 384), HnswConstruction::I8);
        }
        let simd = has_simd_i8(Backend::active());
        let want = if simd {
            HnswConstruction::I8
        } else {
            HnswConstruction::F32
        };
        for m in [Metric::Cosine, Metric::Dot, Metric::L2] {
            assert_eq!(HnswConstruction::Auto.resolve(m, 384), want);
            assert_eq!(HnswConstruction::Auto.resolve(m, 64), want);
            assert_eq!(HnswConstruction::Auto.resolve(m, 63), HnswConstruction::F32);
        }
        assert!(!has_simd_i8(Backend::scalar()));
        let big = HnswConstruction::MAX_I8_DIMS + 1;
        assert_eq!(
            HnswConstruction::Auto.resolve(Metric::Cosine, big),
            HnswConstruction::F32
        );
        assert_eq!(
            HnswConstruction::Auto
                .for_build(Metric::Cosine, big)
                .unwrap(),
            HnswConstruction::F32
        );
        assert!(matches!(
            HnswConstruction::I8.for_build(Metric::Dot, big),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(
            HnswConstruction::I8
                .for_build(Metric::Dot, HnswConstruction::MAX_I8_DIMS)
                .unwrap(),
            HnswConstruction::I8
        );
    }
}
