//! Compute-bound batch kernels: the full dot-product matrix of `NQ` queries × `NR` gallery
//! rows at `D` dimensions, gallery walked in blocks of rows and queries in groups (as
//! `batch_range` in src/flat.rs does), with a small reused output buffer.
//!
//! f32: our register tile (4×3 on AVX2, 6×4 on AVX-512) (`metric::cross_with`), simsimd's pairwise dot in a double
//! loop, and numkong's packed GEMM-like kernel (`Dots::dots_packed`, gallery packed once
//! outside the timing; the packing cost is reported separately). f16 and i8 (the storage
//! types being added): numkong's packed kernels against simsimd's pairwise ones.
//!
//! Data: data/minilm-5k (5,000 MiniLM rows repeated to `NR`, the 100 queries repeated to
//! `NQ`); random unit vectors if the files are missing. Throughput is in GFLOP/s
//! (2·D·NQ·NR flops per call, one multiply and one add per component pair; criterion's
//! "elem/s" read as FLOP/s). The closing table times the kernels in interleaved rounds
//! (best round kept), so load from other processes hits every kernel alike.
//!
//! Measured (Zen 3, 1 core, ~3 GHz, FMA peak ~96 GFLOP/s, machine shared with a compile;
//! criterion means / best interleaved round): f32 ours 59 / 67 GFLOP/s, simsimd pairwise
//! 11 / 14, numkong packed 20–22 / 25–31 (f32 inputs accumulate in f64); f16 numkong
//! packed 44–55 / 43–58, simsimd 11 / 12; i8 numkong packed 62–70 / 73–95, simsimd 22 / 22.
//!
//! `cargo bench -p vecmatch-bench-numkong --bench batch_kernels -- --warm-up-time 1 --measurement-time 3`;
//! `cargo bench -p vecmatch-bench-numkong --bench batch_kernels -- summary-only` (the table only).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use numkong::Dots;
use vecmatch::Metric;
use vecmatch::unstable::{Backend, cross_with};

const D: usize = 384;
const NQ: usize = 1000;
const NR: usize = 20_000;
/// Query group, as `QUERY_GROUP` in src/flat.rs.
const QG: usize = 256;
/// Gallery block sizes tried: `BATCH_BLOCK_ROWS` of src/flat.rs, and numkong's own
/// column block (2048 rows).
const BLOCKS: [usize; 2] = [64, 2048];

const FLOPS: f64 = (2 * D * NQ * NR) as f64;

