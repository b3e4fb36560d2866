"""Corruption check, image embeddings and embeddings CSV files of the local worker."""

from __future__ import annotations

import io
import tempfile
import urllib.error
from email.message import Message
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from runner.local.worker.embeddings import (
    DIMENSION,
    EmbeddingsCsvError,
    check_image,
    embed_image,
    embeddings_csv,
    load_image,
    normalize_rows,
    read_embeddings_csv,
    scan_images,
)
from runner.local.worker.selection import SelectionInputs, select

QUICKSTART = Path(__file__).resolve().parents[3] / "workflows/data/quickstart"


def jpeg(colour: tuple[int, int, int] = (200, 30, 30), *, size: int = 256, dx: int = 0) -> bytes:
    image = Image.new("RGB", (size, size), colour)
    ImageDraw.Draw(image).ellipse((60 + dx, 60, 180 + dx, 180), fill=(250, 250, 250))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_a_good_image_passes() -> None:
    assert check_image(jpeg()) is None


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.9])
def test_truncated_jpeg_is_corrupt(keep: float) -> None:
    data = jpeg()
    reason = check_image(data[: int(len(data) * keep)])
    assert reason is not None
    assert "failed" in reason


def test_non_image_and_empty_files_are_corrupt() -> None:
    assert (
        check_image(b"this is a text file, not a JPEG\n") == "not an image file Pillow can identify"
    )
    assert check_image(b"") == "empty file (0 bytes)"


def test_png_with_a_broken_checksum_is_corrupt() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[40] ^= 0xFF  # inside the IDAT chunk
    assert check_image(bytes(data)) is not None


def test_embedding_is_a_unit_vector_that_tells_images_apart() -> None:
    base = embed_image(load_image(jpeg()))
    shifted = embed_image(load_image(jpeg(dx=4)))
    other = embed_image(load_image(jpeg((30, 30, 200))))
    assert base.shape == (DIMENSION,)
    assert base.dtype == np.float32
    assert np.linalg.norm(base) == pytest.approx(1.0, abs=1e-6)
    assert np.linalg.norm(base - shifted) < 0.25 * np.linalg.norm(base - other)
    assert np.array_equal(base, embed_image(load_image(jpeg())))


def test_black_image_embeds_without_nan() -> None:
    vector = embed_image(Image.new("RGB", (10, 10)))
    assert np.isfinite(vector).all()


def test_scan_keeps_order_and_lists_corrupt_files(tmp_path: Path) -> None:
    (tmp_path / "b.jpg").write_bytes(jpeg())
    scan = scan_images(
        [
            ("b.jpg", tmp_path / "b.jpg"),
            ("x.jpg", b"nope"),
            ("a.jpg", jpeg((0, 90, 0))),
            ("gone.jpg", tmp_path / "gone.jpg"),
        ]
    )
    assert scan.filenames == ["b.jpg", "a.jpg"]
    assert scan.embeddings.shape == (2, DIMENSION)
    assert scan.corrupt["x.jpg"] == "not an image file Pillow can identify"
    assert scan.corrupt["gone.jpg"].startswith("cannot read file: ")


def test_quickstart_images_give_one_pick_per_group() -> None:
    # the images, not the .lightly/ folder of predictions beside them (as the worker lists them)
    relative = (p.relative_to(QUICKSTART) for p in QUICKSTART.rglob("*") if p.is_file())
    files = sorted(str(r) for r in relative if not r.parts[0].startswith("."))
    scan = scan_images((name, QUICKSTART / name) for name in files)
    assert sorted(scan.corrupt) == [
        "corrupt/empty.png",
        "corrupt/not-an-image.jpg",
        "corrupt/truncated.jpg",
    ]
    assert len(scan.filenames) == 200
    inputs = SelectionInputs(scan.filenames, scan.embeddings, {}, {}, [None] * 200)
    config = {
        "nSamples": 10,
        "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
    }
    picked = [scan.filenames[i] for i in select(config, inputs).selected]
    assert sorted(name.split("/")[0] for name in picked) == [f"group-{g:02d}" for g in range(10)]


# --- embeddings CSV -------------------------------------------------------------------


