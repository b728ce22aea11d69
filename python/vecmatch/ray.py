"""Scale-out on Ray: shard builds as Ray tasks, searches as Ray actors.

A gallery file is immutable and opens in O(1), so it is the natural shard. This module
builds a sharded gallery with one :func:`vecmatch.build` per shard, each a Ray task
writing into a shared directory (:func:`build_shards`), and searches it with actors that
each open some shards once and answer whole batches, merging their answers by
(distance, key) exactly as :class:`vecmatch.Shards` does (:class:`ShardedSearcher`).

The same program runs on a laptop (``ray.init()`` starts a local Ray; without it, the
first call does) and on a cluster (``ray.init(address="auto")``); on a cluster, the output
directory must be readable by every node (a shared file system).

**No telemetry**: importing this module sets ``RAY_USAGE_STATS_ENABLED=0`` when the
variable is not set and Ray is not initialised yet, so Ray reports no usage statistics.
Set ``RAY_USAGE_STATS_ENABLED=1`` before importing it to opt in.
"""

from __future__ import annotations

import os
import sys

if "RAY_USAGE_STATS_ENABLED" not in os.environ:
    _ray_mod = sys.modules.get("ray")
    if _ray_mod is None or not _ray_mod.is_initialized():
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

try:
    import ray
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        'vecmatch.ray needs Ray: pip install "vecmatch[ray]" (or ./python[ray] from the repository)'
    ) from e

from typing import Any, Optional, Sequence

import numpy as np

import vecmatch

from ._convert import as_floats, as_keys

__all__ = ["build_shards", "ShardedSearcher", "merge"]


def _is_dataset(obj: Any) -> bool:
    """Whether ``obj`` is a Ray Dataset (without importing ``ray.data`` for arrays: it
    needs the ``ray[data]`` extras)."""
    if isinstance(obj, np.ndarray) or not type(obj).__module__.startswith("ray."):
        return False
    try:
        from ray.data import Dataset
    except ImportError:
        return False
    return isinstance(obj, Dataset)


def _shard_path(out_dir: str, i: int) -> str:
    return os.path.join(out_dir, f"shard-{i:05d}.vmg")


def _task_threads(build_kwargs: dict, num_cpus: float) -> dict:
    """Each task builds with as many threads as it reserved CPUs, unless told otherwise."""
    kw = dict(build_kwargs)
    if kw.get("threads") is None:
        kw["threads"] = max(1, int(num_cpus))
    return kw


@ray.remote
def _build_from_arrays(path: str, vectors: np.ndarray, keys: np.ndarray, kwargs: dict) -> str:
    vecmatch.build(path, vectors, keys=keys, **kwargs)
    return path


@ray.remote
def _build_from_dataset(
    path: str, ds: Any, column: str, key_column: Optional[str], first_key: int, kwargs: dict
) -> str:
    vec_parts, key_parts = [], []
    for batch in ds.iter_batches(batch_format="numpy", batch_size=8192):
        vec_parts.append(np.asarray(batch[column]))
        if key_column is not None:
            key_parts.append(np.asarray(batch[key_column]))
    if vec_parts:
        vectors = np.concatenate([np.stack(list(v)) if v.dtype == object else v for v in vec_parts])
    else:
        raise ValueError(f"{path}: this shard of the dataset is empty")
    if key_column is not None:
        keys = np.concatenate(key_parts)
    else:
        keys = np.arange(first_key, first_key + len(vectors), dtype=np.uint64)
    vecmatch.build(path, vectors, keys=keys, **kwargs)
    return path


def _vector_column(ds: Any, column: Optional[str], key_column: Optional[str]) -> str:
    names = list(ds.schema().names)
    if column is not None:
        if column not in names:
            raise ValueError(f"the dataset has no column {column!r} (columns: {names})")
        return column
    if "vector" in names:
        return "vector"
    rest = [n for n in names if n != key_column]
    if len(rest) == 1:
        return rest[0]
    raise ValueError(f"name the vector column with column=... (columns: {names})")


