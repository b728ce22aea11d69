//! The growable `f32` buffer holding a [`super::GalleryBuilder`]'s vectors: a `Vec` while
//! small, and from 4 MiB an anonymous mapping advised for transparent huge pages.
//!
//! Building an HNSW graph reads rows at random (every distance of the beam search is
//! another row), and with 4 KiB pages nearly every row costs a TLB miss once the vectors
//! outgrow the TLB's reach. On the 50k dev set (73 MiB of vectors) the native builder took
//! 27-34 s with the vectors on huge pages against 40-42 s on the heap (2 threads,
//! alternating runs). Holding them there from the start, rather than copying them for the
//! build, costs no extra memory.

use std::ops::{Deref, DerefMut};

/// Buffers at least this large (bytes) are mapped and advised for huge pages.
const HUGE_PAGE_MIN: usize = 4 << 20;

enum Inner {
    Heap(Vec<f32>),
    /// `len` values used of the mapping (page-aligned, so `f32`-aligned).
    Map {
        map: memmap2::MmapMut,
        len: usize,
    },
}

/// A growable `f32` buffer (see the module docs).
pub(crate) struct RowBuffer(Inner);

impl RowBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        RowBuffer(Inner::Heap(Vec::new()))
    }

    fn capacity(&self) -> usize {
        match &self.0 {
            Inner::Heap(v) => v.capacity(),
            Inner::Map { map, .. } => map.len() / 4,
        }
    }

    /// Makes room for `additional` more values (at least doubling when it grows).
    pub fn reserve(&mut self, additional: usize) {
        let need = self.len().saturating_add(additional);
        if need <= self.capacity() {
            return;
        }
        let cap = need.max(self.capacity().saturating_mul(2));
        if cap.saturating_mul(4) >= HUGE_PAGE_MIN
            && let Ok(mut map) = memmap2::MmapOptions::new().len(cap * 4).map_anon()
        {
            #[cfg(target_os = "linux")]
            let _ = map.advise(memmap2::Advice::HugePage);
            let len = self.len();
            bytemuck::cast_slice_mut::<u8, f32>(&mut map[..len * 4]).copy_from_slice(self);
            self.0 = Inner::Map { map, len };
            return;
        }
        match &mut self.0 {
            Inner::Heap(v) => v.reserve(additional),
            Inner::Map { .. } => {
                // No mapping to be had: back to the heap.
                let mut v = Vec::with_capacity(cap);
                v.extend_from_slice(self);
                self.0 = Inner::Heap(v);
            }
        }
    }

    /// Appends `values`.
    pub fn extend_from_slice(&mut self, values: &[f32]) {
        self.reserve(values.len());
        match &mut self.0 {
            Inner::Heap(v) => v.extend_from_slice(values),
            Inner::Map { map, len } => {
                let end = *len + values.len();
                bytemuck::cast_slice_mut::<u8, f32>(&mut map[*len * 4..end * 4])
                    .copy_from_slice(values);
                *len = end;
            }
        }
    }

    /// Shortens the buffer to `len` values (no effect if it is shorter).
    pub fn truncate(&mut self, new_len: usize) {
        match &mut self.0 {
            Inner::Heap(v) => v.truncate(new_len),
            Inner::Map { len, .. } => *len = (*len).min(new_len),
        }
    }
}

impl Deref for RowBuffer {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match &self.0 {
            Inner::Heap(v) => v,
            Inner::Map { map, len } => &bytemuck::cast_slice(&map[..])[..*len],
        }
    }
}

impl DerefMut for RowBuffer {
    fn deref_mut(&mut self) -> &mut [f32] {
        match &mut self.0 {
            Inner::Heap(v) => v,
            Inner::Map { map, len } => &mut bytemuck::cast_slice_mut(&mut map[..])[..*len],
        }
    }
}

impl Clone for RowBuffer {
    fn clone(&self) -> Self {
        let mut b = RowBuffer::new();
        b.extend_from_slice(self);
        b
    }
}

impl std::fmt::Debug for RowBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RowBuffer({} values)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_from_the_heap_into_a_mapping_and_keeps_its_values() {
        let mut b = RowBuffer::new();
        let mut expected = Vec::new();
        let chunk: Vec<f32> = (0..100_000).map(|i| i as f32).collect();
        for _ in 0..15 {
            b.extend_from_slice(&chunk);
            expected.extend_from_slice(&chunk);
        }
        assert!(matches!(b.0, Inner::Map { .. }));
        assert_eq!(&b[..], &expected[..]);
        b.truncate(7);
        assert_eq!(&b[..], &expected[..7]);
        b[0] = -1.0;
        assert_eq!(b.clone()[..2], [-1.0, 1.0]);
        let mut small = RowBuffer::new();
        small.extend_from_slice(&[1.0, 2.0]);
        assert!(matches!(small.0, Inner::Heap(_)));
        assert_eq!(&small[..], &[1.0, 2.0]);
    }
}
