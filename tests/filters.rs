//! Labels stored with the rows and filtered search, against brute force: selectivities
//! 0.1%, 1%, 10%, 50% and 100%, labels uncorrelated with the vectors (hashed) and
//! correlated with them (a half-space), three metrics, graph and exact, galleries and
//! collections with pending rows; damaged label sections.

mod common;

use std::collections::HashSet;
use std::sync::OnceLock;

use common::{data, distance64, read_fvecs, reseal, scrambled_key};
use vecmatch::{
    Collection, CollectionOptions, Error, Filter, Gallery, GalleryBuilder, HnswParams, KeyFilter,
    Metric, SearchParams,
};

/// Fractions of rows carrying labels 1..=5.
const FRACTIONS: [f64; 5] = [0.001, 0.01, 0.1, 0.5, 1.0];
/// Labels 1..=5 are uncorrelated; 11..=15 are correlated with the vectors.
const CORRELATED: u32 = 10;

struct Data {
    d: usize,
    base: Vec<f32>,
    queries: Vec<f32>,
    keys: Vec<u64>,
    labels: Vec<Vec<u32>>,
}

fn mix(x: u64) -> u64 {
    let mut x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Label `i + 1` on a row with probability `FRACTIONS[i]` (hashed, uncorrelated); label
/// `CORRELATED + i + 1` on the `FRACTIONS[i] · n` rows with the smallest projection on a
/// fixed direction (correlated: a half-space of the vectors).
fn dataset() -> &'static Data {
    static D: OnceLock<Data> = OnceLock::new();
    D.get_or_init(|| {
        let (d, base) = read_fvecs(data("base.fvecs")).unwrap();
        let (_, queries) = read_fvecs(data("query.fvecs")).unwrap();
        let n = base.len() / d;
        let dir: Vec<f32> = (0..d)
            .map(|i| ((mix(i as u64) >> 40) as f32) - 8e6)
            .collect();
        let mut order: Vec<(f32, usize)> = base
            .chunks_exact(d)
            .enumerate()
            .map(|(r, v)| (v.iter().zip(&dir).map(|(a, b)| a * b).sum(), r))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut rank = vec![0usize; n];
        for (i, &(_, r)) in order.iter().enumerate() {
            rank[r] = i;
        }
        let labels = (0..n)
            .map(|r| {
                let mut l = Vec::new();
                for (i, f) in FRACTIONS.iter().enumerate() {
                    let h = (mix(r as u64 * 31 + i as u64) >> 11) as f64 / (1u64 << 53) as f64;
                    if h < *f {
                        l.push(i as u32 + 1);
                    }
                    if (rank[r] as f64) < f * n as f64 {
                        l.push(CORRELATED + i as u32 + 1);
                    }
                }
                l
            })
            .collect();
        Data {
            d,
            base,
            queries: queries[..20 * d].to_vec(),
            keys: (0..n as u64).map(scrambled_key).collect(),
            labels,
        }
    })
}

fn gallery(metric: Metric, graph: bool) -> Gallery {
    let x = dataset();
    let mut b = GalleryBuilder::new(x.d, metric).unwrap();
    b.add_batch_labeled(&x.keys, &x.base, &x.labels).unwrap();
    if graph {
        b.hnsw(HnswParams::default()).unwrap();
    }
    b.build_in_memory().unwrap()
}

/// Brute force over the rows `admit` accepts: keys of the k best (ties by key).
fn oracle(metric: Metric, q: &[f32], k: usize, admit: impl Fn(usize) -> bool) -> Vec<u64> {
    let x = dataset();
    let mut all: Vec<(f64, u64)> = x
        .base
        .chunks_exact(x.d)
        .enumerate()
        .filter(|(r, _)| admit(*r))
        .map(|(r, v)| (distance64(metric, v, q), x.keys[r]))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(_, key)| key).collect()
}

/// Brute force's admission test of a row.
type Admit<'a> = Box<dyn Fn(usize) -> bool + 'a>;

fn recall(got: &[u64], want: &[u64]) -> f64 {
    if want.is_empty() {
        return 1.0;
    }
    let w: HashSet<_> = want.iter().collect();
    got.iter().filter(|k| w.contains(k)).count() as f64 / want.len() as f64
}

