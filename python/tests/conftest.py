"""Shared fixtures: the shipped data set (data/minilm-5k: 5,000 × 384 MiniLM embeddings,
100 queries, cosine ground truth) and a numpy brute-force oracle."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

DATA = Path(__file__).resolve().parents[2] / "data" / "minilm-5k"


def read_vecs(path: Path, dtype) -> np.ndarray:
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    rows = raw.reshape(-1, d + 1)
    assert (rows[:, 0] == d).all(), path
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


@pytest.fixture(scope="session")
def base() -> np.ndarray:
    v = read_vecs(DATA / "base.fvecs", np.float32)
    assert v.shape == (5000, 384)
    return v


@pytest.fixture(scope="session")
def queries() -> np.ndarray:
    return read_vecs(DATA / "query.fvecs", np.float32)


@pytest.fixture(scope="session")
def ground_truth() -> np.ndarray:
    return read_vecs(DATA / "gt.ivecs", np.int32)


def brute_force(base: np.ndarray, q: np.ndarray, metric: str, k: int):
    """Exact top-k in float64: (keys = row numbers, distances), sorted by (distance, key)."""
    b = base.astype(np.float64)
    q = np.atleast_2d(q).astype(np.float64)
    if metric == "cosine":
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        d = 1.0 - q @ b.T
    elif metric == "dot":
        d = 1.0 - q @ b.T
    else:
        d = (q * q).sum(1)[:, None] - 2 * q @ b.T + (b * b).sum(1)[None, :]
    order = np.lexsort((np.broadcast_to(np.arange(b.shape[0]), d.shape), d), axis=-1)[:, :k]
    return order.astype(np.uint64), np.take_along_axis(d, order, axis=1)


@pytest.fixture(scope="session")
def galleries(tmp_path_factory, base):
    """Exact (flat) gallery files of the whole data set, one per metric, and an HNSW one."""
    import vecmatch

    d = tmp_path_factory.mktemp("galleries")
    out = {}
    for metric in ("cosine", "dot", "l2"):
        out[metric] = str(d / f"flat-{metric}.vmg")
        vecmatch.build(out[metric], base, metric=metric, hnsw=False)
    out["hnsw"] = str(d / "hnsw-cosine.vmg")
    vecmatch.build(out["hnsw"], base, metric="cosine", hnsw=True)
    return out
