//! Searchers, one writer and one committer on one collection at once. Every answer must be
//! exactly the answer of one state the collection was in while the search ran (no torn
//! reads), so in particular a key deleted before a search started is never returned; and
//! changes made while a commit writes the file are carried over, none lost.
//!
//! Vectors and queries have small integer components under L2, so every distance is an
//! exact integer and ties are broken by key: answers are compared exactly.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::Rng;
use vecmatch::{Collection, CollectionOptions, GalleryBuilder, HnswParams, Metric, SearchParams};

const D: usize = 4;
const K: usize = 5;

type Row = (u64, [f32; D]);

#[derive(Clone, Debug)]
enum Op {
    Add(Vec<Row>),
    Delete(Vec<u64>),
    Commit,
}

fn int_vec(rng: &mut Rng) -> [f32; D] {
    std::array::from_fn(|_| (rng.next_u64() % 9) as f32 - 4.0)
}

/// The operations, and the state after each (`states[j]` = after `j` operations),
/// each state sorted by key.
fn plan(initial: Vec<Row>, n_ops: usize) -> (Vec<Op>, Vec<Arc<Vec<Row>>>) {
    let mut rng = Rng::new(99);
    let mut live: std::collections::BTreeMap<u64, [f32; D]> = initial.into_iter().collect();
    let mut states = vec![Arc::new(live.iter().map(|(k, v)| (*k, *v)).collect())];
    let mut ops = Vec::new();
    let mut next_key = 10_000;
    for i in 0..n_ops {
        let pick = |rng: &mut Rng, live: &std::collections::BTreeMap<u64, [f32; D]>| {
            live.keys()
                .nth(rng.next_u64() as usize % live.len().max(1))
                .copied()
        };
        let op = if i % 150 == 149 {
            Op::Commit
        } else {
            match rng.next_u64() % 20 {
                0..=6 => match pick(&mut rng, &live) {
                    Some(k) => Op::Add(vec![(k, int_vec(&mut rng))]),
                    None => Op::Commit,
                },
                7..=11 => {
                    next_key += 1;
                    Op::Add(vec![(next_key, int_vec(&mut rng))])
                }
                12..=17 => match pick(&mut rng, &live) {
                    Some(k) => Op::Delete(vec![k]),
                    None => Op::Commit,
                },
                18 => {
                    let mut rows = Vec::new();
                    for _ in 0..3 {
                        next_key += 1;
                        rows.push((next_key, int_vec(&mut rng)));
                    }
                    if let Some(k) = pick(&mut rng, &live) {
                        rows.push((k, int_vec(&mut rng)));
                    }
                    Op::Add(rows)
                }
                _ => {
                    let keys: Vec<u64> = (0..3).filter_map(|_| pick(&mut rng, &live)).collect();
                    Op::Delete(keys)
                }
            }
        };
        match &op {
            Op::Add(rows) => live.extend(rows.iter().copied()),
            Op::Delete(keys) => keys.iter().for_each(|k| {
                live.remove(k);
            }),
            Op::Commit => {}
        }
        ops.push(op);
        states.push(Arc::new(live.iter().map(|(k, v)| (*k, *v)).collect()));
    }
    (ops, states)
}

fn top_k(state: &[Row], q: &[f32; D]) -> Vec<(u64, f32)> {
    let mut all: Vec<(u64, f32)> = state
        .iter()
        .map(|(k, v)| {
            let d: f32 = v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
            (*k, d)
        })
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all.truncate(K);
    all
}

/// One observation of a reader: the window of operations it overlapped and what it saw.
struct Seen {
    /// Operations completed before the call started.
    before: usize,
    /// Operations completed when it returned (one more may have been published).
    after: usize,
    what: Observation,
}

enum Observation {
    Search([f32; D], Vec<(u64, f32)>),
    Contains(u64, bool),
    Len(usize),
}

fn consistent(s: &Seen, state: &[Row]) -> bool {
    match &s.what {
        Observation::Search(q, got) => top_k(state, q) == *got,
        Observation::Contains(k, c) => state.binary_search_by_key(k, |r| r.0).is_ok() == *c,
        Observation::Len(n) => state.len() == *n,
    }
}

