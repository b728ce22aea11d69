//! `VECMATCH_BACKEND`: the override is read once per process, so each case runs the
//! `vecmatch` program in a child process with the variable set. Every backend this CPU
//! runs gives the same search results; an unknown name or one this CPU lacks is one line
//! on stderr and exit code 1, never ignored and never run.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vecmatch::unstable::{Backend, BackendKind};

use support::data;

fn run(backend: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vecmatch"));
    c.args(args).env_remove("VECMATCH_BACKEND");
    if let Some(b) = backend {
        c.env("VECMATCH_BACKEND", b);
    }
    c.output().expect("spawn vecmatch")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Builds a gallery of `dtype` (5,000 MiniLM rows) with the default backend, with an
/// HNSW graph when `hnsw`.
fn build(dir: &Path, dtype: &str, hnsw: bool) -> PathBuf {
    let out = dir.join(format!("{dtype}-{hnsw}.vmg"));
    let input = data("base.fvecs");
    let mut args = vec![
        "build",
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--metric",
        "dot",
        "--dtype",
        dtype,
    ];
    if hnsw {
        args.extend(["--hnsw", "--threads", "1"]);
    }
    let o = run(None, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// The bench meta event's `backend` and `cpu` under `backend`.
fn bench_meta(backend: Option<&str>, dir: &Path) -> serde_json::Value {
    let idx = dir.join("bench-index.vmg");
    let o = run(
        backend,
        &[
            "bench",
            "--data",
            data("").to_str().unwrap(),
            "--repeats",
            "1",
            "--threads",
            "1",
            "--index-path",
            idx.to_str().unwrap(),
            "--exact-only",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let first = text.lines().next().expect("a meta line");
    let meta: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(meta["event"], "meta");
    meta
}

#[test]
fn every_available_backend_is_selectable_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let default = bench_meta(None, dir.path());
    assert_eq!(default["backend"], Backend::available()[0].name());
    let cpu = default["cpu"].as_str().unwrap();
    assert!(!cpu.is_empty());
    if cfg!(target_os = "linux") && cfg!(target_arch = "x86_64") {
        assert_ne!(cpu, "unknown");
    }
    for be in Backend::available() {
        let meta = bench_meta(Some(be.name()), dir.path());
        assert_eq!(meta["backend"], be.name());
        assert_eq!(meta["hardware_acceleration"], be.name());
    }
    // The short family name for AVX2.
    if Backend::detect(BackendKind::Avx2Fma).is_some() {
        assert_eq!(bench_meta(Some("avx2"), dir.path())["backend"], "avx2+fma");
    }
}

#[test]
fn unknown_or_unsupported_backends_fail_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let g = build(dir.path(), "f32", false);
    let mut bad = vec!["avx1024".to_string(), "sse2".to_string()];
    bad.extend(
        BackendKind::ALL
            .into_iter()
            .filter(|k| !k.is_supported())
            .map(|k| k.name().to_string()),
    );
    assert!(
        bad.len() >= 3,
        "x86-64 lacks neon, aarch64 lacks avx2: {bad:?}"
    );
    for name in &bad {
        for args in [
            vec!["info", g.to_str().unwrap()],
            vec![
                "search",
                g.to_str().unwrap(),
                "--query",
                data("query.fvecs").to_str().unwrap(),
            ],
        ] {
            let o = run(Some(name), &args);
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{name}: {e}");
            assert_eq!(e.trim_end().lines().count(), 1, "{e}");
            assert!(e.starts_with("vecmatch: VECMATCH_BACKEND="), "{e}");
            assert!(
                e.contains("unknown backend") || e.contains("does not support"),
                "{e}"
            );
            assert!(o.stdout.is_empty());
        }
    }
    // Empty means unset.
    let o = run(Some(""), &["info", g.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn every_backend_finds_the_same_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    // Exact scans of every element type, and graph walks on f32 rows and on i8 and i4 codes
    // (each backend's walk is compiled for its instruction set, `metric::in_backend`).
    // Ids may differ only where distances tie to within rounding, or where such a tie
    // turned a beam: allow a few of the 1,000 neighbours to differ.
    for (dtype, hnsw, allowed) in [
        ("f32", false, 5),
        ("f16", false, 5),
        ("i8", false, 5),
        ("i4", false, 5),
        ("f32", true, 10),
        ("i8", true, 10),
        ("i4", true, 10),
    ] {
        let g = build(dir.path(), dtype, hnsw);
        let mut outputs = Vec::new();
        for be in Backend::available() {
            let o = run(
                Some(be.name()),
                &[
                    "search",
                    g.to_str().unwrap(),
                    "--query",
                    data("query.fvecs").to_str().unwrap(),
                    "--k",
                    "10",
                    "--format",
                    "ivecs",
                ],
            );
            assert!(o.status.success(), "{be:?}: {}", stderr(&o));
            assert_eq!(o.stdout.len(), 100 * 11 * 4);
            outputs.push((be, o.stdout));
        }
        let (b0, first) = &outputs[0];
        for (be, out) in &outputs[1..] {
            let differ = first
                .chunks_exact(4)
                .zip(out.chunks_exact(4))
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                differ <= allowed,
                "{dtype} hnsw={hnsw}: {b0:?} vs {be:?}: {differ} ids differ"
            );
        }
    }
}
