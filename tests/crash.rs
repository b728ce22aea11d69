//! Crash safety: a child process commits a large change — through the Rust API
//! (`Collection::commit`) or the CLI (`vecmatch add`) — and is killed with SIGKILL at a
//! random moment, a few hundred times. After every kill the gallery must open, verify and
//! hold exactly the old rows or exactly the new ones; temporary files left by the killed
//! child are never opened and are removed by the next `Collection::open`.
//!
//! `VECMATCH_CRASH_ITERS` sets the number of kills (default 40, half per mode, sized for CI;
//! a release check runs `VECMATCH_CRASH_ITERS=300`). The kill moments come from a seed drawn
//! from the clock and printed; `VECMATCH_CRASH_SEED=N` replays one.
#![cfg(unix)]

mod common;

use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Rng;
use vecmatch::{Collection, CollectionOptions, Gallery, GalleryBuilder, Metric, OpenOptions};

const D: usize = 64;
const BASE: usize = 2_000;
const DELTA: usize = 30_000;
const CHILD_ENV: &str = "VECMATCH_CRASH_CHILD";

fn rows(seed: u64, n: usize) -> Vec<f32> {
    common::vecs(n, D, seed)
}

/// The change the Rust child makes: 30,000 new keys, 500 replaced, 500 deleted.
fn apply_change(c: &Collection) {
    let keys: Vec<u64> = (0..DELTA as u64).map(|i| 1_000_000 + i).collect();
    c.add_batch(&keys, &rows(2, DELTA)).unwrap();
    let replaced: Vec<u64> = (0..500).collect();
    c.add_batch(&replaced, &rows(3, 500)).unwrap();
    let deleted: Vec<u64> = (500..1000).collect();
    c.delete_batch(&deleted).unwrap();
}

/// Run by the child process only (the parent starts this test binary with `CHILD_ENV`).
#[test]
#[ignore = "run as a child process by commit_and_cli_add_survive_sigkill"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    apply_change(&c);
    println!("ready");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    c.commit().unwrap();
    println!("committed");
}

/// A digest of a gallery's contents: every (key, vector) in key order.
fn digest(g: &Gallery) -> (usize, u64) {
    let mut keys = g.keys().to_vec();
    keys.sort_unstable();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for k in &keys {
        k.hash(&mut h);
        for x in g.get(*k).unwrap().iter() {
            x.to_bits().hash(&mut h);
        }
    }
    (keys.len(), h.finish())
}

fn verified_digest(path: &Path) -> (usize, u64) {
    let g = Gallery::open_with(
        path,
        OpenOptions {
            verify_checksums: true,
        },
    )
    .unwrap_or_else(|e| panic!("the gallery does not open and verify after a kill: {e}"));
    digest(&g)
}

fn temp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count()
}

/// Replaces the gallery with the old bytes (atomically: nothing has it open).
fn restore(path: &Path, old: &[u8]) {
    let tmp = path.with_extension("restore");
    std::fs::write(&tmp, old).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Api,
    Cli,
}

struct Setup {
    path: PathBuf,
    delta_fvecs: PathBuf,
    delta_keys: PathBuf,
}

fn spawn(mode: Mode, s: &Setup) -> Child {
    match mode {
        Mode::Api => Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_ENV, &s.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        Mode::Cli => Command::new(env!("CARGO_BIN_EXE_vecmatch"))
            .arg("add")
            .arg(&s.path)
            .arg("--input")
            .arg(&s.delta_fvecs)
            .arg("--keys")
            .arg(&s.delta_keys)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    }
}

/// Starts the child; for the API child, waits until its change is applied in memory (so
/// the kill lands in the commit). Returns the child and when the timed part started.
fn start(mode: Mode, s: &Setup) -> (Child, Instant) {
    let mut child = spawn(mode, s);
    if let Mode::Api = mode {
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        for line in &mut lines {
            if line.unwrap() == "ready" {
                break;
            }
        }
        // Keep draining (the child prints once more) on a helper thread.
        std::thread::spawn(move || lines.for_each(drop));
    }
    (child, Instant::now())
}

#[test]
fn commit_and_cli_add_survive_sigkill() {
    let iters: usize = std::env::var("VECMATCH_CRASH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    b.add_batch(&(0..BASE as u64).collect::<Vec<_>>(), &rows(1, BASE))
        .unwrap();
    b.write(&path).unwrap();
    let old = std::fs::read(&path).unwrap();
    let old_digest = verified_digest(&path);

    // The CLI's input: the same 30,000 new rows as .fvecs, with their keys.
    let delta_fvecs = dir.path().join("delta.fvecs");
    common::write_fvecs(&delta_fvecs, D, &rows(2, DELTA)).unwrap();
    let delta_keys = dir.path().join("delta.keys");
    let keys: String = (0..DELTA).map(|i| format!("{}\n", 1_000_000 + i)).collect();
    std::fs::write(&delta_keys, keys).unwrap();
    let s = Setup {
        path: path.clone(),
        delta_fvecs,
        delta_keys,
    };

    // One undisturbed run of each mode: the new contents and how long the timed part takes.
    let mut new_digest = Vec::new();
    let mut window = Vec::new();
    for mode in [Mode::Api, Mode::Cli] {
        restore(&path, &old);
        let (mut child, t0) = start(mode, &s);
        assert!(child.wait().unwrap().success(), "{mode:?} child failed");
        window.push(t0.elapsed());
        new_digest.push(verified_digest(&path));
    }
    assert_eq!(new_digest[0].0, BASE + DELTA - 500);
    assert_eq!(new_digest[1].0, BASE + DELTA);

    let seed = match std::env::var("VECMATCH_CRASH_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("VECMATCH_CRASH_SEED={s:?} is not a u64")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    // Shown with the test's output when it fails (and with --nocapture).
    eprintln!("crash test: {iters} kills, seed {seed} (replay with VECMATCH_CRASH_SEED={seed})");
    let mut rng = Rng::new(seed);
    let (mut kept_old, mut got_new, mut leftovers) = (0, 0, 0);
    for i in 0..iters {
        let m = i % 2;
        let mode = [Mode::Api, Mode::Cli][m];
        restore(&path, &old);
        let (mut child, t0) = start(mode, &s);
        // A random moment within 1.2× the undisturbed duration.
        let max = window[m].mul_f64(1.2).as_micros().max(1) as u64;
        let at = Duration::from_micros(rng.next_u64() % max);
        std::thread::sleep(at.saturating_sub(t0.elapsed()));
        let _ = child.kill(); // SIGKILL on Unix
        child.wait().unwrap();
        leftovers += usize::from(temp_files(dir.path()) > 0);
        let d = verified_digest(&path);
        if d == old_digest {
            kept_old += 1;
        } else {
            assert_eq!(
                d, new_digest[m],
                "iteration {i} ({mode:?}, seed {seed}): neither the old nor the new contents"
            );
            got_new += 1;
        }
    }
    // The next open removes what killed children left behind.
    drop(Collection::open(&path).unwrap());
    assert_eq!(temp_files(dir.path()), 0, "stale temporary files remain");
    eprintln!(
        "{iters} kills: {kept_old} left the old contents, {got_new} the new; \
         {leftovers} left a temporary file; undisturbed runs {:?}",
        window
    );
}
