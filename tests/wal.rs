//! The write-ahead log of a collection through the public API: acknowledged changes
//! replayed after the collection is dropped without a commit (every durable mode), a torn
//! tail ignored and cut, a damaged middle refused with a typed error, a log of another
//! gallery file refused, deleted vectors gone from the log and the file after a commit,
//! the log's permission bits, switching modes on an open collection, and the CLI folding a
//! log into the file.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Rng;
use vecmatch::{
    Collection, CollectionOptions, Durability, Error, Gallery, GalleryBuilder, Metric, SearchParams,
};

const D: usize = 8;

fn wal_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".wal");
    PathBuf::from(s)
}

fn opts(durability: Durability) -> CollectionOptions {
    CollectionOptions {
        durability,
        ..CollectionOptions::manual()
    }
}

const MODES: [Durability; 2] = [
    Durability::Always,
    Durability::Group {
        interval: Duration::from_millis(5),
    },
];

/// Checks that `c` holds exactly `model` (L2: vectors stored as given).
fn check(c: &Collection, model: &BTreeMap<u64, Vec<f32>>, what: &str) {
    assert_eq!(c.len(), model.len(), "{what}: len");
    for (k, v) in model {
        assert_eq!(c.get(*k).as_deref(), Some(&v[..]), "{what}: key {k}");
        let hits = c.search(v, &SearchParams::k(1)).unwrap();
        assert_eq!(hits[0].distance, 0.0, "{what}: search for key {k}");
    }
}

#[test]
fn acknowledged_changes_are_replayed_after_a_drop_without_commit() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        let mut rng = Rng::new(7);
        let mut model = BTreeMap::new();
        let c = Collection::create(&path, D, Metric::L2, opts(mode)).unwrap();
        // Committed rows, then pending changes of every kind on top.
        for k in 0..50u64 {
            let v = rng.vec(D);
            c.add(k, &v).unwrap();
            model.insert(k, v);
        }
        c.commit().unwrap();
        let keys: Vec<u64> = (100..300).collect();
        let rows: Vec<f32> = (0..keys.len() * D).map(|_| rng.unit()).collect();
        c.add_batch(&keys, &rows).unwrap();
        for (k, v) in keys.iter().zip(rows.chunks(D)) {
            model.insert(*k, v.to_vec());
        }
        for k in [3u64, 7, 120, 121] {
            let v = rng.vec(D); // replacements of committed and pending keys
            c.add(k, &v).unwrap();
            model.insert(k, v);
        }
        assert!(c.delete_batch(&[5, 6, 150, 999]).unwrap() == 3);
        c.delete(121).unwrap();
        for k in [5, 6, 150, 121] {
            model.remove(&k);
        }
        check(&c, &model, "before the drop");
        drop(c); // no commit
        assert!(wal_of(&path).exists());

        // Reopened in any mode (commit-only included), the changes are pending again.
        for reopen in [Durability::CommitOnly, mode] {
            let c = Collection::open_with(&path, opts(reopen)).unwrap();
            check(&c, &model, &format!("{mode:?} reopened as {reopen:?}"));
            assert!(c.stats().pending_rows > 0);
        }
        // A commit folds them into the file and empties the log.
        let c = Collection::open_with(&path, opts(mode)).unwrap();
        c.commit().unwrap();
        drop(c);
        let g = Gallery::open(&path).unwrap();
        assert_eq!(g.len(), model.len());
        let c = Collection::open_with(&path, opts(mode)).unwrap();
        assert_eq!(c.stats().pending_rows, 0, "{mode:?}: the log was emptied");
        check(&c, &model, "after the commit");
    }
}

#[test]
fn commit_only_writes_no_log_and_loses_pending_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let c = Collection::create(&path, D, Metric::L2, opts(Durability::CommitOnly)).unwrap();
    c.add(1, &[1.0; D]).unwrap();
    assert_eq!(c.durability(), Durability::CommitOnly);
    drop(c);
    assert!(!wal_of(&path).exists());
    assert_eq!(Collection::open(&path).unwrap().len(), 0);
}

