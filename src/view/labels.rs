//! The optional `LABELS` section (format 1.2): a set of `u32` labels per row, stored
//! sparsely both ways — per-row lists (a row's labels) and per-label postings (a label's
//! rows, with its count, so a filter's selectivity is a binary search away).
//!
//! Layout (little-endian; the section starts 64-byte aligned, every part below is
//! aligned to its element size):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | `rows`: the header's row count |
//! | 8 | 8 | `pairs`: number of (row, label) pairs `P` |
//! | 16 | 8 | `labels`: number of distinct labels `L` |
//! | 24 | 8 | reserved, zero |
//! | 32 | 8 × (rows + 1) | `offsets`: row `r` holds `ids[offsets[r]..offsets[r+1]]` |
//! | … | 16 × L | `table`: [`LabelEntry`] sorted by label, strictly increasing |
//! | … | 4 × P | `ids`: every row's labels, strictly increasing within a row |
//! | … | 4 × P | `postings`: label `table[i]` holds rows `postings[start..start+count]`, strictly increasing |
//!
//! Open checks the 32-byte head and the exact length, O(1). `verify` checks everything
//! else: offsets monotone from 0 to P, ids sorted and unique per row, table sorted with
//! counts ≥ 1 whose starts are their running sum, postings sorted, in range and
//! consistent with the per-row lists. Reads of an unverified section are bounds-checked:
//! a damaged one gives wrong labels, never a panic.

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};

/// One entry of the label table.
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq, Eq)]
#[repr(C)]
pub struct LabelEntry {
    /// The label.
    pub label: u32,
    /// Rows carrying it (at least 1).
    pub count: u32,
    /// Index of its first row in `postings`: the sum of the counts before it.
    pub start: u64,
}

const HEAD: usize = 32;

/// Labels of rows being built: per-row lists, sorted and unique within a row.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelSets {
    /// `ends[r]`: end of row `r` in `ids`.
    ends: Vec<u64>,
    ids: Vec<u32>,
}

impl LabelSets {
    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.ends.len()
    }

    /// Whether no row has a label.
    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends a row with `labels` (sorted and de-duplicated here).
    pub(crate) fn push(&mut self, labels: &[u32]) {
        let start = self.ids.len();
        self.ids.extend_from_slice(labels);
        let row = &mut self.ids[start..];
        row.sort_unstable();
        let mut w = 0;
        for i in 0..row.len() {
            if i == 0 || row[i] != row[w - 1] {
                row[w] = row[i];
                w += 1;
            }
        }
        self.ids.truncate(start + w);
        self.ends.push(self.ids.len() as u64);
    }

    /// Appends `n` rows without labels.
    pub(crate) fn push_empty(&mut self, n: usize) {
        let end = self.ids.len() as u64;
        self.ends.resize(self.ends.len() + n, end);
    }

    /// The labels of row `r`.
    pub(crate) fn row(&self, r: usize) -> &[u32] {
        let lo = if r == 0 { 0 } else { self.ends[r - 1] as usize };
        let hi = self.ends.get(r).map_or(lo, |&e| e as usize);
        &self.ids[lo..hi]
    }

    /// The section bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let rows = self.rows();
        let pairs = self.ids.len();
        // Postings: (label, row) pairs sorted by label, then row.
        let mut by_label: Vec<(u32, u32)> = (0..rows)
            .flat_map(|r| self.row(r).iter().map(move |&l| (l, r as u32)))
            .collect();
        by_label.sort_unstable();
        let mut table: Vec<LabelEntry> = Vec::new();
        for (i, &(l, _)) in by_label.iter().enumerate() {
            match table.last_mut() {
                Some(e) if e.label == l => e.count += 1,
                _ => table.push(LabelEntry {
                    label: l,
                    count: 1,
                    start: i as u64,
                }),
            }
        }
        let mut out = Vec::with_capacity(HEAD + 8 * (rows + 1) + 16 * table.len() + 8 * pairs);
        for v in [rows as u64, pairs as u64, table.len() as u64, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&0u64.to_le_bytes());
        for &e in &self.ends {
            out.extend_from_slice(&e.to_le_bytes());
        }
        out.extend_from_slice(bytemuck::cast_slice(&table));
        out.extend_from_slice(bytemuck::cast_slice(&self.ids));
        for (_, r) in by_label {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out
    }
}

