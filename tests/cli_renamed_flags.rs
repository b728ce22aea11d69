//! CLI flags renamed in 0.2 (one meaning per name) keep their old spelling as hidden
//! aliases: `build --keep-f32-rows` (was `--rescore`), `--hnsw-algorithm` (was
//! `--builder`), `search --rerank-factor` (was `--rescore`).

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vecmatch"))
        .args(args)
        .output()
        .expect("spawn vecmatch")
}

fn data(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/minilm-5k")
        .join(name);
    p.to_str().unwrap().to_string()
}

/// `build` of the shipped rows as i8 with f32 rows and a graph, with the given flags.
fn build(out: &Path, flags: &[&str]) -> Output {
    let base = data("base.fvecs");
    let mut args = vec![
        "build",
        "--input",
        &base,
        "--output",
        out.to_str().unwrap(),
        "--dtype",
        "i8",
        "--hnsw",
        "--threads",
        "1",
    ];
    args.extend_from_slice(flags);
    run(&args)
}

/// `search --exact --k 5` of the shipped queries with the given flags: stdout.
fn search(g: &Path, flags: &[&str]) -> String {
    let query = data("query.fvecs");
    let mut args = vec![
        "search",
        g.to_str().unwrap(),
        "--query",
        &query,
        "--k",
        "5",
        "--exact",
    ];
    args.extend_from_slice(flags);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn new_and_old_flag_names_do_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.vmg");
    let old = dir.path().join("old.vmg");
    let o = build(&new, &["--keep-f32-rows", "--hnsw-algorithm", "native"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = build(&old, &["--rescore", "--builder", "native"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for g in [&new, &old] {
        let o = run(&["info", g.to_str().unwrap(), "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let sections = v["sections"].to_string();
        assert!(
            sections.contains("RESCORE") && sections.contains("GRAPH"),
            "{v}"
        );
    }
    // Same rows, same re-ranking: the same answers under both spellings.
    let exact = search(&new, &["--rerank-factor", "4"]);
    assert_eq!(exact, search(&old, &["--rescore", "4"]));
    let compact = search(&new, &["--rerank-factor", "0"]);
    assert_eq!(compact, search(&new, &["--rescore", "0"]));
    // And the factor does something: i8 distances differ from the re-ranked f32 ones.
    assert_ne!(exact, compact);
    // An unknown algorithm is a usage error under either name.
    for flag in ["--hnsw-algorithm", "--builder"] {
        let o = build(&dir.path().join("x.vmg"), &[flag, "bogus"]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
    }
}
