//! The crate's public Rust API, recorded in `tests/public-api.txt`: one line per public
//! item (path, kind and signature; fields, variants, inherent methods, trait impls and
//! auto traits), so that an accidental change shows in review as a diff of that file.
//!
//! The list comes from rustdoc's JSON output (`--output-format json`, unstable, enabled
//! on the stable toolchain with `RUSTC_BOOTSTRAP=1`), built for the library with its
//! default features minus `cli` (the CLI feature adds no library item). `#[doc(hidden)]`
//! items count too: they are callable. The C API is recorded by `include/vecmatch.h`
//! (`tests/c_header.rs`), not here. The build goes to its own target directory (the
//! test's `CARGO_TARGET_TMPDIR`), as the `cargo test` that runs this holds the main one.
//!
//! After an intended change: `VECMATCH_BLESS=1 cargo test --test public_api`, then commit
//! `tests/public-api.txt` and note the change in CHANGELOG.md.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The rustdoc JSON format this reader was written for (rustc 1.95). A toolchain with
/// another format may still work; the message says which one to check first.
const FORMAT_VERSION: u64 = 57;

/// Runs rustdoc and returns its JSON for this crate.
fn rustdoc_json() -> Value {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("public-api");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(manifest)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTDOCFLAGS")
        .args([
            "rustdoc",
            "--lib",
            "--locked",
            "--no-default-features",
            "--quiet",
        ])
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .arg("--document-hidden-items")
        .output()
        .expect("run cargo rustdoc");
    assert!(
        out.status.success(),
        "cargo rustdoc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read(target.join("doc/vecmatch.json")).expect("read vecmatch.json");
    let doc: Value = serde_json::from_slice(&json).expect("parse rustdoc JSON");
    let version = doc["format_version"].as_u64().unwrap_or(0);
    if version != FORMAT_VERSION {
        eprintln!(
            "note: rustdoc JSON format {version}, this reader was written for \
             {FORMAT_VERSION}; if the list below looks wrong, update tests/public_api.rs"
        );
    }
    doc
}

/// Walks the public items from the crate root.
struct Walker<'a> {
    index: &'a serde_json::Map<String, Value>,
    lines: BTreeSet<String>,
    seen: HashSet<(String, String)>,
}

