//! Durability under SIGKILL: a child process changes a collection opened with
//! `Durability::Always` (single adds, batches, replacements, deletes, and automatic commits
//! every 25 rows) and prints each step's number once the call returned; it is killed at a
//! random moment. The parent reopens the collection and checks that it holds exactly the
//! state after the last acknowledged step, or after the one in flight — never less (an
//! acknowledged change lost), never a mix.
//!
//! `VECMATCH_WAL_CRASH_ITERS` sets the number of kills (default 30; the long run is 300),
//! `VECMATCH_WAL_CRASH_SEED` the seed (printed by every run).
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Rng;
use vecmatch::{Collection, CollectionOptions, Durability, Metric};

const D: usize = 8;
const STEPS: usize = 4_000;
const CHILD_ENV: &str = "VECMATCH_WAL_CRASH_CHILD";
const SEED_ENV: &str = "VECMATCH_WAL_CRASH_CHILD_SEED";

/// One step of the child's plan.
#[derive(Debug)]
enum Step {
    Add(u64, Vec<f32>),
    Batch(Vec<u64>, Vec<f32>),
    Delete(u64),
}

fn vector(key: u64, step: usize) -> Vec<f32> {
    (0..D)
        .map(|i| key as f32 + 0.25 * i as f32 + step as f32 * 1e-3)
        .collect()
}

/// The deterministic plan of a run.
fn plan(seed: u64) -> Vec<Step> {
    let mut rng = Rng::new(seed);
    let mut next = 0u64;
    (0..STEPS)
        .map(|j| match rng.next_u64() % 10 {
            0..=4 => {
                next += 1;
                Step::Add(next - 1, vector(next - 1, j))
            }
            5 | 6 => {
                let keys: Vec<u64> = (next..next + 4).collect();
                next += 4;
                let rows = keys.iter().flat_map(|&k| vector(k, j)).collect();
                Step::Batch(keys, rows)
            }
            7 if next > 0 => {
                let k = rng.next_u64() % next; // a replacement (or a re-insertion)
                Step::Add(k, vector(k, j))
            }
            _ => Step::Delete(if next > 0 { rng.next_u64() % next } else { 0 }),
        })
        .collect()
}

/// The live rows after the first `n` steps.
fn model(plan: &[Step], n: usize) -> BTreeMap<u64, Vec<f32>> {
    let mut m = BTreeMap::new();
    for s in &plan[..n] {
        match s {
            Step::Add(k, v) => {
                m.insert(*k, v.clone());
            }
            Step::Batch(ks, rows) => {
                for (k, v) in ks.iter().zip(rows.chunks(D)) {
                    m.insert(*k, v.to_vec());
                }
            }
            Step::Delete(k) => {
                m.remove(k);
            }
        }
    }
    m
}

fn options() -> CollectionOptions {
    CollectionOptions {
        durability: Durability::Always,
        auto_commit_rows: Some(25),
        ..CollectionOptions::default()
    }
}

/// Run by the child process only (the parent starts this test binary with `CHILD_ENV`).
#[test]
#[ignore = "run as a child process by acknowledged_changes_survive_sigkill"]
fn wal_crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let c = Collection::open_with(&path, options()).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    for (j, s) in plan(seed).iter().enumerate() {
        match s {
            Step::Add(k, v) => drop(c.add(*k, v).unwrap()),
            Step::Batch(ks, rows) => drop(c.add_batch(ks, rows).unwrap()),
            Step::Delete(k) => drop(c.delete(*k).unwrap()),
        }
        writeln!(out, "ok {j}").unwrap();
        out.flush().unwrap();
    }
}

/// The live rows of the reopened collection among the keys the plan uses.
fn reopened(path: &Path, plan: &[Step]) -> BTreeMap<u64, Vec<f32>> {
    let c = Collection::open(path).unwrap_or_else(|e| panic!("reopening failed: {e}"));
    let max = plan
        .iter()
        .map(|s| match s {
            Step::Add(k, _) | Step::Delete(k) => *k,
            Step::Batch(ks, _) => ks[3],
        })
        .max()
        .unwrap_or(0);
    let m: BTreeMap<u64, Vec<f32>> = (0..=max).filter_map(|k| c.get(k).map(|v| (k, v))).collect();
    assert_eq!(m.len(), c.len(), "keys outside the plan");
    m
}

#[test]
fn acknowledged_changes_survive_sigkill() {
    let iters: usize = std::env::var("VECMATCH_WAL_CRASH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("VECMATCH_WAL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("VECMATCH_WAL_CRASH_SEED={seed} VECMATCH_WAL_CRASH_ITERS={iters}");
    let mut rng = Rng::new(seed);
    let (mut in_flight, mut total_steps, mut commits_seen) = (0, 0, 0);
    for i in 0..iters {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        drop(Collection::create(&path, D, Metric::L2, CollectionOptions::manual()).unwrap());
        let run_seed = rng.next_u64();
        let plan = plan(run_seed);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["wal_crash_child", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_ENV, &path)
            .env(SEED_ENV, run_seed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in &mut lines {
            if line.unwrap() == "ready" {
                break;
            }
        }
        // Count acknowledged steps on a helper thread while the child runs.
        let reader = std::thread::spawn(move || {
            lines
                .map_while(|l| l.ok())
                .filter(|l| l.starts_with("ok "))
                .count()
        });
        let t0 = Instant::now();
        let at = Duration::from_micros(rng.next_u64() % 300_000);
        std::thread::sleep(at.saturating_sub(t0.elapsed()));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        total_steps += acked;
        let got = reopened(&path, &plan);
        let after_acked = model(&plan, acked);
        if got != after_acked {
            assert!(
                acked < plan.len() && got == model(&plan, acked + 1),
                "iteration {i} (run seed {run_seed}): after {acked} acknowledged steps the \
                 reopened collection holds {} rows, neither the state after step {acked} \
                 ({} rows) nor after the step in flight",
                got.len(),
                after_acked.len()
            );
            in_flight += 1;
        }
        if !Collection::open(&path).unwrap().gallery().is_empty() {
            commits_seen += 1;
        }
    }
    eprintln!(
        "{iters} kills, {total_steps} acknowledged steps in all: every acknowledged step \
         present; {in_flight} runs also kept the step in flight; {commits_seen} runs had \
         committed (auto-commit) before the kill"
    );
}