#[test]
fn labels_are_stored_verified_and_read_back() {
    let x = dataset();
    let g = gallery(Metric::Cosine, false);
    assert!(g.has_labels());
    g.verify().unwrap();
    assert_eq!(g.info().version, (1, 2));
    assert!(g.info().sections.iter().any(|s| s.name == "LABELS"));
    for r in [0usize, 7, 4999] {
        let mut want = x.labels[r].clone();
        want.sort_unstable();
        assert_eq!(g.labels(x.keys[r]).unwrap(), &want[..]);
    }
    assert_eq!(g.labels(u64::MAX - 3), None);
    for (i, f) in FRACTIONS.iter().enumerate() {
        let want = (f * 5000.0) as usize;
        assert_eq!(g.label_count(CORRELATED + i as u32 + 1), want);
        let have = x
            .labels
            .iter()
            .filter(|l| l.contains(&(i as u32 + 1)))
            .count();
        assert_eq!(g.label_count(i as u32 + 1), have);
    }
    assert_eq!(g.label_count(999), 0);
    // A gallery without labels has no section and empty label sets.
    let mut b = GalleryBuilder::new(2, Metric::L2).unwrap();
    b.add(5, &[1.0, 2.0]).unwrap();
    b.add_labeled(6, &[1.0, 3.0], &[]).unwrap();
    let plain = b.build_in_memory().unwrap();
    assert!(!plain.has_labels());
    assert_eq!(plain.labels(5), Some(&[][..]));
    let f = Filter::new().all_labels(&[1]);
    assert!(
        plain
            .search_filtered(&[1.0, 2.0], &f, &SearchParams::k(2))
            .unwrap()
            .is_empty()
    );
    let f = Filter::new().no_labels(&[1]);
    assert_eq!(
        plain
            .search_filtered(&[1.0, 2.0], &f, &SearchParams::k(2))
            .unwrap()
            .len(),
        2
    );
}

/// Every selectivity and both label kinds, three metrics, graph and exact: exact searches
/// equal brute force; graph searches reach the recall floor and never come back short.
#[test]
fn filtered_search_matches_brute_force_at_every_selectivity() {
    let x = dataset();
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
        let g = gallery(metric, true);
        for label in (1..=5).chain(CORRELATED + 1..=CORRELATED + 5) {
            let labels = [label];
            let f = Filter::new().all_labels(&labels);
            let admitted = |r: usize| x.labels[r].contains(&label);
            let mut sum = 0.0;
            for q in x.queries.chunks_exact(x.d) {
                let want = oracle(metric, q, 10, admitted);
                let exact = SearchParams {
                    exact: true,
                    ..SearchParams::k(10)
                };
                let got: Vec<u64> = g
                    .search_filtered(q, &f, &exact)
                    .unwrap()
                    .iter()
                    .map(|h| h.key)
                    .collect();
                assert_eq!(recall(&got, &want), 1.0, "{metric} label {label} exact");
                assert_eq!(got.len(), want.len());
                let hits = g.search_filtered(q, &f, &SearchParams::k(10)).unwrap();
                assert_eq!(hits.len(), want.len(), "{metric} label {label}: short");
                for h in &hits {
                    assert!(admitted(x.keys.iter().position(|k| *k == h.key).unwrap()));
                }
                let got: Vec<u64> = hits.iter().map(|h| h.key).collect();
                sum += recall(&got, &want);
            }
            let r = sum / (x.queries.len() / x.d) as f64;
            assert!(r >= 0.95, "{metric} label {label}: recall {r}");
        }
    }
}

