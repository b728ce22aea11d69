//! The exact-scan executor, single and batch: the best candidate rows of a row set by
//! their distance on the stored rows (the search planner re-ranks and maps
//! them to hits).
//!
//! - A single query splits the gallery into row chunks scanned in parallel; each worker
//!   keeps its own bounded top-k, merged at the end. No locks in the inner loop.
//! - A batch tiles queries × gallery rows: each block of `BLOCK_ROWS` rows is read from
//!   memory once per worker and compared with every query while it sits in cache, with a
//!   register-blocked kernel (`metric::cross`), so batches are compute-bound.
//! - An explicit row list (an allow-list, selective labels) is scanned row by row; any
//!   other row set is checked only for rows that would enter the top-k.

use rayon::prelude::*;

use crate::codec::{CodedQuery, Query, Rows};
use crate::error::Result;
use crate::filter::{Base, RowSet};
use crate::metric;
use crate::pool;
use crate::topk::{RowHit, Top};
use crate::types::SearchParams;
use crate::view::View;

/// Rows per distance block: 256 rows of 384 f32 are 384 KiB, inside a 512 KiB L2.
const BLOCK_ROWS: usize = 256;
/// Rows per block in batch mode: the block is reused for every query, so keep it in L2
/// next to the queries.
const BATCH_BLOCK_ROWS: usize = 64;
/// Queries per group in batch mode (bounds the distance buffer to `QUERY_GROUP × BATCH_BLOCK_ROWS`).
const QUERY_GROUP: usize = 256;
/// Fewest queries per worker when a batch is split by queries.
const QT_MIN: usize = 8;
/// Below this many rows a single query is scanned on the calling thread: splitting costs
/// more than it saves.
const PAR_MIN_ROWS: usize = 8192;

/// The bounded top-k of candidate rows for `params`.
fn new_rows(params: &SearchParams<'_>) -> Top<RowHit> {
    Top::new(params.k, params.max_distance)
}

/// Offers the distances of rows `start..start + dists.len()` to `top`.
#[inline]
fn offer(view: &View<'_>, set: &RowSet<'_>, top: &mut Top<RowHit>, start: usize, dists: &[f32]) {
    for (i, &d) in dists.iter().enumerate() {
        if top.accepts(d) {
            let row = start + i;
            if !set.denies(row) {
                top.push(candidate(view, row, d));
            }
        }
    }
}

/// Row `row` at distance `d` (rows are below `u32::MAX`: checked at open).
#[inline]
fn candidate(view: &View<'_>, row: usize, d: f32) -> RowHit {
    RowHit {
        distance: d,
        row: row as u32,
        key: view.keys[row],
    }
}

/// Scans rows `lo..hi` for one query.
fn scan_range(
    view: &View<'_>,
    q: Query<'_>,
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
    lo: usize,
    hi: usize,
) -> Top<RowHit> {
    let mut top = new_rows(params);
    let mut buf = [0f32; BLOCK_ROWS];
    let mut start = lo;
    while start < hi {
        let end = (start + BLOCK_ROWS).min(hi);
        let out = &mut buf[..end - start];
        view.rows.scan(view.metric, view.dims, q, start, out);
        offer(view, set, &mut top, start, out);
        start = end;
    }
    top
}

/// How many rows ahead `scan_list` prefetches.
const LIST_PREFETCH_AHEAD: usize = 2;

/// Scans an explicit row list for one query.
fn scan_list(
    view: &View<'_>,
    q: Query<'_>,
    rows: &[usize],
    params: &SearchParams<'_>,
) -> Top<RowHit> {
    let mut top = new_rows(params);
    for (i, &row) in rows.iter().enumerate() {
        // The rows are scattered: request each one a few rows before it is needed (the
        // hardware prefetcher only follows sequential scans).
        if let Some(&next) = rows.get(i + LIST_PREFETCH_AHEAD) {
            view.prefetch(next);
        }
        let d = view.rows.distance_q(view.metric, view.dims, q, row);
        if top.accepts(d) {
            top.push(candidate(view, row, d));
        }
    }
    top
}

/// Splits `0..n` into about `4 × threads` chunks of at least `min` items.
fn chunks(n: usize, threads: usize, min: usize) -> Vec<(usize, usize)> {
    let size = n.div_ceil(threads * 4).max(min).max(1);
    (0..n.div_ceil(size))
        .map(|c| (c * size, ((c + 1) * size).min(n)))
        .collect()
}

