//! Commit: merge the frozen rows, the delta and the deletes of a snapshot into a new
//! gallery file (deleted rows are not copied), extend or rebuild its graph, and publish
//! it atomically.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::gallery::GalleryBuilder;
use crate::gallery::buffer::RowBuffer;
use crate::gallery::target::FileId;
use crate::hnsw::HnswParams;
use crate::hnsw::graph::GraphView;
use crate::view::labels::LabelSets;

use super::integrity::check_commit;
use super::snapshot::Snapshot;

/// What a commit did, from [`crate::Collection::commit`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitReport {
    /// Whether a new file was written (`false`: nothing was pending).
    pub written: bool,
    /// Rows in the new file.
    pub rows: usize,
    /// Rows taken from the delta (added or replaced since the last commit).
    pub added: usize,
    /// Rows of the old file left out (deleted or replaced).
    pub removed: usize,
    /// Size of the new file in bytes.
    pub bytes: u64,
    /// Whether the new file carries an HNSW graph.
    pub graph: bool,
    /// Whether that graph is the old file's with the added rows inserted (rows were only
    /// added since the last commit), rather than rebuilt from scratch.
    pub graph_extended: bool,
    /// Time to merge, build the graph, write, fsync and rename.
    pub duration: Duration,
}

/// The live rows of `snap`, frozen rows first (in row order), then delta rows (in
/// insertion order): values as stored (already normalised), keys unique, and labels.
fn merged_rows(snap: &Snapshot) -> Result<(RowBuffer, Vec<u64>, LabelSets)> {
    let d = snap.dims();
    let view = snap.frozen.view()?;
    let n = snap.len();
    let mut vectors = RowBuffer::new();
    vectors.reserve(n.saturating_mul(d));
    let mut keys = Vec::with_capacity(n);
    let mut labels = LabelSets::default();
    for (row, &key) in view.keys.iter().enumerate() {
        if !snap.frozen_dead.has(row) {
            vectors.extend_from_slice(&view.vector(row));
            keys.push(key);
            labels.push(view.labels.map_or(&[][..], |l| l.row(row)));
        }
    }
    for r in snap.delta.rows(d) {
        if !snap.delta_dead.has(r.id) {
            vectors.extend_from_slice(r.vector);
            keys.push(r.key);
            labels.push(r.labels);
        }
    }
    Ok((vectors, keys, labels))
}

/// The old file's graph, if the commit can insert the added rows into it instead of
/// rebuilding: no row of the old file was deleted or replaced (its rows come first in
/// the merged file, unchanged), it has a graph with the requested M (and 2·M on layer
/// 0), its checksum matches and it passes the graph checks (every node reachable). The
/// new rows are inserted by the native builder's algorithm whichever builder made the
/// graph (it only needs the frozen lists). Deletes rebuild:
/// unlinking rows from a graph is not implemented, and a rebuild also reclaims their
/// place in the neighbour lists.
fn extendable<'a>(snap: &'a Snapshot, p: &HnswParams) -> Result<Option<GraphView<'a>>> {
    if snap.frozen_dead_count > 0 {
        return Ok(None);
    }
    // The old graph is checked first (its checksum and invariants, O(edges): cheap next
    // to the insertions): a file opened without verification may hold a damaged one (or
    // one with unreachable nodes), which a rebuild from the rows replaces.
    Ok(snap.frozen.graph()?.filter(|g| {
        g.header.m as usize == p.m
            && g.header.m0 as usize == 2 * p.m
            && snap.frozen.check_checksums(|name| name == "GRAPH").is_ok()
            && crate::hnsw::check_strict(g).is_ok()
    }))
}

/// The graph parameters recorded in a gallery's META (`hnsw.m`, `hnsw.ef_construction`,
/// `hnsw.seed`), and its `user` string.
pub(crate) fn recorded_meta(meta: Option<&str>) -> (Option<HnswParams>, Option<String>) {
    let Some(v) = meta.and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok()) else {
        return (None, None);
    };
    let user = v.get("user").and_then(|u| u.as_str()).map(str::to_owned);
    let hnsw = v.get("hnsw").map(|h| {
        let field = |name: &str| h.get(name).and_then(serde_json::Value::as_u64);
        let d = HnswParams::default();
        HnswParams {
            m: field("m").map_or(d.m, |x| x as usize),
            ef_construction: field("ef_construction").map_or(d.ef_construction, |x| x as usize),
            seed: field("seed").unwrap_or(d.seed),
            ..d
        }
    });
    (hnsw.filter(|p| p.validate().is_ok()), user)
}

/// Where a commit publishes: the name the user gave (for errors), its resolved place, and
/// the identity the file there must still have.
pub(crate) struct Target<'a> {
    pub user: &'a Path,
    pub real: &'a Path,
    pub expect: Option<FileId>,
}

/// Writes the merged gallery of `snap` to `target` atomically. `graph`: build an HNSW
/// graph with these parameters; `commit_id` is recorded in META as the file's identity (named
/// by the write-ahead log). Returns the report and the new file's identity.
pub(crate) fn write_merged(
    snap: &Snapshot,
    target: &Target<'_>,
    graph: Option<HnswParams>,
    user: Option<String>,
    rebuild: bool,
    commit_id: u64,
) -> Result<(CommitReport, Option<FileId>)> {
    let start = Instant::now();
    let (vectors, keys, labels) = merged_rows(snap)?;
    check_commit(snap, target.user, &keys, &vectors)?;
    let rows = keys.len();
    let added = snap.delta.len().saturating_sub(snap.delta_dead_count);
    let mut b = GalleryBuilder::from_prepared(snap.dims(), snap.frozen.metric(), vectors, keys)?;
    b.set_label_sets(labels)?;
    // The new file keeps the storage of the old one.
    b.element_type(snap.frozen.element_type())
        .keep_f32_rows(snap.frozen.has_f32_rows());
    if let Some(u) = user {
        b.user_meta(u);
    }
    b.commit_id(commit_id);
    let mut graph_extended = false;
    if let Some(p) = graph {
        b.hnsw(p)?;
        if !rebuild && let Some(base) = extendable(snap, &p)? {
            b.extend_graph(base.bytes(), snap.frozen.len());
            graph_extended = true;
        }
    }
    let (bytes, id) = b.write_locked(target.user, target.real, target.expect)?;
    let report = CommitReport {
        written: true,
        rows,
        added,
        removed: snap.frozen_dead_count,
        bytes,
        graph: graph.is_some(),
        graph_extended,
        duration: start.elapsed(),
    };
    Ok((report, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trip() {
        let (p, u) = recorded_meta(Some(
            r#"{"builder":"x","user":"note","hnsw":{"m":8,"ef_construction":50,"seed":3}}"#,
        ));
        assert_eq!(
            p,
            Some(HnswParams {
                m: 8,
                ef_construction: 50,
                seed: 3,
                ..HnswParams::default()
            })
        );
        assert_eq!(u.as_deref(), Some("note"));
        assert_eq!(recorded_meta(Some("not json")), (None, None));
        assert_eq!(recorded_meta(None), (None, None));
        let (p, _) = recorded_meta(Some(r#"{"hnsw":{"m":1000}}"#));
        assert_eq!(p, None, "out-of-range parameters are not reused");
    }
}