#[test]
fn a_torn_tail_is_ignored_and_cut_before_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let c = Collection::create(&path, D, Metric::L2, opts(Durability::Always)).unwrap();
    c.add(1, &[1.0; D]).unwrap();
    c.add(2, &[2.0; D]).unwrap();
    let before_third = std::fs::metadata(wal_of(&path)).unwrap().len();
    c.add(3, &[3.0; D]).unwrap();
    drop(c);
    let wal = wal_of(&path);
    let full = std::fs::read(&wal).unwrap();
    // The third record cut at every length (a crash in its write), or with a bad checksum.
    let mut cases: Vec<Vec<u8>> = (before_third as usize + 1..full.len())
        .map(|n| full[..n].to_vec())
        .collect();
    let mut flipped = full.clone();
    *flipped.last_mut().unwrap() ^= 0x40;
    cases.push(flipped);
    for (i, bytes) in cases.into_iter().enumerate() {
        std::fs::write(&wal, &bytes).unwrap();
        let c = Collection::open_with(&path, opts(Durability::Always)).unwrap();
        assert_eq!((c.len(), c.contains(3)), (2, false), "case {i}");
        c.add(4, &[4.0; D]).unwrap();
        drop(c);
        // The torn bytes were cut: the new record follows the second directly.
        let c = Collection::open(&path).unwrap();
        assert!(c.contains(1) && c.contains(2) && c.contains(4), "case {i}");
        assert!(!c.contains(3), "case {i}");
        drop(c);
        assert!(std::fs::metadata(&wal).unwrap().len() < full.len() as u64 + 64);
    }
}

#[test]
fn a_damaged_record_before_the_end_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let c = Collection::create(&path, D, Metric::L2, opts(Durability::Always)).unwrap();
    c.add(1, &[1.0; D]).unwrap();
    let second = std::fs::metadata(wal_of(&path)).unwrap().len();
    c.add(2, &[2.0; D]).unwrap();
    c.add(3, &[3.0; D]).unwrap();
    drop(c);
    let wal = wal_of(&path);
    let good = std::fs::read(&wal).unwrap();
    let gallery = std::fs::read(&path).unwrap();
    // A flipped byte in the payload of the second record, then in its length field.
    for at in [second as usize + 30, second as usize + 9] {
        let mut b = good.clone();
        b[at] ^= 0x08;
        std::fs::write(&wal, &b).unwrap();
        for mode in [Durability::CommitOnly, Durability::Always] {
            match Collection::open_with(&path, opts(mode)) {
                Err(e @ Error::WalCorrupt { offset, .. }) => {
                    assert_eq!(offset, second, "the damaged record's offset");
                    let msg = e.to_string();
                    assert!(msg.contains("g.vmg.wal") && msg.contains(&second.to_string()));
                }
                other => panic!("expected WalCorrupt, got {other:?}"),
            }
        }
        // Nothing was changed: the gallery and the log are as they were.
        assert_eq!(std::fs::read(&path).unwrap(), gallery);
        assert_eq!(std::fs::read(&wal).unwrap(), b);
    }
    // A damaged header too.
    let mut b = good.clone();
    b[17] ^= 1;
    std::fs::write(&wal, &b).unwrap();
    assert!(matches!(
        Collection::open(&path),
        Err(Error::WalCorrupt { offset: 0, .. })
    ));
}

