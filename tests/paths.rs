//! Paths and permissions when a gallery is rewritten (issue 14, items 2–4 and 9): the
//! old file's mode, owner and group are kept, write-protected files are refused,
//! symbolic links are followed, an output that is an input is refused, long names work,
//! errors name what the user gave, and a file replaced behind a writer's back is not
//! overwritten.
#![cfg(unix)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::small_file;
use vecmatch::{Collection, CollectionOptions, Error, Gallery, GalleryBuilder, Metric};

const D: usize = 8;

fn vecmatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vecmatch"))
        .args(args)
        .output()
        .expect("spawn vecmatch")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One line on stderr, exit `code`, no panic.
fn assert_fails(o: &Output, code: i32) -> String {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "one line expected: {e}");
    assert!(
        e.starts_with("vecmatch: ") && !e.contains("panicked"),
        "{e}"
    );
    e
}

fn assert_ok(o: &Output) {
    assert!(o.status.success(), "stderr: {}", stderr(o));
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// Writes `n` random `D`-d rows as .fvecs.
fn fvecs(path: &Path, n: usize, seed: u64) {
    common::write_fvecs(path, D, &common::vecs(n, D, seed)).unwrap();
}

fn keys_file(path: &Path, keys: &[u64]) {
    let text: String = keys.iter().map(|k| format!("{k}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// A gallery of 50 rows (keys `scrambled_key(row)`) and a key file of its first 5 keys.
fn setup(dir: &Path) -> (PathBuf, Vec<u64>, PathBuf) {
    let (g, keys) = small_file(dir, 50, D, Metric::L2);
    let k = dir.join("del.txt");
    keys_file(&k, &keys[..5]);
    (g, keys, k)
}

#[test]
fn rewrites_keep_the_mode() {
    for m in [0o600, 0o640, 0o664] {
        let dir = tempfile::tempdir().unwrap();
        let (g, keys, k) = setup(dir.path());
        chmod(&g, m);
        // CLI delete, add, compact; library commit; builder write over the file.
        assert_ok(&vecmatch(&["delete", s(&g), "--keys", s(&k)]));
        assert_eq!(mode(&g), m, "delete");
        let v = dir.path().join("v.fvecs");
        fvecs(&v, 3, 1);
        assert_ok(&vecmatch(&["add", s(&g), "--input", s(&v)]));
        assert_eq!(mode(&g), m, "add");
        assert_ok(&vecmatch(&["compact", s(&g)]));
        assert_eq!(mode(&g), m, "compact");
        let c = Collection::open(&g).unwrap();
        c.delete(keys[10]).unwrap();
        c.commit().unwrap();
        drop(c);
        assert_eq!(mode(&g), m, "commit");
        let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
        b.add(1, &[1.0; D]).unwrap();
        b.write(&g).unwrap();
        assert_eq!(mode(&g), m, "builder write");
        let o = vecmatch(&[
            "build",
            "--input",
            s(&v),
            "--output",
            s(&g),
            "--metric",
            "l2",
        ]);
        assert_ok(&o);
        assert_eq!(mode(&g), m, "build");
    }
}

#[test]
fn write_protected_galleries_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (g, keys, k) = setup(dir.path());
    chmod(&g, 0o444);
    let before = std::fs::read(&g).unwrap();
    let e = assert_fails(&vecmatch(&["delete", s(&g), "--keys", s(&k)]), 1);
    assert!(
        e.contains("write-protected") && e.contains("small.vmg"),
        "{e}"
    );
    let v = dir.path().join("v.fvecs");
    fvecs(&v, 3, 1);
    assert_fails(&vecmatch(&["add", s(&g), "--input", s(&v)]), 1);
    assert_fails(&vecmatch(&["compact", s(&g)]), 1);
    let o = vecmatch(&[
        "build",
        "--input",
        s(&v),
        "--output",
        s(&g),
        "--metric",
        "l2",
    ]);
    assert!(assert_fails(&o, 1).contains("write-protected"));
    assert!(matches!(
        Collection::open(&g),
        Err(Error::Permission { .. })
    ));
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    b.add(1, &[1.0; D]).unwrap();
    assert!(matches!(b.write(&g), Err(Error::Permission { .. })));
    assert_eq!(std::fs::read(&g).unwrap(), before);
    assert_eq!(mode(&g), 0o444);
    // Reading still works.
    assert_eq!(Gallery::open(&g).unwrap().len(), keys.len());
}

#[test]
fn owner_and_group_are_kept_where_permitted() {
    let dir = tempfile::tempdir().unwrap();
    let (g, keys, k) = setup(dir.path());
    let me = std::fs::metadata(&g).unwrap();
    if me.uid() != 0 {
        // Giving the file to someone else needs root; the refusal is tested below.
        return;
    }
    std::os::unix::fs::chown(&g, Some(4321), Some(8765)).unwrap();
    chmod(&g, 0o640);
    assert_ok(&vecmatch(&["delete", s(&g), "--keys", s(&k)]));
    let m = std::fs::metadata(&g).unwrap();
    assert_eq!((m.uid(), m.gid(), mode(&g)), (4321, 8765, 0o640));
    assert!(!Gallery::open(&g).unwrap().contains(keys[0]));
}

#[test]
fn a_symlink_is_followed_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("store");
    std::fs::create_dir(&real_dir).unwrap();
    let (g, keys, k) = setup(&real_dir);
    chmod(&g, 0o600);
    let links = dir.path().join("links");
    std::fs::create_dir(&links).unwrap();
    let link = links.join("link.vmg");
    symlink("../store/small.vmg", &link).unwrap();
    // A link to the link.
    let link2 = dir.path().join("link2.vmg");
    symlink(&link, &link2).unwrap();

    assert_ok(&vecmatch(&["delete", s(&link2), "--keys", s(&k)]));
    for l in [&link, &link2] {
        assert!(
            std::fs::symlink_metadata(l)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    let real = Gallery::open(&g).unwrap();
    assert_eq!(real.len(), keys.len() - 5);
    for key in &keys[..5] {
        assert!(
            !real.contains(*key),
            "deleted key {key} still in the real file"
        );
    }
    assert_eq!(mode(&g), 0o600);
    // No stray file next to the link.
    let mut names: Vec<_> = std::fs::read_dir(&links)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["link.vmg"]);

    // The link and the file share one writer lock.
    let c = Collection::open(&g).unwrap();
    assert!(matches!(Collection::open(&link), Err(Error::Locked { .. })));
    drop(c);
    let c = Collection::open(&link).unwrap();
    c.delete(keys[20]).unwrap();
    c.commit().unwrap();
    drop(c);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!Gallery::open(&g).unwrap().contains(keys[20]));
}

#[test]
fn a_dangling_link_is_created_through() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.vmg");
    symlink("target.vmg", &link).unwrap();
    let v = dir.path().join("v.fvecs");
    fvecs(&v, 4, 2);
    assert_ok(&vecmatch(&[
        "build",
        "--input",
        s(&v),
        "--output",
        s(&link),
    ]));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        Gallery::open(dir.path().join("target.vmg")).unwrap().len(),
        4
    );
}