/// A validated (O(1)), zero-copy view of a `LABELS` section.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LabelsView<'a> {
    offsets: &'a [u64],
    table: &'a [LabelEntry],
    ids: &'a [u32],
    postings: &'a [u32],
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl<'a> LabelsView<'a> {
    /// Checks the head and exact length of the section of a gallery of `count` rows and
    /// views its parts. O(1).
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the head disagrees with the section's length or row count,
    /// or a part is misaligned.
    pub(crate) fn parse(bytes: &'a [u8], count: usize) -> Result<LabelsView<'a>> {
        let bad = |what: String| Error::corrupt(format!("section LABELS: {what}"));
        if bytes.len() < HEAD {
            return Err(bad(format!("{} bytes", bytes.len())));
        }
        let (rows, pairs, labels) = (u64_at(bytes, 0), u64_at(bytes, 8), u64_at(bytes, 16));
        if rows != count as u64 {
            return Err(bad(format!("{rows} rows in a gallery of {count}")));
        }
        let len = (|| {
            let o = rows.checked_add(1)?.checked_mul(8)?;
            let t = labels.checked_mul(16)?;
            let p = pairs.checked_mul(8)?;
            (HEAD as u64).checked_add(o)?.checked_add(t)?.checked_add(p)
        })();
        if len != Some(bytes.len() as u64) {
            return Err(bad(format!(
                "{} bytes do not hold {rows} rows, {labels} labels and {pairs} pairs",
                bytes.len()
            )));
        }
        // The length matched, so every part below fits in usize.
        let (rows, pairs, labels) = (rows as usize, pairs as usize, labels as usize);
        let o_end = HEAD + 8 * (rows + 1);
        let t_end = o_end + 16 * labels;
        let i_end = t_end + 4 * pairs;
        let misaligned = || bad("misaligned".into());
        Ok(LabelsView {
            offsets: bytemuck::try_cast_slice(&bytes[HEAD..o_end]).map_err(|_| misaligned())?,
            table: bytemuck::try_cast_slice(&bytes[o_end..t_end]).map_err(|_| misaligned())?,
            ids: bytemuck::try_cast_slice(&bytes[t_end..i_end]).map_err(|_| misaligned())?,
            postings: bytemuck::try_cast_slice(&bytes[i_end..]).map_err(|_| misaligned())?,
        })
    }

    /// The labels of `row`, sorted (empty for a row out of range or damaged offsets).
    #[inline]
    pub(crate) fn row(&self, row: usize) -> &'a [u32] {
        match (self.offsets.get(row), self.offsets.get(row + 1)) {
            (Some(&lo), Some(&hi)) if lo <= hi => usize::try_from(lo)
                .ok()
                .zip(usize::try_from(hi).ok())
                .and_then(|(lo, hi)| self.ids.get(lo..hi))
                .unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Whether `row` carries `label`. O(log labels of the row).
    #[inline]
    pub(crate) fn has(&self, row: usize, label: u32) -> bool {
        self.row(row).binary_search(&label).is_ok()
    }

    /// Number of rows carrying `label`. O(log L).
    pub(crate) fn count(&self, label: u32) -> usize {
        self.entry(label).map_or(0, |e| e.count as usize)
    }

    fn entry(&self, label: u32) -> Option<&'a LabelEntry> {
        let i = self.table.binary_search_by_key(&label, |e| e.label).ok()?;
        self.table.get(i)
    }

    /// The rows carrying `label`, sorted (a damaged section may give rows out of range:
    /// callers check them).
    pub(crate) fn rows_of(&self, label: u32) -> &'a [u32] {
        self.entry(label)
            .and_then(|e| {
                let s = usize::try_from(e.start).ok()?;
                self.postings.get(s..s.checked_add(e.count as usize)?)
            })
            .unwrap_or(&[])
    }

    /// Checks every invariant (see the module docs). O(P log L).
    ///
    /// # Errors
    /// [`Error::Corrupt`] naming the first violated invariant.
    pub(crate) fn verify(&self) -> Result<()> {
        let bad = |what: String| Err(Error::corrupt(format!("section LABELS: {what}")));
        let rows = self.offsets.len() - 1;
        let pairs = self.ids.len() as u64;
        if self.offsets[0] != 0 || self.offsets[rows] != pairs {
            return bad("offsets do not run from 0 to the pair count".into());
        }
        for r in 0..rows {
            if self.offsets[r] > self.offsets[r + 1] {
                return bad(format!("offsets decrease at row {r}"));
            }
            if self.row(r).windows(2).any(|w| w[0] >= w[1]) {
                return bad(format!("labels of row {r} are not sorted and unique"));
            }
        }
        let mut sum = 0u64;
        for (i, e) in self.table.iter().enumerate() {
            if i > 0 && self.table[i - 1].label >= e.label {
                return bad(format!("label table not strictly sorted at entry {i}"));
            }
            if e.count == 0 || e.start != sum {
                return bad(format!(
                    "label {} has count {} at {}",
                    e.label, e.count, e.start
                ));
            }
            sum += u64::from(e.count);
            let list = self.rows_of(e.label);
            if list.windows(2).any(|w| w[0] >= w[1]) {
                return bad(format!(
                    "rows of label {} are not sorted and unique",
                    e.label
                ));
            }
            if let Some(&r) = list.iter().find(|&&r| !self.has(r as usize, e.label)) {
                return bad(format!(
                    "row {r} is listed under label {} without it",
                    e.label
                ));
            }
        }
        if sum != pairs {
            return bad(format!(
                "label counts sum to {sum}, rows hold {pairs} labels"
            ));
        }
        // Every posting is in its row's list and the totals match: the postings are exactly
        // the per-row lists inverted, provided every row label is in the table.
        if let Some(r) = (0..rows).find(|&r| self.row(r).iter().any(|&l| self.entry(l).is_none())) {
            return bad(format!("row {r} has a label missing from the table"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(rows: &[&[u32]]) -> LabelSets {
        let mut s = LabelSets::default();
        for r in rows {
            s.push(r);
        }
        s
    }

    /// An 8-byte aligned copy of `bytes`.
    fn aligned(bytes: &[u8]) -> Vec<u64> {
        let mut w = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut w)[..bytes.len()].copy_from_slice(bytes);
        w
    }

    #[test]
    fn round_trip() {
        let s = sets(&[&[3, 1, 3], &[], &[7], &[1, 7, 9]]);
        assert_eq!(s.row(0), &[1, 3]);
        let bytes = s.encode();
        let w = aligned(&bytes);
        let v = LabelsView::parse(&bytemuck::cast_slice(&w)[..bytes.len()], 4).unwrap();
        v.verify().unwrap();
        assert_eq!(v.row(0), &[1, 3]);
        assert_eq!(v.row(1), &[] as &[u32]);
        assert_eq!(v.row(3), &[1, 7, 9]);
        assert_eq!(v.row(4), &[] as &[u32]);
        assert_eq!(v.rows_of(1), &[0, 3]);
        assert_eq!(v.rows_of(7), &[2, 3]);
        assert_eq!(v.count(9), 1);
        assert_eq!(v.count(2), 0);
        assert!(LabelsView::parse(&bytemuck::cast_slice(&w)[..bytes.len()], 5).is_err());
        assert!(LabelsView::parse(&bytemuck::cast_slice(&w)[..bytes.len() - 4], 4).is_err());
    }

    #[test]
    fn verify_finds_every_inconsistency() {
        let s = sets(&[&[1, 2], &[2], &[5]]);
        let bytes = s.encode();
        let n = bytes.len();
        // Each damage: (byte offset, new u32 value) → verify fails, reads do not panic.
        let o_end = HEAD + 8 * 4;
        let t_end = o_end + 16 * 3;
        let i_end = t_end + 4 * 4;
        for (at, val) in [
            (HEAD + 8, 9u32), // offset of row 1 past the end
            (HEAD + 16, 0),   // offsets decrease
            (o_end + 4, 2),   // count of label 1 (start of label 2 no longer the sum)
            (o_end + 16, 1),  // label table not sorted
            (t_end, 3),       // row 0's labels become [3, 2]
            (t_end + 4, 1),   // row 0's labels become [1, 1]
            (i_end, 2),       // label 1 lists row 2
            (i_end + 8, 7),   // a posting out of range
        ] {
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&val.to_le_bytes());
            let w = aligned(&b);
            let v = LabelsView::parse(&bytemuck::cast_slice(&w)[..n], 3).unwrap();
            assert!(v.verify().is_err(), "damage at {at} went unnoticed");
            for r in 0..4 {
                let _ = v.row(r);
            }
            for l in 0..8 {
                let _ = (v.rows_of(l), v.count(l));
            }
        }
    }
}
