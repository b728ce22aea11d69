//! The size of the CPU's last-level cache: graph walks (`hnsw::search`) and the native
//! builder (`hnsw::native::source`) prefetch compact rows further ahead, into L2, once
//! the rows they read no longer fit in it.

use std::sync::OnceLock;

/// Assumed when the size cannot be read (not Linux, or no cache information in sysfs):
/// the L3 of a current server core complex.
const FALLBACK_BYTES: usize = 32 << 20;

/// Bytes of the largest cache level the CPU reports, read once per process (Linux
/// sysfs, `/sys/devices/system/cpu/cpu0/cache/index*/`); 32 MiB if unknown. On a virtual
/// machine this is what the hypervisor reports, usually the host's whole L3.
pub(crate) fn last_level_cache_bytes() -> usize {
    static BYTES: OnceLock<usize> = OnceLock::new();
    *BYTES.get_or_init(|| read_sysfs().unwrap_or(FALLBACK_BYTES))
}

/// Whether rows of `bytes` read at random do not fit a last-level cache of `llc` bytes:
/// more than half of it (the rest holds the other data of the loop, such as f32 rows
/// being re-ranked or adjacency lists). Loops over such rows prefetch further ahead,
/// into L2 (graph search, `hnsw::search`; the native builder, `hnsw::native::source`).
pub(crate) fn beyond_cache(bytes: usize, llc: usize) -> bool {
    bytes > llc / 2
}

/// The size of the highest-level data or unified cache of CPU 0, from sysfs.
fn read_sysfs() -> Option<usize> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    let mut best: Option<(u32, usize)> = None;
    for entry in dir.flatten() {
        let path = entry.path();
        let read = |name: &str| std::fs::read_to_string(path.join(name)).ok();
        if read("type").is_some_and(|t| t.trim() == "Instruction") {
            continue;
        }
        let (Some(level), Some(size)) = (
            read("level").and_then(|l| l.trim().parse::<u32>().ok()),
            read("size").and_then(|s| parse_size(&s)),
        ) else {
            continue;
        };
        if best.is_none_or(|(l, _)| level > l) {
            best = Some((level, size));
        }
    }
    best.map(|(_, size)| size)
}

/// A sysfs cache size (`"32768K"`, `"1M"`, `"512"`) in bytes; `None` if malformed or 0.
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, unit) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits
        .parse::<usize>()
        .ok()?
        .checked_mul(unit)
        .filter(|&b| b > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_sizes_parse() {
        assert_eq!(parse_size("32768K\n"), Some(32 << 20));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        for bad in ["", "K", "12X", "-1K", "0K", "99999999999999999999G"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rows_beyond_half_the_cache_are_beyond_it() {
        assert!(!beyond_cache(16 << 20, 32 << 20));
        assert!(beyond_cache((16 << 20) + 1, 32 << 20));
        assert!(beyond_cache(1, 0));
        assert!(!beyond_cache(0, 0));
    }

    #[test]
    fn the_last_level_cache_has_a_size() {
        let b = last_level_cache_bytes();
        assert!(b >= 64 << 10, "{b} bytes");
        assert_eq!(b, last_level_cache_bytes());
    }
}
