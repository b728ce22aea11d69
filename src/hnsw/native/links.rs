//! The adjacency lists of a graph under construction, shared by the inserting threads:
//! flat `u32`-indexed arrays of atomics with one spin lock per node.
//!
//! Layer 0 is `count × stride0` slots, exactly the frozen `GRAPH` layer-0 layout, so
//! freezing is an in-place conversion. Nodes with upper levels own `level` further blocks
//! of `1 + m` slots in one flat array. Slot 0 of every list holds the degree in its low 16
//! bits and, in its high 16 bits, how many of the first entries are known to be "closed"
//! under the neighbour-selection heuristic (see `select.rs`); freezing clears the high bits.
//!
//! Layer-0 lists also keep each neighbour's distance to the owner (`dist0`, one f32 per
//! slot), so a full list can take a reverse link without recomputing them.
//!
//! Every list is written only while its node's lock is held (one lock at a time, so no
//! thread ever waits while holding a lock: no deadlock), and read under it where the
//! reader rewrites the list (reverse links). The beam searches of the build read lists
//! without the lock ([`Links::read`]): they need candidates, not a consistent snapshot.
//! The slots are atomics, so the arrays are shared without `unsafe`.

use std::sync::atomic::{
    AtomicBool, AtomicU32, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};

use crate::hnsw::graph::{FrozenGraph, UpperLevel, stride0};
use crate::metric;

/// Marks a node without upper levels in `up_start`.
const NONE: u32 = u32::MAX;
/// Degree bits of slot 0.
const DEGREE: u32 = 0xFFFF;

/// The shared adjacency lists.
pub(super) struct Links {
    pub m: usize,
    pub m0: usize,
    stride0: usize,
    layer0: Vec<AtomicU32>,
    /// Distance (f32 bits) from each node to each of its layer-0 neighbours, slot for
    /// slot (`count × m0`): a full list takes a new reverse link without recomputing them.
    dist0: Vec<AtomicU32>,
    /// Start of each node's level-1 block in `upper`, or [`NONE`].
    up_start: Vec<u32>,
    upper: Vec<AtomicU32>,
    pub levels: Vec<u8>,
    locks: Vec<AtomicBool>,
}

/// Holds a node's lock; released on drop.
pub(super) struct Guard<'a>(&'a AtomicBool);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Release);
    }
}

/// One node's list at one level, borrowed under its lock.
pub(super) struct List<'a> {
    slots: &'a [AtomicU32],
    /// Layer 0 only: the neighbours' distances, one per slot after slot 0.
    dists: Option<&'a [AtomicU32]>,
}

impl List<'_> {
    /// Degree and the number of leading entries known to be closed.
    #[inline]
    pub fn head(&self) -> (usize, usize) {
        let h = self.slots[0].load(Relaxed);
        ((h & DEGREE) as usize, (h >> 16) as usize)
    }

    /// Maximum degree.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.slots.len() - 1
    }

    /// Appends the neighbours to `out`; returns the list's head ([`List::head`]) as read.
    /// Without the lock (see [`Links::read`]) the head is read first with `Acquire`,
    /// pairing with the `Release` of the writer's last head store, so the entries it
    /// counts were written before it.
    #[inline]
    pub fn read_into(&self, out: &mut Vec<u32>) -> (usize, usize) {
        let h = self.slots[0].load(Acquire);
        let (deg, closed) = ((h & DEGREE) as usize, (h >> 16) as usize);
        out.extend(
            self.slots[1..1 + deg.min(self.capacity())]
                .iter()
                .map(|x| x.load(Relaxed)),
        );
        (deg, closed)
    }

    /// Appends `row` at distance `d` (the caller checked there is room); the closed
    /// prefix is unchanged.
    #[inline]
    pub fn push(&self, row: u32, d: f32) {
        let (deg, closed) = self.head();
        self.slots[1 + deg].store(row, Relaxed);
        if let Some(ds) = self.dists {
            ds[deg].store(d.to_bits(), Relaxed);
        }
        self.slots[0].store((deg + 1) as u32 | ((closed as u32) << 16), Release);
    }

    /// Replaces the list by `rows` (at most the capacity), the first `closed` of them
    /// known to be closed; slots past the new degree are zeroed.
    pub fn set(&self, rows: impl ExactSizeIterator<Item = (u32, f32)>, closed: usize) {
        let (old, _) = self.head();
        let k = rows.len().min(self.capacity());
        for (i, (r, d)) in rows.take(k).enumerate() {
            self.slots[1 + i].store(r, Relaxed);
            if let Some(ds) = self.dists {
                ds[i].store(d.to_bits(), Relaxed);
            }
        }
        for slot in &self.slots[1 + k..1 + old.max(k)] {
            slot.store(0, Relaxed);
        }
        self.slots[0].store(k as u32 | ((closed.min(k) as u32) << 16), Release);
    }

    /// Layer 0: appends the neighbours with their cached distances to `out`.
    pub fn read_dists_into(&self, out: &mut Vec<(u32, f32)>) {
        let Some(ds) = self.dists else { return };
        let (deg, _) = self.head();
        let deg = deg.min(self.capacity());
        out.extend(
            self.slots[1..1 + deg]
                .iter()
                .zip(ds)
                .map(|(r, d)| (r.load(Relaxed), f32::from_bits(d.load(Relaxed)))),
        );
    }

    /// Layer 0, full list: replaces the farthest entry after the closed prefix by `row`
    /// (at distance `d`) if `row` is closer; the closed prefix is kept.
    pub fn replace_farthest_open(&self, row: u32, d: f32) {
        let Some(ds) = self.dists else { return };
        let (deg, closed) = self.head();
        let mut worst: Option<(usize, f32)> = None;
        for (i, x) in ds.iter().enumerate().take(deg).skip(closed) {
            let x = f32::from_bits(x.load(Relaxed));
            if worst.is_none_or(|(_, w)| x > w) {
                worst = Some((i, x));
            }
        }
        if let Some((i, w)) = worst
            && d < w
        {
            self.slots[1 + i].store(row, Relaxed);
            ds[i].store(d.to_bits(), Relaxed);
        }
    }
}