#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _, _) = setup(dir.path());
    let q = dir.path().join("q.fvecs");
    fvecs(&q, 3, 3);
    let b = dir.path().join("b.fvecs");
    fvecs(&b, 5, 4);
    let k = dir.path().join("k.txt");
    keys_file(&k, &[1, 2, 3, 4, 5]);
    let snapshot = |p: &Path| std::fs::read(p).unwrap();
    let (g0, q0, b0, k0) = (snapshot(&g), snapshot(&q), snapshot(&b), snapshot(&k));

    let e = assert_fails(
        &vecmatch(&["search", s(&g), "--query", s(&q), "--output", s(&g)]),
        2,
    );
    assert!(e.contains("same file"), "{e}");
    assert_fails(
        &vecmatch(&["search", s(&g), "--query", s(&q), "--output", s(&q)]),
        2,
    );
    assert_fails(
        &vecmatch(&["build", "--input", s(&b), "--output", s(&b)]),
        2,
    );
    assert_fails(
        &vecmatch(&[
            "build",
            "--input",
            s(&b),
            "--keys",
            s(&k),
            "--output",
            s(&k),
        ]),
        2,
    );
    // Other spellings of the same file: `..`, a symbolic link, a hard link.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let dotted = sub.join("../q.fvecs");
    assert_fails(
        &vecmatch(&["search", s(&g), "--query", s(&q), "--output", s(&dotted)]),
        2,
    );
    let sym = dir.path().join("g-link.vmg");
    symlink(&g, &sym).unwrap();
    assert_fails(
        &vecmatch(&["search", s(&g), "--query", s(&q), "--output", s(&sym)]),
        2,
    );
    let hard = dir.path().join("b-hard.fvecs");
    std::fs::hard_link(&b, &hard).unwrap();
    assert_fails(
        &vecmatch(&["build", "--input", s(&b), "--output", s(&hard)]),
        2,
    );

    assert_eq!(snapshot(&g), g0);
    assert_eq!(snapshot(&q), q0);
    assert_eq!(snapshot(&b), b0);
    assert_eq!(snapshot(&k), k0);
    // A distinct output still works.
    let out = dir.path().join("out.txt");
    assert_ok(&vecmatch(&[
        "search",
        s(&g),
        "--query",
        s(&q),
        "--output",
        s(&out),
    ]));
}

