"""vecmatch.Shards: several gallery files answer exact searches exactly as one gallery of
all rows (3 metrics, filters, ranges); mismatches and duplicates are typed errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import vecmatch


def split_build(tmp_path, base, metric, n=3, **kw):
    bounds = np.linspace(0, len(base), n + 1).astype(int)
    paths = []
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        p = tmp_path / f"{metric}-{i}.vmg"
        vecmatch.build(p, base[lo:hi], keys=np.arange(lo, hi), metric=metric, **kw)
        paths.append(str(p))
    return paths


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_sharded_exact_equals_one_gallery(tmp_path, galleries, base, queries, metric):
    s = vecmatch.Shards(split_build(tmp_path, base, metric, hnsw=False))
    g = vecmatch.Gallery.open(galleries[metric])
    assert (len(s), s.dims, s.metric, s.dtype) == (5000, 384, metric, "f32")
    allow = np.arange(0, 5000, 7)
    radius = float(np.median(g.search(queries, k=50, exact=True)[1][:, 49]))
    cases = [
        dict(k=10),
        dict(k=1),
        dict(k=100, allow=allow),
        dict(k=25, deny=allow),
        dict(k=None, max_distance=radius),
        dict(k=20, max_distance=radius, deny=allow),
    ]
    for kw in cases:
        want = g.search(queries, exact=True, **kw)
        got = s.search(queries, exact=True, **kw)
        for x, y in zip(got, want):
            assert x.shape == y.shape and (x == y).all(), kw
        # One query (the single-query kernel) against the one gallery's single query.
        got1, want1 = s.search(queries[3], exact=True, **kw), g.search(queries[3], exact=True, **kw)
        assert got1[2] == want1[2] and (got1[0] == want1[0]).all() and (got1[1] == want1[1]).all()


def test_sharded_hnsw_recall(tmp_path, base, queries, ground_truth):
    s = vecmatch.Shards(split_build(tmp_path, base, "cosine", n=4))
    keys, _, _ = s.search(queries, k=10, ef=64)
    hits = sum(len(set(keys[i].tolist()) & set(ground_truth[i, :10].tolist())) for i in range(100))
    assert hits >= 950


def test_shard_errors_and_pickling(tmp_path, base, queries):
    paths = split_build(tmp_path, base[:300], "l2", n=2, hnsw=False)
    s = vecmatch.Shards(paths)
    s.verify()
    t = pickle.loads(pickle.dumps(s))
    assert [str(p) for p in t.paths] == paths
    assert all((x == y).all() for x, y in zip(t.search(queries, k=5), s.search(queries, k=5)))
    assert 5 in s and 300 not in s and s.get(299) is not None and s.get(300) is None
    assert len(s.info()) == 2
    other = tmp_path / "cos.vmg"
    vecmatch.build(other, base[:10], keys=np.arange(1000, 1010), metric="cosine", hnsw=False)
    with pytest.raises(vecmatch.ShardMismatchError) as e:
        vecmatch.Shards([paths[0], other])
    assert "cos.vmg" in str(e.value) and isinstance(e.value, ValueError)
    narrow = tmp_path / "narrow.vmg"
    vecmatch.build(narrow, base[:10, :8], keys=np.arange(1000, 1010), metric="l2", hnsw=False)
    with pytest.raises(vecmatch.ShardMismatchError):
        vecmatch.Shards([paths[0], narrow])
    with pytest.raises(ValueError):
        vecmatch.Shards([])
    with pytest.raises(FileNotFoundError):
        vecmatch.Shards([paths[0], tmp_path / "missing.vmg"])
    dup = tmp_path / "dup.vmg"
    vecmatch.build(dup, base[:2], keys=[7, 100000], metric="l2", hnsw=False)
    d = vecmatch.Shards([paths[0], dup])
    with pytest.raises(vecmatch.ShardMismatchError) as e:
        d.verify()
    assert "key 7" in str(e.value)
    keys, _, counts = d.search(base[7], k=5)
    assert (keys == 7).sum() == 1
