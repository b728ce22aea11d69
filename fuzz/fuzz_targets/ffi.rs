//! Arbitrary sequences of C API calls on valid handles: builders fed arbitrary floats,
//! keys, metrics and HNSW parameters, galleries built from them (and from arbitrary bytes),
//! searched with arbitrary params, buffer capacities and dimensions. Every call must return
//! a status (never `VECMATCH_ERR_PANIC`: a caught panic is still a bug), write no more
//! than it was given room for, and return sorted hits from the gallery.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vecmatch::ffi::*;

/// Reads the fuzz input as a stream of bytes.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from(self.byte()?) | (u64::from(self.byte()?) << 8))
    }
    fn f32(&mut self) -> Option<f32> {
        let b = [self.byte()?, self.byte()?, self.byte()?, self.byte()?];
        Some(f32::from_le_bytes(b))
    }
    fn floats(&mut self, n: usize) -> Option<Vec<f32>> {
        (0..n).map(|_| self.f32()).collect()
    }
}

fn ok(s: vecmatch_status) -> bool {
    assert_ne!(
        s,
        vecmatch_status::VECMATCH_ERR_PANIC,
        "caught panic: {:?}",
        unsafe {
            // SAFETY: the thread's message, valid until the next call.
            std::ffi::CStr::from_ptr(vecmatch_last_error_message())
        }
    );
    // SAFETY: any value may be passed.
    assert!(!unsafe { vecmatch_status_str(s as i32) }.is_null());
    s == vecmatch_status::VECMATCH_OK
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let Some(first) = inp.byte() else { return };
    let dims = usize::from(first % 8) + 1;
    let metric = i32::from(first >> 3) % 4; // 3 is invalid
    let mut b = std::ptr::null_mut();
    // SAFETY: a valid out-pointer.
    if !ok(unsafe { vecmatch_builder_new(dims, metric, &mut b) }) {
        return;
    }
    let mut galleries = Vec::new();
    while let Some(op) = inp.byte() {
        match op % 8 {
            0 | 1 => {
                let (Some(key), Some(v)) = (inp.u64(), inp.floats(dims)) else {
                    break;
                };
                // SAFETY: a live builder; `dims` floats.
                ok(unsafe { vecmatch_builder_add(b, key, v.as_ptr(), v.len()) });
            }
            2 => {
                let n = usize::from(op >> 3) % 5;
                let keys: Option<Vec<u64>> = (0..n).map(|_| inp.u64()).collect();
                let (Some(keys), Some(v)) = (keys, inp.floats(n * dims)) else {
                    break;
                };
                // SAFETY: a live builder; `n` keys and `n × dims` floats.
                ok(unsafe { vecmatch_builder_add_batch(b, keys.as_ptr(), v.as_ptr(), n, dims) });
            }
            3 => {
                let (Some(m), Some(ef)) = (inp.byte(), inp.byte()) else {
                    break;
                };
                let p = vecmatch_hnsw_params {
                    m: usize::from(m % 40),
                    ef_construction: usize::from(ef % 64),
                    seed: u64::from(m),
                };
                // SAFETY: a live builder and a valid struct.
                ok(unsafe { vecmatch_builder_set_hnsw(b, &p) });
            }
            4 if galleries.len() < 3 => {
                // SAFETY: a live builder (at most 64 rows, so graph builds stay quick).
                if unsafe { vecmatch_builder_len(b) } <= 64 {
                    let mut g = std::ptr::null_mut();
                    // SAFETY: a live builder, a valid out-pointer.
                    if ok(unsafe { vecmatch_builder_build(b, &mut g) }) {
                        galleries.push(g);
                    }
                }
            }
            5 => {
                let n = usize::from(inp.byte().unwrap_or(0));
                let bytes: Vec<u8> = (0..n * 4).map_while(|_| inp.byte()).collect();
                let mut g = std::ptr::null_mut();
                // SAFETY: `bytes.len()` readable bytes, a valid out-pointer.
                if ok(unsafe { vecmatch_gallery_from_bytes(bytes.as_ptr(), bytes.len(), &mut g) }) {
                    // SAFETY: a live gallery.
                    ok(unsafe { vecmatch_gallery_verify(g) });
                    // SAFETY: made above, freed once.
                    unsafe { vecmatch_gallery_free(g) };
                }
            }
            _ => {
                let Some(&g) = galleries.get(usize::from(op >> 3) % galleries.len().max(1)) else {
                    continue;
                };
                search(&mut inp, g, dims);
            }
        }
    }
    for g in galleries {
        // SAFETY: made above, freed once.
        unsafe { vecmatch_gallery_free(g) };
    }
    // SAFETY: made above, freed once.
    unsafe { vecmatch_builder_free(b) };
});

