"""Tag bitmasks (pure): bit i set ⇔ sample i (mappings order) is in the tag.

Masks travel as lowercase hex (``0x…``, ``0x0`` when empty). Conversions go
through NumPy bit arrays, so they are linear in the dataset size — the official
client tests bits one by one on a Python int, which is quadratic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import compress

import numpy as np


def bits_from_hex(mask: str) -> np.ndarray:
    """The bits of a ``0x…`` mask as a uint8 array of 0/1, bit i at index i.

    Raises:
        ValueError: If ``mask`` is not hexadecimal.
    """
    digits = mask[2:] if mask[:2].lower() == "0x" else mask
    digits = digits.lstrip("0") or "0"
    if len(digits) % 2:
        digits = "0" + digits
    raw = np.frombuffer(bytes.fromhex(digits)[::-1], dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")


def positions_from_hex(mask: str) -> np.ndarray:
    """Indices of the set bits of a ``0x…`` mask, ascending."""
    return np.flatnonzero(bits_from_hex(mask))


def hex_from_positions(positions: Iterable[int] | np.ndarray, size: int | None = None) -> str:
    """The ``0x…`` mask with exactly the given bits set."""
    indices = np.asarray(
        list(positions) if not isinstance(positions, np.ndarray) else positions, dtype=np.int64
    )
    if indices.size == 0:
        return "0x0"
    length = int(indices.max()) + 1 if size is None else max(size, int(indices.max()) + 1)
    bits = np.zeros(-(-length // 8) * 8, dtype=np.uint8)
    bits[indices] = 1
    packed = np.packbits(bits, bitorder="little")[::-1].tobytes()
    return "0x" + (packed.hex().lstrip("0") or "0")


def filenames_in_mask(mask: str, filenames: Sequence[str]) -> list[str]:
    """The filenames whose positions are set in ``mask``, in sample order.

    Raises:
        ValueError: If the mask refers to positions beyond ``filenames``.
    """
    bits = bits_from_hex(mask)
    beyond = np.flatnonzero(bits[len(filenames) :])
    if beyond.size:
        raise ValueError(
            f"the tag refers to sample {len(filenames) + int(beyond[-1])} but the dataset has "
            f"{len(filenames)} samples"
        )
    # compress() walks the 0/1 bytes in C: about 15 ms for 1,000,000 samples
    return list(compress(filenames, bits[: len(filenames)].tobytes()))


def mask_from_filenames(wanted: Iterable[str], filenames: Sequence[str]) -> tuple[str, int]:
    """(mask of the positions of ``wanted`` in ``filenames``, number of bits set)."""
    wanted_set = set(wanted)
    positions = [i for i, name in enumerate(filenames) if name in wanted_set]
    return hex_from_positions(positions), len(positions)
