//! Per-call overhead of the C API: `vecmatch_gallery_search` (through the exported symbol,
//! with its argument checks, panic boundary and copy into caller buffers) against
//! `Gallery::search` on the same tiny gallery, where the search itself costs little.
//! `cargo bench --features capi --bench capi`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vecmatch::ffi::{
    vecmatch_gallery, vecmatch_gallery_free, vecmatch_gallery_open, vecmatch_gallery_search,
    vecmatch_search_params_default, vecmatch_status,
};
use vecmatch::{Gallery, GalleryBuilder, Metric, SearchParams};

/// Writes a small gallery and opens it twice: as a Rust `Gallery` and as a C handle.
fn tiny(dir: &std::path::Path, rows: u64, dims: usize) -> (Gallery, *mut vecmatch_gallery) {
    let mut b = GalleryBuilder::new(dims, Metric::Dot).unwrap();
    for i in 0..rows {
        let v: Vec<f32> = (0..dims)
            .map(|j| ((i * 31 + j as u64) % 17) as f32 / 17.0)
            .collect();
        b.add(i, &v).unwrap();
    }
    let path = dir.join(format!("tiny-{rows}x{dims}.vmg"));
    b.write(&path).unwrap();
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let mut handle = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and a valid out-pointer.
    let s = unsafe { vecmatch_gallery_open(c_path.as_ptr(), &mut handle) };
    assert_eq!(s, vecmatch_status::VECMATCH_OK);
    (Gallery::open(&path).unwrap(), handle)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for (rows, dims) in [(16u64, 8usize), (1000, 384)] {
        let (g, handle) = tiny(dir.path(), rows, dims);
        let q: Vec<f32> = (0..dims).map(|j| (j % 5) as f32 / 5.0).collect();
        let params = SearchParams::k(10);
        let mut group = c.benchmark_group(format!("search_{rows}x{dims}_k10"));
        group.bench_function("rust", |b| {
            b.iter(|| black_box(g.search(black_box(&q), &params).unwrap()))
        });
        // SAFETY: a plain struct constructor.
        let mut cp = unsafe { vecmatch_search_params_default() };
        cp.k = 10;
        let mut keys = [0u64; 10];
        let mut dist = [0f32; 10];
        let mut len = 0usize;
        group.bench_function("c_api", |b| {
            b.iter(|| {
                // SAFETY: valid handle, query of `dims` floats, buffers of 10, out_len valid.
                let s = unsafe {
                    vecmatch_gallery_search(
                        handle,
                        black_box(q.as_ptr()),
                        dims,
                        &cp,
                        keys.as_mut_ptr(),
                        dist.as_mut_ptr(),
                        10,
                        &mut len,
                    )
                };
                black_box((s, len, keys[0]))
            })
        });
        group.finish();
        // SAFETY: the handle from `tiny`, freed once.
        unsafe { vecmatch_gallery_free(handle) };
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