#[test]
fn a_log_of_another_gallery_file_is_refused_unless_it_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let c = Collection::create(&path, D, Metric::L2, opts(Durability::Always)).unwrap();
    c.add(1, &[1.0; D]).unwrap();
    c.commit().unwrap();
    c.add(2, &[2.0; D]).unwrap();
    drop(c);
    let log = std::fs::read(wal_of(&path)).unwrap();
    let committed = std::fs::read(&path).unwrap();
    // The file replaced by another one (a rebuild, a restored copy): the log is refused.
    let other = dir.path().join("other.vmg");
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    b.add(1, &[1.0; D]).unwrap();
    b.write(&other).unwrap();
    std::fs::rename(&other, &path).unwrap();
    for mode in [Durability::CommitOnly, Durability::Always] {
        match Collection::open_with(&path, opts(mode)) {
            Err(e @ Error::WalMismatch { .. }) => {
                assert!(e.to_string().contains("g.vmg.wal"), "{e}");
            }
            other => panic!("expected WalMismatch, got {other:?}"),
        }
    }
    assert_eq!(
        std::fs::read(wal_of(&path)).unwrap(),
        log,
        "the log is kept"
    );
    // Other dimensions: refused too.
    std::fs::remove_file(&path).unwrap();
    let mut b = GalleryBuilder::new(D + 1, Metric::L2).unwrap();
    b.add(1, &[1.0; D + 1]).unwrap();
    b.write(&path).unwrap();
    assert!(matches!(
        Collection::open(&path),
        Err(Error::WalMismatch { .. })
    ));
    // The right file back: the log applies.
    std::fs::write(&path, &committed).unwrap();
    let c = Collection::open(&path).unwrap();
    assert!(c.contains(1) && c.contains(2));
    c.commit().unwrap();
    drop(c);
    // An empty log of another file holds nothing to lose: it is replaced.
    let c = Collection::open_with(&path, opts(Durability::Always)).unwrap();
    drop(c);
    let mut b = GalleryBuilder::new(D, Metric::L2).unwrap();
    b.add(9, &[9.0; D]).unwrap();
    b.write(&other).unwrap();
    std::fs::rename(&other, &path).unwrap();
    let c = Collection::open_with(&path, opts(Durability::Always)).unwrap();
    assert_eq!((c.len(), c.contains(9)), (1, true));
}

fn contains_bytes(hay: &[u8], v: &[f32]) -> bool {
    let needle: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn deleted_vectors_are_gone_from_the_log_and_the_file_after_the_commit() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        let c = Collection::create(&path, D, Metric::L2, opts(mode)).unwrap();
        let secret = |s: f32| -> Vec<f32> { (0..D).map(|i| s + i as f32 * 0.001).collect() };
        let (committed, pending, replaced, kept) =
            (secret(11.5), secret(22.5), secret(33.5), secret(44.5));
        c.add(1, &committed).unwrap();
        c.add(3, &replaced).unwrap();
        c.commit().unwrap();
        c.add(2, &pending).unwrap();
        c.add(4, &kept).unwrap();
        c.add(3, &[0.5; D]).unwrap(); // replaces a committed row
        let wal = std::fs::read(wal_of(&path)).unwrap();
        assert!(
            contains_bytes(&wal, &pending),
            "{mode:?}: the log holds the row"
        );
        c.delete(1).unwrap();
        c.delete(2).unwrap();
        c.commit().unwrap();
        // Another pending change after the commit: the log is in use again.
        c.add(5, &[5.0; D]).unwrap();
        let wal = std::fs::read(wal_of(&path)).unwrap();
        let file = std::fs::read(&path).unwrap();
        for (name, v) in [
            ("committed", &committed),
            ("pending", &pending),
            ("replaced", &replaced),
        ] {
            assert!(!contains_bytes(&wal, v), "{mode:?}: {name} row in the log");
            assert!(
                !contains_bytes(&file, v),
                "{mode:?}: {name} row in the file"
            );
        }
        assert!(
            contains_bytes(&file, &kept),
            "{mode:?}: the search is sound"
        );
        drop(c);
        let c = Collection::open(&path).unwrap();
        assert_eq!(c.len(), 3);
        assert!(c.contains(5) && !c.contains(1) && !c.contains(2));
    }
}

