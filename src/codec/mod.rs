//! The stored rows of a gallery, one codec per element type ([`ElementType`]): how rows are
//! encoded at build time and viewed in a file, and at search time their distances to a
//! prepared query, prefetch and decoding.
//!
//! Each element type is one file implementing [`Codec`]: `f32.rs`, `f16.rs`, `i8.rs`,
//! `i4.rs`. [`Rows`] borrows a gallery's rows in their element type and is the one
//! `match` over element types on the search path: each method forwards to the codec of
//! its variant (`dispatch!`), so an executor calls `rows.scan(..)` and the codec's
//! code below it is monomorphic (static dispatch, once per block or row). The file-level
//! facts (viewing the sections, encoding, whether a `QUANT` section exists) go through the
//! same list keyed by [`ElementType`] (`by_element_type!`).
//!
//! Metrics are data ([`MetricSpec`]): the codecs hand the `f32` paths to the kernel facade
//! (`crate::metric`), and the coded paths of `i8`/`i4` (a query quantised like the rows,
//! compared code with code) finish their integer dot products with the metric's
//! [`MetricSpec::finish`] ([`CodedQuery`]).

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::metric::{Kernel, MetricSpec};
use crate::types::{ElementType, Metric};

mod f16;
mod f32;
mod i4;
mod i8;
mod quantize;

pub(crate) use quantize::quantize_i8;

/// One element type's stored rows. Every function takes the borrowed rows of a whole
/// gallery ([`Codec::Rows`], `dims` components per row) and a row index; a row out of range
/// (possible only in a corrupt unverified file) reads as an empty row.
pub(crate) trait Codec {
    /// Borrowed rows.
    type Rows<'a>: Copy;

    /// Whether the file has a `QUANT` section (one `f32` scale per row) for this type.
    const QUANT: bool;

    /// The rows in the bytes of a file's `VECTORS` section (`scales`: the `QUANT` section,
    /// empty without one); `None` if the bytes are misaligned for the type. Sizes are
    /// checked by the caller.
    fn view<'a>(vectors: &'a [u8], scales: &'a [f32], dims: usize) -> Option<Self::Rows<'a>>;

    /// Encodes finite `f32` rows (`dims` each) for writing; `None` if they are written as
    /// they are (`f32`).
    fn encode(rows: &[f32], dims: usize) -> Option<Encoded>;

    /// Number of whole rows.
    fn count(rows: Self::Rows<'_>, dims: usize) -> usize;

    /// Distance from the prepared query `q` to row `row`.
    fn distance(rows: Self::Rows<'_>, metric: Metric, dims: usize, q: &[f32], row: usize) -> f32;

    /// Distances from `q` to rows `start..start + out.len()`, written to `out` (rows out of
    /// range are left as they are, unless the codec reads them as empty rows), each bit
    /// for bit [`Codec::distance`].
    fn scan(
        rows: Self::Rows<'_>,
        metric: Metric,
        dims: usize,
        q: &[f32],
        start: usize,
        out: &mut [f32],
    ) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = Self::distance(rows, metric, dims, q, start + i);
        }
    }

