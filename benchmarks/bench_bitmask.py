"""Benchmark: a tag bitmask of 1,000,000 samples → file names (target < 0.1 s, < 300 MB).

Compares ``runner.client.bitmask.filenames_in_mask`` with a re-implementation of the
official lightly 1.4.10 loop (``_get_nonzero_bits``: test the lowest bit, then
``x // 2`` — quadratic, because every halving copies the whole big integer).

Run: ``.venv/bin/python benchmarks/bench_bitmask.py [--official-samples 200000]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner.client import bitmask


def official_nonzero_bits(x: int) -> list[int]:
    """lightly 1.4.10 ``lightly.api.bitmask._get_nonzero_bits``, verbatim in substance."""
    offset = 0
    indices = []
    while x > 0:
        if x % 2 > 0:
            indices.append(offset)
        offset += 1
        x = x // 2
    return indices


def official_filenames_in_mask(mask: str, filenames: list[str]) -> list[str]:
    return [filenames[i] for i in official_nonzero_bits(int(mask, 16))]


def random_mask(n_samples: int) -> str:
    """About half of the samples set, the highest one always set."""
    value = int.from_bytes(os.urandom(n_samples // 8), "little") | (1 << (n_samples - 1))
    return hex(value)


def timed(function: Callable[[], list[str]], repeat: int) -> tuple[float, list[str]]:
    best, result = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_memory(function: Callable[[], list[str]]) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--official-samples", type=int, default=200_000, help="0 to skip")
    args = parser.parse_args()

    filenames = [f"folder/image_{i:07d}.jpg" for i in range(args.samples)]
    mask = random_mask(args.samples)
    seconds, selected = timed(lambda: bitmask.filenames_in_mask(mask, filenames), repeat=5)
    peak = peak_memory(lambda: bitmask.filenames_in_mask(mask, filenames))
    print(f"runner.client.bitmask: {args.samples:,} samples, {len(selected):,} in the tag")
    print(f"  time (best of 5): {seconds * 1000:.1f} ms   (target < 100 ms)")
    print(f"  peak memory:      {peak / 2**20:.1f} MB   (target < 300 MB)")

    n = args.official_samples
    if n:
        small_names, small_mask = filenames[:n], random_mask(n)
        ours, ours_result = timed(lambda: bitmask.filenames_in_mask(small_mask, small_names), 3)
        theirs, theirs_result = timed(
            lambda: official_filenames_in_mask(small_mask, small_names), 1
        )
        assert ours_result == theirs_result, "results differ"
        print(f"official 1.4.10 loop at {n:,} samples: {theirs:.2f} s")
        print(
            f"runner.client.bitmask at {n:,} samples: {ours * 1000:.1f} ms ({theirs / ours:,.0f}x faster)"
        )


if __name__ == "__main__":
    main()
