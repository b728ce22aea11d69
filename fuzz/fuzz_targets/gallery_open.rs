//! Arbitrary bytes as a gallery file: open, verify, lookups and searches must never panic,
//! read out of bounds or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vecmatch::{Filter, Gallery, KeyFilter, SearchParams};

fuzz_target!(|data: &[u8]| {
    let Ok(g) = Gallery::from_bytes(data) else {
        return;
    };
    let _ = g.verify();
    let _ = g.info();
    let d = g.dims();
    if d > 4096 {
        return;
    }
    let _ = g.get(0);
    let _ = g.contains(u64::MAX);
    let q: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin() + 0.5).collect();
    let _ = g.search(&q, &SearchParams::k(3));
    // Exact, on the stored rows only (no re-ranking), and exact with re-ranking.
    for rerank_factor in [0, 4] {
        let p = SearchParams {
            k: 3,
            exact: true,
            rerank_factor,
            threads: Some(1),
            ..SearchParams::default()
        };
        let _ = g.search(&q, &p);
    }
    let keys = [0u64, 1, 2];
    let p = SearchParams {
        k: 2,
        filter: Some(KeyFilter::Deny(&keys)),
        threads: Some(1),
        ..SearchParams::default()
    };
    let _ = g.search_batch(&[q.clone(), q.clone()].concat(), &p);
    // Labels (a LABELS section may be damaged): lookups and filtered searches, graph and
    // exact, one filter per query.
    let _ = g.labels(1);
    let _ = g.label_count(1);
    let odd = |k: u64| k % 2 == 1;
    let filters = [
        Filter::new().all_labels(&[1, 2]).no_labels(&[3]),
        Filter::new().any_labels(&[0, 1, 5]).predicate(&odd),
    ];
    for exact in [false, true] {
        let p = SearchParams {
            k: 3,
            exact,
            threads: Some(1),
            ..SearchParams::default()
        };
        let _ = g.search_filtered(&q, &filters[0], &p);
        let _ = g.search_batch_filtered(&[q.clone(), q.clone()].concat(), &filters, &p);
    }
});
