//! The command line under hostile or careless input: damaged galleries are never laundered
//! by `add`/`delete`/`compact`, key files with a key twice, Fortran-order `.npy`, endless
//! streams, huge `--k` and `--threads`, values that overflow a distance. Every failure is
//! one line on stderr and exit code 1; nothing hangs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const D: usize = 8;
const N: usize = 60;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vecmatch"))
}

/// Runs `cmd`, killing it (and failing) if it takes longer than `secs`.
fn run_within(mut cmd: Command, secs: u64) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vecmatch");
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vecmatch did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn run(args: &[&str]) -> Output {
    let mut c = bin();
    c.args(args);
    run_within(c, 120)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code 1 and exactly one line on stderr containing every one of `needles`.
fn fails_with(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "one line expected: {e}");
    assert!(
        e.starts_with("vecmatch: ") && !e.contains("panicked"),
        "{e}"
    );
    for n in needles {
        assert!(e.contains(n), "{n:?} not in: {e}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `n` rows of `D` values as raw little-endian f32.
fn raw_rows(n: usize, seed: u64) -> Vec<u8> {
    common::f32_bytes(&common::vecs(n, D, seed))
}

/// A raw input file and an L2 gallery built from it.
fn gallery(dir: &Path, extra: &[&str]) -> PathBuf {
    let input = dir.join("rows.f32");
    std::fs::write(&input, raw_rows(N, 3)).unwrap();
    let out = dir.join("g.vmg");
    let mut args = vec![
        "build",
        "--input",
        s(&input),
        "--dims",
        "8",
        "--metric",
        "l2",
        "--output",
        s(&out),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn section(path: &Path, name: &str) -> std::ops::Range<usize> {
    let s = vecmatch::Gallery::open(path)
        .unwrap()
        .info()
        .sections
        .into_iter()
        .find(|s| s.name == name)
        .unwrap();
    s.offset as usize..(s.offset + s.length) as usize
}

#[test]
fn add_delete_compact_refuse_a_damaged_gallery_and_leave_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let g = gallery(dir.path(), &["--hnsw", "--m", "4"]);
    let more = dir.path().join("more.f32");
    std::fs::write(&more, raw_rows(5, 9)).unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "3\n4\n").unwrap();
    let v = section(&g, "VECTORS");
    let mut damaged = std::fs::read(&g).unwrap();
    damaged[v.start + 4 * D * 20 + 1] ^= 0x40;
    std::fs::write(&g, &damaged).unwrap();
    let verify = run(&["verify", s(&g)]);
    fails_with(&verify, &["FAILED", "VECTORS"]);
    let cases: [Vec<&str>; 3] = [
        vec!["add", s(&g), "--input", s(&more), "--dims", "8"],
        vec!["delete", s(&g), "--keys", s(&keys)],
        vec!["compact", s(&g)],
    ];
    for args in cases {
        let o = run(&args);
        fails_with(&o, &["checksum mismatch in VECTORS", "verify", "unchanged"]);
        assert_eq!(
            std::fs::read(&g).unwrap(),
            damaged,
            "{args:?} changed the file"
        );
    }
    // The writer lock's sidecar (`g.vmg.lock`) stays by design; nothing else may.
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| !e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".lock"))
            .count(),
        4,
        "temp files left"
    );
}

#[test]
fn add_refuses_a_key_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let g = gallery(dir.path(), &[]);
    let before = std::fs::read(&g).unwrap();
    let more = dir.path().join("more.f32");
    std::fs::write(&more, raw_rows(4, 9)).unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "100\n\n101\n7\n101\n").unwrap();
    let o = run(&[
        "add",
        s(&g),
        "--input",
        s(&more),
        "--dims",
        "8",
        "--keys",
        s(&keys),
    ]);
    fails_with(&o, &["key 101 is given twice (lines 3 and 5)"]);
    assert_eq!(std::fs::read(&g).unwrap(), before);
    // `build` says the same.
    let o = run(&[
        "build",
        "--input",
        s(&more),
        "--dims",
        "8",
        "--keys",
        s(&keys),
        "--output",
        s(&dir.path().join("b.vmg")),
    ]);
    fails_with(&o, &["key 101 is given twice (lines 3 and 5)"]);
    // Distinct keys are fine, and replace existing ones.
    std::fs::write(&keys, "100\n101\n7\n102\n").unwrap();
    let o = run(&[
        "add",
        s(&g),
        "--input",
        s(&more),
        "--dims",
        "8",
        "--keys",
        s(&keys),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(1 replaced existing keys)"),
        "{}",
        stderr(&o)
    );
}

/// A 2-D float32 `.npy` with `fortran_order` spelled `order`.
fn npy(order: &str, rows: usize, cols: usize) -> Vec<u8> {
    let values: Vec<f32> = (0..rows * cols).map(|i| 1.0 + i as f32).collect();
    common::npy_bytes("<f4", order, (rows, cols), &common::f32_bytes(&values))
}

#[test]
fn fortran_order_npy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.vmg");
    for (order, ok) in [("False", true), ("0", true), ("True", false), ("1", false)] {
        let p = dir.path().join("x.npy");
        std::fs::write(&p, npy(order, 3, D)).unwrap();
        let o = run(&[
            "build",
            "--input",
            s(&p),
            "--output",
            s(&out),
            "--metric",
            "l2",
        ]);
        if ok {
            assert!(o.status.success(), "{order}: {}", stderr(&o));
        } else {
            fails_with(&o, &["Fortran-order arrays are not supported"]);
        }
    }
}

