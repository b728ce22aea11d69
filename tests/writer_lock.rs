//! One writer per gallery across processes (issue 14, item 1): concurrent `vecmatch add`
//! and `delete` processes never lose an acknowledged change nor bring back a deleted key
//! (the loser gets a clean "locked" error, or waits with `--wait`), and a `Collection` in
//! another process holds the file's writer lock from open until it is dropped.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vecmatch::{Collection, CollectionOptions, Error, Gallery, GalleryBuilder, Metric};

const D: usize = 32;

/// Set in the child process that [`helper_child`] runs in.
const HELPER_ENV: &str = "VECMATCH_TEST_LOCK_HELPER";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A gallery of `n` random rows, keys `0..n`.
fn gallery(dir: &Path, n: usize) -> PathBuf {
    let v = common::vecs(n, D, 11);
    let keys: Vec<u64> = (0..n as u64).collect();
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    b.add_batch(&keys, &v).unwrap();
    let path = dir.join("g.vmg");
    b.write(&path).unwrap();
    path
}

/// Writes `keys.len()` random rows as .fvecs and the keys as text; returns both paths.
fn batch(dir: &Path, name: &str, keys: &[u64], seed: u64) -> (PathBuf, PathBuf) {
    let v = dir.join(format!("{name}.fvecs"));
    common::write_fvecs(&v, D, &common::vecs(keys.len(), D, seed)).unwrap();
    let k = dir.join(format!("{name}.txt"));
    let text: String = keys.iter().map(|k| format!("{k}\n")).collect();
    std::fs::write(&k, text).unwrap();
    (v, k)
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vecmatch"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vecmatch")
}

/// Whether the command succeeded; otherwise it must have failed cleanly because the
/// other writer held the lock.
fn acknowledged(o: &Output) -> bool {
    if o.status.success() {
        return true;
    }
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.contains("is locked by another writer"), "{e}");
    false
}

/// Two `add` processes with distinct keys over one gallery: every acknowledged key is in
/// the file afterwards. Without `--wait` one may be refused; with it both succeed.
#[test]
fn concurrent_adds_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ka: Vec<u64> = (100_000..100_300).collect();
    let kb: Vec<u64> = (200_000..200_300).collect();
    let (va, fa) = batch(dir.path(), "a", &ka, 1);
    let (vb, fb) = batch(dir.path(), "b", &kb, 2);
    let mut refused = 0;
    for trial in 0..16 {
        let g = gallery(dir.path(), 3000);
        let wait = trial % 2 == 1;
        let args = |v: &Path, k: &Path| {
            let mut a = vec!["add", s(&g), "--input", s(v), "--keys", s(k)]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>();
            if wait {
                a.extend(["--wait".into(), "60".into()]);
            }
            a
        };
        let aa = args(&va, &fa);
        let ab = args(&vb, &fb);
        let pa = spawn(&aa.iter().map(String::as_str).collect::<Vec<_>>());
        let pb = spawn(&ab.iter().map(String::as_str).collect::<Vec<_>>());
        let (oa, ob) = (
            pa.wait_with_output().unwrap(),
            pb.wait_with_output().unwrap(),
        );
        let (a, b) = (acknowledged(&oa), acknowledged(&ob));
        if wait {
            assert!(a && b, "with --wait both must succeed");
        }
        refused += usize::from(!a) + usize::from(!b);
        let out = Gallery::open(&g).unwrap();
        assert!(out.verify().is_ok());
        for (ok, keys) in [(a, &ka), (b, &kb)] {
            let present = keys.iter().filter(|k| out.contains(**k)).count();
            let expected = if ok { keys.len() } else { 0 };
            assert_eq!(present, expected, "trial {trial}: acknowledged {ok}");
        }
        assert_eq!(
            out.len(),
            3000 + usize::from(a) * ka.len() + usize::from(b) * kb.len()
        );
    }
    eprintln!("{refused} of 16 adds were refused as locked (no --wait in 8 trials)");
}

