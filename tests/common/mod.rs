//! Shared helpers for integration tests: TEXMEX readers and the shipped dataset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use vecmatch::{Gallery, GalleryBuilder, Metric};

/// Path of a file of the shipped dataset.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/minilm-5k")
        .join(name)
}

/// Reads `.fvecs`/`.ivecs` as (dims, raw 4-byte values).
fn read_xvecs(path: &Path) -> (usize, Vec<[u8; 4]>) {
    let b = std::fs::read(path).unwrap();
    let d = i32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
    let vals = b
        .chunks_exact(4 * (d + 1))
        .flat_map(|r| r[4..].chunks_exact(4).map(|c| c.try_into().unwrap()))
        .collect();
    (d, vals)
}

pub fn read_fvecs(path: &Path) -> (usize, Vec<f32>) {
    let (d, v) = read_xvecs(path);
    (d, v.into_iter().map(f32::from_le_bytes).collect())
}

pub fn read_ivecs(path: &Path) -> (usize, Vec<i32>) {
    let (d, v) = read_xvecs(path);
    (d, v.into_iter().map(i32::from_le_bytes).collect())
}

/// The shipped base vectors with keys = row numbers.
pub fn builder(metric: Metric) -> GalleryBuilder {
    let (d, v) = read_fvecs(&data("base.fvecs"));
    let mut b = GalleryBuilder::new(d, metric).unwrap();
    let keys: Vec<u64> = (0..(v.len() / d) as u64).collect();
    b.add_batch(&keys, &v).unwrap();
    b
}

/// A small deterministic gallery file in `dir` (keys `1000 + 3 * row`).
pub fn small_file(dir: &Path, n: usize, d: usize, metric: Metric) -> (PathBuf, Vec<f32>) {
    let mut b = GalleryBuilder::new(d, metric).unwrap();
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut v = Vec::with_capacity(n * d);
    for _ in 0..n * d {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.push((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5);
    }
    let keys: Vec<u64> = (0..n as u64).map(|r| 1000 + 3 * r).collect();
    b.add_batch(&keys, &v).unwrap();
    let path = dir.join("small.vmg");
    b.write(&path).unwrap();
    (path, v)
}

/// Opens the same file both ways: mmap and in memory.
pub fn both(path: &Path) -> [Gallery; 2] {
    [
        Gallery::open(path).unwrap(),
        Gallery::from_bytes(&std::fs::read(path).unwrap()).unwrap(),
    ]
}