impl<'a> Walker<'a> {
    fn item(&self, id: &Value) -> Option<&'a Value> {
        let key = match id {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => return None,
        };
        self.index.get(&key)
    }

    fn emit(&mut self, line: String) {
        self.lines.insert(line);
    }

    /// Records `item` (public, reached as `path`) and what it contains.
    fn visit(&mut self, item: &Value, path: &str) {
        // One visit per (path, item): re-exports may name an item twice.
        let id = item["id"].to_string();
        if !self.seen.insert((path.to_string(), id)) {
            return;
        }
        let (kind, inner) = kind_of(item);
        let non_exhaustive = if is_non_exhaustive(item) {
            "#[non_exhaustive] "
        } else {
            ""
        };
        match kind {
            "module" => {
                self.emit(format!("mod {path}"));
                for child in inner["items"].as_array().into_iter().flatten() {
                    let Some(c) = self.item(child) else { continue };
                    self.child(c, path);
                }
            }
            "struct" => {
                let generics = generics(&inner["generics"]);
                let shape = match &inner["kind"] {
                    Value::String(s) if s == "unit" => " (unit)".to_string(),
                    Value::Object(o) if o.contains_key("tuple") => {
                        let fields = o["tuple"].as_array().cloned().unwrap_or_default();
                        let shown: Vec<String> = fields
                            .iter()
                            .map(|f| match self.item(f) {
                                Some(f) => ty(&kind_of(f).1),
                                None => "_".into(),
                            })
                            .collect();
                        format!("({})", shown.join(", "))
                    }
                    Value::Object(o) => {
                        let plain = &o["plain"];
                        for f in plain["fields"].as_array().into_iter().flatten() {
                            if let Some(f) = self.item(f) {
                                let name = f["name"].as_str().unwrap_or("?");
                                self.emit(format!("field {path}::{name}: {}", ty(&kind_of(f).1)));
                            }
                        }
                        if plain["has_stripped_fields"].as_bool() == Some(true) {
                            " (private fields)".into()
                        } else {
                            String::new()
                        }
                    }
                    _ => String::new(),
                };
                self.emit(format!("{non_exhaustive}struct {path}{generics}{shape}"));
                self.impls(&inner, path, item["id"].as_u64());
            }
            "enum" => {
                self.emit(format!(
                    "{non_exhaustive}enum {path}{}",
                    generics(&inner["generics"])
                ));
                for v in inner["variants"].as_array().into_iter().flatten() {
                    let Some(v) = self.item(v) else { continue };
                    let name = v["name"].as_str().unwrap_or("?");
                    let vk = &kind_of(v).1["kind"];
                    let shape = match vk {
                        Value::Object(o) if o.contains_key("tuple") => {
                            let f: Vec<String> = o["tuple"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|f| self.item(f).map_or("_".into(), |f| ty(&kind_of(f).1)))
                                .collect();
                            format!("({})", f.join(", "))
                        }
                        Value::Object(o) if o.contains_key("struct") => {
                            let f: Vec<String> = o["struct"]["fields"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|f| self.item(f))
                                .map(|f| {
                                    format!("{}: {}", f["name"].as_str().unwrap_or("?"), {
                                        ty(&kind_of(f).1)
                                    })
                                })
                                .collect();
                            format!(" {{ {} }}", f.join(", "))
                        }
                        _ => String::new(),
                    };
                    let ne = if is_non_exhaustive(v) {
                        "#[non_exhaustive] "
                    } else {
                        ""
                    };
                    self.emit(format!("{ne}variant {path}::{name}{shape}"));
                }
                self.impls(&inner, path, item["id"].as_u64());
            }
            "function" => self.emit(format!("{}{path}{}", fn_prefix(&inner), fn_sig(&inner))),
            "constant" => self.emit(format!("const {path}: {}", ty(&inner["type"]))),
            "static" => self.emit(format!("static {path}: {}", ty(&inner["type"]))),
            "type_alias" => self.emit(format!(
                "type {path}{} = {}",
                generics(&inner["generics"]),
                ty(&inner["type"])
            )),
            "trait" => {
                self.emit(format!("trait {path}"));
                for m in inner["items"].as_array().into_iter().flatten() {
                    let Some(m) = self.item(m) else { continue };
                    self.member(m, path);
                }
            }
            other => self.emit(format!("{other} {path}")),
        }
    }

    /// A module's child: an item, or a `use` (re-export) that names one.
    fn child(&mut self, c: &Value, parent: &str) {
        let (kind, inner) = kind_of(c);
        if kind != "use" {
            let name = c["name"].as_str().unwrap_or("?");
            self.visit(c, &format!("{parent}::{name}"));
            return;
        }
        let name = inner["name"].as_str().unwrap_or("?");
        let Some(target) = self.item(&inner["id"]).cloned() else {
            // A re-export of another crate's item.
            let source = inner["source"].as_str().unwrap_or("?");
            self.emit(format!("pub use {parent}::{name} = {source}"));
            return;
        };
        if inner["is_glob"].as_bool() == Some(true) {
            let (_, m) = kind_of(&target);
            for g in m["items"].as_array().cloned().unwrap_or_default() {
                if let Some(g) = self.item(&g).cloned() {
                    self.child(&g, parent);
                }
            }
        } else {
            self.visit(&target, &format!("{parent}::{name}"));
        }
    }

    /// Inherent methods and constants, trait impls (not blanket ones) and auto traits.
    fn impls(&mut self, inner: &Value, path: &str, item_id: Option<u64>) {
        for i in inner["impls"].as_array().into_iter().flatten() {
            let Some(i) = self.item(i).cloned() else {
                continue;
            };
            let imp = &kind_of(&i).1;
            if !imp["blanket_impl"].is_null() {
                continue;
            }
            // An impl for another type that merely mentions this one (`From<Self>`): it
            // is listed under that type.
            if let Some(id) = imp["for"]["resolved_path"]["id"].as_u64()
                && Some(id) != item_id
            {
                continue;
            }
            match imp["trait"].as_object() {
                Some(t) if skip_trait(t["path"].as_str().unwrap_or("")) => {}
                Some(t) => {
                    let neg = if imp["is_negative"].as_bool() == Some(true) {
                        "!"
                    } else {
                        ""
                    };
                    let t = path_ty(&Value::Object(t.clone()));
                    self.emit(format!("impl {neg}{t} for {path}"));
                }
                None => {
                    for m in imp["items"].as_array().into_iter().flatten() {
                        let Some(m) = self.item(m).cloned() else {
                            continue;
                        };
                        if m["visibility"] == "public" {
                            self.member(&m, path);
                        }
                    }
                }
            }
        }
    }

    /// An associated function, constant or type of `path`.
    fn member(&mut self, m: &Value, path: &str) {
        let name = m["name"].as_str().unwrap_or("?");
        let (kind, inner) = kind_of(m);
        let line = match kind {
            "function" => format!("{}{path}::{name}{}", fn_prefix(&inner), fn_sig(&inner)),
            "assoc_const" => format!("const {path}::{name}: {}", ty(&inner["type"])),
            "assoc_type" => format!("type {path}::{name}"),
            other => format!("{other} {path}::{name}"),
        };
        self.emit(line);
    }
}

