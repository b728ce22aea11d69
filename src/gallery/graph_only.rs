//! The graph walk without the planner's exact fallback, for measuring the cut-over.

use crate::error::Result;
use crate::types::{Hit, SearchParams};

use super::Gallery;

/// The graph search of [`Gallery::search`] without the exact fallback for selective
/// filters: it exists to measure that cut-over (`examples/filter_cutover.rs`), not for
/// applications. Without a graph it searches exactly.
///
/// # Errors
/// As [`Gallery::search`].
#[doc(hidden)]
pub fn search_graph_only(
    gallery: &Gallery,
    query: &[f32],
    params: &SearchParams<'_>,
) -> Result<Vec<Hit>> {
    let view = gallery.view()?;
    let graph = gallery.graph()?;
    crate::search::graph_only(&view, graph.as_ref(), query, params)
}
