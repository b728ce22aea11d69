"""vecmatch.build / Gallery against a numpy brute force on data/minilm-5k: exact results,
recall, padding, shapes and dtypes, input conversions, look-ups, errors and pickling."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pytest

import vecmatch
from conftest import brute_force


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_exact_search_equals_brute_force(galleries, base, queries, metric):
    g = vecmatch.Gallery.open(galleries[metric])
    assert (len(g), g.dims, g.metric, g.dtype, g.has_graph) == (5000, 384, metric, "f32", False)
    keys, dist, counts = g.search(queries, k=10, exact=True)
    assert keys.shape == dist.shape == (100, 10)
    assert (keys.dtype, dist.dtype, counts.dtype) == (np.uint64, np.float32, np.int64)
    assert (counts == 10).all()
    want_keys, want_dist = brute_force(base, queries, metric, 10)
    tol = 1e-4 * max(1.0, float(np.abs(want_dist).max()))
    np.testing.assert_allclose(dist, want_dist, rtol=0, atol=tol)
    # Keys agree except where two rows are within rounding of each other.
    agree = (keys == want_keys).mean()
    assert agree > 0.99, agree
    # Sorted by distance, best first.
    assert (np.diff(dist, axis=1) >= 0).all()


def test_hnsw_recall(galleries, queries, ground_truth):
    g = vecmatch.Gallery.open(galleries["hnsw"])
    assert g.has_graph
    keys, _, counts = g.search(queries, k=10, ef=64)
    assert (counts == 10).all()
    hits = sum(len(set(keys[i].tolist()) & set(ground_truth[i, :10].tolist())) for i in range(100))
    recall = hits / 1000
    assert recall >= 0.95, recall
    exact, _, _ = g.search(queries, k=10, exact=True)
    exact_hits = sum(len(set(exact[i].tolist()) & set(ground_truth[i, :10].tolist())) for i in range(100))
    assert exact_hits >= 990


def test_single_queries_equal_the_batch(galleries, queries):
    for name in ("cosine", "hnsw"):
        exact = name == "cosine"
        g = vecmatch.Gallery.open(galleries[name])
        keys, dist, counts = g.search(queries[:20], k=7, exact=exact)
        agree = 0
        for i in range(20):
            k1, d1, c1 = g.search(queries[i], k=7, exact=exact)
            assert k1.shape == (7,) and d1.shape == (7,) and isinstance(c1, int) and c1 == counts[i]
            # The single-query and the tiled batch kernels round differently in the last
            # bits: equal distances to 1e-6, equal keys but for near-ties.
            np.testing.assert_allclose(d1, dist[i], atol=1e-6)
            agree += (k1 == keys[i]).sum()
        assert agree >= 0.98 * 20 * 7


def test_padding_filters_and_ranges(galleries, base, queries):
    g = vecmatch.Gallery.open(galleries["l2"])
    q = queries[:5]
    keys, dist, counts = g.search(q, k=10, allow=[3, 1, 4, 4000], exact=True)
    assert (counts == 4).all()
    assert set(keys[0, :4].tolist()) == {1, 3, 4, 4000}
    assert (keys[:, 4:] == vecmatch.NO_KEY).all() and np.isinf(dist[:, 4:]).all()
    assert vecmatch.NO_KEY == 2**64 - 1 == np.uint64(-1 % 2**64)
    # The graph path pads too.
    h = vecmatch.Gallery.open(galleries["hnsw"])
    keys, dist, counts = h.search(q, k=6000)
    assert keys.shape == (5, 6000) and (counts == 5000).all()
    assert (keys[:, 5000:] == vecmatch.NO_KEY).all() and np.isinf(dist[:, 5000:]).all()
    # Deny.
    full, _, _ = g.search(q, k=3, exact=True)
    denied, _, _ = g.search(q, k=3, exact=True, deny=full[:, 0])
    assert not np.isin(denied, full[:, 0]).any()
    # Range: k=None returns every hit within the distance.
    _, want_dist = brute_force(base, q, "l2", 5000)
    radius = float(np.median(want_dist[:, 20]))
    keys, dist, counts = g.search(q, k=None, max_distance=radius, exact=True)
    want_counts = (want_dist <= radius).sum(1)
    assert np.abs(counts - want_counts).max() <= 1
    assert keys.shape[1] == counts.max()
    assert (dist[np.arange(keys.shape[1])[None, :] < counts[:, None]] <= radius).all()
    keys, dist, counts = g.search(q, k=5, max_distance=radius, exact=True)
    assert keys.shape == (5, 5) and (counts <= 5).all()


def test_inputs_are_converted_or_borrowed(galleries, queries):
    g = vecmatch.Gallery.open(galleries["cosine"])
    want = g.search(queries[:10], k=5, exact=True)
    for q in (
        queries[:10].astype(np.float64),
        np.asfortranarray(queries[:10]),
        queries[:10].tolist(),
        np.repeat(queries[:10], 2, axis=0)[::2],  # strided rows
    ):
        got = g.search(q, k=5, exact=True)
        assert (got[0] == want[0]).all()
        np.testing.assert_allclose(got[1], want[1], atol=1e-6)
    # A C-contiguous float32 batch is read in place: no copy of the 3 MB of queries.
    big = np.ascontiguousarray(np.tile(queries, (20, 1)))
    assert big.nbytes > 3_000_000
    for arr, copies in ((big, False), (big.astype(np.float64), True)):
        tracemalloc.start()
        g.search(arr, k=1, exact=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert (peak > big.nbytes) == copies, (peak, copies)


def test_build_options_and_lookups(tmp_path, base, queries):
    keys = np.arange(1000, dtype=np.uint64) * 3 + 2**63
    path = tmp_path / "keys.vmg"
    g = vecmatch.build(path, base[:1000], keys=keys, metric="dot", dtype="f16", keep_f32_rows=True,
                       hnsw=True, m=8, ef_construction=64, threads=1)
    assert (len(g), g.metric, g.dtype, g.has_graph) == (1000, "dot", "f16", True)
    assert str(g.path) == str(path)
    assert int(keys[5]) in g and 5 not in g
    np.testing.assert_allclose(g.get(int(keys[5])), base[5], atol=1e-6)
    assert g.get(5) is None
    assert (np.sort(g.keys()) == keys).all()
    info = g.info()
    assert info["count"] == 1000 and info["dims"] == 384 and info["dtype"] == "f16"
    assert info["has_graph"] and info["has_f32_rows"]
    assert {s["name"] for s in info["sections"]} >= {"VECTORS", "KEYS", "GRAPH"}
    g.verify()
    found, dist, _ = g.search(base[:3], k=1, exact=True)
    assert (found[:, 0] == keys[:3]).all()
    # Progress callback and from_bytes.
    seen = []
    vecmatch.build(tmp_path / "p.vmg", base[:500], progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (500, 500)
    m = vecmatch.Gallery.from_bytes((tmp_path / "p.vmg").read_bytes())
    assert len(m) == 500 and m.path is None and m.info()["storage"] == "memory"


def test_errors_are_typed(tmp_path, galleries, base, queries):
    g = vecmatch.Gallery.open(galleries["cosine"])
    with pytest.raises(vecmatch.DimensionMismatchError) as e:
        g.search(queries[:, :100])
    assert isinstance(e.value, ValueError) and isinstance(e.value, vecmatch.VecmatchError)
    assert "384" in str(e.value)
    bad = queries[:2].copy()
    bad[1, 7] = np.nan
    with pytest.raises(vecmatch.NonFiniteError):
        g.search(bad)
    with pytest.raises(vecmatch.ZeroVectorError):
        g.search(np.zeros(384, np.float32))
    with pytest.raises(ValueError):
        g.search(queries, k=0)
    with pytest.raises(ValueError):
        g.search(queries, threads=0)
    with pytest.raises(ValueError):
        g.search(queries, allow=[1], deny=[2])
    with pytest.raises(ValueError):
        g.search(queries, k=None)
    with pytest.raises(ValueError):
        g.search(queries, allow=[-1])
    with pytest.raises(TypeError):
        g.search(queries, allow=[1.5])
    with pytest.raises(ValueError):
        g.search(np.zeros((2, 2, 384), np.float32))
    with pytest.raises(TypeError):
        g.search(["a", "b"])
    with pytest.raises(OverflowError):
        g.search(queries, k=-1)
    with pytest.raises(FileNotFoundError):
        vecmatch.Gallery.open(tmp_path / "missing.vmg")
    junk = tmp_path / "junk.vmg"
    junk.write_bytes(b"not a gallery" * 100)
    with pytest.raises(vecmatch.CorruptFileError):
        vecmatch.Gallery.open(junk)
    # A flipped byte in the vectors: open is O(1) and does not see it, verify does.
    data = bytearray(open(galleries["l2"], "rb").read())
    data[len(data) // 2] ^= 0x40
    damaged = tmp_path / "damaged.vmg"
    damaged.write_bytes(bytes(data))
    with pytest.raises(vecmatch.ChecksumMismatchError) as e:
        vecmatch.Gallery.open(damaged).verify()
    assert isinstance(e.value, vecmatch.CorruptFileError)
    with pytest.raises(vecmatch.ChecksumMismatchError):
        vecmatch.Gallery.open(damaged, verify=True)
    with pytest.raises(vecmatch.CorruptFileError):
        vecmatch.Gallery.from_bytes(b"\0" * 64)
    with pytest.raises(vecmatch.DuplicateKeyError):
        vecmatch.build(tmp_path / "dup.vmg", base[:3], keys=[1, 2, 1])
    with pytest.raises(ValueError):
        vecmatch.build(tmp_path / "n.vmg", base[:3], keys=[1, 2])
    with pytest.raises(ValueError):
        vecmatch.build(tmp_path / "m.vmg", base[:3], metric="hamming")
    with pytest.raises(ValueError):
        vecmatch.build(tmp_path / "t.vmg", base[:3], dtype="f64")
    with pytest.raises(vecmatch.NonFiniteError):
        vecmatch.build(tmp_path / "i.vmg", np.full((2, 4), np.inf, np.float32))
    with pytest.raises(TypeError):
        vecmatch.build(tmp_path / "x.vmg", base[:3], progress="yes")
    with pytest.raises(OSError):
        vecmatch.build(tmp_path / "no" / "such" / "dir.vmg", base[:3])
    assert not (tmp_path / "dup.vmg").exists()


def test_pickling_reopens_by_path(galleries, queries):
    g = vecmatch.Gallery.open(galleries["hnsw"])
    blob = pickle.dumps(g)
    assert len(blob) < 500  # the path, not the vectors
    h = pickle.loads(blob)
    assert isinstance(h, vecmatch.Gallery) and str(h.path) == str(g.path)
    a, b = g.search(queries, k=10), h.search(queries, k=10)
    assert all((x == y).all() for x, y in zip(a, b))
    m = vecmatch.Gallery.from_bytes(open(galleries["l2"], "rb").read())
    with pytest.raises(TypeError):
        pickle.dumps(m)
    # A relative path is made absolute at open: the pickle works from another directory.
    import os
    from pathlib import Path

    here = os.getcwd()
    try:
        os.chdir(Path(galleries["l2"]).parent)
        r = vecmatch.Gallery.open(Path(galleries["l2"]).name)
        blob = pickle.dumps(r)
        os.chdir("/")
        assert len(pickle.loads(blob)) == 5000
    finally:
        os.chdir(here)
    assert "Gallery(len=5000" in repr(g)