/// Traits left out of the list: compiler-internal ones that derives and auto-trait
/// inference add and that change between toolchains (`Freeze`, `StructuralPartialEq`,
/// …). `Send`, `Sync`, `Unpin`, `UnwindSafe` and `RefUnwindSafe` stay: they are promises.
fn skip_trait(name: &str) -> bool {
    let last = name.rsplit("::").next().unwrap_or(name);
    matches!(
        last,
        "Freeze" | "UnsafeUnpin" | "StructuralPartialEq" | "TrivialClone"
    )
}

/// The item's kind (`"struct"`, `"function"`, …) and its kind-specific part.
fn kind_of(item: &Value) -> (&str, Value) {
    match item["inner"].as_object().and_then(|o| o.iter().next()) {
        Some((k, v)) => (k.as_str(), v.clone()),
        None => (item["inner"].as_str().unwrap_or("?"), Value::Null),
    }
}

fn is_non_exhaustive(item: &Value) -> bool {
    item["attrs"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| a.to_string().contains("non_exhaustive"))
}

fn fn_prefix(f: &Value) -> String {
    let h = &f["header"];
    let mut s = String::new();
    if h["is_const"].as_bool() == Some(true) {
        s.push_str("const ");
    }
    if h["is_unsafe"].as_bool() == Some(true) {
        s.push_str("unsafe ");
    }
    if h["abi"] != "Rust" {
        s.push_str("extern ");
    }
    s.push_str("fn ");
    s
}

fn fn_sig(f: &Value) -> String {
    let sig = &f["sig"];
    let inputs: Vec<String> = sig["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let name = p[0].as_str().unwrap_or("_");
            let t = ty(&p[1]);
            match (name, t.as_str()) {
                ("self", "Self") => "self".into(),
                ("self", "&Self") => "&self".into(),
                ("self", "&mut Self") => "&mut self".into(),
                _ => format!("{name}: {t}"),
            }
        })
        .collect();
    let output = if sig["output"].is_null() {
        String::new()
    } else {
        format!(" -> {}", ty(&sig["output"]))
    };
    let generics = generics(&f["generics"]);
    format!("{generics}({}){output}", inputs.join(", "))
}