/// Reads a TEXMEX `.fvecs` file of `D`-dimensional rows.
fn fvecs(name: &str) -> Option<Vec<f32>> {
    let path = format!(
        "{}/data/minilm-5k/{name}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let b = std::fs::read(path).ok()?;
    let d = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    (d == D).then(|| {
        b.chunks_exact(4 * (d + 1))
            .flat_map(|r| r[4..].chunks_exact(4))
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    })
}

/// `n` random unit vectors (xorshift64).
fn unit_vecs(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    let mut v: Vec<f32> = (0..n * D)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    for r in v.chunks_exact_mut(D) {
        let n = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        r.iter_mut().for_each(|x| *x /= n);
    }
    v
}

/// `src` rows repeated until there are `n`.
fn repeat_rows(src: &[f32], n: usize) -> Vec<f32> {
    src.iter().copied().cycle().take(n * D).collect()
}

/// A buffer with 64-byte alignment (numkong's packed layouts).
struct Aligned(Vec<[u64; 8]>);

impl Aligned {
    fn new(bytes: usize) -> Aligned {
        Aligned(vec![[0u64; 8]; bytes.div_ceil(64)])
    }
    fn ptr(&self) -> *const u8 {
        self.0.as_ptr().cast()
    }
    fn ptr_mut(&mut self) -> *mut u8 {
        self.0.as_mut_ptr().cast()
    }
}

/// The gallery packed by numkong, one packed buffer per block of `block` rows.
fn pack<T: Dots>(rows: &[T], block: usize) -> Vec<Aligned> {
    rows.chunks(block * D)
        .map(|b| {
            let nr = b.len() / D;
            let mut p = Aligned::new(T::dots_packed_size(nr, D));
            // `b` holds `nr` rows of `D` elements at a stride of `D` elements; `p` has the
            // size numkong asked for.
            // SAFETY: pointers and sizes as above (the trait's contract).
            unsafe { T::dots_pack(b.as_ptr(), nr, D, D * size_of::<T>(), p.ptr_mut()) };
            p
        })
        .collect()
}

/// The full matrix with numkong's packed kernel: every packed block against every query
/// group, into a reused `QG × block` output.
fn numkong_cross<T: Dots>(
    queries: &[T],
    packed: &[Aligned],
    block: usize,
    out: &mut [T::Accumulator],
) {
    let nq = queries.len() / D;
    for (bi, p) in packed.iter().enumerate() {
        let nr = block.min(NR - bi * block);
        for g in (0..nq).step_by(QG) {
            let gq = QG.min(nq - g);
            let q = &queries[g * D..(g + gq) * D];
            assert!(out.len() >= gq * nr);
            // `q` holds `gq` rows of `D` at stride `D`; `p` was packed from `nr` rows of `D`;
            // `out` holds at least `gq × nr` accumulators at stride `nr`.
            // SAFETY: shapes as above (the trait's contract).
            unsafe {
                T::dots_packed(
                    q.as_ptr(),
                    p.ptr(),
                    out.as_mut_ptr(),
                    gq,
                    nr,
                    D,
                    D * size_of::<T>(),
                    nr * size_of::<T::Accumulator>(),
                )
            };
            black_box(&mut *out);
        }
    }
}

/// The full matrix with our register-tiled kernel, blocked as `batch_range` does.
fn ours_cross(queries: &[f32], rows: &[f32], block: usize, out: &mut [f32]) {
    let nq = queries.len() / D;
    for b in rows.chunks(block * D) {
        let nr = b.len() / D;
        for g in (0..nq).step_by(QG) {
            let gq = QG.min(nq - g);
            let o = &mut out[..gq * nr];
            cross_with(
                Backend::active(),
                Metric::Dot,
                &queries[g * D..(g + gq) * D],
                b,
                D,
                o,
            );
            black_box(&mut *o);
        }
    }
}

/// The full matrix with one simsimd call per (query, row) pair, blocked the same way.
fn simsimd_cross<T: simsimd::SpatialSimilarity>(queries: &[T], rows: &[T], out: &mut [f64]) {
    let nq = queries.len() / D;
    for b in rows.chunks(64 * D) {
        let nr = b.len() / D;
        for g in (0..nq).step_by(QG) {
            let gq = QG.min(nq - g);
            for (qi, q) in queries[g * D..(g + gq) * D].chunks_exact(D).enumerate() {
                for (ri, r) in b.chunks_exact(D).enumerate() {
                    out[qi * nr + ri] = T::dot(q, r).unwrap_or(f64::NAN);
                }
            }
            black_box(&mut *out);
        }
    }
}

/// All inputs, in every element type.
struct Data {
    q32: Vec<f32>,
    r32: Vec<f32>,
    q16: Vec<numkong::f16>,
    s16q: Vec<simsimd::f16>,
    s16r: Vec<simsimd::f16>,
    q8: Vec<i8>,
    r8: Vec<i8>,
    /// Packed galleries per block size in `BLOCKS`.
    p32: Vec<Vec<Aligned>>,
    p16: Vec<Vec<Aligned>>,
    p8: Vec<Vec<Aligned>>,
}

impl Data {
    fn new() -> Data {
        let (base, queries, src) = match (fvecs("base.fvecs"), fvecs("query.fvecs")) {
            (Some(b), Some(q)) => (b, q, "data/minilm-5k"),
            _ => (
                unit_vecs(5000, 7),
                unit_vecs(100, 11),
                "random unit vectors",
            ),
        };
        println!("batch kernels: {NQ} queries x {NR} rows x {D} dims ({src})");
        let q32 = repeat_rows(&queries, NQ);
        let r32 = repeat_rows(&base, NR);
        let h = |v: &[f32]| {
            v.iter()
                .map(|&x| numkong::f16::from_f32(x))
                .collect::<Vec<_>>()
        };
        let (q16, r16) = (h(&q32), h(&r32));
        let sh = |v: &[numkong::f16]| v.iter().map(|x| simsimd::f16(x.0)).collect::<Vec<_>>();
        let (s16q, s16r) = (sh(&q16), sh(&r16));
        // Symmetric quantisation with one scale for all: unit vectors, |x| <= max.
        let max = q32.iter().chain(&r32).fold(0f32, |m, x| m.max(x.abs()));
        let i = |v: &[f32]| {
            v.iter()
                .map(|x| (x * 127.0 / max).round() as i8)
                .collect::<Vec<_>>()
        };
        let (q8, r8) = (i(&q32), i(&r32));
        let t = Instant::now();
        let p32: Vec<_> = BLOCKS.iter().map(|&b| pack(&r32, b)).collect();
        let pack_ms = t.elapsed().as_secs_f64() * 1e3 / BLOCKS.len() as f64;
        let p16: Vec<_> = BLOCKS.iter().map(|&b| pack(&r16, b)).collect();
        let p8: Vec<_> = BLOCKS.iter().map(|&b| pack(&r8, b)).collect();
        let mb = |p: &Vec<Aligned>| p.iter().map(|a| a.0.len() * 64).sum::<usize>() as f64 / 1e6;
        println!(
            "numkong packing of the {NR}-row f32 gallery: {pack_ms:.1} ms; packed sizes \
             (block {}): f32 {:.1} MB, f16 {:.1} MB, i8 {:.1} MB (raw f32 {:.1} MB)",
            BLOCKS[1],
            mb(&p32[1]),
            mb(&p16[1]),
            mb(&p8[1]),
            (NR * D * 4) as f64 / 1e6
        );
        let d = Data {
            q32,
            r32,
            q16,
            s16q,
            s16r,
            q8,
            r8,
            p32,
            p16,
            p8,
        };
        d.check();
        d
    }

    /// The kernels agree on the first block (a sanity check before timing).
    fn check(&self) {
        let nr = BLOCKS[0];
        let mut ours = vec![0f32; QG * nr];
        cross_with(
            Backend::active(),
            Metric::Dot,
            &self.q32[..QG * D],
            &self.r32[..nr * D],
            D,
            &mut ours,
        );
        let mut nk = vec![0f64; QG * nr];
        let mut nk16 = vec![0f32; QG * nr];
        let mut nk8 = vec![0i32; QG * nr];
        fn first(p: &[Vec<Aligned>]) -> &[Aligned] {
            std::slice::from_ref(&p[0][0])
        }
        numkong_cross(&self.q32[..QG * D], first(&self.p32), nr, &mut nk);
        numkong_cross(&self.q16[..QG * D], first(&self.p16), nr, &mut nk16);
        numkong_cross(&self.q8[..QG * D], first(&self.p8), nr, &mut nk8);
        let mut worst = [0f64; 3];
        for qi in 0..QG {
            for ri in 0..nr {
                let (q, r) = (&self.q32[qi * D..][..D], &self.r32[ri * D..][..D]);
                let exact: f64 = q.iter().zip(r).map(|(a, b)| *a as f64 * *b as f64).sum();
                let (q8, r8) = (&self.q8[qi * D..][..D], &self.r8[ri * D..][..D]);
                let exact8: i32 = q8.iter().zip(r8).map(|(a, b)| *a as i32 * *b as i32).sum();
                let k = qi * nr + ri;
                worst[0] = worst[0].max((1.0 - ours[k] as f64 - exact).abs());
                worst[1] = worst[1].max((nk[k] - exact).abs());
                worst[2] = worst[2].max((nk16[k] as f64 - exact).abs());
                assert_eq!(nk8[k], exact8, "numkong i8 dot differs from the exact one");
            }
        }
        println!(
            "largest |dot - exact f64 dot| on a {QG}x{nr} block: ours f32 {:.1e}, numkong f32 {:.1e}, \
             numkong f16 {:.1e} (f16 rounding of the inputs included); numkong i8 exact",
            worst[0], worst[1], worst[2]
        );
        assert!(worst[0] < 1e-4 && worst[1] < 1e-4 && worst[2] < 1e-2);
    }
}

/// The kernels, by name, as closures over `Data` and their output buffers.
type Kernel<'a> = (String, Box<dyn FnMut() + 'a>);