fn search(inp: &mut Input<'_>, g: *mut vecmatch_gallery, dims: usize) {
    let (Some(flags), Some(k), Some(cap), Some(ef)) =
        (inp.byte(), inp.byte(), inp.byte(), inp.byte())
    else {
        return;
    };
    let qdims = if flags & 1 == 0 {
        dims
    } else {
        usize::from(flags >> 5)
    };
    let Some(q) = inp.floats(qdims.max(1)) else {
        return;
    };
    let filter: Vec<u64> = (0..usize::from(flags >> 6))
        .map_while(|_| inp.u64())
        .collect();
    // SAFETY: a plain struct constructor.
    let mut p = unsafe { vecmatch_search_params_default() };
    p.k = usize::from(k % 16);
    p.ef = usize::from(ef);
    p.exact = flags & 2 != 0;
    if flags & 4 != 0 {
        p.use_max_distance = true;
        p.max_distance = q[0];
    }
    match (flags >> 3) % 3 {
        1 => (p.allow_keys, p.allow_len) = (filter.as_ptr(), filter.len()),
        2 => (p.deny_keys, p.deny_len) = (filter.as_ptr(), filter.len()),
        _ => {}
    }
    let cap = usize::from(cap % 20);
    // One guard slot past `cap` must stay untouched.
    let mut keys = vec![u64::MAX - 1; cap + 1];
    let mut dist = vec![-7.0f32; cap + 1];
    let mut len = usize::MAX;
    // SAFETY: a live gallery; `qdims` floats; buffers of `cap`; valid out_len.
    let s = unsafe {
        vecmatch_gallery_search(
            g,
            q.as_ptr(),
            qdims,
            &p,
            keys.as_mut_ptr(),
            dist.as_mut_ptr(),
            cap,
            &mut len,
        )
    };
    assert_eq!(keys[cap], u64::MAX - 1, "wrote past capacity");
    assert_eq!(dist[cap], -7.0, "wrote past capacity");
    if ok(s) {
        assert!(len <= cap);
        for i in 0..len {
            // SAFETY: a live gallery.
            assert!(unsafe { vecmatch_gallery_contains(g, keys[i]) });
            if i > 0 {
                assert!(dist[i - 1] <= dist[i], "unsorted hits");
            }
        }
    } else {
        assert_eq!(len, usize::MAX, "out_len written on failure");
    }
    // The same query as a batch of two.
    let n = 2;
    let qq: Vec<f32> = q.iter().chain(q.iter()).copied().collect();
    let mut lens = [usize::MAX; 2];
    let mut bk = vec![0u64; cap * n];
    // SAFETY: a live gallery; `n × qdims` floats; buffers of `cap × n`; `n` lens.
    let s = unsafe {
        vecmatch_gallery_search_batch(
            g,
            qq.as_ptr(),
            n,
            qdims,
            &p,
            bk.as_mut_ptr(),
            std::ptr::null_mut(),
            cap * n,
            lens.as_mut_ptr(),
        )
    };
    if ok(s) {
        assert!(lens.iter().all(|&l| l <= cap));
    }
}
