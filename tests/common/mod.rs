//! Shared helpers for integration tests: small deterministic galleries, a brute-force
//! `f64` oracle, and (re-exported) the readers, writers and generators of `tests/support`
//! that benches and examples share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

#[path = "../support/mod.rs"]
mod support;
pub use support::*;

use vecmatch::{Gallery, GalleryBuilder, Hit, KeyFilter, Metric, SearchParams};

/// The shipped base vectors (5,000 × 384) with keys = row numbers.
pub fn builder(metric: Metric) -> GalleryBuilder {
    let (d, v) = read_fvecs(data("base.fvecs")).unwrap();
    assert_eq!((d, v.len() / d), (384, 5000));
    let mut b = GalleryBuilder::new(d, metric).unwrap();
    let keys: Vec<u64> = (0..(v.len() / d) as u64).collect();
    b.add_batch(&keys, &v).unwrap();
    b
}

/// A bijective scramble of `row`, so keys are neither sorted nor contiguous and the key
/// index order differs from row order.
pub fn scrambled_key(row: u64) -> u64 {
    let mut x = row.wrapping_add(0x1234_5678);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A small deterministic gallery file `small.vmg` in `dir`, keys `scrambled_key(row)`.
/// Returns the path and the keys by row.
pub fn small_file(dir: &Path, n: usize, d: usize, metric: Metric) -> (PathBuf, Vec<u64>) {
    let mut b = GalleryBuilder::new(d, metric).unwrap();
    let v = vecs(n, d, 7);
    let keys: Vec<u64> = (0..n as u64).map(scrambled_key).collect();
    b.add_batch(&keys, &v).unwrap();
    let path = dir.join("small.vmg");
    b.write(&path).unwrap();
    (path, keys)
}

/// Opens the same file both ways: mmap and in memory.
pub fn both(path: &Path) -> [Gallery; 2] {
    [
        Gallery::open(path).unwrap(),
        Gallery::from_bytes(&std::fs::read(path).unwrap()).unwrap(),
    ]
}

/// Recomputes every CRC of a gallery file after a deliberate edit (each section's CRC in
/// the table, the table CRC and the header CRC), so that the edit is seen by the
/// structural checks and the search code rather than by a checksum. Works on the v1 layout
/// as written (table at the offset stored in the header); skips a table or entries that
/// point outside the file. `b` must hold at least the 128-byte header.
pub fn reseal(b: &mut [u8]) {
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let table = usize::try_from(u64_at(b, 48)).unwrap_or(usize::MAX);
    let count = u32_at(b, 56) as usize;
    let table_end = count
        .checked_mul(32)
        .and_then(|l| l.checked_add(table))
        .filter(|e| *e <= b.len());
    if let Some(table_end) = table_end {
        for e in (table..table_end).step_by(32) {
            let (off, len) = (u64_at(b, e + 8), u64_at(b, e + 16));
            if let Some(end) = off.checked_add(len).filter(|end| *end <= b.len() as u64) {
                let crc = crc32c::crc32c(&b[off as usize..end as usize]);
                b[e + 24..e + 28].copy_from_slice(&crc.to_le_bytes());
            }
        }
        let crc = crc32c::crc32c(&b[table..table_end]);
        b[64..68].copy_from_slice(&crc.to_le_bytes());
    }
    let crc = crc32c::crc32c(&b[..124]);
    b[124..128].copy_from_slice(&crc.to_le_bytes());
}

/// Exact distance in `f64` under `metric` (cosine normalises both sides in `f64`).
pub fn distance64(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    match metric {
        Metric::Cosine => 1.0 - dot / (norm(a) * norm(b)),
        Metric::Dot => 1.0 - dot,
        Metric::L2 => a
            .iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum(),
    }
}

/// A filter resolved to a set, for O(1) membership.
pub struct Admit(Option<(bool, std::collections::HashSet<u64>)>);

impl Admit {
    pub fn new(filter: Option<KeyFilter<'_>>) -> Admit {
        Admit(filter.map(|f| match f {
            KeyFilter::Allow(a) => (true, a.iter().copied().collect()),
            KeyFilter::Deny(d) => (false, d.iter().copied().collect()),
        }))
    }

    /// Whether `key` passes the filter.
    pub fn admits(&self, key: u64) -> bool {
        self.0
            .as_ref()
            .is_none_or(|(allow, set)| set.contains(&key) == *allow)
    }
}

/// Brute force: every admitted row with its exact distance (as `f64`), sorted by distance
/// then key; `max_distance` and `k` applied.
pub fn oracle(
    metric: Metric,
    rows: &[(u64, Vec<f32>)],
    q: &[f32],
    p: &SearchParams<'_>,
) -> Vec<(u64, f64)> {
    let admit = Admit::new(p.filter);
    let mut all: Vec<(u64, f64)> = rows
        .iter()
        .filter(|(k, _)| admit.admits(*k))
        .map(|(k, v)| (*k, distance64(metric, v, q)))
        .filter(|(_, d)| p.max_distance.is_none_or(|m| *d <= f64::from(m)))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all.truncate(p.k);
    all
}

/// The oracle's answer as `Hit`s (distances rounded to `f32`).
pub fn oracle_hits(
    metric: Metric,
    rows: &[(u64, Vec<f32>)],
    q: &[f32],
    p: &SearchParams<'_>,
) -> Vec<Hit> {
    oracle(metric, rows, q, p)
        .into_iter()
        .map(|(key, d)| Hit {
            key,
            distance: d as f32,
        })
        .collect()
}

/// Absolute tolerance on a distance computed in `f32` by SIMD kernels (different summation
/// order than the oracle): relative to the magnitude of the values summed.
pub fn tol(metric: Metric, q: &[f32], v: &[f32]) -> f64 {
    let scale: f64 = match metric {
        Metric::L2 => distance64(Metric::L2, q, v),
        Metric::Dot => q
            .iter()
            .zip(v)
            .map(|(a, b)| (f64::from(*a) * f64::from(*b)).abs())
            .sum(),
        Metric::Cosine => 1.0,
    };
    1e-5 * (scale + 1.0)
}

/// Checks search answers against the brute-force oracle; built once per data set.
pub struct Truth<'a> {
    metric: Metric,
    rows: &'a [(u64, Vec<f32>)],
    row_of: std::collections::HashMap<u64, usize>,
    /// For each row, the lowest-keyed rows holding an identical vector (exact ties).
    twins: Vec<Vec<u64>>,
}

