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

/// Links every node that layer 0 cannot reach from the entry point from its nearest
/// reachable nodes (and back). Returns how many nodes were reconnected.
pub(crate) fn repair(g: &mut FrozenGraph, vectors: &[f32], dims: usize, metric: Metric) -> usize {
    let n = g.count;
    if n == 0 {
        return 0;
    }
    let row = |r: usize| &vectors[r * dims..(r + 1) * dims];
    let mut repaired = 0;
    // Each round reconnects every lost node; replacing links in full lists can cut a few
    // others off, which the next round reconnects (non-metric inner-product data with
    // M = 2 needed 8 rounds in tests).
    for _round in 0..32 {
        let seen = reachable(n, g.entry_point as usize, |r| g.neighbors0(r));
        let lost: Vec<usize> = (0..n).filter(|&r| !seen[r]).collect();
        if lost.is_empty() {
            break;
        }
        // Links from reachable nodes only: a node with two of them survives losing one.
        let mut indeg = vec![0u32; n];
        for r in (0..n).filter(|&r| seen[r]) {
            for &w in g.neighbors0(r) {
                if let Some(c) = indeg.get_mut(w as usize) {
                    *c += 1;
                }
            }
        }
        let mut hosted = vec![0u32; n];
        for &u in &lost {
            // The nearest reachable rows, by brute force (unreachable nodes are rare).
            let mut near: Vec<(f32, usize)> = (0..n)
                .filter(|&v| seen[v])
                .map(|v| (metric::distance(metric, row(u), row(v)), v))
                .collect();
            // Prefer the nearest of the 32 nearest that has room (replacing a link can cut
            // another node off, which matters with tiny M).
            let k = near.len().min(32);
            near.select_nth_unstable_by(k.saturating_sub(1), |a, b| a.0.total_cmp(&b.0));
            near.truncate(k);
            // Ties (e.g. identical rows) go to the host used least this round, so lost
            // nodes do not all replace each other in one host's list.
            near.sort_by(|a, b| a.0.total_cmp(&b.0).then(hosted[a.1].cmp(&hosted[b.1])));
            let Some(&(_, v)) = near
                .iter()
                .find(|(_, v)| g.neighbors0(*v).len() < g.m0)
                .or(near.first())
            else {
                continue;
            };
            hosted[v] += 1;
            let mut links = g.neighbors0(v).to_vec();
            if links.len() >= g.m0 {
                // Replace v's farthest neighbour that another reachable node also links to
                // (so it likely stays reachable), else its farthest; a later round
                // reconnects a node this cuts off. (With many equal distances, e.g. identical rows, the
                // builder's lists all favour the same low rows, and replacing those costs
                // nothing.)
                let far = |shared: bool| {
                    links
                        .iter()
                        .enumerate()
                        .filter(|&(_, &w)| !shared || indeg[w as usize] >= 2)
                        .map(|(i, &w)| (i, metric::distance(metric, row(v), row(w as usize))))
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                };
                if let Some((i, _)) = far(true).or_else(|| far(false)) {
                    indeg[links[i] as usize] -= 1;
                    indeg[u] += 1;
                    links[i] = u as u32;
                }
            } else {
                indeg[u] += 1;
                links.push(u as u32);
            }
            g.set_neighbors0(v, &links);
            let back = g.neighbors0(u);
            if back.len() < g.m0 && !back.contains(&(v as u32)) {
                let mut back = back.to_vec();
                back.push(v as u32);
                g.set_neighbors0(u, &back);
            }
            repaired += 1;
        }
    }
    repaired
}
