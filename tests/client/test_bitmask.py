"""Tag bitmasks (CONTRACT §3.2): hex ↔ positions ↔ file names, linear time."""

from __future__ import annotations

import random

import pytest

from runner.client import bitmask


def reference_positions(mask: str) -> list[int]:
    """The contract's definition: bit i of int(mask, 16), least significant first."""
    value = int(mask, 16)
    return [i for i in range(value.bit_length()) if value >> i & 1]


@pytest.mark.parametrize(
    ("mask", "positions"),
    [
        ("0x0", []),
        ("0x1", [0]),
        ("0x2", [1]),
        ("0x5", [0, 2]),
        ("0xff", list(range(8))),
        ("0x100", [8]),
        ("0X1F", [0, 1, 2, 3, 4]),
    ],
)
def test_positions_from_hex(mask: str, positions: list[int]) -> None:
    assert bitmask.positions_from_hex(mask).tolist() == positions


@pytest.mark.parametrize(
    ("positions", "mask"),
    [
        ([], "0x0"),
        ([0], "0x1"),
        ([1], "0x2"),
        ([0, 2], "0x5"),
        ([8], "0x100"),
        ([3, 9, 3], "0x208"),
    ],
)
def test_hex_from_positions_is_lowercase_without_leading_zeros(
    positions: list[int], mask: str
) -> None:
    assert bitmask.hex_from_positions(positions) == mask
    assert bitmask.hex_from_positions(positions, size=1000) == mask


def test_round_trip_matches_the_integer_definition() -> None:
    rng = random.Random(7)
    for size in (1, 7, 8, 9, 63, 64, 65, 1000):
        positions = sorted(rng.sample(range(size), rng.randint(0, size)))
        mask = bitmask.hex_from_positions(positions)
        assert mask == hex(sum(1 << p for p in positions))
        assert reference_positions(mask) == positions
        assert bitmask.positions_from_hex(mask).tolist() == positions


def test_filenames_in_mask_keeps_sample_order() -> None:
    names = ["c.jpg", "a.jpg", "b.jpg", "d.jpg"]
    assert bitmask.filenames_in_mask("0xb", names) == ["c.jpg", "a.jpg", "d.jpg"]
    assert bitmask.filenames_in_mask("0x0", names) == []


def test_filenames_in_mask_beyond_the_dataset_raises() -> None:
    with pytest.raises(ValueError, match="refers to sample 4 but the dataset has 4 samples"):
        bitmask.filenames_in_mask("0x10", ["a", "b", "c", "d"])


def test_malformed_mask_raises_value_error() -> None:
    with pytest.raises(ValueError):
        bitmask.positions_from_hex("0xzz")


def test_mask_from_filenames_counts_found_names() -> None:
    names = ["a", "b", "c", "d"]
    assert bitmask.mask_from_filenames(["d", "b", "x"], names) == ("0xa", 2)
    assert bitmask.mask_from_filenames([], names) == ("0x0", 0)


def test_one_million_samples_both_ways() -> None:
    # speed and memory: benchmarks/bench_bitmask.py
    n = 1_000_000
    names = [f"img_{i:07d}.jpg" for i in range(n)]
    mask = "0x" + "5" * (n // 4)  # every even position
    selected = bitmask.filenames_in_mask(mask, names)
    assert len(selected) == n // 2 and selected[:2] == ["img_0000000.jpg", "img_0000002.jpg"]
    assert selected[-1] == "img_0999998.jpg"
    assert bitmask.mask_from_filenames(selected, names) == (mask, n // 2)
