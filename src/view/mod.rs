//! The opened gallery file as the executors read it: the on-disk format and the
//! borrowed, validated slices of its sections. Below the executors ([`crate::flat`],
//! [`crate::hnsw`]) and the planner ([`crate::search`]); knows none of them.

pub mod format;
pub(crate) mod labels;
