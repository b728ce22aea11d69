//! Per-call cost of `vecmatch_gallery_search` against `Gallery::search` on a tiny gallery,
//! counted in instructions so that it is repeatable on a busy machine:
//!
//! ```sh
//! cargo build --release --features capi --example capi_overhead
//! for m in rust c; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/capi_overhead $m 100000 2>&1 | grep refs; done
//! ```
//! (subtract a run with 0 calls for the setup). Without valgrind it prints ns per call.

use std::time::Instant;

use vecmatch::ffi::{
    vecmatch_gallery_free, vecmatch_gallery_open, vecmatch_gallery_search,
    vecmatch_search_params_default, vecmatch_status,
};
use vecmatch::{Gallery, GalleryBuilder, Metric, SearchParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "rust".into());
    let calls: usize = args.next().unwrap_or_else(|| "100000".into()).parse()?;
    let (rows, dims) = (16u64, 8usize);
    let mut b = GalleryBuilder::new(dims, Metric::Dot)?;
    for i in 0..rows {
        let v: Vec<f32> = (0..dims)
            .map(|j| ((i * 31 + j as u64) % 17) as f32 / 17.0)
            .collect();
        b.add(i, &v)?;
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("tiny.vmg");
    b.write(&path)?;
    let q: Vec<f32> = (0..dims).map(|j| (j % 5) as f32 / 5.0).collect();
    let mut sink = 0u64;
    let t0 = Instant::now();
    match mode.as_str() {
        "rust" => {
            let g = Gallery::open(&path)?;
            let p = SearchParams::k(10);
            for _ in 0..calls {
                let hits = g.search(std::hint::black_box(&q), &p)?;
                sink = sink.wrapping_add(hits[0].key);
            }
        }
        "c" => {
            let c_path = std::ffi::CString::new(path.to_str().ok_or("path")?)?;
            let mut g = std::ptr::null_mut();
            // SAFETY: a NUL-terminated path and a valid out-pointer.
            let s = unsafe { vecmatch_gallery_open(c_path.as_ptr(), &mut g) };
            assert_eq!(s, vecmatch_status::VECMATCH_OK);
            // SAFETY: a plain struct constructor.
            let mut p = unsafe { vecmatch_search_params_default() };
            p.k = 10;
            let (mut keys, mut dist, mut len) = ([0u64; 10], [0f32; 10], 0usize);
            for _ in 0..calls {
                // SAFETY: a live handle, `dims` query floats, buffers of 10, valid out_len.
                let s = unsafe {
                    vecmatch_gallery_search(
                        g,
                        std::hint::black_box(q.as_ptr()),
                        dims,
                        &p,
                        keys.as_mut_ptr(),
                        dist.as_mut_ptr(),
                        10,
                        &mut len,
                    )
                };
                assert_eq!(s, vecmatch_status::VECMATCH_OK);
                sink = sink.wrapping_add(keys[0]);
            }
            // SAFETY: the handle opened above, freed once.
            unsafe { vecmatch_gallery_free(g) };
        }
        other => return Err(format!("mode must be rust or c, got {other}").into()),
    }
    let ns = t0.elapsed().as_nanos() as f64 / calls.max(1) as f64;
    println!("{mode}: {calls} calls, {ns:.0} ns/call (sink {sink})");
    Ok(())
}