    /// Asks the CPU to start loading row `row`.
    fn prefetch(rows: Self::Rows<'_>, dims: usize, row: usize);

    /// [`Codec::prefetch`] into the L2 cache (`prefetcht1`), for a row requested many
    /// distances before it is read from memory (a walk over rows larger than the cache).
    fn prefetch_far(rows: Self::Rows<'_>, dims: usize, row: usize);

    /// Bytes of the rows (with their scales): what a walk over all of them reads.
    fn bytes(rows: Self::Rows<'_>) -> usize;

    /// Writes rows `start..start + out.len() / dims` decoded to `f32` into `out` (rows out
    /// of range are left as they are).
    fn decode_into(rows: Self::Rows<'_>, dims: usize, start: usize, out: &mut [f32]);

    /// Row `row` as `f32`: decoded (empty if out of range).
    fn decoded<'a>(rows: Self::Rows<'a>, dims: usize, row: usize) -> Cow<'a, [f32]> {
        if row >= Self::count(rows, dims) {
            return Cow::Borrowed(&[]);
        }
        let mut out = vec![0f32; dims];
        Self::decode_into(rows, dims, row, &mut out);
        Cow::Owned(out)
    }

    /// The first stored value that is not finite, as `(row, component)`; for types with
    /// scales, a scale that is not finite or negative (component 0).
    fn first_non_finite(rows: Self::Rows<'_>, dims: usize) -> Option<(usize, usize)>;

    /// The query quantised like the rows, for walks and scans that compare codes with
    /// codes (re-ranked searches); `None` if the type has no coded path or the metric's
    /// kernel is not the dot product ([`CodedQuery::new`]).
    fn coded_query(_rows: Self::Rows<'_>, _metric: Metric, _q: &[f32]) -> Option<CodedQuery> {
        None
    }

    /// Distance from a coded query to row `row`; the distance of the empty row for types
    /// without a coded path.
    fn distance_coded(_rows: Self::Rows<'_>, _dims: usize, q: &CodedQuery, _row: usize) -> f32 {
        q.finish(0.0, 0)
    }

    /// Distances from coded queries `qs` (their codes back to back in `codes`) to rows
    /// `start..start + nr`, written to `out[j * nr + i]`, each bit for bit
    /// [`Codec::distance_coded`] (`dots`: scratch for integer batch tiles).
    #[allow(clippy::too_many_arguments)]
    fn cross_coded(
        rows: Self::Rows<'_>,
        dims: usize,
        qs: &[CodedQuery],
        _codes: &[i8],
        start: usize,
        nr: usize,
        _dots: &mut Vec<i32>,
        out: &mut [f32],
    ) {
        cross_coded_pairs::<Self>(rows, dims, qs, start, nr, out)
    }
}

/// The distances of an integer batch tile: `out[j * nr + i]` from the dot product
/// `dots[j * nr + i]` of coded query `j` with row `i` (of scale `scales[i]`).
fn finish_dots(qs: &[CodedQuery], scales: &[f32], dots: &[i32], nr: usize, out: &mut [f32]) {
    for ((q, o), d) in qs
        .iter()
        .zip(out.chunks_exact_mut(nr))
        .zip(dots.chunks_exact(nr))
    {
        for ((o, s), dot) in o.iter_mut().zip(scales).zip(d) {
            *o = q.finish(*s, *dot);
        }
    }
}

/// [`Codec::cross_coded`] pair by pair.
fn cross_coded_pairs<C: Codec + ?Sized>(
    rows: C::Rows<'_>,
    dims: usize,
    qs: &[CodedQuery],
    start: usize,
    nr: usize,
    out: &mut [f32],
) {
    for (q, o) in qs.iter().zip(out.chunks_exact_mut(nr)) {
        for (i, o) in o.iter_mut().enumerate() {
            *o = C::distance_coded(rows, dims, q, start + i);
        }
    }
}

/// Borrowed rows of one element type, `dims` components each: one variant per codec,
/// holding that codec's [`Codec::Rows`] (spelled out rather than projected, so that `Rows`
/// stays covariant in `'a`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rows<'a> {
    /// `f32` rows ([`self::f32::F32`]).
    F32(&'a [f32]),
    /// IEEE-754 binary16 bits ([`self::f16::F16`]).
    F16(&'a [u16]),
    /// Codes, and one scale per row ([`self::i8::I8`]).
    I8(i8::I8Rows<'a>),
    /// Packed 4-bit codes, and one scale per row ([`self::i4::I4`]).
    I4(i4::I4Rows<'a>),
}

/// Runs `$body` with `$r` bound to the rows of `$rows`'s variant and `$C` naming its codec:
/// the one `match` over the variants of [`Rows`].
macro_rules! dispatch {
    ($rows:expr, $C:ident, $r:ident => $body:expr) => {
        match $rows {
            Rows::F32($r) => {
                type $C = f32::F32;
                $body
            }
            Rows::F16($r) => {
                type $C = f16::F16;
                $body
            }
            Rows::I8($r) => {
                type $C = i8::I8;
                $body
            }
            Rows::I4($r) => {
                type $C = i4::I4;
                $body
            }
        }
    };
}

/// Runs `$body` with `$C` naming the codec of the element type `$et` (and `$V` its
/// [`Rows`] variant's constructor): the file-level counterpart of `dispatch!`.
macro_rules! by_element_type {
    ($et:expr, $C:ident => $body:expr) => {
        by_element_type!($et, $C, _variant => $body)
    };
    ($et:expr, $C:ident, $V:ident => $body:expr) => {
        match $et {
            ElementType::F32 => {
                type $C = f32::F32;
                let $V = Rows::F32;
                $body
            }
            ElementType::F16 => {
                type $C = f16::F16;
                let $V = Rows::F16;
                $body
            }
            ElementType::I8 => {
                type $C = i8::I8;
                let $V = Rows::I8;
                $body
            }
            ElementType::I4 => {
                type $C = i4::I4;
                let $V = Rows::I4;
                $body
            }
        }
    };
}

/// Whether a gallery of `element_type` has a `QUANT` section (one `f32` scale per row).
pub(crate) fn has_quant(element_type: ElementType) -> bool {
    by_element_type!(element_type, C => C::QUANT)
}

impl<'a> Rows<'a> {
    /// The rows of a file: its `VECTORS` section bytes and its `QUANT` section bytes (if
    /// it has one).
    ///
    /// # Errors
    /// [`Error::Corrupt`] if a section is misaligned for the type, or the type needs a
    /// `QUANT` section and there is none.
    pub fn view(
        element_type: ElementType,
        dims: usize,
        vectors: &'a [u8],
        quant: Option<&'a [u8]>,
    ) -> Result<Rows<'a>> {
        let misaligned = |name: &str| Error::corrupt(format!("section {name} is misaligned"));
        by_element_type!(element_type, C, variant => {
            let scales: &[f32] = match (C::QUANT, quant) {
                (false, _) => &[],
                (true, None) => {
                    return Err(Error::corrupt("required section QUANT is missing"));
                }
                (true, Some(b)) => {
                    bytemuck::try_cast_slice(b).map_err(|_| misaligned("QUANT"))?
                }
            };
            let rows = C::view(vectors, scales, dims).ok_or_else(|| misaligned("VECTORS"))?;
            Ok(variant(rows))
        })
    }

    /// Distance from `q` to row `row`.
    #[inline(always)]
    pub fn distance_q(&self, metric: Metric, dims: usize, q: Query<'_>, row: usize) -> f32 {
        dispatch!(*self, C, r => match q {
            Query::F32(q) => C::distance(r, metric, dims, q, row),
            Query::Coded(c) => C::distance_coded(r, dims, c, row),
        })
    }

    /// Distance from the prepared query `q` to row `row` (a row out of range, possible
    /// only in a corrupt unverified file, is an empty row).
    #[inline(always)]
    pub fn distance(&self, metric: Metric, dims: usize, q: &[f32], row: usize) -> f32 {
        dispatch!(*self, C, r => C::distance(r, metric, dims, q, row))
    }

    /// Distances from `q` to rows `start..start + out.len()`, written to `out` (rows out of
    /// range are left as they are).
    pub fn scan(&self, metric: Metric, dims: usize, q: Query<'_>, start: usize, out: &mut [f32]) {
        dispatch!(*self, C, r => match q {
            Query::F32(q) => C::scan(r, metric, dims, q, start, out),
            Query::Coded(c) => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = C::distance_coded(r, dims, c, start + i);
                }
            }
        })
    }

    /// The query quantised like the rows, for a graph walk or scan whose candidates are
    /// re-ranked: it then compares codes with codes (`metric::dot_i8i8`, `dot_i4`), about
    /// three times fewer instructions per distance than decoding each row to f32. `None`
    /// for element types without a coded path and for metrics whose kernel is not the dot
    /// product (L2 would also need each row's code norm).
    pub fn coded_query(&self, metric: Metric, q: &[f32]) -> Option<CodedQuery> {
        dispatch!(*self, C, r => C::coded_query(r, metric, q))
    }

    /// Distance from a coded query (from [`Rows::coded_query`]) to row `row`; for other
    /// element types the distance of the empty row.
    #[inline(always)]
    pub fn distance_coded(&self, dims: usize, q: &CodedQuery, row: usize) -> f32 {
        dispatch!(*self, C, r => C::distance_coded(r, dims, q, row))
    }

    /// Asks the CPU to start loading row `row`.
    #[inline(always)]
    pub fn prefetch(&self, dims: usize, row: usize) {
        dispatch!(*self, C, r => C::prefetch(r, dims, row))
    }

    /// Asks the CPU to start loading row `row` into L2 ([`Codec::prefetch_far`]).
    #[inline(always)]
    pub fn prefetch_far(&self, dims: usize, row: usize) {
        dispatch!(*self, C, r => C::prefetch_far(r, dims, row))
    }

    /// Bytes of the rows, with their scales.
    pub fn bytes(&self) -> usize {
        dispatch!(*self, C, r => C::bytes(r))
    }

    /// Writes rows `start..start + out.len() / dims` decoded to `f32` into `out` (rows out
    /// of range are left as they are).
    pub fn decode_into(&self, dims: usize, start: usize, out: &mut [f32]) {
        dispatch!(*self, C, r => C::decode_into(r, dims, start, out))
    }

    /// Row `row` as `f32`: borrowed for `f32` rows, decoded otherwise (empty if out of
    /// range).
    pub fn decoded(&self, dims: usize, row: usize) -> Cow<'a, [f32]> {
        dispatch!(*self, C, r => C::decoded(r, dims, row))
    }

    /// Whether any stored value is not finite: `(row, component)` of the first one. `i8`
    /// and `i4` codes are always finite; their scales are checked (component 0).
    pub fn first_non_finite(&self, dims: usize) -> Option<(usize, usize)> {
        dispatch!(*self, C, r => C::first_non_finite(r, dims))
    }

    /// Distances from coded queries (`qs`, from [`Rows::coded_query`], their codes back to
    /// back in `codes`) to rows `start..start + nr`, written to `out[j * nr + i]`, each bit
    /// for bit [`Rows::distance_coded`]: through the integer batch tiles where the type
    /// has them (`metric::cross_i8` / `cross_i4`, into the scratch `dots`).
    #[allow(clippy::too_many_arguments)]
    pub fn cross_coded(
        &self,
        dims: usize,
        qs: &[CodedQuery],
        codes: &[i8],
        start: usize,
        nr: usize,
        dots: &mut Vec<i32>,
        out: &mut [f32],
    ) {
        dispatch!(*self, C, r => C::cross_coded(r, dims, qs, codes, start, nr, dots, out))
    }
}

/// A prepared query as a scan compares it with rows: f32, or coded like `i8` rows.
#[derive(Clone, Copy)]
pub(crate) enum Query<'q> {
    F32(&'q [f32]),
    Coded(&'q CodedQuery),
}

/// A query quantised to `i8` codes with its scale (see [`Rows::coded_query`]), and the
/// metric that finishes its dot products.
pub(crate) struct CodedQuery {
    codes: Vec<i8>,
    scale: f32,
    spec: MetricSpec,
}

impl CodedQuery {
    /// `q` quantised like `i8` rows into `len` codes (zero codes past `q`); `None` unless
    /// the metric's kernel is the dot product, which the codes approximate as
    /// `scale_q · scale_row · (codes_q · codes_row)`.
    fn new(metric: Metric, q: &[f32], len: usize) -> Option<CodedQuery> {
        let spec = MetricSpec::of(metric);
        if spec.kernel != Kernel::Dot {
            return None;
        }
        let mut codes = vec![0i8; len];
        let n = q.len().min(len);
        let scale = quantize_i8(&q[..n], &mut codes[..n]);
        Some(CodedQuery { codes, scale, spec })
    }

    /// The query's codes (`dims` for `i8` rows, padded to whole blocks for `i4`).
    pub fn codes(&self) -> &[i8] {
        &self.codes
    }

    /// The distance to a row of scale `row_scale` whose codes have the dot product `dot`
    /// with the query's.
    #[inline(always)]
    fn finish(&self, row_scale: f32, dot: i32) -> f32 {
        self.spec.finish(self.scale * row_scale * dot as f32)
    }
}

/// Rows encoded for writing: the `VECTORS` bytes and, for types with scales, the `QUANT`
/// section's scales.
pub(crate) struct Encoded {
    vectors: Vec<u8>,
    scales: Option<Vec<f32>>,
}

impl Encoded {
    /// Encodes `rows` (`f32`, `dims` each) as `element_type`; `None` for `f32`, which is
    /// written as it is.
    pub fn new(element_type: ElementType, rows: &[f32], dims: usize) -> Option<Encoded> {
        by_element_type!(element_type, C => C::encode(rows, dims))
    }

    /// The `VECTORS` section bytes.
    pub fn vectors(&self) -> &[u8] {
        &self.vectors
    }

    /// The `QUANT` section bytes (types with scales).
    pub fn quant(&self) -> Option<&[u8]> {
        self.scales.as_deref().map(bytemuck::cast_slice)
    }
}

#[cfg(test)]
mod testing;