/// The best `params.k` rows of `set` (within `params.max_distance`) for one prepared
/// query, by distance on the stored rows of `view`, best first (ties by key).
pub(crate) fn scan(
    view: &View<'_>,
    q: Query<'_>,
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<RowHit>> {
    let threads = pool::effective(params.threads);
    let top = match &set.base {
        Base::Only(rows, _) => {
            if threads == 1 || rows.len() < PAR_MIN_ROWS {
                scan_list(view, q, rows, params)
            } else {
                pool::install(params.threads, || {
                    rows.par_chunks(rows.len().div_ceil(threads * 4))
                        .map(|c| scan_list(view, q, c, params))
                        .reduce(|| new_rows(params), merged)
                })?
            }
        }
        _ => {
            let n = view.count();
            if threads == 1 || n < PAR_MIN_ROWS {
                scan_range(view, q, set, params, 0, n)
            } else {
                let parts = chunks(n, threads, BLOCK_ROWS * 4);
                pool::install(params.threads, || {
                    parts
                        .par_iter()
                        .map(|&(lo, hi)| scan_range(view, q, set, params, lo, hi))
                        .reduce(|| new_rows(params), merged)
                })?
            }
        }
    };
    Ok(top.into_sorted())
}

fn merged(mut a: Top<RowHit>, b: Top<RowHit>) -> Top<RowHit> {
    a.merge(b);
    a
}

/// The queries of a batch as the kernels take them.
#[derive(Clone, Copy)]
enum Queries<'a> {
    /// Prepared queries, `dims` each.
    F32(&'a [f32]),
    /// Queries quantised like the rows ([`Rows::coded_query`]) and their codes back to
    /// back (all coded queries of a gallery have the same length).
    Coded(&'a [CodedQuery], &'a [i8]),
}

impl<'a> Queries<'a> {
    /// Queries `a..b`.
    fn part(self, d: usize, a: usize, b: usize) -> Queries<'a> {
        match self {
            Queries::F32(q) => Queries::F32(&q[a * d..b * d]),
            Queries::Coded(q, c) => {
                let len = q.first().map_or(0, |q| q.codes().len());
                Queries::Coded(&q[a..b], c.get(a * len..b * len).unwrap_or(&[]))
            }
        }
    }
}

/// Tiled scan of rows `lo..hi` against every query: one top-k per query.
fn batch_range(
    view: &View<'_>,
    qs: Queries<'_>,
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
    lo: usize,
    hi: usize,
) -> Vec<Top<RowHit>> {
    let qs = match qs {
        Queries::F32(qs) => qs,
        Queries::Coded(cq, codes) => {
            return batch_range_coded(view, cq, codes, set, params, lo, hi);
        }
    };
    let d = view.dims;
    let nq = qs.len() / d;
    let mut tops: Vec<Top<RowHit>> = (0..nq).map(|_| new_rows(params)).collect();
    let mut buf = vec![0f32; QUERY_GROUP.min(nq) * BATCH_BLOCK_ROWS];
    // Compact rows are decoded one block at a time, once for all the queries.
    let mut decoded = match view.rows {
        Rows::F32(_) => Vec::new(),
        _ => vec![0f32; BATCH_BLOCK_ROWS * d],
    };
    let mut start = lo;
    while start < hi {
        let end = (start + BATCH_BLOCK_ROWS).min(hi);
        let nr = end - start;
        let rows: &[f32] = match view.rows {
            Rows::F32(v) => &v[start * d..end * d],
            other => {
                other.decode_into(d, start, &mut decoded[..nr * d]);
                &decoded[..nr * d]
            }
        };
        for g in (0..nq).step_by(QUERY_GROUP) {
            let gq = QUERY_GROUP.min(nq - g);
            let out = &mut buf[..gq * nr];
            metric::cross(view.metric, &qs[g * d..(g + gq) * d], rows, d, out);
            for (j, dists) in out.chunks_exact(nr).enumerate() {
                offer(view, set, &mut tops[g + j], start, dists);
            }
        }
        start = end;
    }
    tops
}

