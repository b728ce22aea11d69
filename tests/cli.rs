//! The `vecmatch` command line, run as a user would: every command on the shipped data,
//! and every error as one line with exit code 1 or 2, never a panic.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::data;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vecmatch"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("spawn vecmatch")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failure must be exactly one line on stderr, the given exit code, no panic text.
fn assert_clean_failure(o: &Output, code: i32) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {e}");
    assert!(
        !e.contains("panicked") && !e.contains("internal error"),
        "panic: {e}"
    );
    if code == 1 {
        assert_eq!(e.trim_end().lines().count(), 1, "one line expected: {e}");
        assert!(e.starts_with("vecmatch: "), "{e}");
    }
}

fn build_gallery(dir: &Path) -> PathBuf {
    let out = dir.join("g.vmg");
    let o = run(&[
        "build",
        "--input",
        data("base.fvecs").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--metric",
        "dot",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn build_search_ivecs_matches_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let g = build_gallery(dir.path());
    let ids = dir.path().join("ids.ivecs");
    let o = run(&[
        "search",
        g.to_str().unwrap(),
        "--query",
        data("query.fvecs").to_str().unwrap(),
        "--k",
        "10",
        "--format",
        "ivecs",
        "--output",
        ids.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = std::fs::read(&ids).unwrap();
    let gt = std::fs::read(data("gt.ivecs")).unwrap();
    assert_eq!(got.len(), 100 * 11 * 4);
    let row = |b: &[u8], i: usize, w: usize| -> Vec<i32> {
        (0..w)
            .map(|j| i32::from_le_bytes(b[(i * (w + 1) + 1 + j) * 4..][..4].try_into().unwrap()))
            .collect()
    };
    let mut same = 0;
    for q in 0..100 {
        let a = row(&got, q, 10);
        let b = &row(&gt, q, 100)[..10];
        same += a.iter().filter(|x| b.contains(x)).count();
    }
    // Exact search: only float ties could differ.
    assert!(same >= 998, "{same}/1000 of the ground truth top-10");
}

#[test]
fn search_text_and_json_formats() {
    let dir = tempfile::tempdir().unwrap();
    let g = build_gallery(dir.path());
    let q = data("query.fvecs");
    let o = run(&[
        "search",
        g.to_str().unwrap(),
        "--query",
        q.to_str().unwrap(),
        "--k",
        "3",
        "--exact",
    ]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 300);
    let first: Vec<&str> = text.lines().next().unwrap().split('\t').collect();
    assert_eq!(first[0], "0");
    assert_eq!(first[1], "0");
    let o = run(&[
        "search",
        g.to_str().unwrap(),
        "--query",
        q.to_str().unwrap(),
        "--k",
        "2",
        "--format",
        "json",
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(v["query"], 0);
    assert_eq!(v["hits"].as_array().unwrap().len(), 2);
    // Range search with a tiny radius returns nothing.
    let o = run(&[
        "search",
        g.to_str().unwrap(),
        "--query",
        q.to_str().unwrap(),
        "--max-distance",
        "0.0001",
    ]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty());
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    // --ef on a gallery without a graph: an exact search, and a warning that says so.
    let o = run(&[
        "search",
        g.to_str().unwrap(),
        "--query",
        q.to_str().unwrap(),
        "--ef",
        "32",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1000);
    let e = stderr(&o);
    assert!(
        e.starts_with("warning: ") && e.contains("no HNSW graph"),
        "{e}"
    );
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
}

/// A float64 `.npy` is refused with a hint to convert it.
#[test]
fn float64_npy_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let g = build_gallery(dir.path());
    let f64s: Vec<u8> = (0..2 * 384)
        .flat_map(|i| (i as f64).to_le_bytes())
        .collect();
    let bytes = support::npy_bytes("<f8", "False", (2, 384), &f64s);
    let q = dir.path().join("q.npy");
    std::fs::write(&q, bytes).unwrap();
    let o = run(&[
        "search",
        g.to_str().unwrap(),
        "--query",
        q.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 1);
    let e = stderr(&o);
    assert!(
        e.contains("<f8") && e.contains("astype(numpy.float32)"),
        "{e}"
    );
}

#[test]
fn info_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let g = build_gallery(dir.path());
    let o = run(&["info", g.to_str().unwrap(), "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["count"], 5000);
    assert_eq!(v["dims"], 384);
    assert_eq!(v["metric"], "dot");
    assert_eq!(v["format_version"], "1.1");
    assert_eq!(v["element_type"], "f32");
    let o = run(&["info", g.to_str().unwrap()]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("KEY_INDEX"));
    // A readable UTC creation time, with the unix seconds beside it.
    let created = text.lines().find(|l| l.starts_with("created:")).unwrap();
    assert!(created.contains(" UTC (unix "), "{created}");
    let unix = v["created_unix_s"].as_u64().unwrap();
    assert!(created.contains(&unix.to_string()), "{created}");
    let o = run(&["verify", g.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Flip one byte in the middle of the file (inside VECTORS): verify must fail.
    let mut bytes = std::fs::read(&g).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let bad = dir.path().join("bad.vmg");
    std::fs::write(&bad, &bytes).unwrap();
    let o = run(&["verify", bad.to_str().unwrap()]);
    assert_clean_failure(&o, 1);
    assert!(stderr(&o).contains("VECTORS"), "{}", stderr(&o));
}

#[test]
fn keys_from_text_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("v.f32");
    let vals: Vec<u8> = [1.0f32, 0.0, 0.0, 1.0, 0.6, 0.8]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&input, vals).unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "1000\n2000\n\n3000\n").unwrap();
    let out = dir.path().join("g.vmg");
    let o = run(&[
        "build",
        "--input",
        input.to_str().unwrap(),
        "--dims",
        "2",
        "--keys",
        keys.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = dir.path().join("q.f32");
    std::fs::write(
        &q,
        [0.0f32, 1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let o = run(&[
        "search",
        out.to_str().unwrap(),
        "--query",
        q.to_str().unwrap(),
        "--k",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .starts_with("0\t0\t2000\t")
    );
    // Wrong key count is one clear line.
    std::fs::write(&keys, "1\n2\n").unwrap();
    let o = run(&[
        "build",
        "--input",
        input.to_str().unwrap(),
        "--dims",
        "2",
        "--keys",
        keys.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 1);
}

#[test]
fn bench_json_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("bench.vmg");
    let o = run(&[
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
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for k in ["meta", "build", "save", "load", "view", "exact", "done"] {
        assert!(kinds.contains(&k), "missing {k}: {kinds:?}");
    }
    assert_eq!(kinds.last(), Some(&"done"));
    for e in events.iter().filter(|e| e["event"] == "exact") {
        assert_eq!(e["recall"].as_f64(), Some(1.0), "{e}");
        let ids = e["ids_path"].as_str().unwrap();
        assert_eq!(std::fs::metadata(ids).unwrap().len(), 100 * 11 * 4);
        std::fs::remove_file(ids).unwrap();
    }
}

#[test]
fn errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.vmg");
    assert_clean_failure(&run(&["info", missing.to_str().unwrap()]), 1);
    assert_clean_failure(&run(&["verify", missing.to_str().unwrap()]), 1);
    // Garbage file.
    let garbage = dir.path().join("garbage.vmg");
    std::fs::write(&garbage, b"hello, this is not a gallery at all......").unwrap();
    let o = run(&[
        "search",
        garbage.to_str().unwrap(),
        "--query",
        data("query.fvecs").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 1);
    assert!(stderr(&o).contains("magic"));
    // Wrong query dimensions.
    let g = build_gallery(dir.path());
    let q = dir.path().join("q.f32");
    std::fs::write(
        &q,
        [1.0f32; 7]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    assert_clean_failure(
        &run(&[
            "search",
            g.to_str().unwrap(),
            "--query",
            q.to_str().unwrap(),
        ]),
        1,
    );
    // NaN in the input vectors.
    let nan = dir.path().join("nan.f32");
    std::fs::write(
        &nan,
        [1.0f32, f32::NAN]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let o = run(&[
        "build",
        "--input",
        nan.to_str().unwrap(),
        "--dims",
        "2",
        "--output",
        dir.path().join("x.vmg").to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 1);
    assert!(stderr(&o).contains("non-finite"), "{}", stderr(&o));
    // Raw input without --dims, truncated fvecs.
    assert_clean_failure(
        &run(&[
            "build",
            "--input",
            nan.to_str().unwrap(),
            "--output",
            "x.vmg",
        ]),
        1,
    );
    let trunc = dir.path().join("t.fvecs");
    std::fs::write(&trunc, &std::fs::read(data("query.fvecs")).unwrap()[..1000]).unwrap();
    assert_clean_failure(
        &run(&[
            "build",
            "--input",
            trunc.to_str().unwrap(),
            "--output",
            "x.vmg",
        ]),
        1,
    );
    // Usage errors exit 2.
    assert_clean_failure(&run(&["search"]), 2);
    assert_clean_failure(
        &run(&["search", g.to_str().unwrap(), "--query", "q", "--k", "0"]),
        2,
    );
    assert_clean_failure(&run(&["bench", "--threads", "0,1", "--data", "."]), 2);
}

#[test]
fn hnsw_build_search_and_bench() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("h.vmg");
    let o = run(&[
        "build",
        "--input",
        data("base.fvecs").to_str().unwrap(),
        "--output",
        g.to_str().unwrap(),
        "--metric",
        "dot",
        "--hnsw",
        "--m",
        "8",
        "--ef-construction",
        "64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["verify", g.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["info", g.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["sections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "GRAPH")
    );
    assert_eq!(v["meta"]["hnsw"]["m"], 8);
    let q = data("query.fvecs");
    let search = |extra: &[&str]| {
        let mut args = vec![
            "search",
            g.to_str().unwrap(),
            "--query",
            q.to_str().unwrap(),
            "--k",
            "5",
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let approx = search(&["--ef", "200"]);
    let exact = search(&["--exact"]);
    assert_eq!(approx.lines().count(), 500);
    let same = approx
        .lines()
        .zip(exact.lines())
        .filter(|(a, b)| a.split('\t').nth(2) == b.split('\t').nth(2))
        .count();
    assert!(same >= 450, "{same}/500 ranks agree with exact at ef=200");
    // --m without --hnsw is a usage error.
    let o = run(&[
        "build", "--input", "x.fvecs", "--output", "y.vmg", "--m", "8",
    ]);
    assert_clean_failure(&o, 2);

    // The bench protocol with a graph: search events per ef and mode.
    let idx = dir.path().join("bench.vmg");
    let o = run(&[
        "bench",
        "--data",
        data("").to_str().unwrap(),
        "--repeats",
        "1",
        "--threads",
        "1",
        "--m",
        "8",
        "--ef-construction",
        "64",
        "--ef-search",
        "16,128",
        "--index-path",
        idx.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let events: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["kind"], "hnsw");
    assert_eq!(events[0]["params"]["M"], 8);
    let searches: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "search").collect();
    assert_eq!(searches.len(), 4, "2 ef x (single + batch)");
    let r = |ef: u64| {
        searches
            .iter()
            .find(|e| e["ef"] == ef && e["mode"] == "single")
            .unwrap()["recall"]
            .as_f64()
            .unwrap()
    };
    assert!(r(128) >= 0.95 && r(128) >= r(16), "{} {}", r(16), r(128));
}

/// `vecmatch info --json` of a gallery, parsed.
fn info_json(g: &Path) -> serde_json::Value {
    let o = run(&["info", g.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn fvecs_row(path: &Path, row: usize) -> Vec<u8> {
    let (d, v) = support::read_fvecs(path).unwrap();
    support::f32_bytes(&v[row * d..][..d])
}

#[test]
fn add_delete_compact_commit_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let g = build_gallery(dir.path());
    let gs = g.to_str().unwrap();
    let queries = data("query.fvecs");
    // Default keys: after the largest key (4999).
    let o = run(&["add", gs, "--input", queries.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("added 100 vectors (0 replaced"),
        "{}",
        stderr(&o)
    );
    assert_eq!(info_json(&g)["count"], 5100);
    let o = run(&[
        "search",
        gs,
        "--query",
        queries.to_str().unwrap(),
        "--k",
        "1",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        first.contains("5000"),
        "query 0 finds itself under key 5000: {first}"
    );

    // Explicit keys replace rows 0..99 with the queries: the count stays.
    let keys = dir.path().join("keys.txt");
    let text: String = (0..100).map(|k| format!("{k}\n")).collect();
    std::fs::write(&keys, text).unwrap();
    let o = run(&[
        "add",
        gs,
        "--input",
        queries.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(100 replaced"), "{}", stderr(&o));
    assert_eq!(info_json(&g)["count"], 5100);
    let base_row_7 = fvecs_row(&data("base.fvecs"), 7);
    assert!(
        !std::fs::read(&g)
            .unwrap()
            .windows(base_row_7.len())
            .any(|w| w == base_row_7),
        "the replaced vector is gone from the file"
    );

    // Delete three keys and one unknown key.
    let del = dir.path().join("del.txt");
    std::fs::write(&del, "200\n201\n4999\n999999\n").unwrap();
    let o = run(&["delete", gs, "--keys", del.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("deleted 3 of 4 keys (1 not found)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(info_json(&g)["count"], 5097);
    let row_200 = fvecs_row(&data("base.fvecs"), 200);
    assert!(
        !std::fs::read(&g)
            .unwrap()
            .windows(row_200.len())
            .any(|w| w == row_200),
        "a deleted vector is gone from the file"
    );

    let o = run(&["compact", gs]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run(&["verify", gs]).status.success());
    assert_eq!(info_json(&g)["count"], 5097);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn add_delete_compact_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let g = build_gallery(dir.path());
    let gs = g.to_str().unwrap();
    let missing = dir.path().join("missing.vmg");
    let queries = data("query.fvecs");
    let o = run(&[
        "add",
        missing.to_str().unwrap(),
        "--input",
        queries.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 1);
    // 384-d gallery, 8-d raw input.
    let raw = dir.path().join("v.f32");
    std::fs::write(&raw, [0u8; 32 * 3]).unwrap();
    let o = run(&["add", gs, "--input", raw.to_str().unwrap(), "--dims", "8"]);
    assert_clean_failure(&o, 1);
    assert!(stderr(&o).contains("384-d"), "{}", stderr(&o));
    // Key count mismatch.
    let keys = dir.path().join("k.txt");
    std::fs::write(&keys, "1\n2\n").unwrap();
    let o = run(&[
        "add",
        gs,
        "--input",
        queries.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 1);
    let o = run(&["delete", gs]);
    assert_clean_failure(&o, 2);
    let o = run(&["compact", missing.to_str().unwrap()]);
    assert_clean_failure(&o, 1);
    // Nothing changed the gallery.
    assert_eq!(info_json(&g)["count"], 5000);
}

#[test]
fn build_with_compact_storage() {
    let dir = tempfile::tempdir().unwrap();
    let base = data("base.fvecs");
    let f32_size = std::fs::metadata(build_gallery(dir.path())).unwrap().len();
    for (dtype, rescore) in [("f16", false), ("i8", true), ("i8", false)] {
        let out = dir.path().join(format!("{dtype}-{rescore}.vmg"));
        let mut args = vec![
            "build",
            "--input",
            base.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--metric",
            "dot",
            "--dtype",
            dtype,
        ];
        if rescore {
            args.push("--keep-f32-rows");
        }
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(&["info", out.to_str().unwrap(), "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["element_type"], dtype);
        let size = std::fs::metadata(&out).unwrap().len();
        if !rescore {
            assert!(
                size < f32_size / 2 + 200_000,
                "{dtype}: {size} vs f32 {f32_size}"
            );
        }
        assert!(run(&["verify", out.to_str().unwrap()]).status.success());
    }
    // --keep-f32-rows (here by its old name, --rescore, kept as an alias) needs a compact
    // type; an unknown type is a usage error.
    let out = dir.path().join("x.vmg");
    for extra in [&["--rescore"][..], &["--dtype", "f8"][..]] {
        let mut args = vec![
            "build",
            "--input",
            base.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

#[test]
fn hnsw_construction_flag_is_recorded_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("base.fvecs");
    for mode in ["f32", "i8"] {
        let g = dir.path().join(format!("{mode}.vmg"));
        let o = run(&[
            "build",
            "--input",
            input.to_str().unwrap(),
            "--output",
            g.to_str().unwrap(),
            "--hnsw",
            "--m",
            "8",
            "--ef-construction",
            "32",
            "--construction",
            mode,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(info_json(&g)["meta"]["hnsw"]["construction"], mode);
    }
    let g = dir.path().join("bad.vmg");
    let o = run(&[
        "build",
        "--input",
        input.to_str().unwrap(),
        "--output",
        g.to_str().unwrap(),
        "--hnsw",
        "--construction",
        "f16",
    ]);
    assert_clean_failure(&o, 2);
    assert!(stderr(&o).contains("auto, f32 or i8"), "{}", stderr(&o));
    assert!(!g.exists());
}