/// Combinations (all/any/none of labels, key lists, a predicate, `params.filter`) and
/// per-query filters in a batch, against brute force with exact search.
#[test]
fn combined_filters_and_per_query_batches() {
    let x = dataset();
    let metric = Metric::Cosine;
    for graph in [false, true] {
        let g = gallery(metric, graph);
        let allow: Vec<u64> = x.keys.iter().step_by(3).copied().collect();
        let deny: Vec<u64> = x.keys.iter().step_by(7).copied().collect();
        let even = |key: u64| key.is_multiple_of(2);
        let cases: Vec<(Filter<'_>, Admit<'_>)> = vec![
            (
                Filter::new().all_labels(&[4, 14]),
                Box::new(|r| x.labels[r].contains(&4) && x.labels[r].contains(&14)),
            ),
            (
                Filter::new().any_labels(&[2, 13]).no_labels(&[4]),
                Box::new(|r| {
                    (x.labels[r].contains(&2) || x.labels[r].contains(&13))
                        && !x.labels[r].contains(&4)
                }),
            ),
            (
                Filter::new().no_labels(&[14]).deny_keys(&deny),
                Box::new(|r| !x.labels[r].contains(&14) && r % 7 != 0),
            ),
            (
                Filter::new().allow_keys(&allow).any_labels(&[3, 4]),
                Box::new(|r| r % 3 == 0 && (x.labels[r].contains(&3) || x.labels[r].contains(&4))),
            ),
            (
                Filter::new().predicate(&even).no_labels(&[1]),
                Box::new(|r| x.keys[r].is_multiple_of(2) && !x.labels[r].contains(&1)),
            ),
            (
                Filter::new().predicate(&even).all_labels(&[12]),
                Box::new(|r| x.keys[r].is_multiple_of(2) && x.labels[r].contains(&12)),
            ),
            (Filter::new().allow_keys(&[]), Box::new(|_| false)),
        ];
        let nq = x.queries.len() / x.d;
        for exact in [true, false] {
            let p = SearchParams {
                exact,
                ..SearchParams::k(10)
            };
            for (f, admit) in &cases {
                let batch = g.search_batch_filtered(&x.queries, &[*f], &p).unwrap();
                for (i, q) in x.queries.chunks_exact(x.d).enumerate() {
                    let want = oracle(metric, q, 10, admit);
                    let one = g.search_filtered(q, f, &p).unwrap();
                    let got: Vec<u64> = one.iter().map(|h| h.key).collect();
                    assert_eq!(got.len(), want.len(), "{f:?} exact {exact}");
                    let floor = if exact { 1.0 } else { 0.7 };
                    assert!(recall(&got, &want) >= floor, "{f:?} exact {exact}");
                    let keys = |h: &[vecmatch::Hit]| h.iter().map(|h| h.key).collect::<Vec<_>>();
                    assert_eq!(keys(&batch[i]), got, "batch and single differ for {f:?}");
                }
            }
            // A different filter per query.
            let filters: Vec<Filter<'_>> = (0..nq).map(|i| cases[i % cases.len()].0).collect();
            let batch = g.search_batch_filtered(&x.queries, &filters, &p).unwrap();
            for (i, q) in x.queries.chunks_exact(x.d).enumerate() {
                let one = g.search_filtered(q, &filters[i], &p).unwrap();
                let keys = |h: &[vecmatch::Hit]| h.iter().map(|h| h.key).collect::<Vec<_>>();
                assert_eq!(keys(&batch[i]), keys(&one));
            }
            assert!(matches!(
                g.search_batch_filtered(&x.queries, &filters[..2], &p),
                Err(Error::InvalidArgument(_))
            ));
            assert!(matches!(
                g.search_batch_filtered(&x.queries, &[], &p),
                Err(Error::InvalidArgument(_))
            ));
        }
        // `params.filter` is combined with the filter (AND).
        let p = SearchParams {
            filter: Some(KeyFilter::Deny(&deny)),
            exact: true,
            ..SearchParams::k(10)
        };
        let q = &x.queries[..x.d];
        let got: Vec<u64> = g
            .search_filtered(q, &Filter::new().all_labels(&[13]), &p)
            .unwrap()
            .iter()
            .map(|h| h.key)
            .collect();
        assert_eq!(
            got,
            oracle(metric, q, 10, |r| r % 7 != 0 && x.labels[r].contains(&13))
        );
    }
}

/// A predicate admitting a few rows scattered over the gallery: the planner cannot
/// estimate it, walks the graph, finds fewer than k, and reruns exactly.
#[test]
fn a_short_graph_walk_is_rerun_exactly() {
    let x = dataset();
    let g = gallery(Metric::Cosine, true);
    let rare: HashSet<u64> = x.keys.iter().step_by(333).copied().collect();
    let admit = |key: u64| rare.contains(&key);
    let f = Filter::new().predicate(&admit);
    for q in x.queries.chunks_exact(x.d) {
        let got: Vec<u64> = g
            .search_filtered(q, &f, &SearchParams::k(10))
            .unwrap()
            .iter()
            .map(|h| h.key)
            .collect();
        assert_eq!(
            got,
            oracle(Metric::Cosine, q, 10, |r| rare.contains(&x.keys[r]))
        );
    }
    // With a threshold a short answer is legitimate: no rerun, only admitted rows.
    let p = SearchParams {
        max_distance: Some(0.5),
        ..SearchParams::k(10)
    };
    for h in g.search_filtered(&x.queries[..x.d], &f, &p).unwrap() {
        assert!(rare.contains(&h.key) && h.distance <= 0.5);
    }
}