#[test]
fn searchers_see_whole_states_while_a_writer_adds_deletes_and_commits() {
    let n_ops: usize = std::env::var("VECMATCH_STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng::new(5);
    let initial: Vec<Row> = (0..300u64).map(|k| (k, int_vec(&mut rng))).collect();
    let (ops, states) = plan(initial.clone(), n_ops);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stress.vmg");
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    for (k, v) in &initial {
        b.add(*k, v).unwrap();
    }
    // A graph, so commits rebuild one while searches run (searches here are exact).
    b.hnsw(HnswParams {
        m: 8,
        ef_construction: 32,
        ..HnswParams::default()
    })
    .unwrap();
    b.write(&path).unwrap();
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    let done = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);

    let seen: Vec<Vec<Seen>> = std::thread::scope(|s| {
        let readers: Vec<_> = (0..3u64)
            .map(|t| {
                let (c, done, finished) = (&c, &done, &finished);
                s.spawn(move || {
                    let mut rng = Rng::new(1000 + t);
                    let mut out = Vec::new();
                    let p = SearchParams {
                        k: K,
                        exact: true,
                        threads: Some(1),
                        ..SearchParams::default()
                    };
                    while finished.load(Ordering::Acquire) == 0 {
                        let before = done.load(Ordering::Acquire);
                        let what = match rng.next_u64() % 8 {
                            0 => {
                                let k = rng.next_u64() % 10_400;
                                Observation::Contains(k, c.contains(k))
                            }
                            1 => Observation::Len(c.len()),
                            _ => {
                                let q = int_vec(&mut rng);
                                let hits = c.search(&q, &p).unwrap();
                                let got = hits.iter().map(|h| (h.key, h.distance)).collect();
                                Observation::Search(q, got)
                            }
                        };
                        let after = done.load(Ordering::Acquire);
                        out.push(Seen {
                            before,
                            after,
                            what,
                        });
                    }
                    out
                })
            })
            .collect();
        // Commits in a loop, concurrently with the writer's own changes (and commits).
        let committer = {
            let (c, finished) = (&c, &finished);
            s.spawn(move || {
                let mut n = 0;
                while finished.load(Ordering::Acquire) == 0 {
                    if c.commit().unwrap().written {
                        n += 1;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                n
            })
        };
        for (j, op) in ops.iter().enumerate() {
            match op {
                Op::Add(rows) => {
                    let keys: Vec<u64> = rows.iter().map(|r| r.0).collect();
                    let vals: Vec<f32> = rows.iter().flat_map(|r| r.1).collect();
                    c.add_batch(&keys, &vals).unwrap();
                }
                Op::Delete(keys) => {
                    c.delete_batch(keys).unwrap();
                }
                Op::Commit => {
                    c.commit().unwrap();
                }
            }
            done.store(j + 1, Ordering::Release);
            if j % 64 == 0 {
                // Let the readers run between bursts of writes.
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        finished.store(1, Ordering::Release);
        eprintln!(
            "{} commits by the committer thread",
            committer.join().unwrap()
        );
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });

    // Nothing was lost: the final state, and after a last commit the file, hold exactly
    // the planned rows.
    let last = &states[n_ops];
    assert_eq!(c.len(), last.len());
    c.commit().unwrap();
    let g = vecmatch::Gallery::open(&path).unwrap();
    let mut stored: Vec<Row> = g
        .keys()
        .iter()
        .map(|k| (*k, g.get(*k).unwrap().as_ref().try_into().unwrap()))
        .collect();
    stored.sort_by_key(|r| r.0);
    assert_eq!(&stored, &**last);
    let mut checked = 0;
    let mut spanning = 0;
    for s in seen.iter().flatten() {
        let hi = (s.after + 1).min(n_ops);
        if s.after > s.before {
            spanning += 1;
        }
        assert!(
            (s.before..=hi).any(|j| consistent(s, &states[j])),
            "an answer matches no state between operations {} and {hi}",
            s.before
        );
        checked += 1;
    }
    eprintln!("{checked} reads checked, {spanning} overlapped a write; {n_ops} writes");
    assert!(checked > 1000, "only {checked} reads");
}
