//! The library's top-level modules import each other without a cycle, in the layering of
//! ARCHITECTURE.md ("Modules"): each module uses only modules below it.
//!
//! Reads every `.rs` file under `src/` (the CLI `src/bin/`, the C layer `src/ffi/` and
//! `src/lib.rs` aside), collects the `crate::<module>` references of each top-level module
//! (in `use` lines, paths and doc links alike, `use crate::{a, b}` groups included) and
//! fails naming the cycle, the upward edge or the module missing from the layering.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layering, bottom to top: a module may reference only modules before it.
const LAYERS: &[&str] = &[
    "error",
    "types",
    "pool",
    "metric",
    "ingest",
    "codec",
    "view",
    "filter",
    "topk",
    "flat",
    "hnsw",
    "search",
    "gallery",
    "collection",
    "shards",
    "unstable",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The top-level module a path under `src/` belongs to, unless it is left out.
fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    if matches!(first, "bin" | "ffi" | "lib.rs") {
        return None;
    }
    Some(first.strip_suffix(".rs").unwrap_or(first).to_owned())
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src/") {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The modules a file's text references as `crate::<module>`.
fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c, …}`: the first identifier of each item.
            let body = &group[..group.find(';').unwrap_or(group.len())];
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphanumeric() || c == '_') => {
                        out.push(ident(&body[j..]).to_owned());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest).to_owned());
        }
    }
    out
}

/// The graph of references between the top-level modules of the crate at `root`.
fn import_graph(root: &Path) -> Graph {
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut tops = BTreeSet::new();
    for e in std::fs::read_dir(&src).expect("read src/") {
        let p = e.expect("directory entry").path();
        if let Some(m) = top_module(p.strip_prefix(&src).expect("under src/")) {
            tops.insert(m);
        }
    }
    let mut graph = Graph::new();
    for f in files {
        let Some(me) = top_module(f.strip_prefix(&src).expect("under src/")) else {
            continue;
        };
        let text = std::fs::read_to_string(&f).expect("read a source file");
        let edges = graph.entry(me.clone()).or_default();
        for to in references(&text) {
            if to != me && tops.contains(&to) {
                edges.insert(to);
            }
        }
    }
    graph
}

/// A cycle of `graph` as its modules in order (the first repeated at the end), if any.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    // Depth-first search; `path` is the current chain, `done` the modules fully explored.
    fn visit(
        m: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

/// What is wrong with `graph`: a cycle first, then modules outside [`LAYERS`] and upward
/// edges.
fn problems(graph: &Graph) -> Vec<String> {
    let cycle = find_cycle(graph).map(|c| format!("import cycle: {}", c.join(" -> ")));
    let mut rest = BTreeSet::new();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    for (from, tos) in graph {
        let Some(rf) = rank(from) else {
            rest.insert(format!(
                "module `{from}` is not in the layering (add it to LAYERS here and to ARCHITECTURE.md)"
            ));
            continue;
        };
        for to in tos {
            match rank(to) {
                None => {
                    rest.insert(format!("module `{to}` is not in the layering"));
                }
                Some(rt) if rt >= rf => {
                    rest.insert(format!(
                        "`{from}` uses `{to}`, which sits above it in the layering"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    cycle.into_iter().chain(rest).collect()
}

#[test]
fn top_level_modules_form_no_cycle_and_follow_the_layering() {
    let graph = import_graph(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(graph.len() > 5, "too few modules found: {graph:?}");
    let p = problems(&graph);
    assert!(p.is_empty(), "{}\n(graph: {graph:#?})", p.join("\n"));
}

#[test]
fn a_cycle_and_an_upward_edge_are_reported() {
    let dir = std::env::temp_dir().join(format!("vecmatch-import-graph-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("hnsw")).unwrap();
    std::fs::create_dir_all(src.join("ffi")).unwrap();
    let files = [
        ("lib.rs", "mod flat; mod hnsw; use crate::shards::X;"),
        ("flat.rs", "use crate::{error::Result, topk::TopK};"),
        ("hnsw/mod.rs", "mod search;"),
        (
            "hnsw/search.rs",
            "use crate::flat::scan; fn f() { crate::search::x() }",
        ),
        (
            "search.rs",
            "//! See [`crate::hnsw`].\nuse crate::{flat, types::Hit};",
        ),
        ("topk.rs", "use crate::codec::Rows; use crate::view::View;"),
        ("codec.rs", ""),
        ("extra.rs", "use crate::flat::scan;"),
        ("ffi/mod.rs", "use crate::shards::X;"),
    ];
    for (name, text) in files {
        std::fs::write(src.join(name), text).unwrap();
    }
    let graph = import_graph(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let edges = |m: &str| graph[m].iter().cloned().collect::<Vec<_>>();
    assert_eq!(edges("flat"), ["topk"]); // `error` is not a module of this tree
    assert_eq!(edges("hnsw"), ["flat", "search"]);
    assert_eq!(edges("search"), ["flat", "hnsw"]);
    assert_eq!(edges("topk"), ["codec"]); // no `view` in this tree
    assert!(!graph.contains_key("ffi") && !graph.contains_key("lib"));
    let p = problems(&graph);
    let want = [
        "import cycle: hnsw -> search -> hnsw",
        "`hnsw` uses `search`, which sits above it in the layering",
        "module `extra` is not in the layering (add it to LAYERS here and to ARCHITECTURE.md)",
    ];
    assert_eq!(p, want);
}
