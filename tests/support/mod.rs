//! Support code shared by tests, benches and examples (never part of the library): the
//! shipped dataset's path, TEXMEX `.fvecs`/`.ivecs` readers and writers, a `.npy` writer
//! and a tiny deterministic generator of test vectors.
//!
//! Integration tests include it with `mod support;` (or through `tests/common`), benches
//! and examples with `#[path = "../tests/support/mod.rs"] mod support;`. It uses only
//! `std`, so that every target can include it.
#![allow(dead_code)]

use std::io;
use std::path::{Path, PathBuf};

/// Path of a file of the shipped dataset (`data/minilm-5k`: 5,000 × 384 MiniLM embeddings,
/// 100 queries and their exact top-100 by dot product).
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/minilm-5k")
        .join(name)
}

/// An `InvalidData` error naming the file.
fn invalid(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

/// Reads a TEXMEX `.fvecs`/`.ivecs` file as (values per row, raw 4-byte values, row-major),
/// checking every row's header: each row is an `i32` count `d > 0` and `d` 4-byte values.
fn read_xvecs(path: &Path) -> io::Result<(usize, Vec<[u8; 4]>)> {
    let b = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let head = b.get(..4).ok_or_else(|| invalid(path, "empty file"))?;
    let d = i32::from_le_bytes(head.try_into().expect("4 bytes"));
    let d = usize::try_from(d)
        .ok()
        .filter(|d| *d > 0)
        .ok_or_else(|| invalid(path, &format!("row length {d}")))?;
    let row = 4 * (d + 1);
    if !b.len().is_multiple_of(row) {
        return Err(invalid(path, "ragged file (not a whole number of rows)"));
    }
    let mut values = Vec::with_capacity(b.len() / row * d);
    for (i, r) in b.chunks_exact(row).enumerate() {
        if r[..4] != head[..] {
            return Err(invalid(path, &format!("row {i} has another length")));
        }
        values.extend(
            r[4..]
                .chunks_exact(4)
                .map(|c| <[u8; 4]>::try_from(c).unwrap()),
        );
    }
    Ok((d, values))
}

/// Reads `.fvecs`: (dims, row-major values).
pub fn read_fvecs(path: impl AsRef<Path>) -> io::Result<(usize, Vec<f32>)> {
    let (d, v) = read_xvecs(path.as_ref())?;
    Ok((d, v.into_iter().map(f32::from_le_bytes).collect()))
}

/// Reads `.ivecs` (ground truth): (values per row, row-major values).
pub fn read_ivecs(path: impl AsRef<Path>) -> io::Result<(usize, Vec<i32>)> {
    let (d, v) = read_xvecs(path.as_ref())?;
    Ok((d, v.into_iter().map(i32::from_le_bytes).collect()))
}

/// `values` (row-major, `d` per row) in `.fvecs` layout.
pub fn fvecs_bytes(d: usize, values: &[f32]) -> Vec<u8> {
    assert!(
        d > 0 && values.len().is_multiple_of(d),
        "{} values, d {d}",
        values.len()
    );
    let head = i32::try_from(d).expect("d fits an i32").to_le_bytes();
    let mut b = Vec::with_capacity(values.len() / d * (4 * d + 4));
    for row in values.chunks_exact(d) {
        b.extend_from_slice(&head);
        row.iter()
            .for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
    }
    b
}

/// Writes `values` (row-major, `d` per row) as an `.fvecs` file.
pub fn write_fvecs(path: impl AsRef<Path>, d: usize, values: &[f32]) -> io::Result<()> {
    std::fs::write(path, fvecs_bytes(d, values))
}

/// Values as raw little-endian `f32` bytes.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A 2-D NPY v1.0 file: magic, version, the header dict (`descr` such as `<f4`,
/// `fortran_order` spelled as given, `shape`) padded to 64 bytes, then `payload`.
pub fn npy_bytes(
    descr: &str,
    fortran_order: &str,
    shape: (usize, usize),
    payload: &[u8],
) -> Vec<u8> {
    let (rows, cols) = shape;
    let mut h = format!(
        "{{'descr': '{descr}', 'fortran_order': {fortran_order}, 'shape': ({rows}, {cols}), }}"
    );
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&u16::try_from(h.len()).expect("short header").to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(payload);
    b
}

/// xorshift64: a tiny deterministic generator for test data.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from any `seed` (0 included).
    pub fn new(seed: u64) -> Self {
        Rng::with_state(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// A generator starting from the raw xorshift state `state` (must not be 0).
    pub fn with_state(state: u64) -> Self {
        assert_ne!(state, 0, "xorshift64 stays at 0");
        Rng(state)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [-0.5, 0.5).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    /// `n` values from [`Rng::unit`].
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.unit()).collect()
    }
}

/// `n * d` values uniform in [-0.5, 0.5) from `Rng::new(seed)`: `n` random rows of `d`.
pub fn vecs(n: usize, d: usize, seed: u64) -> Vec<f32> {
    Rng::new(seed).vec(n * d)
}
