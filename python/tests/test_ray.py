"""vecmatch.ray on a local Ray (2 CPUs, no dashboard, no usage stats): 4 shards built by
tasks on 2 workers, searched by 2 actors, give exactly one gallery's exact results."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
ray = pytest.importorskip("ray")

import vecmatch  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_importing_turns_usage_stats_off(monkeypatch):
    import importlib

    import vecmatch.ray as vray

    monkeypatch.delenv("RAY_USAGE_STATS_ENABLED", raising=False)
    if not ray.is_initialized():
        importlib.reload(vray)
        assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"


def test_sharded_build_and_search_equal_one_gallery(local_ray, tmp_path, galleries, base, queries):
    import vecmatch.ray as vray

    paths = vray.build_shards(base, str(tmp_path / "shards"), 4, metric="cosine", hnsw=False)
    assert paths == [str(tmp_path / "shards" / f"shard-{i:05d}.vmg") for i in range(4)]
    s = vecmatch.Shards(paths)
    assert len(s) == 5000
    s.verify()
    searcher = vray.ShardedSearcher(paths, num_actors=2)
    assert len(searcher) == 5000 and searcher.dims == 384
    g = vecmatch.Gallery.open(galleries["cosine"])
    allow = np.arange(0, 5000, 3)
    for kw in (dict(k=10), dict(k=3, allow=allow), dict(k=None, max_distance=0.5)):
        want = g.search(queries, exact=True, **kw)
        got = searcher.search(queries, exact=True, **kw)
        for x, y in zip(got, want):
            assert x.shape == y.shape and (x == y).all(), kw
    k1, d1, c1 = searcher.search(queries[0], k=5, exact=True)
    want1 = g.search(queries[0], k=5, exact=True)
    assert c1 == 5 and (k1 == want1[0]).all() and (d1 == want1[1]).all()
    with pytest.raises(vecmatch.DimensionMismatchError):
        searcher.search(queries[:, :10])
    searcher.shutdown()


def test_hnsw_shards_and_keys(local_ray, tmp_path, base, queries, ground_truth):
    import vecmatch.ray as vray

    keys = np.arange(5000, dtype=np.uint64) + 10**12
    paths = vray.build_shards(base, str(tmp_path / "h"), 4, keys=keys, m=16, ef_construction=100)
    searcher = vray.ShardedSearcher(paths, num_actors=2)
    found, _, counts = searcher.search(queries, k=10, ef=64)
    assert (counts == 10).all()
    hits = sum(
        len(set((found[i] - 10**12).tolist()) & set(ground_truth[i, :10].tolist())) for i in range(100)
    )
    assert hits >= 950
    searcher.shutdown()


def test_build_from_a_ray_dataset(local_ray, tmp_path, base, queries):
    import vecmatch.ray as vray

    ds = ray.data.from_numpy(base[:2000])
    paths = vray.build_shards(ds, str(tmp_path / "ds"), 4, metric="l2", hnsw=False)
    s = vecmatch.Shards(paths)
    assert len(s) == 2000
    s.verify()  # keys 0..1999, each once
    one = vecmatch.build(tmp_path / "one.vmg", base[:2000], metric="l2", hnsw=False)
    want = one.search(queries, k=10, exact=True)
    got = s.search(queries, k=10, exact=True)
    assert all((x == y).all() for x, y in zip(got, want))
    with pytest.raises(ValueError):
        vray.build_shards(ds, str(tmp_path / "bad"), 2, column="nope")


def test_merge_keeps_duplicates_once():
    from vecmatch.ray import merge

    nk = vecmatch.NO_KEY
    a = (np.array([[5, 1, nk]], np.uint64), np.array([[0.1, 0.3, np.inf]], np.float32), np.array([2]))
    b = (np.array([[5, 2, 9]], np.uint64), np.array([[0.05, 0.3, 0.4]], np.float32), np.array([3]))
    keys, dist, counts = merge([a, b], 3)
    assert keys.tolist() == [[5, 1, 2]] and dist.tolist()[0][:1] == [pytest.approx(0.05)]
    assert counts.tolist() == [3]
    keys, dist, counts = merge([a, b], None)
    assert keys.shape == (1, 4) and counts.tolist() == [4]
