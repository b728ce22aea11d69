"""vecmatch: exact SIMD and HNSW vector search over memory-mapped gallery files.

A gallery is one immutable, checksummed file of vectors with unique ``uint64`` keys, opened
by memory map in O(1); several files can be searched as one (:class:`Shards`), and
:mod:`vecmatch.ray` spreads builds and searches over a Ray cluster.

>>> import numpy as np, vecmatch
>>> g = vecmatch.build("demo.vmg", np.random.rand(1000, 64).astype(np.float32))
>>> keys, distances, counts = g.search(np.random.rand(5, 64), k=10)

Distances: lower is better; cosine is ``1 - cos``, dot is ``1 - dot``, l2 is squared
Euclidean; ties are broken by key. Missing hits are padded with key :data:`NO_KEY`
(``2**64 - 1``) and distance ``inf``.
"""

from __future__ import annotations

from ._errors import (
    ChecksumMismatchError,
    CorruptFileError,
    DimensionMismatchError,
    DuplicateKeyError,
    InvalidArgumentError,
    NonFiniteError,
    ShardMismatchError,
    UnsupportedVersionError,
    LockedError,
    VecmatchError,
    ZeroVectorError,
)
from ._vecmatch import (
    NO_KEY,
    Collection,
    Gallery,
    Shards,
    __version__,
    build,
    hardware_acceleration,
)

__all__ = [
    "NO_KEY",
    "ChecksumMismatchError",
    "Collection",
    "CorruptFileError",
    "DimensionMismatchError",
    "DuplicateKeyError",
    "Gallery",
    "InvalidArgumentError",
    "NonFiniteError",
    "ShardMismatchError",
    "Shards",
    "UnsupportedVersionError",
    "LockedError",
    "VecmatchError",
    "ZeroVectorError",
    "__version__",
    "build",
    "hardware_acceleration",
]
