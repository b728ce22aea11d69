"""The exceptions vecmatch raises.

Every error of the library is a :class:`VecmatchError`, except operating-system I/O errors,
which are plain :class:`OSError` (so ``FileNotFoundError``, ``PermissionError`` and the
other subclasses work as usual). Errors about arguments (bad vectors, queries, keys,
parameters, mismatched shards) are also :class:`ValueError`; a damaged or foreign file is a
:class:`CorruptFileError`.
"""

from __future__ import annotations


class VecmatchError(Exception):
    """Base class of the errors vecmatch raises (other than ``OSError``)."""


class InvalidArgumentError(VecmatchError, ValueError):
    """An argument is out of its valid range or inconsistent (``k=0``, ``threads=0``, ...)."""


class DimensionMismatchError(InvalidArgumentError):
    """A vector or query has the wrong number of dimensions."""


class NonFiniteError(InvalidArgumentError):
    """A vector or query holds NaN or an infinity."""


class ZeroVectorError(InvalidArgumentError):
    """A zero vector cannot be used with the cosine metric."""


class DuplicateKeyError(InvalidArgumentError):
    """The same key was given twice to ``build``."""


class ShardMismatchError(InvalidArgumentError):
    """The shards of a :class:`vecmatch.Shards` disagree on dims, metric or element type, or
    a key is stored in two of them (found by ``verify``)."""


class CorruptFileError(VecmatchError):
    """The file is not a vecmatch gallery, is truncated, or is structurally invalid."""


class ChecksumMismatchError(CorruptFileError):
    """A checksum does not match: part of the file is damaged."""


class UnsupportedVersionError(VecmatchError):
    """The file was written by a newer, incompatible version of the format."""


class LockedError(VecmatchError):
    """Another writer (a ``Collection`` in this or another process, or a ``vecmatch``
    command changing the file) holds the gallery's writer lock (``NAME.lock``). A
    ``Collection`` holds it until it is garbage-collected (``del c``)."""


__all__ = [
    "VecmatchError",
    "InvalidArgumentError",
    "DimensionMismatchError",
    "NonFiniteError",
    "ZeroVectorError",
    "DuplicateKeyError",
    "ShardMismatchError",
    "CorruptFileError",
    "ChecksumMismatchError",
    "UnsupportedVersionError",
    "LockedError",
]