def build_shards(
    vectors: Any,
    out_dir: str,
    n_shards: int,
    keys: Any = None,
    *,
    column: Optional[str] = None,
    key_column: Optional[str] = None,
    num_cpus: float = 1,
    **build_kwargs: Any,
) -> list[str]:
    """Builds ``n_shards`` gallery files in ``out_dir``, one Ray task per shard, and returns
    their absolute paths (``out_dir/shard-00000.vmg``, ...), in order.

    ``vectors`` is a numpy array ``[n, dims]`` (split into ``n_shards`` contiguous row
    ranges; ``keys``: ``n`` unique ints ≥ 0, default the row numbers), or a Ray Dataset
    with a vector column (``column``; by default ``"vector"``, or the only column besides
    ``key_column``) and optionally a key column (``key_column``; by default the row
    numbers), split into ``n_shards`` contiguous row ranges (``split_at_indices``).
    ``build_kwargs`` go to :func:`vecmatch.build` (``metric``, ``dtype``, ``hnsw``, ``m``, ...); each task reserves
    ``num_cpus`` CPUs and builds with that many threads unless ``threads`` is given.
    Keys must be unique across all shards; this is not checked (``Shards.verify`` does).
    """
    if n_shards < 1:
        raise vecmatch.InvalidArgumentError(f"n_shards must be at least 1, got {n_shards}")
    # Ray workers run in their own working directory: hand them absolute paths.
    out_dir = os.path.abspath(os.fspath(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    kwargs = _task_threads(build_kwargs, num_cpus)
    task_opts = {"num_cpus": num_cpus}
    paths = [_shard_path(out_dir, i) for i in range(n_shards)]
    if _is_dataset(vectors):
        if keys is not None:
            raise ValueError("with a Ray Dataset, give keys as a column: key_column=...")
        col = _vector_column(vectors, column, key_column)
        n = vectors.count()
        if n_shards > n:
            raise vecmatch.InvalidArgumentError(f"{n_shards} shards for {n} rows")
        # Contiguous row ranges, in order: shard i holds rows bounds[i]..bounds[i+1].
        bounds = np.linspace(0, n, n_shards + 1).astype(np.int64)
        pieces = vectors.split_at_indices([int(b) for b in bounds[1:-1]])
        refs = [
            _build_from_dataset.options(**task_opts).remote(
                path, piece, col, key_column, int(first), kwargs
            )
            for path, piece, first in zip(paths, pieces, bounds[:-1])
        ]
        return ray.get(refs)
    v = as_floats(vectors, "vectors")
    if v.ndim != 2:
        raise ValueError(f"vectors must be 2-D ([n, dims]), got {v.ndim} dimensions")
    n = len(v)
    if n_shards > n:
        raise vecmatch.InvalidArgumentError(f"{n_shards} shards for {n} vectors")
    k = np.arange(n, dtype=np.uint64) if keys is None else as_keys(keys, "keys")
    if len(k) != n:
        raise ValueError(f"{len(k)} keys for {n} vectors")
    bounds = np.linspace(0, n, n_shards + 1).astype(np.int64)
    refs = [
        _build_from_arrays.options(**task_opts).remote(
            path, v[lo:hi], k[lo:hi], kwargs
        )
        for path, lo, hi in zip(paths, bounds[:-1], bounds[1:])
    ]
    return ray.get(refs)


def merge(
    parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], k: Optional[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merges 2-D ``(keys, distances, counts)`` answers of the same queries into the best
    ``k`` per query by (distance, key), keeping a key once at its best distance (the merge
    of :class:`vecmatch.Shards`). ``k=None``: every hit (width = the largest count)."""
    keys = np.concatenate([p[0] for p in parts], axis=1)
    dists = np.concatenate([p[1] for p in parts], axis=1)
    n = keys.shape[0]
    # Sort each row by distance, then key (padding: inf and NO_KEY sort last).
    order = np.lexsort((keys, dists), axis=-1)
    keys = np.take_along_axis(keys, order, axis=1)
    dists = np.take_along_axis(dists, order, axis=1)
    valid = keys != vecmatch.NO_KEY
    counts = valid.sum(axis=1)
    if keys.shape[1] > 1:
        # A key held by two shards (not allowed, but possible): keep its best entry.
        srt = np.sort(np.where(valid, keys, vecmatch.NO_KEY), axis=1)
        dup_rows = np.nonzero(((srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] != vecmatch.NO_KEY)).any(axis=1))[0]
        for r in dup_rows:
            seen: set[int] = set()
            keep = []
            for j in range(counts[r]):
                key = int(keys[r, j])
                if key not in seen:
                    seen.add(key)
                    keep.append(j)
            m = len(keep)
            keys[r, :m], dists[r, :m] = keys[r, keep], dists[r, keep]
            keys[r, m:], dists[r, m:] = vecmatch.NO_KEY, np.inf
            counts[r] = m
    width = int(counts.max(initial=0)) if k is None else k
    if keys.shape[1] < width:
        pad = width - keys.shape[1]
        keys = np.pad(keys, ((0, 0), (0, pad)), constant_values=vecmatch.NO_KEY)
        dists = np.pad(dists, ((0, 0), (0, pad)), constant_values=np.inf)
    keys = np.ascontiguousarray(keys[:, :width])
    dists = np.ascontiguousarray(dists[:, :width])
    counts = np.minimum(counts, width).astype(np.int64)
    assert keys.shape == (n, width)
    return keys, dists, counts


@ray.remote
class _ShardActor:
    """Opens its shards once (memory map) and answers whole batches."""

    def __init__(self, paths: list[str], threads: int):
        self.shards = vecmatch.Shards(paths)
        self.threads = threads

    def describe(self) -> tuple[int, str, str, int]:
        s = self.shards
        return s.dims, s.metric, s.dtype, len(s)

    def search(self, queries: np.ndarray, kwargs: dict):
        kw = dict(kwargs)
        if kw.get("threads") is None:
            kw["threads"] = self.threads
        return self.shards.search(queries, **kw)


class ShardedSearcher:
    """Searches gallery shards with ``num_actors`` Ray actors, each holding some of the
    shards open (dealt round-robin; at most one actor per shard), and merges their answers
    exactly: ``search`` returns what :meth:`vecmatch.Gallery.search` returns.

    Each actor reserves ``num_cpus`` CPUs and searches with that many threads unless a
    call passes ``threads``. The shards must agree on dims, metric and dtype
    (``ShardMismatchError`` otherwise).
    """

    def __init__(self, paths: Sequence[str], num_actors: int = 2, *, num_cpus: float = 1):
        # Ray workers run in their own working directory: hand them absolute paths.
        paths = [os.path.abspath(os.fspath(p)) for p in paths]
        if not paths:
            raise vecmatch.InvalidArgumentError("a ShardedSearcher needs at least one shard")
        if num_actors < 1:
            raise vecmatch.InvalidArgumentError(f"num_actors must be at least 1, got {num_actors}")
        n = min(num_actors, len(paths))
        groups = [paths[i::n] for i in range(n)]
        threads = max(1, int(num_cpus))
        self.paths = paths
        self.actors = [
            _ShardActor.options(num_cpus=num_cpus).remote(g, threads) for g in groups
        ]
        facts = ray.get([a.describe.remote() for a in self.actors])
        dims, metric, dtype, _ = facts[0]
        for g, (d, m, t, _) in zip(groups, facts):
            if (d, m, t) != (dims, metric, dtype):
                raise vecmatch.ShardMismatchError(
                    f"shards {g} have dims {d}, metric {m}, dtype {t}; "
                    f"{groups[0]} have dims {dims}, metric {metric}, dtype {dtype}"
                )
        self.dims, self.metric, self.dtype = dims, metric, dtype
        self._len = sum(f[3] for f in facts)

    def __len__(self) -> int:
        return self._len

    def search(self, queries: Any, k: Optional[int] = 10, **kwargs: Any):
        """The arguments and result of :meth:`vecmatch.Gallery.search` (``ef``, ``exact``,
        ``max_distance``, ``allow``, ``deny``, ``threads``, ``rerank_factor``): the batch is sent
        to every actor once, and their top-k lists are merged by (distance, key)."""
        q = as_floats(queries, "queries")
        one_d = q.ndim == 1
        if one_d:
            q = q.reshape(1, -1)
        if q.ndim != 2:
            raise ValueError(f"queries must be 1-D or 2-D, got {q.ndim} dimensions")
        if q.shape[1] != self.dims:
            raise vecmatch.DimensionMismatchError(
                f"dimension mismatch: expected {self.dims}, got {q.shape[1]}"
            )
        kw = dict(kwargs, k=k)
        ref = ray.put(q)
        parts = ray.get([a.search.remote(ref, kw) for a in self.actors])
        keys, dists, counts = merge(parts, k) if len(parts) > 1 else parts[0]
        if one_d:
            return keys[0], dists[0], int(counts[0])
        return keys, dists, counts

    def shutdown(self) -> None:
        """Stops the actors (they also stop when this object is garbage-collected)."""
        for a in self.actors:
            ray.kill(a)
        self.actors = []
