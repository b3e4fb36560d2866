"""Tag bitmasks (CONTRACT §3.2), pure and linear-time.

A mask is the hex string ``0x…`` (lowercase, no leading zeros, ``0x0`` when empty)
of an integer whose bit *i* is set iff sample *i* is in the tag. Conversions go
through bytes and numpy (``unpackbits``/``packbits``), never a per-bit loop over a
Python int, so a 1,000,000-sample mask converts in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

HEXMASK = re.compile(r"^0x[a-f0-9]+$")


def parse(mask: str) -> int:
    """The integer of a HEXMASK string; ValueError if it is not one."""
    if not isinstance(mask, str) or not HEXMASK.fullmatch(mask):
        raise ValueError(f"not a bitmask (0x + lowercase hex): {mask!r}")
    return int(mask, 16)


def to_hex(value: int) -> str:
    """``0x`` + lowercase hex without leading zeros (``0x0`` for the empty mask)."""
    if value < 0:
        raise ValueError("a bitmask cannot be negative")
    return hex(value)


def positions(value: int) -> np.ndarray:
    """Sorted positions (int64) of the set bits of ``value``."""
    if value <= 0:
        return np.zeros(0, dtype=np.int64)
    raw = value.to_bytes((value.bit_length() + 7) // 8, "little")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
    return np.flatnonzero(bits).astype(np.int64)


def from_positions(indices: Iterable[int] | np.ndarray) -> int:
    """The integer whose set bits are ``indices`` (duplicates allowed)."""
    array = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices)
    if array.size == 0:
        return 0
    array = array.astype(np.int64)
    if array.min() < 0:
        raise ValueError("bit positions cannot be negative")
    bits = np.zeros(int(array.max()) + 1, dtype=np.uint8)
    bits[array] = 1
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def full(size: int) -> int:
    """The mask of the first ``size`` samples."""
    return (1 << size) - 1 if size > 0 else 0


def count(value: int) -> int:
    """Number of set bits."""
    return value.bit_count()


def union(a: int, b: int) -> int:
    return a | b


def intersection(a: int, b: int) -> int:
    return a & b


def difference(a: int, b: int) -> int:
    """Bits of ``a`` that are not in ``b``."""
    return a & ~b


OPERATIONS = {"UNION": union, "INTERSECTION": intersection, "DIFFERENCE": difference}
