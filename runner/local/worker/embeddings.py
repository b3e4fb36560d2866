"""Images → corruption check and embeddings; embeddings CSV files (CONTRACT.md §3.3).

The local worker has no neural network, so its embeddings are exactly
``EMBEDDING_DESCRIPTION``, computed from the image reduced to fit in 64x64 (box
filter): the square roots of its colour histogram (4 bins per RGB channel, bin
fractions; 64 values, unit norm) followed by its 4x4 area-averaged RGB thumbnail
scaled to [0, 1] and L2-normalised (48 values), the whole divided by sqrt(2): a
unit vector of 112 values. The histogram half ignores small shifts and noise; the
thumbnail half keeps the coarse layout. Uploaded embeddings (the dataset's
"default" embeddings CSV) are used instead when present.

An image is corrupt when Pillow cannot identify it, ``verify()`` rejects it, or
``load()`` fails (for example a truncated JPEG); the reason is kept for the
corruptness check information.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from runner.client._images import image_metadata  # one definition of SampleMetaData

EMBEDDING_NAME = "colour-histogram-4-thumbnail-4x4"
EMBEDDING_DESCRIPTION = (
    "[sqrt of the 4x4x4-bin RGB colour histogram (64), L2-normalised 4x4 RGB thumbnail (48)]"
    " / sqrt(2), of the image reduced to fit in 64x64"
)
BINS = 4
THUMBNAIL = 4
WORKING_SIZE = 64
DIMENSION = BINS**3 + THUMBNAIL * THUMBNAIL * 3
#: ``Image.info`` key: (width, height) of the file, before a reduced-size decode
ORIGINAL_SIZE = "lightly_original_size"
_EMBEDDING_COLUMN = re.compile(r"embedding_(\d+)")


class CorruptImage(ValueError):
    """Pillow cannot read the image; the message is the reason."""


class EmbeddingsCsvError(ValueError):
    """An embeddings CSV that does not follow CONTRACT.md §3.3, or does not fit the dataset."""


@dataclass(frozen=True)
class ImageScan:
    """Result of ``scan_images``: embeddings of the readable images, reasons for the rest."""

    filenames: list[str]
    embeddings: np.ndarray  # (len(filenames), DIMENSION) float32
    corrupt: dict[str, str] = field(default_factory=dict)
    #: file name → SampleMetaData, of the names asked for (as upload_dataset computes
    #: it; the statistics come from the image as decoded for embedding, reduced for
    #: large JPEGs)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_image(data: bytes) -> Image.Image:
    """Decode ``data`` fully, or raise ``CorruptImage`` saying why."""
    if not data:
        raise CorruptImage("empty file (0 bytes)")
    stage = "open"
    # Pillow's decoders raise many types on bad input (OSError, SyntaxError, struct.error, …);
    # any of them means the file is not a usable image.
    try:
        with Image.open(io.BytesIO(data)) as probe:
            stage = "verify"
            probe.verify()
        stage = "load"
        image = Image.open(io.BytesIO(data))
        size = image.size
        image.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at a reduced size
        image.load()
        image.info[ORIGINAL_SIZE] = size
    except UnidentifiedImageError as error:
        raise CorruptImage("not an image file Pillow can identify") from error
    except Exception as error:
        raise CorruptImage(f"{stage} failed: {type(error).__name__}: {error}") from error
    return image


def embed_image(image: Image.Image) -> np.ndarray:
    """The ``EMBEDDING_DESCRIPTION`` vector of one image, float32 of length ``DIMENSION``."""
    small = image.convert("RGB")  # a copy: thumbnail() below shrinks it in place
    small.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.uint8).reshape(-1, 3) // (256 // BINS)
    bins = (pixels[:, 0].astype(np.int64) * BINS + pixels[:, 1]) * BINS + pixels[:, 2]
    histogram = np.sqrt(np.bincount(bins, minlength=BINS**3) / len(bins))
    thumb = small.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BOX)
    layout = np.asarray(thumb, dtype=np.float64).reshape(-1) / 255.0
    norm = float(np.linalg.norm(layout))
    layout = layout / norm if norm > 0 else layout
    vector: np.ndarray = (np.concatenate([histogram, layout]) / np.sqrt(2.0)).astype(np.float32)
    return vector


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` (n, d) with each row scaled to unit L2 length (a zero row stays zero), float32."""
    values = np.asarray(matrix, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", values, values))[:, None]
    unit: np.ndarray = np.divide(values, norms, out=np.zeros_like(values), where=norms > 0)
    return unit.astype(np.float32)


def check_image(data: bytes) -> str | None:
    """Why ``data`` is not a readable image, or None when it is."""
    try:
        load_image(data)
    except CorruptImage as error:
        return str(error)
    return None


def scan_images(
    items: Iterable[tuple[str, bytes | Path | Callable[[], bytes | Path]]],
    metadata_of: Container[str] = (),
) -> ImageScan:
    """Check and embed ``(filename, bytes, a path or what reads them)`` items, keeping
    their order; the SampleMetaData of the readable ones named in ``metadata_of`` (new
    samples) too. A file that cannot be read (a file server's 404) is one corrupt item."""
    names: list[str] = []
    vectors: list[np.ndarray] = []
    corrupt: dict[str, str] = {}
    metadata: dict[str, dict[str, Any]] = {}
    for name, source in items:
        try:
            if callable(source):
                source = source()
            data = source.read_bytes() if isinstance(source, Path) else source
            image = load_image(data)
        except OSError as error:  # unreadable file on disk
            corrupt[name] = f"cannot read file: {error}"
            continue
        except CorruptImage as error:
            corrupt[name] = str(error)
            continue
        rgb = image.convert("RGB")
        names.append(name)
        vectors.append(embed_image(rgb))
        if name in metadata_of:
            size = image.info.get(ORIGINAL_SIZE, image.size)
            metadata[name] = _sample_metadata(rgb, size, len(data))
    matrix = np.stack(vectors) if vectors else np.zeros((0, DIMENSION), np.float32)
    return ImageScan(names, matrix, corrupt, metadata)


def _sample_metadata(
    rgb: Image.Image, original_size: tuple[int, int], size_in_bytes: int
) -> dict[str, Any]:
    """SampleMetaData as the client computes it for an upload, with the file's own shape
    (``original_size``: (width, height) before a reduced-size decode)."""
    meta = image_metadata(rgb, size_in_bytes)
    width, height = original_size
    meta["shape"] = [height, width, 3]
    return meta


def read_embeddings_csv(
    text: str | bytes, filenames: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Parse an embeddings CSV into (filenames, (n, d) float32).

    With ``filenames`` (the dataset's samples, in sample order) the rows are put in
    that order, and every sample must have exactly one row.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0]:
        raise EmbeddingsCsvError("embeddings CSV is empty")
    header = rows[0]
    if header[0] != "filenames":
        raise EmbeddingsCsvError(
            f"embeddings CSV: first column must be 'filenames', not {header[0]!r}"
        )
    columns = [i for i, name in enumerate(header) if _EMBEDDING_COLUMN.fullmatch(name)]
    if not columns:
        raise EmbeddingsCsvError("embeddings CSV has no embedding_<n> columns")
    names, values = [], []
    for line, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != len(header):
            raise EmbeddingsCsvError(
                f"embeddings CSV line {line}: {len(row)} values for {len(header)} columns"
            )
        try:
            values.append([float(row[i]) for i in columns])
        except ValueError as error:
            raise EmbeddingsCsvError(f"embeddings CSV line {line}: {error}") from error
        names.append(row[0])
    matrix = np.asarray(values, dtype=np.float32).reshape(len(names), len(columns))
    if filenames is None:
        return names, matrix
    return list(filenames), _align(names, matrix, filenames)


def _align(names: list[str], matrix: np.ndarray, filenames: Sequence[str]) -> np.ndarray:
    position = {name: i for i, name in enumerate(names)}
    duplicates = len(position) != len(names)
    missing = [name for name in filenames if name not in position]
    problems = ["duplicate file names"] if duplicates else []
    if missing:
        problems.append(f"{len(missing)} sample(s) without a row, e.g. {missing[:3]}")
    if problems:
        raise EmbeddingsCsvError(
            f"embeddings CSV does not match the dataset: {'; '.join(problems)}"
        )
    return matrix[[position[name] for name in filenames]]


def embeddings_csv(filenames: Sequence[str], embeddings: np.ndarray) -> str:
    """An embeddings CSV (§3.3: header, one row per sample, labels 0, ``\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["filenames", *(f"embedding_{i}" for i in range(embeddings.shape[1])), "labels"]
    )
    for name, vector in zip(filenames, embeddings, strict=True):
        writer.writerow([name, *(repr(float(v)) for v in vector), 0])
    return out.getvalue()
