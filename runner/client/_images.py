"""Per-image work of uploads (pure, no HTTP): thumbnails, metadata, EXIF (CONTRACT §3.4)."""

from __future__ import annotations

import io
import math
import os
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
)
THUMBNAIL_SIZE = (128, 128)
#: images above this many pixels are prepared one at a time: each needs several
#: times its RGB size in memory (12 bytes a pixel at the peak), 8 at once could exhaust it
LARGE_IMAGE_PIXELS = 24_000_000
_LARGE_IMAGES = threading.BoundedSemaphore(1)
#: rows of the Laplacian computed at once: memory stays bounded for any image height
_SHARPNESS_ROWS = 1024


@dataclass(frozen=True)
class PreparedImage:
    """What an upload sends for one image."""

    file_name: str
    meta_data: dict[str, Any]
    exif: dict[str, Any] | None
    thumbnail: bytes | None  # WebP; None for a corrupt image
    thumb_name: str | None
    corrupt: bool = False  # Pillow cannot read it: only its size is sent


def thumbnail_name(file_name: str) -> str:
    """``dir/img.1.jpg`` → ``dir/img.1_thumb.webp``."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else ""
    return f"{stem}_thumb.webp"


def list_image_files(folder: Path) -> list[str]:
    """Relative posix names of the image files under ``folder``, sorted."""
    names = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                names.append(Path(root, name).relative_to(folder).as_posix())
    return sorted(names)


def prepare_image(path: Path, file_name: str, *, with_thumbnail: bool) -> PreparedImage:
    """Load an image and compute its metadata, EXIF and thumbnail."""
    size = path.stat().st_size
    corrupt = PreparedImage(file_name, {"sizeInBytes": size}, None, None, None, corrupt=True)
    try:
        image = Image.open(path)
    except Exception:
        return corrupt
    with image:
        width, height = image.size  # from the header: nothing decoded yet
        with _LARGE_IMAGES if width * height > LARGE_IMAGE_PIXELS else nullcontext():
            try:
                image.load()
                exif = _exif(image)
                rgb = image if image.mode == "RGB" else image.convert("RGB")
            except Exception:
                return corrupt
            if rgb is not image:
                image.close()  # the decoded original is not needed any more
            meta_data = image_metadata(rgb, size)
            thumbnail = _thumbnail(rgb) if with_thumbnail else None  # last: it shrinks rgb
    return PreparedImage(
        file_name,
        meta_data,
        exif,
        thumbnail,
        thumbnail_name(file_name) if with_thumbnail else None,
    )


def image_metadata(rgb: Image.Image, size_in_bytes: int) -> dict[str, Any]:
    """The SampleMetaData of a decoded RGB image, as ``upload_dataset`` sends it:
    mean, std, sums, shape, snr, sharpness and the file's size."""
    return {**_statistics(rgb), "sizeInBytes": size_in_bytes}


def _thumbnail(image: Image.Image) -> bytes:
    """The WebP thumbnail; ``image`` itself is shrunk (a full-size copy would double memory)."""
    image.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    # method 0: the fastest WebP effort level, ~2× faster than the default 4 for
    # thumbnail-sized images, at ~3 % more bytes; quality stays 90 (CONTRACT §3.4)
    image.save(buffer, format="WEBP", quality=90, method=0)
    return buffer.getvalue()


_PIXEL_VALUES = np.arange(256, dtype=np.int64)


def _statistics(image: Image.Image) -> dict[str, Any]:
    """SampleMetaData statistics of an RGB image, exact, from its per-channel histograms.

    Histograms (computed by Pillow in C) keep this cheap: it runs for every image,
    and summing a full-resolution array costs several times more.
    """
    width, height = image.size
    count = width * height
    histogram = np.asarray(image.histogram(), dtype=np.int64).reshape(3, 256)
    sums = histogram @ _PIXEL_VALUES
    squares = histogram @ (_PIXEL_VALUES * _PIXEL_VALUES)
    mean = sums / (255.0 * count)
    variance = np.maximum(squares / (255.0**2 * count) - mean**2, 0.0)
    raw_mean = float(sums.sum()) / (count * 3)
    raw_var = max(float(squares.sum()) / (count * 3) - raw_mean**2, 0.0)
    return {
        "mean": mean.tolist(),
        "std": np.sqrt(variance).tolist(),
        "sumOfValues": (sums / 255.0).tolist(),
        "sumOfSquares": (squares / 255.0**2).tolist(),
        "shape": [height, width, 3],
        "snr": raw_mean / raw_var**0.5 if raw_var > 0 else 0.0,
        "sharpness": _sharpness(np.asarray(image.convert("L"))),
    }


def _sharpness(grey: np.ndarray) -> float:
    """Std of the grey image convolved with the 3×3 Laplacian (8 in the centre, -1 around).

    Computed in bands of rows, so memory stays small for huge images. int16 holds
    every intermediate (at most 9 × 255) and the moments are summed exactly in int64
    (einsum, not BLAS: BLAS threads of their own contend with upload threads).
    """
    height, width = grey.shape
    if height < 3 or width < 3:
        return 0.0
    total = squares = 0
    for top in range(0, height - 2, _SHARPNESS_ROWS):
        band = grey[top : top + _SHARPNESS_ROWS + 2].astype(np.int16)
        rows = band[:-2] + band[1:-1] + band[2:]
        box = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]  # 3×3 sums
        laplacian = (9 * band[1:-1, 1:-1] - box).ravel()
        total += int(laplacian.sum(dtype=np.int64))
        squares += int(np.einsum("i,i->", laplacian, laplacian, dtype=np.int64))
    count = (height - 2) * (width - 2)
    mean = total / count
    return float(max(squares / count - mean * mean, 0.0) ** 0.5)


def _exif(image: Image.Image) -> dict[str, Any] | None:
    try:
        raw = image.getexif()
    except Exception:
        return None
    exif: dict[str, Any] = {}
    for tag, value in raw.items():
        name = ExifTags.TAGS.get(tag)
        if name is not None:
            exif[name] = None if name == "GPSInfo" else _exif_value(value)
    return exif


def _exif_value(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return ""
    if isinstance(value, (int, str)):
        return value
    if isinstance(value, tuple):
        return [_exif_value(v) for v in value]
    try:
        number = float(value)  # float, IFDRational
    except (TypeError, ValueError):
        return None
    # JSON has no NaN: a rational with denominator 0 (an XResolution of 0/0, say) is
    # "nan", as the official client sends it; as a float it would fail the whole image
    return number if math.isfinite(number) else "nan"
