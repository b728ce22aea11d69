"""Conversions of inputs that are not already in the layout vecmatch reads in place.

The native module borrows C-contiguous, aligned ``float32`` arrays (vectors, queries) and
``uint64`` arrays (keys) without a copy; it calls these helpers for anything else.
"""

from __future__ import annotations

import numpy as np


def as_floats(obj, what: str) -> np.ndarray:
    """``obj`` as a C-contiguous, aligned ``float32`` array (a copy when needed)."""
    try:
        a = np.asarray(obj)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{what}: expected an array of numbers ({e})") from None
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{what}: expected an array of numbers, got dtype {a.dtype}")
    return np.require(a, dtype=np.float32, requirements=["C", "A"])


def as_keys(obj, what: str) -> np.ndarray:
    """``obj`` (an int or a sequence of ints) as a 1-D ``uint64`` array of keys ≥ 0."""
    a = np.asarray(obj)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got {a.ndim} dimensions")
    if a.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if a.dtype.kind == "O":
        # Python ints beyond int64 (keys up to 2**64 - 1).
        try:
            a = np.array([int(x) for x in a.tolist()], dtype=np.uint64)
        except (TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"{what}: keys must be integers in [0, 2**64): {e}") from None
    if a.dtype.kind == "i":
        if a.min() < 0:
            raise ValueError(f"{what}: keys must be ≥ 0, got {a.min()}")
    elif a.dtype.kind not in "u":
        raise TypeError(f"{what}: keys must be integers, got dtype {a.dtype}")
    return np.require(a, dtype=np.uint64, requirements=["C", "A"])


def print_progress(done: int, total: int) -> None:
    """``build(progress=True)``: one line on stderr, rewritten in place."""
    import sys

    end = "\n" if done >= total else ""
    print(f"\rbuilding graph: {done}/{total} rows", end=end, file=sys.stderr, flush=True)