def test_csv_round_trip_in_contract_format() -> None:
    vectors = np.array([[0.5, -1.25], [3.0, 0.0]], np.float32)
    text = embeddings_csv(["a.jpg", "dir/b.jpg"], vectors)
    assert text.splitlines()[0] == "filenames,embedding_0,embedding_1,labels"
    assert "\r" not in text
    names, matrix = read_embeddings_csv(text)
    assert names == ["a.jpg", "dir/b.jpg"]
    assert np.array_equal(matrix, vectors)


def test_csv_rows_are_put_in_sample_order_and_extra_columns_ignored() -> None:
    text = "filenames,masked,embedding_0,embedding_1,labels\nb.jpg,0,3,4,1\na.jpg,1,1,2,0\n"
    names, matrix = read_embeddings_csv(text.encode(), filenames=["a.jpg", "b.jpg"])
    assert names == ["a.jpg", "b.jpg"]
    assert matrix.tolist() == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "embeddings CSV is empty"),
        (
            "name,embedding_0,labels\na,1,0\n",
            "embeddings CSV: first column must be 'filenames', not 'name'",
        ),
        ("filenames,labels\na,0\n", "embeddings CSV has no embedding_<n> columns"),
        ("filenames,embedding_0,labels\na,1\n", "embeddings CSV line 2: 2 values for 3 columns"),
        (
            "filenames,embedding_0,labels\na,x,0\n",
            "embeddings CSV line 2: could not convert string to float: 'x'",
        ),
        (
            "filenames,embedding_0,labels\na,1,0\n",
            "embeddings CSV does not match the dataset: 1 sample(s) without a row, e.g. ['b']",
        ),
        (
            "filenames,embedding_0,labels\na,1,0\na,2,0\nb,1,0\n",
            "embeddings CSV does not match the dataset: duplicate file names",
        ),
    ],
)
def test_bad_csv(text: str, message: str) -> None:
    with pytest.raises(EmbeddingsCsvError) as caught:
        read_embeddings_csv(text, filenames=["a", "b"])
    assert str(caught.value) == message


def test_scan_gives_each_image_the_metadata_an_upload_would_have() -> None:
    from runner.client._images import prepare_image

    big = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 100, 50)).save(big, format="JPEG")
    small = jpeg((0, 90, 0), size=48)
    scan = scan_images(
        [("big.jpg", big.getvalue()), ("small.jpg", small)], metadata_of={"big.jpg", "small.jpg"}
    )
    # the file's own shape and size, though large JPEGs are decoded at a reduced size
    assert scan.metadata["big.jpg"]["shape"] == [480, 640, 3]
    assert scan.metadata["big.jpg"]["sizeInBytes"] == len(big.getvalue())
    assert scan.metadata["big.jpg"]["mean"] == pytest.approx(
        [200 / 255, 100 / 255, 50 / 255], abs=0.02
    )
    # a small image is decoded whole: exactly what upload_dataset computes
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "small.jpg"
        path.write_bytes(small)
        uploaded = prepare_image(path, "small.jpg", with_thumbnail=False).meta_data
    assert scan.metadata["small.jpg"] == uploaded


def test_normalize_rows_scales_to_unit_length_and_keeps_zero_rows() -> None:
    matrix = np.array([[3.0, 4.0], [0.0, 0.0], [-0.5, 0.0], [1e-30, 0.0]], np.float32)
    unit = normalize_rows(matrix)
    assert unit.dtype == np.float32
    assert unit.tolist() == [[0.6000000238418579, 0.800000011920929], [0, 0], [-1, 0], [1, 0]]


def test_a_file_that_cannot_be_fetched_is_one_corrupt_item_not_the_end_of_the_scan() -> None:
    """A file server answering 404 for one file (its reader raises an OSError)."""

    def missing() -> bytes:
        raise urllib.error.HTTPError("http://files/gone.jpg", 404, "Not Found", Message(), None)

    scan = scan_images([("gone.jpg", missing), ("ok.jpg", lambda: jpeg((0, 90, 0), size=48))])
    assert scan.filenames == ["ok.jpg"]
    assert scan.corrupt == {"gone.jpg": "cannot read file: HTTP Error 404: Not Found"}
