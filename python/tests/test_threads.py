"""The GIL is released while vecmatch searches, builds and verifies: Python code runs on
other threads meanwhile, and two searches on one gallery are in flight at the same time."""

from __future__ import annotations

import threading
import time

import numpy as np

import vecmatch


def _heavy(galleries, queries):
    g = vecmatch.Gallery.open(galleries["l2"])
    batch = np.ascontiguousarray(np.tile(queries, (4, 1)))  # 400 exact queries
    t0 = time.perf_counter()
    g.search(batch, k=10, exact=True, threads=1)
    return g, batch, time.perf_counter() - t0


def test_python_runs_while_a_search_runs(galleries, queries):
    g, batch, alone = _heavy(galleries, queries)
    # Long enough that a held GIL would stop the loop below for many switch intervals.
    reps = max(1, int(0.4 / max(alone, 1e-3)))
    batch = np.ascontiguousarray(np.tile(batch, (reps, 1)))
    span = {}

    def search():
        span["start"] = time.perf_counter()
        g.search(batch, k=10, exact=True, threads=1)
        span["end"] = time.perf_counter()

    t = threading.Thread(target=search)
    samples = []
    t.start()
    while t.is_alive():
        samples.append(time.perf_counter())
        for _ in range(200):
            pass
    t.join()
    start, end = span["start"], span["end"]
    assert end - start > 0.1
    inside = [s for s in samples if start + 0.02 < s < end - 0.02]
    # With the GIL held by the search, this thread could not run in that window (a C call
    # holding the GIL, `re.match` on a catastrophic pattern, lets through ~200 samples/s;
    # released, this loop takes ~20,000/s even on a loaded machine). A sample costs ~5 µs,
    # so 1,000/s needs half a percent of a core.
    rate = len(inside) / (end - start)
    assert rate > 1000, (len(inside), end - start)


def test_two_searches_overlap(galleries, queries):
    g, batch, alone = _heavy(galleries, queries)
    spans = [None, None]
    barrier = threading.Barrier(2)

    def search(i):
        barrier.wait()
        t0 = time.perf_counter()
        for _ in range(3):
            g.search(batch, k=10, exact=True, threads=1)
        spans[i] = (t0, time.perf_counter())

    threads = [threading.Thread(target=search, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (a0, a1), (b0, b1) = spans
    overlap = min(a1, b1) - max(a0, b0)
    shorter = min(a1 - a0, b1 - b0)
    # Serialised by a lock, the calls would overlap by nearly nothing.
    assert overlap > 0.6 * shorter, (overlap, shorter)


def test_concurrent_results_are_right(galleries, queries):
    g = vecmatch.Gallery.open(galleries["hnsw"])
    want = g.search(queries, k=10, threads=1)
    errors = []

    def search():
        for _ in range(5):
            got = g.search(queries, k=10, threads=1)
            if not all((x == y).all() for x, y in zip(got, want)):
                errors.append("mismatch")

    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_build_releases_the_gil(tmp_path, base):
    done = threading.Event()
    ticks = []

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)

    t = threading.Thread(target=tick)
    t.start()
    t0 = time.perf_counter()
    vecmatch.build(tmp_path / "b.vmg", base, hnsw=True, threads=1)
    t1 = time.perf_counter()
    done.set()
    t.join()
    inside = [s for s in ticks if t0 + 0.05 < s < t1 - 0.05]
    assert t1 - t0 > 0.2
    assert len(inside) >= 5, (len(inside), t1 - t0)