/// [`batch_range`] for coded queries: the candidate pass of a re-ranked batch, with the
/// codes and distances of the single-query path (`search_in`).
fn batch_range_coded(
    view: &View<'_>,
    cq: &[CodedQuery],
    codes: &[i8],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
    lo: usize,
    hi: usize,
) -> Vec<Top<RowHit>> {
    let d = view.dims;
    let nq = cq.len();
    let len = cq.first().map_or(0, |q| q.codes().len());
    let mut tops: Vec<Top<RowHit>> = (0..nq).map(|_| new_rows(params)).collect();
    let mut buf = vec![0f32; QUERY_GROUP.min(nq) * BATCH_BLOCK_ROWS];
    let mut dots = Vec::with_capacity(buf.len());
    let mut start = lo;
    while start < hi {
        let end = (start + BATCH_BLOCK_ROWS).min(hi);
        let nr = end - start;
        for g in (0..nq).step_by(QUERY_GROUP) {
            let gq = QUERY_GROUP.min(nq - g);
            let out = &mut buf[..gq * nr];
            let gcodes = codes.get(g * len..(g + gq) * len).unwrap_or(&[]);
            let cqs = &cq[g..g + gq];
            view.rows
                .cross_coded(d, cqs, gcodes, start, nr, &mut dots, out);
            for (j, dists) in out.chunks_exact(nr).enumerate() {
                offer(view, set, &mut tops[g + j], start, dists);
            }
        }
        start = end;
    }
    tops
}

/// [`scan`] of many prepared queries (row-major), tiled; with `coded`, `i8` and `i4` rows
/// are compared with queries quantised like them (the candidate pass of a re-ranked
/// search; not for L2, whose queries stay f32), where the backend has integer batch tiles
/// (`metric::has_integer_tiles`).
pub(crate) fn scan_batch(
    view: &View<'_>,
    qs: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
    coded: bool,
) -> Result<Vec<Vec<RowHit>>> {
    let d = view.dims;
    let nq = qs.len() / d;
    if nq == 0 {
        return Ok(Vec::new());
    }
    let cq: Vec<CodedQuery> = if coded && metric::has_integer_tiles() {
        qs.chunks_exact(d)
            .map_while(|q| view.rows.coded_query(view.metric, q))
            .collect()
    } else {
        Vec::new()
    };
    // Only `i8` / `i4` rows give coded queries (`coded_query` is `None` for the others).
    let cq_codes: Vec<i8> = if cq.len() == nq {
        cq.iter().flat_map(|q| q.codes()).copied().collect()
    } else {
        Vec::new()
    };
    let batch = if cq.len() == nq {
        Queries::Coded(&cq, &cq_codes)
    } else {
        Queries::F32(qs)
    };
    let threads = pool::effective(params.threads);
    let tops: Vec<Top<RowHit>> = match &set.base {
        Base::Only(rows, _) => pool::install(params.threads, || {
            (0..nq)
                .into_par_iter()
                .map(|i| {
                    let q = match batch {
                        Queries::Coded(cq, _) => Query::Coded(&cq[i]),
                        Queries::F32(_) => Query::F32(&qs[i * d..(i + 1) * d]),
                    };
                    scan_list(view, q, rows, params)
                })
                .collect()
        })?,
        _ => {
            let n = view.count();
            if threads == 1 || (n < PAR_MIN_ROWS && nq < 2 * QT_MIN) {
                batch_range(view, batch, set, params, 0, n)
            } else if n < PAR_MIN_ROWS {
                // Few rows, many queries: the gallery fits in cache, so split the queries.
                let per = nq.div_ceil(threads).max(QT_MIN);
                let starts: Vec<usize> = (0..nq).step_by(per).collect();
                pool::install(params.threads, || {
                    starts
                        .par_iter()
                        .flat_map_iter(|&a| {
                            let part = batch.part(d, a, (a + per).min(nq));
                            batch_range(view, part, set, params, 0, n)
                        })
                        .collect()
                })?
            } else {
                let parts = chunks(n, threads, BATCH_BLOCK_ROWS * 16);
                pool::install(params.threads, || {
                    parts
                        .par_iter()
                        .map(|&(lo, hi)| batch_range(view, batch, set, params, lo, hi))
                        .reduce(
                            || (0..nq).map(|_| new_rows(params)).collect(),
                            |mut a, b| {
                                for (x, y) in a.iter_mut().zip(b) {
                                    x.merge(y);
                                }
                                a
                            },
                        )
                })?
            }
        }
    };
    Ok(tops.into_iter().map(Top::into_sorted).collect())
}
