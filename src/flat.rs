//! Exact (brute-force) search, single and batch.
//!
//! - A single query splits the gallery into row chunks scanned in parallel; each worker
//!   keeps its own bounded top-k, merged at the end. No locks in the inner loop.
//! - A batch tiles queries × gallery rows: each block of `BLOCK_ROWS` rows is read from
//!   memory once per worker and compared with every query while it sits in cache, with a
//!   register-blocked kernel (`metric::cross`), so batches are compute-bound.
//! - An allow-list is resolved to rows once per call and only those rows are scanned; a
//!   deny-list is resolved to sorted rows and checked only for hits that would enter the
//!   top-k.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::codec::{CodedQuery, Query, Rows};
use crate::error::{Error, Result};
use crate::filter::{Base, RowSet};
use crate::gallery::View;
use crate::metric::{self, prepare_query};
use crate::pool;
use crate::rescore;
use crate::topk::TopK;
use crate::types::{Hit, SearchParams};

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

pub(crate) fn new_top(params: &SearchParams<'_>) -> TopK {
    TopK::new(params.k, params.max_distance)
}

/// Offers the distances of rows `start..start + dists.len()` to `top`.
#[inline]
fn offer(view: &View<'_>, set: &RowSet<'_>, top: &mut TopK, start: usize, dists: &[f32]) {
    for (i, &d) in dists.iter().enumerate() {
        if top.accepts(d) {
            let row = start + i;
            if !set.denies(row) {
                top.push(Hit {
                    key: view.keys[row],
                    distance: d,
                });
            }
        }
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
) -> TopK {
    let mut top = new_top(params);
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
pub(crate) fn scan_list(
    view: &View<'_>,
    q: Query<'_>,
    rows: &[usize],
    params: &SearchParams<'_>,
) -> TopK {
    let mut top = new_top(params);
    for (i, &row) in rows.iter().enumerate() {
        // The rows are scattered: request each one a few rows before it is needed (the
        // hardware prefetcher only follows sequential scans).
        if let Some(&next) = rows.get(i + LIST_PREFETCH_AHEAD) {
            view.prefetch(next);
        }
        let d = view.rows.distance_q(view.metric, view.dims, q, row);
        if top.accepts(d) {
            top.push(Hit {
                key: view.keys[row],
                distance: d,
            });
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

/// Exact top-k for one query over the rows of `set` (`params.filter` is not read).
pub(crate) fn search_in(
    view: &View<'_>,
    query: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<Hit>> {
    let q = prepare_query(view.metric, view.dims, query)?;
    let Some(exact) = view.rescorer(params) else {
        return scan_all(view, Query::F32(&q), set, params);
    };
    if params.max_distance.is_some() {
        // A range search must not lose rows near the threshold to rounding: scan the
        // exact rows.
        return scan_all(&exact, Query::F32(&q), set, params);
    }
    let wide = SearchParams {
        k: rescore::candidates(params),
        ..*params
    };
    // The candidates are re-ranked, so i8 rows are compared with a coded query (integer
    // dot products: the scan runs at memory speed instead of at decoding speed).
    let coded = view.rows.coded_query(view.metric, &q);
    let compact = coded.as_ref().map_or(Query::F32(&q), Query::Coded);
    let found = scan_all(view, compact, set, &wide)?;
    Ok(rescore::rerank_hits(&exact, &q, &found, params))
}

/// Exact top-k of one prepared query over the stored rows of `view`, without re-ranking.
fn scan_all(
    view: &View<'_>,
    q: Query<'_>,
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<Hit>> {
    let threads = pool::effective(params.threads);
    let top = match &set.base {
        Base::Only(rows, _) => {
            if threads == 1 || rows.len() < PAR_MIN_ROWS {
                scan_list(view, q, rows, params)
            } else {
                pool::install(params.threads, || {
                    rows.par_chunks(rows.len().div_ceil(threads * 4))
                        .map(|c| scan_list(view, q, c, params))
                        .reduce(|| new_top(params), merged)
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
                        .reduce(|| new_top(params), merged)
                })?
            }
        }
    };
    Ok(top.into_sorted())
}

fn merged(mut a: TopK, b: TopK) -> TopK {
    a.merge(b);
    a
}

/// Validates and prepares (normalises for cosine) every query of a batch.
pub(crate) fn prepare_batch<'q>(view: &View<'_>, queries: &'q [f32]) -> Result<Cow<'q, [f32]>> {
    let d = view.dims;
    if !queries.len().is_multiple_of(d) {
        return Err(Error::DimensionMismatch {
            expected: d,
            found: queries.len() % d,
        });
    }
    let mut owned: Option<Vec<f32>> = None;
    for (i, q) in queries.chunks_exact(d).enumerate() {
        let p = prepare_query(view.metric, d, q).map_err(|e| match e {
            Error::NonFinite { index, .. } => Error::NonFinite {
                what: format!("query {i}"),
                index,
            },
            Error::ZeroVector { .. } => Error::ZeroVector {
                what: format!("query {i}"),
            },
            other => other,
        })?;
        if let Cow::Owned(v) = p {
            owned
                .get_or_insert_with(|| Vec::with_capacity(queries.len()))
                .extend_from_slice(&v);
        }
    }
    Ok(owned.map_or(Cow::Borrowed(queries), Cow::Owned))
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
) -> Vec<TopK> {
    let qs = match qs {
        Queries::F32(qs) => qs,
        Queries::Coded(cq, codes) => {
            return batch_range_coded(view, cq, codes, set, params, lo, hi);
        }
    };
    let d = view.dims;
    let nq = qs.len() / d;
    let mut tops: Vec<TopK> = (0..nq).map(|_| new_top(params)).collect();
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
) -> Vec<TopK> {
    let d = view.dims;
    let nq = cq.len();
    let len = cq.first().map_or(0, |q| q.codes().len());
    let mut tops: Vec<TopK> = (0..nq).map(|_| new_top(params)).collect();
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

/// Exact top-k for many queries over the rows of `set` (`params.filter` is not read).
pub(crate) fn search_batch_in(
    view: &View<'_>,
    queries: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
) -> Result<Vec<Vec<Hit>>> {
    let Some(exact) = view.rescorer(params) else {
        return batch_all(view, queries, set, params, false);
    };
    if params.max_distance.is_some() {
        return batch_all(&exact, queries, set, params, false);
    }
    let wide = SearchParams {
        k: rescore::candidates(params),
        ..*params
    };
    // The candidates are re-ranked: compare codes with codes, as `search_in` does (where
    // the integer tiles make that faster than the f32 tile).
    let found = batch_all(view, queries, set, &wide, true)?;
    let qs = prepare_batch(view, queries)?;
    let d = view.dims;
    let rerank = |(q, hits): (&[f32], &Vec<Hit>)| rescore::rerank_hits(&exact, q, hits, params);
    pool::install(params.threads, || {
        qs.par_chunks(d).zip(found.par_iter()).map(rerank).collect()
    })
}

/// Exact top-k of many queries over the stored rows of `view`, without re-ranking; with
/// `coded`, `i8` and `i4` rows are compared with queries quantised like them (the
/// candidate pass of a re-ranked search; not for L2, whose queries stay f32), where the
/// backend has integer batch tiles (`metric::has_integer_tiles`).
fn batch_all(
    view: &View<'_>,
    queries: &[f32],
    set: &RowSet<'_>,
    params: &SearchParams<'_>,
    coded: bool,
) -> Result<Vec<Vec<Hit>>> {
    let qs = prepare_batch(view, queries)?;
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
    let cq_codes: Vec<i8> = match view.rows {
        Rows::I8 { .. } | Rows::I4 { .. } if cq.len() == nq => {
            cq.iter().flat_map(|q| q.codes()).copied().collect()
        }
        _ => Vec::new(),
    };
    let batch = if cq.len() == nq {
        Queries::Coded(&cq, &cq_codes)
    } else {
        Queries::F32(&qs)
    };
    let threads = pool::effective(params.threads);
    let tops: Vec<TopK> = match &set.base {
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
                            || (0..nq).map(|_| new_top(params)).collect(),
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
    Ok(tops.into_iter().map(TopK::into_sorted).collect())
}
