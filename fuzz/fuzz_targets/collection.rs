//! Arbitrary sequences of collection calls (upserts with arbitrary values, batches,
//! deletes, commits, searches, lookups) checked against a model of the live rows: every
//! call returns an error or an answer consistent with the model, never a panic.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use vecmatch::{Collection, CollectionOptions, Metric, SearchParams};

const DIMS: usize = 4;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("vecmatch-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.vmg");
    let metric = [Metric::Cosine, Metric::Dot, Metric::L2]
        [usize::from(data.first().copied().unwrap_or(0) % 3)];
    let opts = CollectionOptions {
        auto_commit_rows: Some(16),
        auto_commit_deleted_fraction: Some(0.5),
        ..CollectionOptions::default()
    };
    let c = Collection::create(&path, DIMS, metric, opts).unwrap();
    // Live key → the largest magnitude in its vector (huge finite values can overflow a
    // distance to NaN, and NaN distances are never returned).
    let mut model: BTreeMap<u64, f32> = BTreeMap::new();
    let big = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let mut commits = 0;
    let mut rest = data.get(1..).unwrap_or(&[]);
    let mut take = |n: usize| -> Option<Vec<u8>> {
        let (a, b) = (rest.get(..n)?, rest.get(n..)?);
        rest = b;
        Some(a.to_vec())
    };
    let vector = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    while let Some(op) = take(2) {
        let key = u64::from(op[1] % 32);
        match op[0] % 8 {
            0 | 1 => {
                let Some(v) = take(4 * DIMS) else { break };
                let v = vector(&v);
                // Auto-commits may run here; their errors would be I/O errors only.
                if c.add(key, &v).is_ok() {
                    model.insert(key, big(&v));
                }
            }
            2 => {
                let n = usize::from(op[1] % 5);
                let Some(v) = take(4 * DIMS * n) else { break };
                let keys: Vec<u64> = (0..n as u64).map(|i| (key + i * 7) % 32).collect();
                let v = vector(&v);
                if c.add_batch(&keys, &v).is_ok() {
                    for (k, row) in keys.iter().zip(v.chunks_exact(DIMS)) {
                        model.insert(*k, big(row));
                    }
                }
            }
            3 | 4 => {
                assert_eq!(c.delete(key).unwrap(), model.remove(&key).is_some());
            }
            5 if commits < 2 => {
                commits += 1;
                c.commit().unwrap();
            }
            6 => {
                let Some(q) = take(4 * DIMS) else { break };
                let k = usize::from(op[1] % 40) + 1;
                let p = SearchParams {
                    k,
                    exact: op[1] & 1 == 0,
                    threads: Some(1),
                    ..SearchParams::default()
                };
                let q = vector(&q);
                if let Ok(hits) = c.search(&q, &p) {
                    assert!(hits.len() <= k);
                    assert!(
                        hits.iter().all(|h| model.contains_key(&h.key)),
                        "a dead key"
                    );
                    assert!(hits.windows(2).all(|w| w[0].cmp_rank(&w[1]).is_lt()));
                    let finite = big(&q) < 1e9 && model.values().all(|m| *m < 1e9);
                    if p.exact && finite {
                        assert_eq!(hits.len(), k.min(model.len()));
                    }
                }
            }
            _ => {
                assert_eq!(c.contains(key), model.contains_key(&key));
                assert_eq!(c.get(key).is_some(), model.contains_key(&key));
            }
        }
        assert_eq!(c.len(), model.len());
    }
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
});
