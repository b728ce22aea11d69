#!/usr/bin/env python3
"""hnswlib's filtered search on the labels and filters of examples/filter_figures.rs.

    cargo run --release --example filter_figures            # writes target/filter_figures/
    /work/peers/venv/bin/python tools/filter_peers.py [DATA_DIR] [OUT_DIR]

Reads DATA_DIR/base.fvecs and query.fvecs (default /work/shared/data/dev50k-minilm-384)
and OUT_DIR/labels.txt and filters.json (default target/filter_figures), builds an
hnswlib index with the same graph parameters as vecmatch's default (cosine, M=16,
ef_construction=200; built on all cores), then for each filter times single queries on
one thread with `knn_query(q, k=10, filter=f)` at ef=64 (vecmatch's default) and reports
recall@10 against a numpy brute force over the admitted rows, and QPS. The filter is a
Python callable (hnswlib calls it for every candidate), which is how hnswlib's Python
users filter; its call cost is part of the figure. `QUERIES=n` limits the queries,
`EF=n` changes ef, `ROUNDS=n` (default 2) keeps the best timing.
"""
import json
import os
import sys
import time

import hnswlib
import numpy as np


def fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].view(np.float32).copy()


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/dev50k-minilm-384"
    out = sys.argv[2] if len(sys.argv) > 2 else "target/filter_figures"
    base = fvecs(os.path.join(data, "base.fvecs"))
    queries = fvecs(os.path.join(data, "query.fvecs"))
    if "QUERIES" in os.environ:
        queries = queries[: int(os.environ["QUERIES"])]
    ef = int(os.environ.get("EF", "64"))
    rounds = int(os.environ.get("ROUNDS", "2"))
    n, d = base.shape
    with open(os.path.join(out, "labels.txt")) as f:
        labels = [set(int(x) for x in line.replace(",", " ").split()) for line in f]
    assert len(labels) == n, f"{len(labels)} label lines for {n} rows"
    with open(os.path.join(out, "filters.json")) as f:
        cases = json.load(f)

    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    qs = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    t = time.time()
    index = hnswlib.Index(space="cosine", dim=d)
    index.init_index(max_elements=n, M=16, ef_construction=200, random_seed=0x5EED)
    index.add_items(base, np.arange(n))
    index.set_ef(ef)
    print(f"hnswlib build: {time.time() - t:.1f} s", file=sys.stderr)
    index.set_num_threads(1)

    print(f"{n} rows x {d}, {len(qs)} queries, k 10, ef {ef}, hnswlib filter (Python callable), 1 thread")
    print("labels     target  admitted  recall@10  hnswlib_qps")
    for c in cases:
        all_, any_ = set(c["all"]), set(c["any"])
        mask = np.array(
            [all_ <= l and (not any_ or bool(any_ & l)) for l in labels], dtype=bool
        )
        rows = np.flatnonzero(mask)
        admit = mask.tolist()
        keep = lambda i: admit[i]
        truth = []
        for q in qs:
            s = unit[rows] @ q
            top = rows[np.argsort(-s, kind="stable")[:10]]
            truth.append(set(top.tolist()))
        best = float("inf")
        found = wanted = 0
        for r in range(rounds):
            t = time.perf_counter()
            got = []
            for q in queries:
                k = min(10, len(rows))
                if k == 0:
                    got.append([])
                    continue
                try:
                    ids, _ = index.knn_query(q, k=k, num_threads=1, filter=keep)
                    got.append(ids[0].tolist())
                except RuntimeError:
                    # hnswlib raises when it finds fewer than k admitted rows.
                    got.append([])
            best = min(best, time.perf_counter() - t)
            if r == 0:
                for g, w in zip(got, truth):
                    wanted += len(w)
                    found += len(w & set(g))
        recall = found / wanted if wanted else 1.0
        print(
            f"{c['kind']:<9} {c['target'] * 100:>6.1f}%  {len(rows):>8}  {recall:>9.4f}  {len(qs) / best:>11.0f}"
        )


if __name__ == "__main__":
    main()