#[cfg(unix)]
#[test]
fn the_log_has_the_permission_bits_of_the_gallery() {
    use std::os::unix::fs::PermissionsExt;
    let mode_of = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for bits in [0o600, 0o640, 0o644] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        drop(Collection::create(&path, D, Metric::L2, CollectionOptions::manual()).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bits)).unwrap();
        let c = Collection::open_with(&path, opts(Durability::Always)).unwrap();
        assert_eq!(mode_of(&wal_of(&path)), bits, "a new log");
        c.add(1, &[1.0; D]).unwrap();
        c.commit().unwrap();
        // The rewritten log follows the gallery's bits as the commit published them.
        assert_eq!(mode_of(&wal_of(&path)), mode_of(&path), "a rewritten log");
    }
}

#[test]
fn switching_modes_on_an_open_collection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let c = Collection::create(&path, D, Metric::L2, opts(Durability::CommitOnly)).unwrap();
    c.add(1, &[1.0; D]).unwrap();
    c.delete(1).unwrap();
    c.add(2, &[2.0; D]).unwrap();
    assert!(!wal_of(&path).exists());
    // To a logging mode: the pending state is written, so the log replays to it.
    c.set_durability(Durability::Always).unwrap();
    c.add(3, &[3.0; D]).unwrap();
    assert!(matches!(
        c.set_durability(Durability::Group {
            interval: Duration::ZERO
        }),
        Err(Error::InvalidArgument(_))
    ));
    c.set_durability(Durability::Group {
        interval: Duration::from_millis(20),
    })
    .unwrap();
    c.add(4, &[4.0; D]).unwrap();
    // Back to commit-only: later changes are not logged, earlier ones stay.
    c.set_durability(Durability::CommitOnly).unwrap();
    c.add(5, &[5.0; D]).unwrap();
    drop(c);
    let c = Collection::open(&path).unwrap();
    let live: Vec<u64> = (1..=5).filter(|&k| c.contains(k)).collect();
    assert_eq!(live, [2, 3, 4]);
}

#[test]
fn the_cli_folds_a_log_into_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.vmg");
    let c = Collection::create(&path, D, Metric::L2, opts(Durability::Always)).unwrap();
    c.add(1, &[1.0; D]).unwrap();
    c.add(2, &[2.0; D]).unwrap();
    c.commit().unwrap();
    c.add(3, &[3.0; D]).unwrap();
    c.delete(1).unwrap();
    drop(c);
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "2\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vecmatch"))
        .arg("delete")
        .arg(&path)
        .arg("--keys")
        .arg(&keys)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !wal_of(&path).exists(),
        "the commit-only CLI removes the emptied log"
    );
    let g = Gallery::open(&path).unwrap();
    assert_eq!(g.keys(), &[3]);
    // `add` without keys picks keys past the pending ones too.
    let c = Collection::open_with(&path, opts(Durability::Always)).unwrap();
    c.add(10, &[1.0; D]).unwrap();
    drop(c);
    let input = dir.path().join("one.fvecs");
    common::write_fvecs(&input, D, &[2.0; D]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vecmatch"))
        .arg("add")
        .arg(&path)
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut keys = Gallery::open(&path).unwrap().keys().to_vec();
    keys.sort_unstable();
    assert_eq!(keys, [3, 10, 11]);
}

/// The log does not record labels yet: a labelled add under a logging mode, and switching
/// to a logging mode with labelled rows pending, are refused (never a replay that drops
/// the labels); without a log, labelled rows are kept as usual.
#[test]
fn labelled_rows_are_refused_under_a_logging_mode() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.vmg");
        let c = Collection::create(&path, D, Metric::L2, opts(mode)).unwrap();
        let err = c.add_labeled(1, &[0.5; D], &[3]).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(ref m) if m.contains("labels")),
            "{err}"
        );
        assert_eq!(c.len(), 0, "a refused add changes nothing");
        c.add_labeled(2, &[0.5; D], &[]).unwrap();
        c.set_durability(Durability::CommitOnly).unwrap();
        c.add_labeled(3, &[0.25; D], &[7]).unwrap();
        let err = c.set_durability(mode).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert_eq!(c.durability(), Durability::CommitOnly);
        c.commit().unwrap();
        assert_eq!(c.labels(3).as_deref(), Some(&[7u32][..]));
        c.set_durability(mode).unwrap();
    }
}