fn kernels(d: &Data) -> Vec<Kernel<'_>> {
    let big = QG * BLOCKS[1];
    let mut v: Vec<Kernel<'_>> = Vec::new();
    for &b in &BLOCKS {
        let mut out = vec![0f32; QG * b];
        v.push((
            format!("f32 ours tile (block {b})"),
            Box::new(move || ours_cross(&d.q32, &d.r32, b, &mut out)),
        ));
    }
    let mut out = vec![0f64; QG * 64];
    v.push((
        "f32 simsimd pairwise".into(),
        Box::new(move || simsimd_cross(&d.q32, &d.r32, &mut out)),
    ));
    for (i, &b) in BLOCKS.iter().enumerate() {
        let mut out = vec![0f64; big];
        v.push((
            format!("f32 numkong packed (block {b})"),
            Box::new(move || numkong_cross(&d.q32, &d.p32[i], b, &mut out)),
        ));
    }
    let mut out = vec![0f64; QG * 64];
    v.push((
        "f16 simsimd pairwise".into(),
        Box::new(move || simsimd_cross(&d.s16q, &d.s16r, &mut out)),
    ));
    for (i, &b) in BLOCKS.iter().enumerate() {
        let mut out = vec![0f32; big];
        v.push((
            format!("f16 numkong packed (block {b})"),
            Box::new(move || numkong_cross(&d.q16, &d.p16[i], b, &mut out)),
        ));
    }
    let mut out = vec![0f64; QG * 64];
    v.push((
        "i8 simsimd pairwise".into(),
        Box::new(move || simsimd_cross(&d.q8, &d.r8, &mut out)),
    ));
    for (i, &b) in BLOCKS.iter().enumerate() {
        let mut out = vec![0i32; big];
        v.push((
            format!("i8 numkong packed (block {b})"),
            Box::new(move || numkong_cross(&d.q8, &d.p8[i], b, &mut out)),
        ));
    }
    v
}

