//! Graph invariants (degree bounds, ids in range, entry point, sorted levels, CSR
//! offsets, reachability from the entry point) and the repair of unreachable nodes.

use std::collections::VecDeque;

use crate::error::{Error, Result};
use crate::metric;
use crate::types::Metric;

use super::graph::{FrozenGraph, GraphView};

/// Facts about a graph, from [`crate::Gallery::graph_report`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphReport {
    /// Nodes (= rows).
    pub nodes: usize,
    /// Highest level.
    pub max_level: usize,
    /// Nodes on each upper level (index 0 = level 1): about `nodes / M^level`.
    pub upper_nodes: Vec<usize>,
    /// Layer-0 edges.
    pub edges0: usize,
    /// Largest layer-0 degree.
    pub max_degree0: usize,
    /// Nodes that cannot be reached from the entry point on layer 0.
    pub unreachable: usize,
    /// Nodes the builder had to reconnect (hnsw_rs can leave nodes unreachable).
    pub repaired: usize,
}

/// Checks every invariant of a graph view. Cost: O(edges).
///
/// # Errors
/// [`Error::Corrupt`] naming the first violated invariant.
pub(crate) fn check(g: &GraphView<'_>) -> Result<GraphReport> {
    let h = &g.header;
    let n = h.count as usize;
    let bad = |what: String| Err(Error::corrupt(format!("GRAPH section: {what}")));
    let mut report = GraphReport {
        nodes: n,
        max_level: g.max_level(),
        ..GraphReport::default()
    };
    for row in 0..n {
        let deg = g.raw_degree0(row).unwrap_or(u32::MAX);
        if deg > h.m0 {
            return bad(format!("row {row} has layer-0 degree {deg} > {}", h.m0));
        }
        for &x in g.neighbors0(row) {
            if x as usize >= n {
                return bad(format!("row {row} links to row {x} of {n}"));
            }
        }
        report.edges0 += deg as usize;
        report.max_degree0 = report.max_degree0.max(deg as usize);
    }
    for level in 1..=g.max_level() {
        let nodes = g.level_nodes(level);
        report.upper_nodes.push(nodes.len());
        if nodes.windows(2).any(|w| w[0] >= w[1]) || nodes.last().is_some_and(|&x| x as usize >= n)
        {
            return bad(format!("level {level} nodes are not sorted row ids"));
        }
        let (offsets, len) = g.level_offsets(level);
        if offsets.first() != Some(&0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last().is_some_and(|&x| x as usize != len)
        {
            return bad(format!("level {level} offsets are inconsistent"));
        }
        for &r in nodes {
            if g.neighbors_upper(level, r)
                .iter()
                .any(|&x| x as usize >= n || nodes.binary_search(&x).is_err())
            {
                return bad(format!("level {level}: row {r} links outside the level"));
            }
        }
        if level == g.max_level() && nodes.binary_search(&h.entry_point).is_err() {
            return bad("entry point is not on the top level".into());
        }
    }
    if n > 0 {
        let seen = reachable(n, h.entry_point as usize, |r| g.neighbors0(r));
        report.unreachable = seen.iter().filter(|s| !**s).count();
    }
    Ok(report)
}

/// [`check`], and also fails if any node cannot be reached from the entry point on layer 0
/// (a search could never return it): what `Gallery::verify` and a commit that would copy
/// the graph require. Cost: O(nodes + edges), one breadth-first walk.
///
/// # Errors
/// As [`check`]; [`Error::Corrupt`] naming how many nodes are unreachable.
pub(crate) fn check_strict(g: &GraphView<'_>) -> Result<GraphReport> {
    let report = check(g)?;
    if report.unreachable > 0 {
        return Err(Error::corrupt(format!(
            "GRAPH section: {} of {} nodes are unreachable from the entry point on layer 0 \
             (searches can never return them); `vecmatch compact` rebuilds the graph",
            report.unreachable, report.nodes
        )));
    }
    Ok(report)
}

/// Which rows a breadth-first walk over layer 0 reaches from `entry`.
fn reachable<'a>(n: usize, entry: usize, nbrs: impl Fn(usize) -> &'a [u32]) -> Vec<bool> {
    let mut seen = vec![false; n];
    let mut queue = VecDeque::from([entry]);
    seen[entry] = true;
    while let Some(r) = queue.pop_front() {
        for &x in nbrs(r) {
            let x = x as usize;
            if x < n && !seen[x] {
                seen[x] = true;
                queue.push_back(x);
            }
        }
    }
    seen
}

