#!/usr/bin/env python3
"""Figures of the Python package, in one run on one data set (issue 19):

1. Python single-query and batch QPS vs the Rust CLI (`vecmatch bench`) at the same ef;
2. 2 Python threads searching one gallery vs 1 thread (the GIL is released);
3. hnswlib's and USearch's Python packages on the same data, same M / ef_construction / ef;
4. Ray: build time of 4 shards on 2 workers vs one `vecmatch.build`, batch QPS of a
   2-actor `ShardedSearcher` vs one process, recall@10 of sharded HNSW vs one gallery.

Usage (from the repository root, in the venv of python/ci.sh, with hnswlib and usearch
installed for 3, and `cargo build --release` done for 1):

    target/py-venv/bin/pip install hnswlib usearch
    target/py-venv/bin/python python/bench/figures.py [--data ../shared/data/dev50k-minilm-384]

Prints one JSON line per measurement and a table at the end. Timings are medians of
`--repeats` runs; the machine should be otherwise idle.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import vecmatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def read_vecs(path: Path, dtype) -> np.ndarray:
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    rows = raw.reshape(-1, d + 1)
    assert (rows[:, 0] == d).all(), path
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def recall(found: np.ndarray, gt: np.ndarray, k: int) -> float:
    hits = sum(len(set(found[i, :k].tolist()) & set(gt[i, :k].tolist())) for i in range(len(found)))
    return hits / (k * len(found))


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class Report:
    def __init__(self):
        self.rows = []

    def add(self, what: str, value: float, unit: str, **extra):
        ev = {"figure": what, "value": round(value, 4), "unit": unit, **extra}
        print(json.dumps(ev), flush=True)
        self.rows.append((what, value, unit, extra))

    def table(self):
        print("\n| figure | value | unit | notes |\n|---|---:|---|---|")
        for what, value, unit, extra in self.rows:
            notes = ", ".join(f"{k}={v}" for k, v in extra.items())
            print(f"| {what} | {value:,.3f} | {unit} | {notes} |")


def python_single_qps(search, queries, repeats):
    def run():
        for q in queries:
            search(q)

    return len(queries) / median_time(run, repeats)


def threaded_qps(search, queries, n_threads, repeats):
    """QPS of n_threads Python threads each searching all queries one at a time."""

    def run():
        threads = [
            threading.Thread(target=lambda: [search(q) for q in queries]) for _ in range(n_threads)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return n_threads * len(queries) / median_time(run, repeats)


def rust_cli(args, data: Path, ef: int, k: int, report: Report):
    exe = ROOT / "target" / "release" / "vecmatch"
    if not exe.exists():
        print(f"# {exe} missing: cargo build --release (skipping the Rust CLI figures)", file=sys.stderr)
        return {}
    cmd = [str(exe), "bench", "--data", str(data), "--k", str(k), "--metric", "dot",
           "--threads", str(args.threads), "--repeats", str(args.repeats), "--ef-search", str(ef),
           "--m", str(args.m), "--ef-construction", str(args.ef_construction), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        ev = json.loads(line)
        if ev.get("event") == "search" and ev.get("ef") == ef:
            # `qps` is one value per repeat (a list) or one number.
            qps = ev["qps"]
            qps = statistics.median(qps) if isinstance(qps, list) else qps
            found[(ev["mode"], ev["threads"])] = qps
            report.add(f"rust cli {ev['mode']} QPS", qps, "queries/s", threads=ev["threads"],
                       ef=ef, recall=ev.get("recall"))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "dev50k-minilm-384")
    ap.add_argument("--ef", type=int, default=64)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2, help="threads of batch searches and builds")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-repeat", type=int, default=10,
                    help="the query set is tiled this many times for batch figures")
    ap.add_argument("--skip", default="", help="comma list of: rust,peers,ray")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    base = read_vecs(args.data / "base.fvecs", np.float32)
    queries = read_vecs(args.data / "query.fvecs", np.float32)
    gt = read_vecs(args.data / "gt.ivecs", np.int32)
    k, ef = args.k, args.ef
    batch = np.ascontiguousarray(np.tile(queries, (args.batch_repeat, 1)))
    gt_batch = np.tile(gt, (args.batch_repeat, 1))
    report = Report()
    print(json.dumps({"meta": {"data": str(args.data), "n": len(base), "dims": base.shape[1],
                               "queries": len(queries), "k": k, "ef": ef, "cpus": os.cpu_count(),
                               "vecmatch": vecmatch.__version__,
                               "backend": vecmatch.hardware_acceleration}}), flush=True)
    work = Path(tempfile.mkdtemp(prefix="vecmatch-figures-"))
    try:
        # One gallery (the baseline of every comparison).
        path = work / "one.vmg"
        t0 = time.perf_counter()
        g = vecmatch.build(path, base, metric="dot", m=args.m, ef_construction=args.ef_construction,
                           threads=args.threads)
        one_build = time.perf_counter() - t0
        report.add("vecmatch.build (one gallery)", one_build, "s", threads=args.threads)

        # 1. Binding overhead: Python vs Rust CLI at the same ef.
        single = python_single_qps(lambda q: g.search(q, k=k, ef=ef, threads=1), queries, args.repeats)
        keys, _, _ = g.search(queries, k=k, ef=ef)
        report.add("python single-query QPS", single, "queries/s", threads=1, ef=ef,
                   recall=round(recall(keys, gt, k), 4))
        batch_qps = len(batch) / median_time(lambda: g.search(batch, k=k, ef=ef, threads=args.threads),
                                             args.repeats)
        report.add("python batch QPS", batch_qps, "queries/s", threads=args.threads, ef=ef)
        if "rust" not in skip:
            rust = rust_cli(args, args.data, ef, k, report)
            if ("single", 1) in rust:
                report.add("python/rust single-query", single / rust[("single", 1)], "ratio")
            if ("batch", args.threads) in rust:
                report.add("python/rust batch", batch_qps / rust[("batch", args.threads)], "ratio",
                           threads=args.threads)

        # 2. Two Python threads on one gallery vs one (the GIL is released).
        one_t = threaded_qps(lambda q: g.search(q, k=k, ef=ef, threads=1), queries, 1, args.repeats)
        two_t = threaded_qps(lambda q: g.search(q, k=k, ef=ef, threads=1), queries, 2, args.repeats)
        report.add("python 1 thread single-query QPS", one_t, "queries/s")
        report.add("python 2 threads single-query QPS", two_t, "queries/s")
        report.add("2 threads / 1 thread", two_t / one_t, "ratio")

        # 3. hnswlib and USearch, same data, M, ef_construction and ef.
        if "peers" not in skip:
            peers(args, base, queries, gt, batch, report)

        # 4. Ray.
        if "ray" not in skip:
            ray_figures(args, base, queries, gt, batch, gt_batch, g, one_build, batch_qps, work, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.table()


def peers(args, base, queries, gt, batch, report):
    k, ef = args.k, args.ef
    try:
        import hnswlib
    except ImportError:
        print("# hnswlib not installed: pip install hnswlib", file=sys.stderr)
        hnswlib = None
    if hnswlib is not None:
        idx = hnswlib.Index(space="ip", dim=base.shape[1])
        t0 = time.perf_counter()
        idx.init_index(max_elements=len(base), M=args.m, ef_construction=args.ef_construction)
        idx.add_items(base, np.arange(len(base)), num_threads=args.threads)
        report.add("hnswlib build", time.perf_counter() - t0, "s", threads=args.threads)
        idx.set_ef(ef)
        single = python_single_qps(lambda q: idx.knn_query(q, k=k, num_threads=1), queries, args.repeats)
        labels, _ = idx.knn_query(queries, k=k, num_threads=1)
        report.add("hnswlib single-query QPS", single, "queries/s", ef=ef,
                   recall=round(recall(labels, gt, k), 4))
        qps = len(batch) / median_time(lambda: idx.knn_query(batch, k=k, num_threads=args.threads),
                                       args.repeats)
        report.add("hnswlib batch QPS", qps, "queries/s", threads=args.threads, ef=ef)
    try:
        from usearch.index import Index
    except ImportError:
        print("# usearch not installed: pip install usearch", file=sys.stderr)
        return
    idx = Index(ndim=base.shape[1], metric="ip", dtype="f32", connectivity=args.m,
                expansion_add=args.ef_construction)
    t0 = time.perf_counter()
    idx.add(np.arange(len(base)), base, threads=args.threads)
    report.add("usearch build", time.perf_counter() - t0, "s", threads=args.threads)
    idx.expansion_search = ef
    single = python_single_qps(lambda q: idx.search(q, k, threads=1), queries, args.repeats)
    labels = idx.search(queries, k, threads=1).keys
    report.add("usearch single-query QPS", single, "queries/s", ef=ef,
               recall=round(recall(np.asarray(labels), gt, k), 4))
    qps = len(batch) / median_time(lambda: idx.search(batch, k, threads=args.threads), args.repeats)
    report.add("usearch batch QPS", qps, "queries/s", threads=args.threads, ef=ef)


def ray_figures(args, base, queries, gt, batch, gt_batch, g, one_build, batch_qps, work, report):
    import ray

    import vecmatch.ray as vray

    k, ef = args.k, args.ef
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        t0 = time.perf_counter()
        paths = vray.build_shards(base, str(work / "shards"), 4, metric="dot", m=args.m,
                                  ef_construction=args.ef_construction)
        t = time.perf_counter() - t0
        report.add("ray build_shards (4 shards, 2 workers)", t, "s")
        report.add("ray 4-shard build / one build", t / one_build, "ratio")
        searcher = vray.ShardedSearcher(paths, num_actors=2)
        searcher.search(queries, k=k, ef=ef)  # warm up the actors
        qps = len(batch) / median_time(lambda: searcher.search(batch, k=k, ef=ef), args.repeats)
        report.add("ray ShardedSearcher batch QPS (2 actors)", qps, "queries/s", ef=ef)
        report.add("ray sharded / one process batch QPS", qps / batch_qps, "ratio")
        keys, _, _ = searcher.search(queries, k=k, ef=ef)
        one_keys, _, _ = g.search(queries, k=k, ef=ef)
        report.add("recall@10 sharded HNSW (4 shards)", recall(keys, gt, k), "recall", ef=ef)
        report.add("recall@10 one gallery", recall(one_keys, gt, k), "recall", ef=ef)
        searcher.shutdown()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
