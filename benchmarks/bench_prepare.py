"""Benchmark: per-image upload work (metadata, EXIF, WebP thumbnail) for real-sized photos.

``upload_dataset`` runs ``prepare_image`` for every image before any request; for
camera-sized images it, not the network, sets the pace. Measures ms per image for
1920×1080 JPEGs (and small 64×64 ones) with 1 and 2 threads.

Run: ``.venv/bin/python benchmarks/bench_prepare.py [--images 24]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner.client._images import prepare_image


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    """Noisy gradients: JPEG-compressible like photos, not flat like test patterns."""
    rng = np.random.default_rng(0)
    width, height = size
    gradient = np.linspace(0, 190, width)[None, :, None]
    paths = []
    for i in range(count):
        pixels = (rng.random((height, width, 3)) * 64 + gradient).astype(np.uint8)
        path = folder / f"{width}x{height}_{i:03d}.jpg"
        Image.fromarray(pixels).save(path, quality=85)
        paths.append(path)
    return paths


def per_image_ms(paths: list[Path], threads: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda p: prepare_image(p, p.name, with_thumbnail=True), paths))
    return (time.perf_counter() - start) / len(paths) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size, count in (((1920, 1080), args.images), ((64, 64), args.images * 50)):
            paths = make_photos(Path(tmp), count, size)
            timings = ", ".join(
                f"{t} thread(s) {per_image_ms(paths, t):6.2f} ms/img" for t in (1, 2)
            )
            print(f"prepare_image {size[0]}x{size[1]} JPEG: {timings}")


if __name__ == "__main__":
    main()