impl<'a> Truth<'a> {
    pub fn new(metric: Metric, rows: &'a [(u64, Vec<f32>)]) -> Self {
        use std::collections::HashMap;
        let row_of = rows.iter().enumerate().map(|(i, r)| (r.0, i)).collect();
        let mut groups: HashMap<Vec<u32>, Vec<u64>> = HashMap::new();
        for (k, v) in rows {
            groups
                .entry(v.iter().map(|x| x.to_bits()).collect())
                .or_default()
                .push(*k);
        }
        let twins = rows
            .iter()
            .map(|(k, v)| {
                let bits: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
                groups[&bits].iter().copied().filter(|t| t < k).collect()
            })
            .collect();
        Truth {
            metric,
            rows,
            row_of,
            twins,
        }
    }

    /// Checks a search answer against the brute-force oracle:
    /// - sorted by `Hit::cmp_rank`, no duplicate keys, every key admitted by the filter,
    ///   every distance within `max_distance` and within tolerance of the key's exact
    ///   distance;
    /// - rank by rank, the key's exact distance equals the oracle's at that rank (so keys
    ///   may differ only where two exact distances are within tolerance: float near-ties);
    /// - the same length as the oracle's answer, except for hits whose exact distance lies
    ///   within tolerance of `max_distance` (they may fall on either side);
    /// - an exact tie (identical stored vectors) is broken by key: if a key is returned,
    ///   every admitted key with an identical vector and a lower value is returned too.
    pub fn check(&self, q: &[f32], p: &SearchParams<'_>, got: &[Hit]) -> Result<(), String> {
        use std::collections::{HashMap, HashSet};
        let metric = self.metric;
        let all = oracle(
            metric,
            self.rows,
            q,
            &SearchParams {
                k: usize::MAX,
                max_distance: None,
                ..*p
            },
        );
        let mut want: Vec<(u64, f64)> = all
            .iter()
            .copied()
            .filter(|(_, d)| p.max_distance.is_none_or(|m| *d <= f64::from(m)))
            .collect();
        want.truncate(p.k);
        let exact: HashMap<u64, f64> = all.iter().copied().collect();
        let tol_of = |key: u64| {
            self.row_of
                .get(&key)
                .map_or(1e-5, |r| tol(metric, q, &self.rows[*r].1))
        };
        let ctx = || format!("got {got:?}\nwant {want:?}");

        if !got.windows(2).all(|w| w[0].cmp_rank(&w[1]).is_lt()) {
            return Err(format!("not sorted by (distance, key)\n{}", ctx()));
        }
        let returned: HashSet<u64> = got.iter().map(|h| h.key).collect();
        if returned.len() != got.len() {
            return Err(format!("duplicate keys\n{}", ctx()));
        }
        for h in got {
            let Some(e) = exact.get(&h.key) else {
                return Err(format!(
                    "key {} is not stored or not admitted\n{}",
                    h.key,
                    ctx()
                ));
            };
            if (f64::from(h.distance) - e).abs() > tol_of(h.key) {
                return Err(format!(
                    "key {}: distance {} vs exact {e}",
                    h.key, h.distance
                ));
            }
            if let Some(m) = p.max_distance
                && h.distance > m
            {
                return Err(format!(
                    "key {}: {} beyond max_distance {m}",
                    h.key, h.distance
                ));
            }
        }
        for (rank, (g, w)) in got.iter().zip(&want).enumerate() {
            let e = exact[&g.key];
            if g.key != w.0 && (e - w.1).abs() > tol_of(g.key).max(tol_of(w.0)) {
                return Err(format!(
                    "rank {rank}: key {} (exact {e}) instead of {} (exact {})\n{}",
                    g.key,
                    w.0,
                    w.1,
                    ctx()
                ));
            }
        }
        if got.len() != want.len() {
            let extra: Vec<u64> = if got.len() > want.len() {
                got[want.len()..].iter().map(|h| h.key).collect()
            } else {
                want[got.len()..].iter().map(|w| w.0).collect()
            };
            let on_boundary = |key: u64| {
                p.max_distance.is_some_and(|m| {
                    exact
                        .get(&key)
                        .is_some_and(|e| (e - f64::from(m)).abs() <= tol_of(key))
                })
            };
            if !extra.iter().all(|k| on_boundary(*k)) {
                return Err(format!(
                    "length {} vs {} (keys {extra:?} are not on the max_distance boundary)\n{}",
                    got.len(),
                    want.len(),
                    ctx()
                ));
            }
        }
        // Exact ties: identical stored vectors have bit-identical distances, so the lower
        // key must win.
        let admit = Admit::new(p.filter);
        for h in got {
            let twins = &self.twins[self.row_of[&h.key]];
            if let Some(k) = twins
                .iter()
                .find(|k| admit.admits(**k) && !returned.contains(k))
            {
                return Err(format!(
                    "tie broken wrongly: key {} returned, key {k} (same vector) not\n{}",
                    h.key,
                    ctx()
                ));
            }
        }
        Ok(())
    }
}
