#!/usr/bin/env python3
"""Cut the repository's small dataset out of ../shared/data/dev-minilm-384.

Takes the first N base vectors and the first Q queries and recomputes the exact top-100
ground truth over that slice (float64 inner products; ties broken by lower id, as in the
source set). Run once by a maintainer; the output is committed under data/minilm-5k/.

    python3 tools/make_slice.py ../shared/data/dev-minilm-384 data/minilm-5k 5000 100
"""
import sys

import numpy as np


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].view(np.float32)


def write_vecs(path, rows, dtype):
    rows = np.ascontiguousarray(rows, dtype=dtype)
    n, d = rows.shape
    out = np.empty((n, d + 1), dtype=np.int32)
    out[:, 0] = d
    out[:, 1:] = rows.view(np.int32)
    out.tofile(path)


def main():
    src, dst, n, q = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    base = read_fvecs(f"{src}/base.fvecs")[:n]
    query = read_fvecs(f"{src}/query.fvecs")[:q]
    sims = query.astype(np.float64) @ base.astype(np.float64).T
    ids = np.arange(base.shape[0])
    gt = np.empty((query.shape[0], 100), dtype=np.int32)
    for i in range(query.shape[0]):
        order = np.lexsort((ids, -sims[i]))
        gt[i] = order[:100]
    write_vecs(f"{dst}/base.fvecs", base, np.float32)
    write_vecs(f"{dst}/query.fvecs", query, np.float32)
    write_vecs(f"{dst}/gt.ivecs", gt, np.int32)


if __name__ == "__main__":
    main()