fn groups(c: &mut Criterion, d: &Data) {
    let mut g = c.benchmark_group(format!("batch/{NQ}x{NR}x{D}"));
    g.throughput(Throughput::Elements(FLOPS as u64));
    for (name, mut f) in kernels(d) {
        g.bench_function(name, |x| x.iter(&mut f));
    }
    g.finish();
}

/// GFLOP/s of every kernel: `ROUNDS` interleaved rounds of one call each, best kept.
fn summary(d: &Data) {
    const ROUNDS: usize = 5;
    let mut ks = kernels(d);
    let mut best = vec![f64::INFINITY; ks.len()];
    for _ in 0..ROUNDS {
        for ((_, f), b) in ks.iter_mut().zip(best.iter_mut()) {
            let t = Instant::now();
            f();
            *b = b.min(t.elapsed().as_secs_f64());
        }
    }
    println!("\nbatch kernel summary, best of {ROUNDS} interleaved rounds (one core):");
    println!("{:<36} {:>8} {:>8}", "kernel", "ms", "GFLOP/s");
    for ((name, _), t) in ks.iter().zip(&best) {
        println!("{name:<36} {:>8.1} {:>8.1}", t * 1e3, FLOPS / t / 1e9);
    }
}

fn main() {
    let d = Data::new();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    groups(&mut c, &d);
    c.final_summary();
    summary(&d);
}
