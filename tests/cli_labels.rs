//! `vecmatch build --labels` and `vecmatch search --all-labels/--any-labels/--no-labels`.

mod support;

use std::process::{Command, Output};

use support::data;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vecmatch"))
        .args(args)
        .output()
        .expect("spawn vecmatch")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Keys (row numbers) of the text output, per query.
fn keys(o: &Output) -> Vec<Vec<u64>> {
    let mut out: Vec<Vec<u64>> = Vec::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let q: usize = f[0].parse().unwrap();
        if out.len() <= q {
            out.resize(q + 1, Vec::new());
        }
        out[q].push(f[2].parse().unwrap());
    }
    out
}

#[test]
fn build_with_labels_then_search_by_label() {
    let dir = tempfile::tempdir().unwrap();
    // Row r: label r % 10, and 100 on rows divisible by 7; row 3 has none.
    let text: String = (0..5000)
        .map(|r| match r {
            3 => "\n".to_string(),
            r if r % 7 == 0 => format!("{}, 100\n", r % 10),
            r => format!("{}\n", r % 10),
        })
        .collect();
    let labels = dir.path().join("labels.txt");
    std::fs::write(&labels, text).unwrap();
    let g = dir.path().join("g.vmg");
    let g = g.to_str().unwrap();
    let base = data("base.fvecs");
    let o = run(&[
        "build",
        "--input",
        base.to_str().unwrap(),
        "--output",
        g,
        "--labels",
        labels.to_str().unwrap(),
        "--hnsw",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run(&["verify", g]).status.success());
    let query = data("query.fvecs");
    let q = query.to_str().unwrap();
    let search = |extra: &[&str]| {
        let mut a = vec!["search", g, "--query", q, "--k", "5"];
        a.extend_from_slice(extra);
        let o = run(&a);
        assert!(o.status.success(), "{}", stderr(&o));
        keys(&o)
    };
    for hits in search(&["--all-labels", "3,100"]) {
        assert_eq!(hits.len(), 5);
        assert!(hits.iter().all(|k| k % 10 == 3 && k % 7 == 0 && *k != 3));
    }
    for hits in search(&["--any-labels", "1 2", "--no-labels", "100"]) {
        assert_eq!(hits.len(), 5);
        assert!(
            hits.iter()
                .all(|k| (k % 10 == 1 || k % 10 == 2) && k % 7 != 0)
        );
    }
    for hits in search(&["--all-labels", "12345"]) {
        assert!(hits.is_empty());
    }
    // Errors: one line naming the file and line, or the bad argument.
    std::fs::write(&labels, "1\n2,x\n").unwrap();
    let o = run(&[
        "build",
        "--input",
        base.to_str().unwrap(),
        "--output",
        g,
        "--labels",
        labels.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("line 2") && e.contains("\"x\""), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1);
    std::fs::write(&labels, "1\n2\n").unwrap();
    let o = run(&[
        "build",
        "--input",
        base.to_str().unwrap(),
        "--output",
        g,
        "--labels",
        labels.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("2 lines"), "{}", stderr(&o));
    let o = run(&["search", g, "--query", q, "--all-labels", "1,-2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"));
}