/// BFS parents over layer 0 from `entry`: `parent[r]` is the node whose link first
/// reached `r` (`entry` for itself), [`NO_PARENT`] if `r` is unreachable.
fn bfs_parents<'a>(n: usize, entry: usize, nbrs: impl Fn(usize) -> &'a [u32]) -> Vec<u32> {
    let mut parent = vec![NO_PARENT; n];
    let mut queue = VecDeque::from([entry]);
    parent[entry] = entry as u32;
    while let Some(r) = queue.pop_front() {
        for &x in nbrs(r) {
            let x = x as usize;
            if x < n && parent[x] == NO_PARENT {
                parent[x] = r as u32;
                queue.push_back(x);
            }
        }
    }
    parent
}

/// Marks an unreachable node in [`bfs_parents`].
const NO_PARENT: u32 = u32::MAX;

/// Links every node that layer 0 cannot reach from the entry point from one of its
/// nearest reachable nodes (and back). Returns how many nodes were reconnected.
///
/// A host with a full list gives up its farthest link that is not an edge of the BFS
/// tree of the reachable nodes: every reachable node keeps its tree path, so no fix cuts
/// another node off, and each round reconnects every lost node (the nodes reachable from
/// them come along; the next round's BFS picks them up).
pub(crate) fn repair(g: &mut FrozenGraph, vectors: &[f32], dims: usize, metric: Metric) -> usize {
    let n = g.count;
    if n == 0 {
        return 0;
    }
    let row = |r: usize| &vectors[r * dims..(r + 1) * dims];
    let mut repaired = 0;
    for _round in 0..n {
        let mut parent = bfs_parents(n, g.entry_point as usize, |r| g.neighbors0(r));
        let lost: Vec<usize> = (0..n).filter(|&r| parent[r] == NO_PARENT).collect();
        if lost.is_empty() {
            break;
        }
        let mut fixed = false;
        for &u in &lost {
            if parent[u] != NO_PARENT {
                continue; // reconnected as a host's new link earlier in this round
            }
            // Reachable rows by distance (unreachable nodes are rare: brute force).
            let mut near: Vec<(f32, usize)> = (0..n)
                .filter(|&v| parent[v] != NO_PARENT)
                .map(|v| (metric::distance(metric, row(u), row(v)), v))
                .collect();
            near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            // The nearest host with room, else the nearest with a non-tree link to give
            // up (its farthest such).
            let room = near
                .iter()
                .take(32)
                .find(|(_, v)| g.neighbors0(*v).len() < g.m0);
            let choice = room.map(|&(_, v)| (v, None)).or_else(|| {
                near.iter().find_map(|&(_, v)| {
                    g.neighbors0(v)
                        .iter()
                        .enumerate()
                        .filter(|&(_, &w)| parent[w as usize] != v as u32)
                        .map(|(i, &w)| (i, metric::distance(metric, row(v), row(w as usize))))
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        .map(|(i, _)| (v, Some(i)))
                })
            });
            let Some((v, slot)) = choice else {
                continue;
            };
            let mut links = g.neighbors0(v).to_vec();
            match slot {
                Some(i) => links[i] = u as u32,
                None => links.push(u as u32),
            }
            g.set_neighbors0(v, &links);
            parent[u] = v as u32;
            let back = g.neighbors0(u);
            if back.len() < g.m0 && !back.contains(&(v as u32)) {
                let mut back = back.to_vec();
                back.push(v as u32);
                g.set_neighbors0(u, &back);
            }
            repaired += 1;
            fixed = true;
        }
        if !fixed {
            break;
        }
    }
    repaired
}
