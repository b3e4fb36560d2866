"""Per-image upload metadata (CONTRACT §3.4) against its definition, computed the obvious way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from runner.client import _images
from runner.client._images import prepare_image


def _reference(pixels: np.ndarray) -> dict[str, object]:
    """§3.4 literally: float pixels in [0, 1], per channel; snr and sharpness on raw values."""
    scaled = pixels.astype(np.float64) / 255.0
    raw = pixels.astype(np.float64)
    grey = np.asarray(Image.fromarray(pixels).convert("L"), dtype=np.float64)
    laplacian = np.zeros((grey.shape[0] - 2, grey.shape[1] - 2))
    for dy in range(3):
        for dx in range(3):
            weight = 8.0 if (dy, dx) == (1, 1) else -1.0
            laplacian += weight * grey[dy : dy + laplacian.shape[0], dx : dx + laplacian.shape[1]]
    return {
        "mean": scaled.mean(axis=(0, 1)).tolist(),
        "std": scaled.std(axis=(0, 1)).tolist(),
        "sumOfValues": scaled.sum(axis=(0, 1)).tolist(),
        "sumOfSquares": (scaled**2).sum(axis=(0, 1)).tolist(),
        "shape": list(pixels.shape),
        "snr": raw.mean() / raw.std(),
        "sharpness": laplacian.std(),
    }


@pytest.mark.parametrize("size", [(37, 53), (3, 3), (240, 320), (2100, 7)])  # 2100: 3 bands
def test_metadata_matches_the_contract_definition(tmp_path: Path, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(size))
    gradient = np.linspace(0, 150, size[1])[None, :, None]
    pixels = (rng.random((*size, 3)) * 100 + gradient).clip(0, 255).astype(np.uint8)
    path = tmp_path / "image.png"
    Image.fromarray(pixels).save(path)  # lossless: the file holds exactly these pixels

    meta = prepare_image(path, "image.png", with_thumbnail=False).meta_data

    expected = _reference(pixels)
    assert meta["shape"] == expected.pop("shape")
    assert meta["sizeInBytes"] == path.stat().st_size
    for key, value in expected.items():
        assert meta[key] == pytest.approx(value, rel=1e-9), key


def test_sharpness_of_a_flat_or_tiny_image_is_zero(tmp_path: Path) -> None:
    for size in [(2, 9), (10, 10)]:
        path = tmp_path / f"{size[0]}.png"
        Image.new("RGB", size[::-1], (10, 200, 30)).save(path)
        meta = prepare_image(path, path.name, with_thumbnail=False).meta_data
        assert meta["sharpness"] == 0.0 and meta["snr"] > 0


def test_large_images_are_prepared_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered: list[str] = []

    class Gate:
        def __enter__(self) -> None:
            entered.append("large")

        def __exit__(self, *exc_info: object) -> None:
            pass

    monkeypatch.setattr(_images, "_LARGE_IMAGES", Gate())
    monkeypatch.setattr(_images, "LARGE_IMAGE_PIXELS", 50 * 50)
    for name, size in (("small.png", (50, 50)), ("large.png", (51, 50))):
        Image.new("RGB", size, (9, 9, 9)).save(tmp_path / name)
        prepared = prepare_image(tmp_path / name, name, with_thumbnail=True)
        assert prepared.thumbnail is not None and prepared.meta_data["shape"][:2] == [50, size[0]]
    assert entered == ["large"]


def test_exif_rationals_are_numbers_and_a_zero_denominator_is_nan(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[282] = TiffImagePlugin.IFDRational(72, 1)  # XResolution
    exif[283] = TiffImagePlugin.IFDRational(0, 0)  # YResolution, as some cameras write it
    exif[270] = "a caption"  # ImageDescription
    path = tmp_path / "exif.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif)

    image = prepare_image(path, "exif.jpg", with_thumbnail=True)

    assert not image.corrupt
    assert image.exif == {
        "XResolution": 72.0,
        "YResolution": "nan",
        "ImageDescription": "a caption",
    }
    json.dumps(image.exif, allow_nan=False)  # the body of the sample: no NaN in JSON
