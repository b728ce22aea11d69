//! Metrics as data: what a [`Metric`] means to the kernels and the codecs.
//!
//! A metric is a raw kernel over two vectors ([`Kernel`]: dot product or squared L2), a
//! way to turn the kernel's value into a distance ([`Finish`]), and whether vectors are
//! L2-normalised first. Everything that used to ask "is this cosine or dot?" reads this
//! description instead: the kernel facade (which raw kernel to run and how to finish it),
//! the coded walks of `i8`/`i4` rows (the same finish on an integer dot product), the
//! `hnsw_rs` adapter (the smallest distance the metric can give), ingest and queries
//! (normalisation). Adding a metric over an existing kernel is one arm of
//! [`MetricSpec::of`].

use crate::types::Metric;

/// The raw kernel a metric runs over two vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// `Σ aᵢ·bᵢ`.
    Dot,
    /// `Σ (aᵢ - bᵢ)²`.
    L2Sq,
}

impl Kernel {
    /// The range `(min, max)` of the kernel's values over vectors of squared norm at most
    /// `max_sq` (Cauchy–Schwarz for the dot product).
    // Used by the `hnsw_rs` adapter (feature `hnsw-rs`) and the tests.
    #[cfg_attr(not(feature = "hnsw-rs"), allow(dead_code))]
    pub fn range(self, max_sq: f32) -> (f32, f32) {
        match self {
            Kernel::Dot => (-max_sq, max_sq),
            Kernel::L2Sq => (0.0, 4.0 * max_sq),
        }
    }
}

/// How a raw kernel value becomes a distance (lower is better).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Finish {
    /// The raw value is the distance (squared L2).
    Raw,
    /// `c - raw`: a similarity turned into a distance (`1 - dot`).
    SubtractFrom(f32),
}

/// A metric as data (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct MetricSpec {
    /// The raw kernel.
    pub kernel: Kernel,
    /// How the raw value becomes a distance.
    pub finish: Finish,
    /// Whether stored vectors are L2-normalised at ingest and each query once per call (so
    /// the kernel sees unit vectors).
    pub normalized: bool,
}

impl MetricSpec {
    /// The description of `metric`.
    #[inline(always)]
    pub const fn of(metric: Metric) -> MetricSpec {
        match metric {
            Metric::Cosine => MetricSpec {
                kernel: Kernel::Dot,
                finish: Finish::SubtractFrom(1.0),
                normalized: true,
            },
            Metric::Dot => MetricSpec {
                kernel: Kernel::Dot,
                finish: Finish::SubtractFrom(1.0),
                normalized: false,
            },
            Metric::L2 => MetricSpec {
                kernel: Kernel::L2Sq,
                finish: Finish::Raw,
                normalized: false,
            },
        }
    }

    /// The distance of a raw kernel value.
    #[inline(always)]
    pub fn finish(self, raw: f32) -> f32 {
        match self.finish {
            Finish::Raw => raw,
            Finish::SubtractFrom(c) => c - raw,
        }
    }

    /// The smallest distance the metric gives between vectors of squared norm at most
    /// `max_sq` (a distance is monotone in the raw value: decreasing for a similarity).
    // Used by the `hnsw_rs` adapter (feature `hnsw-rs`) and the tests.
    #[cfg_attr(not(feature = "hnsw-rs"), allow(dead_code))]
    pub fn min_distance(self, max_sq: f32) -> f32 {
        let (lo, hi) = self.kernel.range(max_sq);
        match self.finish {
            Finish::Raw => self.finish(lo),
            Finish::SubtractFrom(_) => self.finish(hi),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_state_the_documented_conventions() {
        // Cosine and dot are `1 - dot` (cosine on unit vectors); L2 is squared Euclidean.
        for m in [Metric::Cosine, Metric::Dot] {
            let s = MetricSpec::of(m);
            assert_eq!(s.kernel, Kernel::Dot);
            assert_eq!(s.finish(0.25), 0.75);
            assert_eq!(s.min_distance(4.0), -3.0);
        }
        assert!(MetricSpec::of(Metric::Cosine).normalized);
        assert!(!MetricSpec::of(Metric::Dot).normalized);
        let l2 = MetricSpec::of(Metric::L2);
        assert_eq!((l2.kernel, l2.normalized), (Kernel::L2Sq, false));
        assert_eq!(l2.finish(0.25), 0.25);
        assert_eq!(l2.min_distance(4.0), 0.0);
    }
}