#[test]
fn long_names_work() {
    let dir = tempfile::tempdir().unwrap();
    for len in [244, 250, 255] {
        let name = format!("{}.vmg", "n".repeat(len - 4));
        assert_eq!(name.len(), len);
        let g = dir.path().join(&name);
        let v = dir.path().join("v.fvecs");
        fvecs(&v, 6, 5);
        assert_ok(&vecmatch(&[
            "build",
            "--input",
            s(&v),
            "--output",
            s(&g),
            "--metric",
            "l2",
        ]));
        assert_ok(&vecmatch(&["add", s(&g), "--input", s(&v)]));
        let k = dir.path().join("k.txt");
        keys_file(&k, &[0, 1]);
        assert_ok(&vecmatch(&["delete", s(&g), "--keys", s(&k)]));
        assert_eq!(Gallery::open(&g).unwrap().len(), 10);
        std::fs::remove_file(&g).unwrap();
        let c = Collection::create(&g, D, Metric::L2, CollectionOptions::manual()).unwrap();
        c.add(7, &[0.5; D]).unwrap();
        c.commit().unwrap();
        assert!(matches!(Collection::open(&g), Err(Error::Locked { .. })));
        drop(c);
        std::fs::remove_file(&g).unwrap();
    }
    // Nothing but the lock files and the inputs is left.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let n = e.unwrap().file_name().into_string().unwrap();
        assert!(!n.contains(".tmp-"), "leftover {n}");
        assert!(n.len() <= 255);
    }
}