impl Links {
    /// Empty lists for nodes of the given levels.
    pub fn new(m: usize, levels: Vec<u8>) -> Self {
        let n = levels.len();
        let m0 = 2 * m;
        let stride0 = stride0(m0);
        let mut up_start = vec![NONE; n];
        let mut next = 0usize;
        for (r, &l) in levels.iter().enumerate() {
            if l > 0 {
                up_start[r] = next as u32;
                next += usize::from(l) * (1 + m);
            }
        }
        Links {
            m,
            m0,
            stride0,
            layer0: metric::huge_page_vec(n * stride0, || AtomicU32::new(0)),
            dist0: metric::huge_page_vec(n * m0, || AtomicU32::new(0)),
            up_start,
            upper: (0..next).map(|_| AtomicU32::new(0)).collect(),
            levels,
            locks: (0..n).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Takes `row`'s lock (spinning, then yielding: locks are held for microseconds).
    #[inline]
    pub fn lock(&self, row: u32) -> Guard<'_> {
        let l = &self.locks[row as usize];
        let mut spins = 0u32;
        while l
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            while l.load(Relaxed) {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        Guard(l)
    }

    /// `row`'s list at `level` (to write it, the caller holds `row`'s lock or has the only
    /// reference). `row` must have that level.
    #[inline]
    pub fn list(&self, row: u32, level: usize) -> List<'_> {
        let r = row as usize;
        if level == 0 {
            List {
                slots: &self.layer0[r * self.stride0..r * self.stride0 + 1 + self.m0],
                dists: Some(&self.dist0[r * self.m0..(r + 1) * self.m0]),
            }
        } else {
            let s = self.up_start[r] as usize + (level - 1) * (1 + self.m);
            List {
                slots: &self.upper[s..s + 1 + self.m],
                dists: None,
            }
        }
    }

    /// Copies `row`'s neighbours at `level` into `out` (cleared first), without its lock.
    ///
    /// A search during the build only needs candidates, not a consistent list: a writer
    /// changing the list meanwhile may leave `out` with a mix of its old and new entries,
    /// or a 0 from a slot it clears (each slot is one atomic: every entry read is a valid
    /// node id, and the beam skips rows it has visited). The lock was a `lock cmpxchg`
    /// per expanded node, its cache line shared by both threads: without it, 2-thread
    /// dev50k builds took ~2% less CPU (best of six interleaved pairs, 8.72 against
    /// 8.90 s, EPYC Zen 4), with the same recall. One thread reads only its own writes,
    /// so single-threaded builds stay deterministic.
    #[inline]
    pub fn read(&self, row: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        self.list(row, level).read_into(out);
    }

    /// Like [`Links::read`], but on layer 0 only the closed prefix when there is one.
    #[inline]
    pub fn read_search(&self, row: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        let list = self.list(row, level);
        let (_, closed) = list.read_into(out);
        if level == 0 && closed > 0 {
            out.truncate(closed);
        }
    }

    /// Hints the CPU to load `row`'s layer-0 list.
    #[inline]
    pub fn prefetch0(&self, row: u32) {
        let r = row as usize;
        if let Some(s) = self.layer0.get(r * self.stride0..(r + 1) * self.stride0) {
            crate::metric::prefetch_lines(s, 2);
        }
    }

    /// [`Links::prefetch0`], the list's lock and its cached distances (a reverse link
    /// takes the lock and reads the rest).
    #[inline]
    pub fn prefetch0_dists(&self, row: u32) {
        self.prefetch0(row);
        let r = row as usize;
        if let Some(l) = self.locks.get(r..r + 1) {
            crate::metric::prefetch_lines(l, 1);
        }
        if let Some(d) = self.dist0.get(r * self.m0..(r + 1) * self.m0) {
            crate::metric::prefetch_lines(d, usize::MAX);
        }
    }

    /// Converts into the frozen graph (layer 0 in place, upper levels into CSR).
    pub fn freeze(self, entry: u32, top: usize, ef_construction: usize) -> FrozenGraph {
        let Links {
            m,
            m0,
            stride0,
            layer0,
            up_start,
            upper,
            levels,
            ..
        } = self;
        let n = levels.len();
        let mut layer0: Vec<u32> = layer0.into_iter().map(AtomicU32::into_inner).collect();
        for slot in layer0.iter_mut().step_by(stride0) {
            *slot &= DEGREE;
        }
        let upper: Vec<u32> = upper.into_iter().map(AtomicU32::into_inner).collect();
        let block = |r: usize, l: usize| {
            let s = up_start[r] as usize + (l - 1) * (1 + m);
            let deg = ((upper[s] & DEGREE) as usize).min(m);
            &upper[s + 1..s + 1 + deg]
        };
        let up = (1..=top)
            .map(|l| {
                UpperLevel::from_lists(
                    (0..n)
                        .filter(|&r| usize::from(levels[r]) >= l)
                        .map(|r| (r as u32, block(r, l))),
                    m,
                )
            })
            .collect();
        FrozenGraph {
            count: n,
            m,
            m0,
            entry_point: entry,
            layer0,
            upper: up,
            build_m: m,
            build_ef_construction: ef_construction,
        }
    }
}