/// Generic parameters as written (`<'a, T: Bound>`), without the synthetic ones of
/// `impl Trait` arguments.
fn generics(g: &Value) -> String {
    let params: Vec<String> = g["params"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["kind"]["type"]["is_synthetic"].as_bool() != Some(true))
        .map(|p| {
            let name = p["name"].as_str().unwrap_or("?").to_string();
            let bounds = bounds(&p["kind"]["type"]["bounds"]);
            let mut s = if bounds.is_empty() {
                name
            } else {
                format!("{name}: {bounds}")
            };
            let default = &p["kind"]["type"]["default"];
            if !default.is_null() {
                s.push_str(&format!(" = {}", ty(default)));
            }
            s
        })
        .collect();
    let preds: Vec<String> = g["where_predicates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| match w.get("bound_predicate") {
            Some(b) => format!("{}: {}", ty(&b["type"]), bounds(&b["bounds"])),
            None => w.to_string(),
        })
        .collect();
    let mut s = String::new();
    if !params.is_empty() {
        s = format!("<{}>", params.join(", "));
    }
    if !preds.is_empty() {
        s.push_str(&format!(" where {}", preds.join(", ")));
    }
    s
}

fn bounds(b: &Value) -> String {
    let v: Vec<String> = b
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            if let Some(t) = b.get("trait_bound") {
                let modifier = if t["modifier"] == "maybe" { "?" } else { "" };
                format!("{modifier}{}", path_ty(&t["trait"]))
            } else if let Some(l) = b.get("outlives") {
                l.as_str().unwrap_or("?").to_string()
            } else {
                b.to_string()
            }
        })
        .collect();
    v.join(" + ")
}

/// A path with its generic arguments (`Result<Gallery>`, `Fn(u64) -> bool`).
fn path_ty(p: &Value) -> String {
    // The last segment: the source may spell a type `crate::types::Metric`, `Metric` or
    // `std::time::Duration`; the list should not change when an import does.
    let full = p["path"].as_str().unwrap_or("?");
    let name = full.rsplit("::").next().unwrap_or(full);
    let args = &p["args"];
    if let Some(a) = args.get("angle_bracketed") {
        let mut parts: Vec<String> = a["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| {
                if let Some(t) = g.get("type") {
                    ty(t)
                } else if let Some(l) = g.get("lifetime") {
                    l.as_str().unwrap_or("?").to_string()
                } else if let Some(c) = g.get("const") {
                    c["expr"].as_str().unwrap_or("?").to_string()
                } else {
                    g.to_string()
                }
            })
            .collect();
        for c in a["constraints"].as_array().into_iter().flatten() {
            let n = c["name"].as_str().unwrap_or("?");
            match c["binding"].get("equality") {
                Some(e) => parts.push(format!("{n} = {}", ty(&e["type"]))),
                None => parts.push(format!("{n}: {}", bounds(&c["binding"]["constraint"]))),
            }
        }
        if parts.is_empty() {
            name.to_string()
        } else {
            format!("{name}<{}>", parts.join(", "))
        }
    } else if let Some(p) = args.get("parenthesized") {
        let inputs: Vec<String> = p["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(ty)
            .collect();
        let out = if p["output"].is_null() {
            String::new()
        } else {
            format!(" -> {}", ty(&p["output"]))
        };
        format!("{name}({}){out}", inputs.join(", "))
    } else {
        name.to_string()
    }
}