#[test]
fn endless_and_streamed_inputs_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.vmg");
    let mut c = bin();
    c.env("VECMATCH_MAX_STREAM_BYTES", "1048576").args([
        "build",
        "--input",
        "/dev/zero",
        "--dims",
        "8",
        "--output",
        s(&out),
    ]);
    let o = run_within(c, 60);
    fails_with(&o, &["/dev/zero", "not a regular file", "1048576"]);
    assert!(!out.exists());
    // A FIFO with a finite stream is read.
    let fifo = dir.path().join("rows.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, raw_rows(N, 3)).unwrap())
    };
    let o = run(&[
        "build",
        "--input",
        s(&fifo),
        "--dims",
        "8",
        "--output",
        s(&out),
    ]);
    writer.join().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(vecmatch::Gallery::open(&out).unwrap().len(), N);
}

#[test]
fn huge_k_writes_at_most_gallery_size_columns() {
    let dir = tempfile::tempdir().unwrap();
    let g = gallery(dir.path(), &[]);
    let q = dir.path().join("q.f32");
    std::fs::write(&q, raw_rows(3, 5)).unwrap();
    let ids = dir.path().join("ids.ivecs");
    let o = run(&[
        "search",
        s(&g),
        "--query",
        s(&q),
        "--k",
        "1000000000000",
        "--format",
        "ivecs",
        "--output",
        s(&ids),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b = std::fs::read(&ids).unwrap();
    assert_eq!(b.len(), 3 * 4 * (N + 1));
    assert_eq!(i32::from_le_bytes(b[..4].try_into().unwrap()), N as i32);
    let row: Vec<i32> = b[4..4 * (N + 1)]
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut sorted = row.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..N as i32).collect::<Vec<_>>(),
        "every row once, no -1"
    );
}

#[test]
fn huge_thread_counts_return_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let g = gallery(dir.path(), &["--threads", "100000"]);
    let q = dir.path().join("q.f32");
    std::fs::write(&q, raw_rows(4, 5)).unwrap();
    let base = run(&["search", s(&g), "--query", s(&q), "--exact"]);
    assert!(base.status.success(), "{}", stderr(&base));
    for threads in ["100000", "20000"] {
        let mut c = bin();
        c.args([
            "search",
            s(&g),
            "--query",
            s(&q),
            "--exact",
            "--threads",
            threads,
        ]);
        let o = run_within(c, 60);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(o.stdout, base.stdout);
    }
}

#[test]
fn values_that_overflow_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.f32");
    let mut rows = raw_rows(4, 3);
    rows[4 * (2 * D + 5)..][..4].copy_from_slice(&1e30f32.to_le_bytes());
    std::fs::write(&input, &rows).unwrap();
    let out = dir.path().join("g.vmg");
    for metric in ["l2", "dot"] {
        let o = run(&[
            "build",
            "--input",
            s(&input),
            "--dims",
            "8",
            "--metric",
            metric,
            "--output",
            s(&out),
        ]);
        fails_with(&o, &["out of range", "index 5 of vector row 2"]);
    }
    // Within f32 limits but beyond f16.
    rows[4 * (2 * D + 5)..][..4].copy_from_slice(&1e5f32.to_le_bytes());
    std::fs::write(&input, &rows).unwrap();
    let o = run(&[
        "build",
        "--input",
        s(&input),
        "--dims",
        "8",
        "--metric",
        "l2",
        "--dtype",
        "f16",
        "--output",
        s(&out),
    ]);
    fails_with(&o, &["out of range", "65504"]);
    assert!(!out.exists());
    // Cosine normalises first: fine.
    let o = run(&[
        "build",
        "--input",
        s(&input),
        "--dims",
        "8",
        "--output",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn json_never_prints_null_distances() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.f32");
    std::fs::write(&input, raw_rows(N, 3)).unwrap();
    let g = dir.path().join("g.vmg");
    let o = run(&[
        "build",
        "--input",
        s(&input),
        "--dims",
        "8",
        "--metric",
        "dot",
        "--output",
        s(&g),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = dir.path().join("q.f32");
    std::fs::write(&q, 2f32.to_le_bytes().repeat(D)).unwrap();
    let json = run(&[
        "search",
        s(&g),
        "--query",
        s(&q),
        "--k",
        "100",
        "--format",
        "json",
    ]);
    assert!(json.status.success());
    let text = String::from_utf8(json.stdout).unwrap();
    assert!(
        !text.contains("null") && text.matches("distance").count() == N,
        "{text}"
    );
    // A forged row of -f32::MAX (checksums recomputed): its distance is +inf, ranked
    // last in text; JSON cannot hold it and says so.
    let v = section(&g, "VECTORS");
    let mut b = std::fs::read(&g).unwrap();
    for i in 0..D {
        b[v.start + 4 * (7 * D + i)..][..4].copy_from_slice(&(-f32::MAX).to_le_bytes());
    }
    common::reseal(&mut b);
    std::fs::write(&g, &b).unwrap();
    let o = run(&["search", s(&g), "--query", s(&q), "--k", "100"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), N);
    assert!(text.lines().last().unwrap().ends_with("\t7\tinf"), "{text}");
    let o = run(&[
        "search",
        s(&g),
        "--query",
        s(&q),
        "--k",
        "100",
        "--format",
        "json",
    ]);
    fails_with(&o, &["key 7", "inf", "JSON"]);
}
