"""Type stubs of the native module ``vecmatch._vecmatch`` (re-exported by ``vecmatch``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str
NO_KEY: int
hardware_acceleration: str

_Path = Union[str, os.PathLike[str]]
_Floats = npt.ArrayLike
_Keys = Union[int, Sequence[int], npt.NDArray[np.integer[Any]]]
_Result2D = Tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32], npt.NDArray[np.int64]]
_Result1D = Tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32], int]

def build(
    path: _Path,
    vectors: _Floats,
    keys: Optional[_Keys] = None,
    metric: str = "cosine",
    dtype: str = "f32",
    keep_f32_rows: bool = False,
    hnsw: bool = True,
    m: int = 16,
    ef_construction: int = 200,
    threads: Optional[int] = None,
    progress: Union[bool, Callable[[int, int], Any], None] = None,
) -> Gallery:
    """Builds a gallery file at ``path`` atomically and returns it opened."""

class Gallery:
    """An immutable, memory-mapped gallery file. Thread-safe; picklable by path."""

    @staticmethod
    def open(path: _Path, verify: bool = False) -> Gallery: ...
    @staticmethod
    def from_bytes(data: bytes) -> Gallery: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: int) -> bool: ...
    @property
    def dims(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def has_graph(self) -> bool: ...
    @property
    def path(self) -> Optional[Path]: ...
    def get(self, key: int) -> Optional[npt.NDArray[np.float32]]: ...
    def keys(self) -> npt.NDArray[np.uint64]: ...
    def verify(self) -> None: ...
    def info(self) -> dict[str, Any]: ...
    def search(
        self,
        queries: _Floats,
        k: Optional[int] = 10,
        ef: int = 64,
        exact: bool = False,
        max_distance: Optional[float] = None,
        allow: Optional[_Keys] = None,
        deny: Optional[_Keys] = None,
        threads: Optional[int] = None,
        rerank_factor: Optional[int] = None,
    ) -> Any:
        """``(keys, distances, counts)``: ``uint64 [n, k]``, ``float32 [n, k]``, ``int64 [n]``
        for 2-D queries; ``uint64 [k]``, ``float32 [k]``, ``int`` for one 1-D query."""
    def __reduce__(self) -> Tuple[Any, Tuple[Path]]: ...

class Collection:
    """A mutable gallery: adds and deletes visible at once, atomic commits."""

    @staticmethod
    def create(
        path: _Path,
        dims: int,
        metric: str = "cosine",
        hnsw: bool = False,
        m: int = 16,
        ef_construction: int = 200,
        auto_commit_rows: Optional[int] = 10000,
        auto_commit_deleted_fraction: Optional[float] = 0.25,
    ) -> Collection: ...
    @staticmethod
    def open(
        path: _Path,
        auto_commit_rows: Optional[int] = 10000,
        auto_commit_deleted_fraction: Optional[float] = 0.25,
        verify: bool = False,
    ) -> Collection: ...
    def add(self, keys: _Keys, vectors: _Floats) -> int: ...
    def delete(self, keys: _Keys) -> int: ...
    def commit(self) -> dict[str, Any]: ...
    def search(
        self,
        queries: _Floats,
        k: Optional[int] = 10,
        ef: int = 64,
        exact: bool = False,
        max_distance: Optional[float] = None,
        allow: Optional[_Keys] = None,
        deny: Optional[_Keys] = None,
        threads: Optional[int] = None,
        rerank_factor: Optional[int] = None,
    ) -> Any: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: int) -> bool: ...
    def contains(self, key: int) -> bool: ...
    def get(self, key: int) -> Optional[npt.NDArray[np.float32]]: ...
    @property
    def dims(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def path(self) -> Path: ...

class Shards:
    """Several gallery files searched as one (exact merge by distance, then key)."""

    def __init__(self, paths: Iterable[_Path], verify: bool = False) -> None: ...
    @staticmethod
    def open(paths: Iterable[_Path], verify: bool = False) -> Shards: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: int) -> bool: ...
    def get(self, key: int) -> Optional[npt.NDArray[np.float32]]: ...
    @property
    def dims(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def paths(self) -> list[Path]: ...
    def info(self) -> list[dict[str, Any]]: ...
    def verify(self) -> None: ...
    def search(
        self,
        queries: _Floats,
        k: Optional[int] = 10,
        ef: int = 64,
        exact: bool = False,
        max_distance: Optional[float] = None,
        allow: Optional[_Keys] = None,
        deny: Optional[_Keys] = None,
        threads: Optional[int] = None,
        rerank_factor: Optional[int] = None,
    ) -> Any: ...