/// A type as Rust source would spell it (close enough to read a diff).
fn ty(t: &Value) -> String {
    let Some((k, v)) = t.as_object().and_then(|o| o.iter().next()) else {
        return t.as_str().unwrap_or("?").to_string();
    };
    match k.as_str() {
        "resolved_path" => path_ty(v),
        "generic" | "primitive" => v.as_str().unwrap_or("?").to_string(),
        "borrowed_ref" => {
            let lt = v["lifetime"]
                .as_str()
                .map(|l| format!("{l} "))
                .unwrap_or_default();
            let m = if v["is_mutable"].as_bool() == Some(true) {
                "mut "
            } else {
                ""
            };
            format!("&{lt}{m}{}", ty(&v["type"]))
        }
        "raw_pointer" => {
            let m = if v["is_mutable"].as_bool() == Some(true) {
                "mut"
            } else {
                "const"
            };
            format!("*{m} {}", ty(&v["type"]))
        }
        "slice" => format!("[{}]", ty(v)),
        "array" => format!("[{}; {}]", ty(&v["type"]), v["len"].as_str().unwrap_or("?")),
        "tuple" => {
            let parts: Vec<String> = v.as_array().into_iter().flatten().map(ty).collect();
            format!("({})", parts.join(", "))
        }
        "impl_trait" => format!("impl {}", bounds(v)),
        "dyn_trait" => {
            let mut parts: Vec<String> = v["traits"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| path_ty(&p["trait"]))
                .collect();
            if let Some(l) = v["lifetime"].as_str() {
                parts.push(l.to_string());
            }
            format!("dyn {}", parts.join(" + "))
        }
        "qualified_path" => format!(
            "<{} as {}>::{}",
            ty(&v["self_type"]),
            path_ty(&v["trait"]),
            v["name"].as_str().unwrap_or("?")
        ),
        "function_pointer" => {
            let inputs: Vec<String> = v["sig"]["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| ty(&p[1]))
                .collect();
            let out = if v["sig"]["output"].is_null() {
                String::new()
            } else {
                format!(" -> {}", ty(&v["sig"]["output"]))
            };
            format!("fn({}){out}", inputs.join(", "))
        }
        _ => t.to_string(),
    }
}

/// The public API, one line per item, sorted.
fn public_api() -> String {
    let doc = rustdoc_json();
    let index = doc["index"].as_object().expect("rustdoc JSON has an index");
    let mut w = Walker {
        index,
        lines: BTreeSet::new(),
        seen: HashSet::new(),
    };
    let root = w.item(&doc["root"]).expect("root module").clone();
    w.visit(&root, "vecmatch");
    let mut out = String::new();
    for l in &w.lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// The list, computed once per test binary.
fn fresh() -> &'static str {
    static API: OnceLock<String> = OnceLock::new();
    API.get_or_init(public_api)
}

#[test]
fn public_api_is_as_recorded() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/public-api.txt");
    let fresh = fresh();
    if std::env::var_os("VECMATCH_BLESS").is_some() {
        std::fs::write(&path, fresh).expect("write tests/public-api.txt");
        return;
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_default();
    if recorded != fresh {
        let old: BTreeSet<&str> = recorded.lines().collect();
        let new: BTreeSet<&str> = fresh.lines().collect();
        let mut diff = String::new();
        for l in old.difference(&new) {
            diff.push_str(&format!("- {l}\n"));
        }
        for l in new.difference(&old) {
            diff.push_str(&format!("+ {l}\n"));
        }
        panic!(
            "the public API differs from tests/public-api.txt (- recorded, + now):\n{diff}\n\
             If the change is intended: `VECMATCH_BLESS=1 cargo test --test public_api`, \
             commit tests/public-api.txt and note the change in CHANGELOG.md"
        );
    }
}

/// The soundness of the kernel dispatch rests on `unstable::Backend` having no public
/// field and no safe constructor without detection; the compile-fail doc tests in
/// `src/unstable.rs` show it (rustdoc on stable does not check their error codes), and
/// this checks it on the item list.
#[test]
fn backend_token_has_no_public_constructor() {
    let api = fresh();
    assert!(
        api.lines()
            .any(|l| l == "struct vecmatch::unstable::Backend(_)"),
        "Backend must be a tuple struct with a private field"
    );
    let constructors: Vec<&str> = api
        .lines()
        .filter(|l| l.contains("vecmatch::unstable::Backend::"))
        .filter(|l| l.ends_with("-> Backend") || l.ends_with("-> Option<Backend>"))
        .collect();
    for c in &constructors {
        assert!(
            c.contains("unsafe fn")
                || ["detect(", "scalar(", "active("]
                    .iter()
                    .any(|n| c.contains(n)),
            "a constructor of Backend that neither detects nor is unsafe: {c}"
        );
    }
    assert!(!constructors.is_empty(), "no Backend constructor found");
}
