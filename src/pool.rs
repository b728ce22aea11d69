//! Thread pools for an explicit thread count (`SearchParams::threads`, the C `threads`
//! field, the CLI's `--threads`). Counts are clamped to [`thread_limit`]; pools are built
//! on first use of a count and the few most recently used ones are kept for reuse.
//! `None` means rayon's global pool.

use std::sync::{Arc, Mutex, OnceLock};

use rayon::ThreadPool;

use crate::error::{Error, Result};

/// How many pools of distinct sizes are kept (least recently used dropped first; a
/// dropped pool's threads end once the searches running on it finish).
const KEPT_POOLS: usize = 4;

/// The largest thread count any call uses: 4 × the available parallelism (the cores this
/// process may run on, at least 1). Larger requests (`--threads 100000`, an uninitialised
/// C `threads` field) run with this many threads: more cannot speed up a search, and
/// each one costs a stack.
pub fn thread_limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_mul(4)
    })
}

/// `threads` clamped to `1..=thread_limit()`.
pub(crate) fn clamp(threads: usize) -> usize {
    threads.clamp(1, thread_limit())
}

/// Runs `f` on a pool of `threads` threads, clamped by [`clamp`] (`None`: the global pool,
/// i.e. the caller's current rayon context).
pub(crate) fn install<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    match threads {
        None => Ok(f()),
        Some(n) => Ok(pool(clamp(n))?.install(f)),
    }
}

/// Number of threads a parallel section will use.
pub(crate) fn effective(threads: Option<usize>) -> usize {
    threads
        .map_or_else(rayon::current_num_threads, clamp)
        .max(1)
}

fn pool(n: usize) -> Result<Arc<ThreadPool>> {
    static POOLS: Mutex<Vec<(usize, Arc<ThreadPool>)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = pools.iter().position(|(k, _)| *k == n) {
        // Most recently used last.
        let entry = pools.remove(i);
        let p = entry.1.clone();
        pools.push(entry);
        return Ok(p);
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("vecmatch-{i}"))
        .build()
        .map_err(|e| Error::InvalidArgument(format!("cannot start {n} threads: {e}")))?;
    let p = Arc::new(p);
    if pools.len() >= KEPT_POOLS {
        pools.remove(0);
    }
    pools.push((n, p.clone()));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_clamped_and_pools_bounded() {
        assert_eq!(clamp(0), 1);
        assert_eq!(clamp(usize::MAX), thread_limit());
        assert_eq!(effective(Some(usize::MAX)), thread_limit());
        assert!(thread_limit() >= 4);
        let seen = install(Some(usize::MAX), rayon::current_num_threads).unwrap();
        assert_eq!(seen, thread_limit());
        for n in 1..=KEPT_POOLS + 2 {
            assert_eq!(install(Some(n), rayon::current_num_threads).unwrap(), n);
        }
    }
}
