//! Reading vectors, keys and ground truth from `.fvecs`, `.ivecs`, `.npy`, raw float32
//! and text files. Every malformed input is a one-line error, never a panic.

use std::path::Path;

use crate::CliError;

/// Vectors read from a file: row-major values and the dimension.
pub struct Matrix {
    pub data: Vec<f32>,
    pub dims: usize,
}

impl Matrix {
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dims).unwrap_or(0)
    }
}

/// Inputs that are not regular files (pipes, FIFOs, character devices such as
/// `/dev/stdin`) are read up to this many bytes, then refused: 1 GiB, or the value of
/// the environment variable `VECMATCH_MAX_STREAM_BYTES`. A regular file is read whole
/// (its size is known up front).
pub const DEFAULT_STREAM_LIMIT: u64 = 1 << 30;

fn stream_limit() -> u64 {
    std::env::var("VECMATCH_MAX_STREAM_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_STREAM_LIMIT)
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| CliError::runtime(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    if file.metadata().map_err(cannot)?.is_file() {
        return std::fs::read(path).map_err(cannot);
    }
    // A stream: its length is unknown (`/dev/zero` never ends), so read with a bound.
    let limit = stream_limit();
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(bad(
            path,
            format!(
                "not a regular file and longer than {limit} bytes (the limit for streamed \
                 input; set VECMATCH_MAX_STREAM_BYTES to raise it, or write it to a file)"
            ),
        ));
    }
    Ok(bytes)
}

fn bad(path: &Path, why: impl std::fmt::Display) -> CliError {
    CliError::runtime(format!("{}: {why}", path.display()))
}

fn ext(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Reads `.fvecs`, `.npy` (float32, 2-D, C order) or raw little-endian float32 (needs
/// `dims`).
pub fn read_vectors(path: &Path, dims: Option<usize>) -> Result<Matrix, CliError> {
    let bytes = read(path)?;
    let m = match ext(path).as_str() {
        "fvecs" => {
            let (d, vals) = read_xvecs(path, &bytes)?;
            Matrix {
                data: vals.into_iter().map(f32::from_bits).collect(),
                dims: d,
            }
        }
        "npy" => {
            let npy = parse_npy(path, &bytes)?;
            if npy.descr != "<f4" || npy.shape.len() != 2 {
                return Err(bad(
                    path,
                    format!(
                        "expected a 2-D float32 array ('<f4'), found dtype {} with shape {:?}",
                        npy.descr, npy.shape
                    ),
                ));
            }
            let data = npy
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Matrix {
                data,
                dims: npy.shape[1],
            }
        }
        _ => {
            let d = dims.ok_or_else(|| {
                bad(
                    path,
                    "unknown extension: use .fvecs or .npy, or pass --dims for raw float32",
                )
            })?;
            if d == 0 || !bytes.len().is_multiple_of(4 * d) {
                return Err(bad(
                    path,
                    format!(
                        "{} bytes is not a whole number of {d}-d float32 rows",
                        bytes.len()
                    ),
                ));
            }
            let data = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Matrix { data, dims: d }
        }
    };
    if let Some(d) = dims
        && d != m.dims
    {
        return Err(bad(
            path,
            format!(
                "has {}-d vectors but {d}-d were expected (--dims, or the gallery's dims)",
                m.dims
            ),
        ));
    }
    if m.dims == 0 {
        return Err(bad(path, "vectors have 0 dimensions"));
    }
    Ok(m)
}

/// Parses TEXMEX `.fvecs`/`.ivecs`: per row an int32 dimension then that many 4-byte
/// values. Returns the dimension and the raw 4-byte values.
fn read_xvecs(path: &Path, bytes: &[u8]) -> Result<(usize, Vec<u32>), CliError> {
    if bytes.is_empty() {
        return Err(bad(path, "empty file"));
    }
    if bytes.len() < 4 {
        return Err(bad(path, "truncated (shorter than one row header)"));
    }
    let d = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if d <= 0 || d > 1 << 20 {
        return Err(bad(path, format!("invalid row dimension {d}")));
    }
    let d = d as usize;
    let row = 4 * (d + 1);
    if !bytes.len().is_multiple_of(row) {
        return Err(bad(
            path,
            format!("{} bytes is not a whole number of {d}-d rows", bytes.len()),
        ));
    }
    let mut out = Vec::with_capacity(bytes.len() / row * d);
    for (i, r) in bytes.chunks_exact(row).enumerate() {
        let di = i32::from_le_bytes([r[0], r[1], r[2], r[3]]);
        if di as usize != d {
            return Err(bad(
                path,
                format!("row {i} has dimension {di}, expected {d}"),
            ));
        }
        out.extend(
            r[4..]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    }
    Ok((d, out))
}

/// Reads `.ivecs` (ground truth): rows of int32 ids.
pub fn read_ivecs(path: &Path) -> Result<(usize, Vec<i32>), CliError> {
    let bytes = read(path)?;
    let (d, vals) = read_xvecs(path, &bytes)?;
    Ok((d, vals.into_iter().map(|v| v as i32).collect()))
}

/// [`read_keys`], refusing a key given twice (naming it and the two places: lines of a
/// text file, indices of a `.npy`), as `build` and `add` need.
pub fn read_unique_keys(path: &Path) -> Result<Vec<u64>, CliError> {
    let (keys, lines) = read_keys_at(path)?;
    let mut first = std::collections::HashMap::with_capacity(keys.len());
    for (i, &k) in keys.iter().enumerate() {
        if let Some(j) = first.insert(k, i) {
            let (what, a, b) = match &lines {
                Some(l) => ("lines", l[j], l[i]),
                None => ("indices", j, i),
            };
            return Err(bad(
                path,
                format!("key {k} is given twice ({what} {a} and {b}); keys must be unique"),
            ));
        }
    }
    Ok(keys)
}

/// Reads keys: `.npy` of uint64 (or non-negative int64), 1-D; otherwise text with one
/// integer per line (blank lines ignored).
pub fn read_keys(path: &Path) -> Result<Vec<u64>, CliError> {
    read_keys_at(path).map(|(k, _)| k)
}

/// [`read_keys`], with the line (1-based) of each key of a text file.
fn read_keys_at(path: &Path) -> Result<(Vec<u64>, Option<Vec<usize>>), CliError> {
    let bytes = read(path)?;
    if ext(path) == "npy" {
        let npy = parse_npy(path, &bytes)?;
        if npy.shape.len() != 1 {
            return Err(bad(
                path,
                format!("keys must be a 1-D array, found shape {:?}", npy.shape),
            ));
        }
        let vals = npy.data.chunks_exact(8).map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            b
        });
        let keys = match npy.descr.as_str() {
            "<u8" => Ok(vals.map(u64::from_le_bytes).collect()),
            "<i8" => vals
                .enumerate()
                .map(|(i, b)| {
                    u64::try_from(i64::from_le_bytes(b))
                        .map_err(|_| bad(path, format!("negative key at index {i}")))
                })
                .collect(),
            other => Err(bad(
                path,
                format!("keys must be uint64 ('<u8') or int64, found dtype {other}"),
            )),
        };
        return keys.map(|k| (k, None));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| bad(path, "not UTF-8 text (use .npy for binary keys)"))?;
    let mut keys = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        keys.push(t.parse::<u64>().map_err(|_| {
            bad(
                path,
                format!("line {}: {t:?} is not a non-negative integer", i + 1),
            )
        })?);
        lines.push(i + 1);
    }
    Ok((keys, Some(lines)))
}

struct Npy<'a> {
    descr: String,
    shape: Vec<usize>,
    data: &'a [u8],
}