/// `delete` racing `add`: a deleted key is never back in the file after the delete was
/// acknowledged, and the added keys are there when the add was.
#[test]
fn delete_racing_add_never_resurrects() {
    let dir = tempfile::tempdir().unwrap();
    let added: Vec<u64> = (500_000..500_200).collect();
    let (va, fa) = batch(dir.path(), "a", &added, 3);
    let deleted: Vec<u64> = (0..3000).step_by(7).collect();
    let fd = dir.path().join("del.txt");
    let text: String = deleted.iter().map(|k| format!("{k}\n")).collect();
    std::fs::write(&fd, text).unwrap();
    for trial in 0..16 {
        let g = gallery(dir.path(), 3000);
        let wait: &[&str] = if trial % 2 == 1 {
            &["--wait", "60"]
        } else {
            &[]
        };
        let mut add = vec!["add", s(&g), "--input", s(&va), "--keys", s(&fa)];
        add.extend(wait);
        let mut del = vec!["delete", s(&g), "--keys", s(&fd)];
        del.extend(wait);
        // Alternate which starts first.
        let (p1, p2) = if trial % 4 < 2 {
            (spawn(&add), spawn(&del))
        } else {
            let d = spawn(&del);
            (spawn(&add), d)
        };
        let (oa, od) = (
            p1.wait_with_output().unwrap(),
            p2.wait_with_output().unwrap(),
        );
        let (a, d) = (acknowledged(&oa), acknowledged(&od));
        if !wait.is_empty() {
            assert!(a && d, "with --wait both must succeed");
        }
        let out = Gallery::open(&g).unwrap();
        if d {
            let back: Vec<_> = deleted.iter().filter(|k| out.contains(**k)).collect();
            assert!(
                back.is_empty(),
                "trial {trial}: deleted keys resurrected: {back:?}"
            );
        }
        if a {
            assert!(added.iter().all(|k| out.contains(*k)), "trial {trial}");
        }
    }
}

/// The child process of the library tests: opens a collection on the file named by
/// [`HELPER_ENV`], says "helper-open", waits for a line on stdin, adds key `KEY`, commits and
/// says "committed". Does nothing in a normal test run.
#[test]
fn helper_child() {
    let Ok(path) = std::env::var(HELPER_ENV) else {
        return;
    };
    let key: u64 = std::env::var("KEY").unwrap().parse().unwrap();
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    // On its own line: libtest prints "test helper_child ... " before it.
    println!("\nhelper-open");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    c.add(key, &[0.5; D]).unwrap();
    c.commit().unwrap();
    println!("committed");
}

/// Starts [`helper_child`] on `path` and waits until its collection is open.
fn child_holding(path: &Path, key: u64) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["helper_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, path)
        .env("KEY", key.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
        if line.trim() == "helper-open" {
            break;
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    child
}

#[test]
fn a_collection_in_another_process_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let g = gallery(dir.path(), 100);
    let mut child = child_holding(&g, 777_777);

    // A second writer is refused at once, or after its timeout.
    match Collection::open(&g) {
        Err(Error::Locked { path, lock_file }) => {
            assert_eq!(path, g);
            assert_eq!(lock_file, dir.path().join("g.vmg.lock"));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    let t = Instant::now();
    let opts = CollectionOptions {
        lock_timeout: Some(Duration::from_millis(200)),
        ..CollectionOptions::manual()
    };
    assert!(matches!(
        Collection::open_with(&g, opts),
        Err(Error::Locked { .. })
    ));
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert!(matches!(
        Collection::create(
            dir.path().join("g.vmg"),
            D,
            Metric::L2,
            CollectionOptions::manual()
        ),
        Err(Error::InvalidArgument(_))
    ));
    // Rewriting the file through a builder is a writer too.
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    b.add(1, &[1.0; D]).unwrap();
    assert!(matches!(b.write(&g), Err(Error::Locked { .. })));
    // Readers never take the lock.
    assert_eq!(Gallery::open(&g).unwrap().len(), 100);
    let out = Command::new(env!("CARGO_BIN_EXE_vecmatch"))
        .args(["compact", s(&g)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is locked by another writer"));

    // Waiting: the child commits and exits while this open waits for it.
    let opts = CollectionOptions {
        lock_timeout: Some(Duration::from_secs(60)),
        ..CollectionOptions::manual()
    };
    let mut stdin = child.stdin.take().unwrap();
    let waiter = std::thread::spawn({
        let g = g.clone();
        move || Collection::open_with(&g, opts)
    });
    std::thread::sleep(Duration::from_millis(100));
    writeln!(stdin).unwrap();
    let c = waiter.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    assert!(c.contains(777_777), "the child's commit is seen");
    assert_eq!(c.len(), 101);
    c.delete(777_777).unwrap();
    c.commit().unwrap();
    drop(c);
    assert!(!Gallery::open(&g).unwrap().contains(777_777));
}

#[test]
fn a_lock_dies_with_its_process() {
    let dir = tempfile::tempdir().unwrap();
    let g = gallery(dir.path(), 10);
    let mut child = child_holding(&g, 1);
    assert!(matches!(Collection::open(&g), Err(Error::Locked { .. })));
    child.kill().unwrap();
    child.wait().unwrap();
    let c = Collection::open(&g).unwrap();
    assert_eq!(c.len(), 10);
}

#[test]
fn two_collections_in_one_process_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let g = gallery(dir.path(), 10);
    let c = Collection::open(&g).unwrap();
    assert!(matches!(Collection::open(&g), Err(Error::Locked { .. })));
    // Another spelling of the same path.
    let dotted = dir.path().join(".").join("g.vmg");
    assert!(matches!(
        Collection::open(&dotted),
        Err(Error::Locked { .. })
    ));
    drop(c);
    Collection::open(&dotted).unwrap();
}
