"""vecmatch.Collection: adds and deletes visible at once, commits, reopening, errors."""

from __future__ import annotations

import numpy as np
import pytest

import vecmatch
from conftest import brute_force


def test_add_delete_commit_and_search(tmp_path, base, queries):
    path = tmp_path / "c.vmg"
    c = vecmatch.Collection.create(path, dims=384, metric="l2", auto_commit_rows=None)
    assert len(c) == 0 and c.dims == 384 and c.metric == "l2" and str(c.path) == str(path)
    keys, dist, counts = c.search(queries[:2], k=5)
    assert (counts == 0).all() and (keys == vecmatch.NO_KEY).all() and np.isinf(dist).all()
    assert c.add(np.arange(3000), base[:3000]) == 0
    assert c.add(5, base[5]) == 1  # one vector with one key: a replacement
    assert len(c) == 3000 and 2999 in c and c.contains(0) and 3000 not in c
    np.testing.assert_allclose(c.get(7), base[7])
    assert c.delete([0, 1, 2, 99999]) == 3
    assert 0 not in c and len(c) == 2997
    live = np.arange(3, 3000)
    want_keys, want_dist = brute_force(base[live], queries, "l2", 10)
    keys, dist, counts = c.search(queries, k=10, exact=True)
    assert (keys == live[want_keys.astype(np.int64)]).mean() > 0.99
    np.testing.assert_allclose(dist, want_dist, atol=1e-3)
    report = c.commit()
    assert report["written"] and report["rows"] == 2997 and report["added"] == 2997
    after = c.search(queries, k=10, exact=True)
    assert (after[0] == keys).all()
    # One writer per file: a second Collection waits for the first to go away.
    with pytest.raises(vecmatch.LockedError, match="locked by another writer"):
        vecmatch.Collection.open(path)
    del c  # releases the writer lock
    d = vecmatch.Collection.open(path)
    assert len(d) == 2997
    assert (d.search(queries, k=10, exact=True)[0] == keys).all()
    g = vecmatch.Gallery.open(path)
    assert len(g) == 2997 and 0 not in g
    assert "Collection(len=2997" in repr(d)


def test_collection_with_graph(tmp_path, base, queries, ground_truth):
    c = vecmatch.Collection.create(tmp_path / "g.vmg", dims=384, hnsw=True, auto_commit_rows=None)
    c.add(np.arange(5000), base)
    c.commit()
    assert vecmatch.Gallery.open(tmp_path / "g.vmg").has_graph
    keys, _, _ = c.search(queries, k=10, ef=64)
    hits = sum(len(set(keys[i].tolist()) & set(ground_truth[i, :10].tolist())) for i in range(100))
    assert hits >= 950


def test_collection_errors(tmp_path, base):
    path = tmp_path / "e.vmg"
    c = vecmatch.Collection.create(path, dims=384)
    with pytest.raises(ValueError):
        vecmatch.Collection.create(path, dims=384)  # exists
    with pytest.raises(vecmatch.DimensionMismatchError):
        c.add([1], base[:1, :10])
    with pytest.raises(ValueError):
        c.add([1, 2], base[:1])
    with pytest.raises(vecmatch.ZeroVectorError):
        c.add([1], np.zeros((1, 384), np.float32))
    with pytest.raises(vecmatch.NonFiniteError):
        c.add([1], np.full((1, 384), np.nan, np.float32))
    assert len(c) == 0
    with pytest.raises(ValueError):
        vecmatch.Collection.create(tmp_path / "z.vmg", dims=0)
    with pytest.raises(ValueError):
        vecmatch.Collection.create(tmp_path / "m.vmg", dims=4, metric="manhattan")
    with pytest.raises(FileNotFoundError):
        vecmatch.Collection.open(tmp_path / "missing.vmg")
    with pytest.raises(ValueError):
        vecmatch.Collection.open(path, auto_commit_deleted_fraction=2.0)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(c)
