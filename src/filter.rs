//! Row sets: which rows a search may return (explicit rows, a bitset, a lazy test), as
//! the planner resolved them, with a collection's deleted-row bitsets folded in.

use std::sync::Arc;

/// The rows a filter names exactly.
pub(crate) enum Base {
    /// Every row.
    All,
    /// Only these rows (sorted, unique), with a bitset of them for O(1) membership.
    Only(Vec<usize>, Bits),
    /// Every row but those of the bitset; `usize` is how many rows it holds. The bitset is
    /// shared: a collection's deleted rows are used as they are, without a copy.
    Except(usize, Arc<Bits>),
}

/// A row-admission test evaluated lazily, row by row (labels, a key predicate).
pub(crate) type Test<'a> = Box<dyn Fn(usize) -> bool + Sync + 'a>;

/// Which rows a search may return: the exact rows of [`Base`], narrowed by an optional
/// lazy test. The executors (exact scan, graph walk) only ask [`RowSet::admits`] /
/// [`RowSet::denies`] and read an explicit row list; they know nothing of labels or keys.
/// A test never accompanies [`Base::Only`]: the list is filtered when the test is added.
pub(crate) struct RowSet<'a> {
    pub(crate) base: Base,
    test: Option<Test<'a>>,
    /// Estimated admitted rows when a test is present (exact otherwise).
    estimate: usize,
}
/// A bitset over rows (n/8 bytes). Rows past its end are unset, so it can grow lazily.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    pub(crate) fn of(rows: &[usize], n: usize) -> Bits {
        let mut b = vec![0u64; n.div_ceil(64)];
        for &r in rows {
            if let Some(w) = b.get_mut(r / 64) {
                *w |= 1 << (r % 64);
            }
        }
        Bits(b)
    }

    /// Whether `row` is set.
    #[inline]
    pub(crate) fn has(&self, row: usize) -> bool {
        self.0
            .get(row / 64)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }

    /// Sets `row` (growing the bitset); returns whether it was unset.
    pub(crate) fn set(&mut self, row: usize) -> bool {
        if self.0.len() <= row / 64 {
            self.0.resize(row / 64 + 1, 0);
        }
        let w = &mut self.0[row / 64];
        let fresh = *w & (1 << (row % 64)) == 0;
        *w |= 1 << (row % 64);
        fresh
    }

    /// Number of set bits.
    pub(crate) fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The union of two bitsets.
    fn union(&self, other: &Bits) -> Bits {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = long.clone();
        for (w, o) in out.0.iter_mut().zip(&short.0) {
            *w |= o;
        }
        out
    }
}

impl<'a> RowSet<'a> {
    /// Every row.
    pub(crate) fn all() -> RowSet<'a> {
        RowSet::of(Base::All)
    }

    pub(crate) fn of(base: Base) -> RowSet<'a> {
        RowSet {
            base,
            test: None,
            estimate: 0,
        }
    }

    /// Only `rows` (sorted, unique, in range of `n`).
    pub(crate) fn only(rows: Vec<usize>, n: usize) -> RowSet<'a> {
        let b = Bits::of(&rows, n);
        RowSet::of(Base::Only(rows, b))
    }

    /// This set without the sorted rows `rows`.
    pub(crate) fn and_not_rows(self, rows: &[usize], n: usize) -> RowSet<'a> {
        if rows.is_empty() {
            return self;
        }
        let bits = Arc::new(Bits::of(rows, n));
        self.without(&bits, rows.len())
    }

    /// This set intersected with the sorted, unique rows `rows`.
    pub(crate) fn and_rows(self, mut rows: Vec<usize>, n: usize) -> RowSet<'a> {
        let RowSet { base, test, .. } = self;
        match &base {
            Base::All => {}
            Base::Only(_, b) => rows.retain(|&r| b.has(r)),
            Base::Except(_, b) => rows.retain(|&r| !b.has(r)),
        }
        let mut out = RowSet::only(rows, n);
        if let Some(t) = test {
            out = out.and_test(t, 1.0, n);
        }
        out
    }

    /// This set narrowed by `test`, which admits about `fraction` of the rows (the
    /// estimate only steers the planner). On an explicit row list the test runs now, once
    /// per listed row.
    pub(crate) fn and_test(self, test: Test<'a>, fraction: f64, n: usize) -> RowSet<'a> {
        let before = self.admitted(n);
        match self.base {
            Base::Only(mut rows, _) => {
                rows.retain(|&r| test(r));
                let n = rows.last().map_or(0, |&r| r + 1);
                RowSet::only(rows, n)
            }
            base => {
                let test = match self.test {
                    Some(old) => Box::new(move |r| old(r) && test(r)) as Test<'a>,
                    None => test,
                };
                RowSet {
                    base,
                    test: Some(test),
                    estimate: (before as f64 * fraction.clamp(0.0, 1.0)).ceil() as usize,
                }
            }
        }
    }

    /// Whether every row is admitted.
    pub(crate) fn is_all(&self) -> bool {
        matches!(self.base, Base::All) && self.test.is_none()
    }

    /// Whether [`RowSet::admitted`] is exact (no lazy test).
    pub(crate) fn count_is_exact(&self) -> bool {
        self.test.is_none()
    }

    /// This set without the rows of `dead` (a collection's deleted and replaced rows,
    /// `dead_count` of them). Cost: O(1) without a filter, O(admitted) with an
    /// allow-list, O(n/64) with a deny-list.
    pub(crate) fn without(self, dead: &Arc<Bits>, dead_count: usize) -> RowSet<'a> {
        if dead_count == 0 {
            return self;
        }
        let RowSet {
            base,
            test,
            estimate,
        } = self;
        let base = match base {
            Base::All => Base::Except(dead_count, Arc::clone(dead)),
            Base::Only(mut rows, _) => {
                rows.retain(|&r| !dead.has(r));
                let n = rows.last().map_or(0, |&r| r + 1);
                let b = Bits::of(&rows, n);
                Base::Only(rows, b)
            }
            Base::Except(_, bits) => {
                let u = bits.union(dead);
                Base::Except(u.count(), Arc::new(u))
            }
        };
        RowSet {
            base,
            test,
            estimate: estimate.saturating_sub(dead_count),
        }
    }

    /// Whether `row` is excluded (checked by scans of every row, for rows that would
    /// enter the top-k).
    #[inline]
    pub(crate) fn denies(&self, row: usize) -> bool {
        (match &self.base {
            Base::All => false,
            Base::Only(_, b) => !b.has(row),
            Base::Except(_, b) => b.has(row),
        }) || self.test.as_ref().is_some_and(|t| !t(row))
    }

    /// Whether `row` may be returned.
    #[inline]
    pub(crate) fn admits(&self, row: usize) -> bool {
        !self.denies(row)
    }

    /// Number of admitted rows out of `n`: exact without a lazy test, else an estimate.
    pub(crate) fn admitted(&self, n: usize) -> usize {
        let base = match &self.base {
            Base::All => n,
            Base::Only(a, _) => a.len(),
            Base::Except(d, _) => n.saturating_sub(*d),
        };
        match &self.test {
            None => base,
            Some(_) => self.estimate.min(base),
        }
    }
}