/// Minimal `.npy` (v1-v3) reader: C-order arrays with a simple dtype.
fn parse_npy<'a>(path: &Path, bytes: &'a [u8]) -> Result<Npy<'a>, CliError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(path, "not a .npy file (bad magic)"));
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(path, format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad(path, "truncated or invalid .npy header"))?;
    let field = |name: &str| -> Option<&str> {
        let i = header.find(&format!("'{name}'"))?;
        Some(
            header[i + name.len() + 2..]
                .trim_start()
                .trim_start_matches(':')
                .trim_start(),
        )
    };
    let descr = field("descr")
        .and_then(|s| s.strip_prefix('\''))
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| bad(path, "no dtype in .npy header"))?
        .to_string();
    // Python writes `False`/`True`; hand-written headers may say `0`/`1`. Anything but
    // C order (or a value we cannot read) is refused rather than read transposed.
    match field("fortran_order") {
        Some(v) if v.starts_with("False") || (v.starts_with('0') && !v.starts_with("0.")) => {}
        Some(v) if v.starts_with("True") || v.starts_with('1') => {
            return Err(bad(
                path,
                "Fortran-order arrays are not supported (save with C order, e.g. \
                 numpy.ascontiguousarray)",
            ));
        }
        _ => return Err(bad(path, "no readable 'fortran_order' in .npy header")),
    }
    let shape_s = field("shape")
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad(path, "no shape in .npy header"))?;
    let shape = shape_s
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(path, format!("bad shape {shape_s:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let elem = match descr.as_str() {
        "<f4" => 4,
        "<u8" | "<i8" => 8,
        "<f8" => {
            return Err(bad(
                path,
                "unsupported dtype <f8 (float64): convert it to float32, e.g. \
                 numpy.save(path, a.astype(numpy.float32))",
            ));
        }
        other => return Err(bad(path, format!("unsupported dtype {other}"))),
    };
    let count = shape
        .iter()
        .try_fold(1usize, |a, b| a.checked_mul(*b))
        .ok_or_else(|| bad(path, "shape overflows"))?;
    let data = &bytes[start + hlen..];
    if Some(data.len()) != count.checked_mul(elem) {
        return Err(bad(
            path,
            format!(
                "holds {} data bytes, shape {shape:?} needs {}",
                data.len(),
                count.saturating_mul(elem)
            ),
        ));
    }
    Ok(Npy { descr, shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_roundtrip_header() {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        let mut h = h.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        for i in 0..6 {
            b.extend_from_slice(&(i as f32).to_le_bytes());
        }
        let n = parse_npy(Path::new("x.npy"), &b).unwrap();
        assert_eq!(n.shape, vec![2, 3]);
        assert_eq!(n.descr, "<f4");
        assert!(parse_npy(Path::new("x.npy"), &b[..b.len() - 1]).is_err());
        // The same header with other spellings of fortran_order.
        for (value, ok) in [("0", true), ("True", false), ("1", false), ("yes", false)] {
            let h = format!("{{'descr': '<f4', 'fortran_order': {value}, 'shape': (2, 3), }}");
            let mut c = b"\x93NUMPY\x01\x00".to_vec();
            c.extend_from_slice(&(h.len() as u16).to_le_bytes());
            c.extend_from_slice(h.as_bytes());
            c.extend_from_slice(&[0u8; 24]);
            assert_eq!(parse_npy(Path::new("x.npy"), &c).is_ok(), ok, "{value}");
        }
    }
}