/// Collections keep labels through upserts, deletes and commits; filtered searches see
/// committed and pending rows alike.
#[test]
fn collections_keep_labels_and_filter_pending_rows() {
    let x = dataset();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.vmg");
    let n0 = 3000;
    let mut b = GalleryBuilder::new(x.d, Metric::Cosine).unwrap();
    b.add_batch_labeled(&x.keys[..n0], &x.base[..n0 * x.d], &x.labels[..n0])
        .unwrap();
    b.hnsw(HnswParams::default()).unwrap();
    b.write(&path).unwrap();
    let c = Collection::open_with(&path, CollectionOptions::manual()).unwrap();
    // Pending: the other rows (labelled), some committed rows relabelled, some deleted.
    c.add_batch_labeled(&x.keys[n0..], &x.base[n0 * x.d..], &x.labels[n0..])
        .unwrap();
    let mut labels = x.labels.clone();
    for r in (0..n0).step_by(11) {
        labels[r] = vec![3, 99];
        c.add_labeled(x.keys[r], &x.base[r * x.d..(r + 1) * x.d], &[99, 3, 99])
            .unwrap();
    }
    let mut live = vec![true; x.keys.len()];
    for r in (0..x.keys.len()).step_by(13) {
        c.delete(x.keys[r]).unwrap();
        live[r] = false;
    }
    // Without labels, `add` stores none.
    c.add(x.keys[1], &x.base[x.d..2 * x.d]).unwrap();
    labels[1].clear();
    let check = |c: &Collection| {
        assert_eq!(c.labels(x.keys[11]), Some(vec![3, 99]));
        assert_eq!(c.labels(x.keys[1]), Some(vec![]));
        assert_eq!(c.labels(x.keys[13]), None);
        for label in [3u32, 99, 12, 14] {
            let f = Filter::new().all_labels(std::slice::from_ref(&label));
            let admit = |r: usize| live[r] && labels[r].contains(&label);
            for exact in [true, false] {
                let p = SearchParams {
                    exact,
                    ..SearchParams::k(10)
                };
                let mut sum = 0.0;
                let batch = c.search_batch_filtered(&x.queries, &[f], &p).unwrap();
                for (i, q) in x.queries.chunks_exact(x.d).enumerate() {
                    let want = oracle(Metric::Cosine, q, 10, admit);
                    let got: Vec<u64> = c
                        .search_filtered(q, &f, &p)
                        .unwrap()
                        .iter()
                        .map(|h| h.key)
                        .collect();
                    assert_eq!(got.len(), want.len(), "label {label}");
                    assert_eq!(batch[i].iter().map(|h| h.key).collect::<Vec<_>>(), got);
                    sum += recall(&got, &want);
                }
                let r = sum / 20.0;
                assert!(r >= if exact { 1.0 } else { 0.95 }, "label {label}: {r}");
            }
        }
    };
    check(&c);
    c.commit().unwrap();
    assert_eq!(c.stats().pending_rows, 0);
    check(&c);
    let g = Gallery::open(&path).unwrap();
    g.verify().unwrap();
    assert_eq!(g.labels(x.keys[11]).unwrap(), &[3, 99]);
}

/// Damage inside the LABELS section: with the CRCs left alone `verify` names the section;
/// with them recomputed the structural checks catch it (or the labels stay consistent),
/// and searches never panic either way.
#[test]
fn damaged_label_sections_give_typed_errors() {
    let mut b = GalleryBuilder::new(4, Metric::L2).unwrap();
    for i in 0..200u64 {
        let labels: Vec<u32> = (0..(i % 4) as u32)
            .map(|j| j * 3 + (i % 5) as u32)
            .collect();
        b.add_labeled(i, &[i as f32, 1.0, 2.0, (i % 7) as f32], &labels)
            .unwrap();
    }
    b.hnsw(HnswParams::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.vmg");
    b.write(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let g = Gallery::from_bytes(&bytes).unwrap();
    let s = g
        .info()
        .sections
        .into_iter()
        .find(|s| s.name == "LABELS")
        .unwrap();
    let (start, len) = (s.offset as usize, s.length as usize);
    let mut found = 0;
    for at in (start..start + len).step_by(3) {
        for bit in [0u8, 3, 7] {
            let mut b = bytes.clone();
            b[at] ^= 1 << bit;
            match Gallery::from_bytes(&b) {
                Ok(g) => assert!(matches!(
                    g.verify(),
                    Err(Error::ChecksumMismatch { ref region, .. }) if region == "LABELS"
                )),
                // The head (row, pair and label counts) is checked at open.
                Err(Error::Corrupt(_)) if at < start + 32 => continue,
                Err(e) => panic!("open refused a bit flip in LABELS data: {e}"),
            }
            reseal(&mut b);
            let g = match Gallery::from_bytes(&b) {
                Ok(g) => g,
                // The head (counts) is checked at open.
                Err(Error::Corrupt(_)) => continue,
                Err(e) => panic!("{e}"),
            };
            if g.verify().is_err() {
                found += 1;
            }
            for labels in [&[0u32][..], &[3, 4], &[1]] {
                for exact in [true, false] {
                    let p = SearchParams {
                        exact,
                        ..SearchParams::k(5)
                    };
                    let f = Filter::new().any_labels(labels).no_labels(&[2]);
                    let _ = g.search_filtered(&[3.0, 1.0, 2.0, 1.0], &f, &p).unwrap();
                    let f = Filter::new().all_labels(labels);
                    let _ = g.search_filtered(&[3.0, 1.0, 2.0, 1.0], &f, &p).unwrap();
                }
            }
            let _ = g.labels(7);
        }
    }
    assert!(found > 0, "no resealed damage was found by verify");
}