#[test]
fn errors_name_what_the_user_gave() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.fvecs");
    fvecs(&v, 4, 6);
    let missing = dir.path().join("no/such/x.vmg");
    let e = assert_fails(
        &vecmatch(&["build", "--input", s(&v), "--output", s(&missing)]),
        1,
    );
    assert!(e.contains("x.vmg") && e.contains("does not exist"), "{e}");
    assert!(!e.contains(".tmp-"), "{e}");
    let e = Collection::create(&missing, D, Metric::L2, CollectionOptions::manual())
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.vmg") && e.contains("does not exist"), "{e}");
    assert!(!e.contains(".lock") && !e.contains(".tmp-"), "{e}");

    // A directory given as a gallery.
    let d = dir.path().join("adir");
    std::fs::create_dir(&d).unwrap();
    for args in [
        vec!["info", s(&d)],
        vec!["verify", s(&d)],
        vec!["compact", s(&d)],
        vec!["build", "--input", s(&v), "--output", s(&d)],
    ] {
        let e = assert_fails(&vecmatch(&args), 1);
        assert!(e.contains("is a directory"), "{args:?}: {e}");
        assert!(!e.contains("No such device"), "{e}");
    }
    let e = Gallery::open(&d).unwrap_err().to_string();
    assert!(e.contains("is a directory"), "{e}");

    // Query dimensions that differ from the gallery's, without --dims.
    let (g, _, _) = setup(dir.path());
    let q = dir.path().join("q.fvecs");
    std::fs::write(
        &q,
        [
            4i32.to_le_bytes(),
            1f32.to_le_bytes(),
            0f32.to_le_bytes(),
            0f32.to_le_bytes(),
            0f32.to_le_bytes(),
        ]
        .concat(),
    )
    .unwrap();
    let e = assert_fails(&vecmatch(&["search", s(&g), "--query", s(&q)]), 1);
    assert!(!e.contains("was given"), "{e}");
    assert!(e.contains("4-d") && e.contains("8-d"), "{e}");
}

/// Replaces `path` with another gallery the way a tool that ignores the lock would
/// (write a new file, rename it over).
fn replace_behind_the_back(path: &Path, key: u64) {
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    b.add(key, &[0.25; D]).unwrap();
    let other = path.with_extension("other");
    b.write(&other).unwrap();
    std::fs::rename(&other, path).unwrap();
}

#[test]
fn a_file_replaced_behind_a_writer_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (g, keys, _) = setup(dir.path());
    let c = Collection::open_with(&g, CollectionOptions::manual()).unwrap();
    c.add(999_999, &[0.5; D]).unwrap();
    c.delete(keys[3]).unwrap();
    replace_behind_the_back(&g, 424_242);
    let e = c.commit().unwrap_err();
    assert!(matches!(e, Error::Changed { .. }), "{e:?}");
    assert!(e.to_string().contains("changed by another process"), "{e}");
    // The newcomer is intact, and the changes are still pending, not lost.
    assert_eq!(Gallery::open(&g).unwrap().keys(), &[424_242]);
    assert!(c.contains(999_999) && !c.contains(keys[3]));
    assert_eq!(c.stats().pending_rows, 1);
    let temps = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    assert_eq!(temps, 0);

    // A file rewritten in place (`cp` over it keeps the inode) counts as changed too.
    let other = dir.path().join("other.vmg");
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    b.add_batch(&[1, 2], &[0.75; 2 * D]).unwrap();
    b.write(&other).unwrap();
    let ino = std::fs::metadata(&g).unwrap().ino();
    std::fs::copy(&other, &g).unwrap();
    assert_eq!(std::fs::metadata(&g).unwrap().ino(), ino, "copied in place");
    assert!(matches!(c.commit(), Err(Error::Changed { .. })));
    assert_eq!(Gallery::open(&g).unwrap().keys(), &[1, 2]);

    // A removed file counts as changed too.
    std::fs::remove_file(&g).unwrap();
    assert!(matches!(c.commit(), Err(Error::Changed { .. })));
    assert!(!g.exists());

    // A commit after the collection's own commit checks against the new file.
    let dir = tempfile::tempdir().unwrap();
    let (g, _, _) = setup(dir.path());
    let c = Collection::open_with(&g, CollectionOptions::manual()).unwrap();
    c.add(1, &[0.5; D]).unwrap();
    c.commit().unwrap();
    c.add(2, &[0.5; D]).unwrap();
    c.commit().unwrap();
    c.add(3, &[0.5; D]).unwrap();
    replace_behind_the_back(&g, 5);
    assert!(matches!(c.commit(), Err(Error::Changed { .. })));
}
