//! Arbitrary query, k, ef, max_distance, filters, re-ranking and thread counts on small
//! valid galleries (with and without an HNSW graph, every metric, every element type with
//! and without f32 rows), single and batch: every call
//! returns an error or a well-formed answer (sorted, at most k hits, unique keys, filter
//! and max_distance respected), never a panic or a hang.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vecmatch::{
    ElementType, Gallery, GalleryBuilder, Hit, HnswParams, KeyFilter, Metric, SearchParams,
};

const DIMS: usize = 8;
const ROWS: u64 = 300;

fn key(row: u64) -> u64 {
    row.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 3
}

/// Every metric and element type, with and without a graph and f32 rows: built once per
/// process.
fn galleries() -> &'static [Gallery] {
    static G: OnceLock<Vec<Gallery>> = OnceLock::new();
    G.get_or_init(|| {
        let mut x = 0x1234_5678_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let vectors: Vec<f32> = (0..ROWS as usize * DIMS).map(|_| next()).collect();
        let keys: Vec<u64> = (0..ROWS).map(key).collect();
        [
            (Metric::Cosine, true, ElementType::F32, false),
            (Metric::Dot, true, ElementType::F32, false),
            (Metric::L2, false, ElementType::F32, false),
            (Metric::Dot, true, ElementType::I8, true),
            (Metric::Cosine, true, ElementType::I4, true),
            (Metric::L2, true, ElementType::F16, false),
            (Metric::Dot, false, ElementType::I4, false),
            (Metric::L2, false, ElementType::I8, true),
        ]
        .into_iter()
        .map(|(metric, graph, et, rescore)| {
            let mut b = GalleryBuilder::new(DIMS, metric).unwrap();
            b.add_batch(&keys, &vectors).unwrap();
            b.element_type(et).keep_f32_rows(rescore);
            if graph {
                b.hnsw(HnswParams {
                    m: 6,
                    ef_construction: 32,
                    ..HnswParams::default()
                })
                .unwrap();
            }
            b.build_in_memory().unwrap()
        })
        .collect()
    })
}

/// Reads little-endian values off the front of the input, zero when it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.bytes())
    }
    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.bytes())
    }
}

fn check(hits: &[Hit], p: &SearchParams<'_>) {
    assert!(hits.len() <= p.k);
    assert!(
        hits.windows(2).all(|w| w[0].cmp_rank(&w[1]).is_lt()),
        "unsorted or duplicate"
    );
    for h in hits {
        assert!(!h.distance.is_nan());
        if let Some(m) = p.max_distance {
            assert!(h.distance <= m);
        }
        match p.filter {
            Some(KeyFilter::Allow(a)) => assert!(a.contains(&h.key)),
            Some(KeyFilter::Deny(d)) => assert!(!d.contains(&h.key)),
            None => {}
        }
        assert!((0..ROWS).any(|r| key(r) == h.key));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let flags = inp.u8();
    let pick = inp.u8();
    let g = &galleries()[usize::from(pick % 8)];
    let k = match inp.u16() {
        0xFFFF => usize::MAX,
        k => usize::from(k),
    };
    let ef = usize::from(inp.u16());
    let max_distance = (flags & 0x10 != 0).then(|| inp.f32());
    let n_filter = usize::from(inp.u8() % 64);
    // Filter keys: mostly stored keys (by row), some arbitrary.
    let filter_keys: Vec<u64> = (0..n_filter)
        .map(|_| {
            let x = inp.u16();
            if x & 0x8000 != 0 {
                u64::from(x)
            } else {
                key(u64::from(x) % ROWS)
            }
        })
        .collect();
    let filter = match (flags >> 5) & 3 {
        1 => Some(KeyFilter::Allow(&filter_keys)),
        2 => Some(KeyFilter::Deny(&filter_keys)),
        _ => None,
    };
    let threads = match (flags >> 2) & 3 {
        0 => None,
        t => Some(usize::from(t - 1)),
    };
    let p = SearchParams {
        k,
        ef,
        max_distance,
        filter,
        exact: flags & 0x80 != 0,
        threads,
        rerank_factor: usize::from(pick >> 4),
    };
    let n_queries = usize::from(inp.u8() % 4) + 1;
    let queries: Vec<f32> = (0..n_queries * DIMS).map(|_| inp.f32()).collect();
    if let Ok(hits) = g.search(&queries[..DIMS], &p) {
        check(&hits, &p);
    }
    // A ragged batch is an error, never a panic.
    let _ = g.search_batch(&queries[..queries.len() - 1], &p);
    if let Ok(all) = g.search_batch(&queries, &p) {
        assert_eq!(all.len(), n_queries);
        all.iter().for_each(|hits| check(hits, &p));
    }
});
