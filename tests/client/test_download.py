"""Wire contract of download_dataset (CONTRACT §8.2) and its path safety."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import responses
from PIL import Image

from runner.client import ApiWorkflowClient, NotFound
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers
from tests.fakes import RecordingBars

D = f"/v1/datasets/{DATASET_ID}"
BLOBS = "https://blobs.test"
IDS = ["1" * 24, "2" * 24, "3" * 24]


def png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), color).save(buffer, format="PNG")
    return buffer.getvalue()


def add_dataset(
    mocked: responses.RequestsMock,
    filenames: list[str],
    *,
    mask: str = "0x5",
    img_type: str = "full",
) -> None:
    mocked.get(
        f"{SERVER}{D}", json={"id": DATASET_ID, "name": "ds", "type": "Images", "imgType": img_type}
    )
    tag = {"id": "9" * 24, "name": "picked", "bitMaskData": mask, "prevTagId": None, "totSize": 3}
    mocked.get(f"{SERVER}{D}/tags", json=[tag])
    mocked.get(
        f"{SERVER}{D}/mappings",
        json=IDS,
        match=[responses.matchers.query_param_matcher({"field": "_id"}, strict_match=False)],
    )
    mocked.get(
        f"{SERVER}{D}/mappings",
        json=filenames,
        match=[responses.matchers.query_param_matcher({"field": "fileName"}, strict_match=False)],
    )


@covers("download_dataset")
def test_download_dataset_writes_the_tag_images(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_dataset(mocked, ["a.png", "skip.png", "sub/c.png"])
    for i, sample in enumerate(IDS):
        mocked.get(f"{SERVER}{D}/samples/{sample}/readurl", json=f"{BLOBS}/{i}?sig=x")
        mocked.get(f"{BLOBS}/{i}", body=png((i * 100, 0, 0)))

    assert client.download_dataset(str(tmp_path), tag_name="picked", max_workers=1) is None

    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "a.png",
        "sub",
        "sub/c.png",
    ]
    assert (tmp_path / "sub/c.png").read_bytes() == png((200, 0, 0))  # bytes kept exactly
    calls = mocked.calls
    assert_call(calls[0], "GET", D)
    assert_call(calls[1], "GET", f"{D}/tags")
    assert_call(calls[2], "GET", f"{D}/mappings", [("field", "_id")])
    assert_call(calls[3], "GET", f"{D}/mappings", [("field", "fileName")])
    assert_call(calls[4], "GET", f"{D}/samples/{IDS[0]}/readurl", [("type", "full")])
    assert_call(calls[5], "GET", "/0", [("sig", "x")], authenticated=False)
    assert_call(calls[6], "GET", f"{D}/samples/{IDS[2]}/readurl", [("type", "full")])
    assert len(calls) == 8


def test_download_dataset_without_full_images_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_dataset(mocked, ["a.png", "b.png", "c.png"], img_type="thumbnail")
    with pytest.raises(ValueError) as info:
        client.download_dataset(str(tmp_path))
    assert str(info.value) == (
        f"Dataset with id {DATASET_ID} has no downloadable images! Its images were uploaded "
        "as thumbnails only; only upload_dataset(mode='full') keeps the originals."
    )


def test_download_dataset_unknown_tag_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_dataset(mocked, ["a.png", "b.png", "c.png"])
    with pytest.raises(ValueError, match="has no tag initial-tag!"):
        client.download_dataset(str(tmp_path))


def test_download_dataset_unknown_dataset_is_not_found(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.get(f"{SERVER}{D}", status=404, json={"code": "DATASET_UNKNOWN", "error": "gone"})
    with pytest.raises(NotFound):
        client.download_dataset(str(tmp_path))


@pytest.mark.parametrize(
    "hostile",
    [
        "../escape.png",
        "sub/../../escape.png",
        "/etc/passwd",
        "C:/Windows/x.png",
        "c:x.png",
        "..\\escape.png",
        "sub\\..\\..\\x.png",
        "./a.png",
        "a\x00.png",
        "",
    ],
)
def test_download_dataset_refuses_hostile_filenames_before_writing(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path, hostile: str
) -> None:
    out = tmp_path / "out"
    add_dataset(mocked, ["fine.png", "other.png", hostile])
    with pytest.raises(ValueError, match="refusing to write file") as info:
        client.download_dataset(str(out), tag_name="picked")
    assert repr(hostile) in str(info.value)
    assert not any(tmp_path.rglob("*.png"))
    assert not any("readurl" in c.request.url for c in mocked.calls)


def test_download_dataset_refuses_a_symlink_out_of_output_dir(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "link").symlink_to(outside, target_is_directory=True)
    add_dataset(mocked, ["fine.png", "x.png", "link/evil.png"])
    with pytest.raises(ValueError, match="resolves outside"):
        client.download_dataset(str(out), tag_name="picked")


def test_download_dataset_failed_image_warns_and_leaves_no_file(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_dataset(mocked, ["a.png", "b.png", "c.png"], mask="0x7")
    mocked.get(f"{SERVER}{D}/samples/{IDS[0]}/readurl", json=f"{BLOBS}/0")
    mocked.get(f"{BLOBS}/0", body=b"<html>not an image</html>")
    mocked.get(f"{SERVER}{D}/samples/{IDS[1]}/readurl", json=f"{BLOBS}/1")
    mocked.get(f"{BLOBS}/1", body=png((0, 0, 0)))
    mocked.get(f"{SERVER}{D}/samples/{IDS[2]}/readurl", json=f"{BLOBS}/2")
    mocked.get(f"{BLOBS}/2", status=404, body="NoSuchKey")

    with pytest.warns(UserWarning) as record:
        client.download_dataset(str(tmp_path), tag_name="picked")

    messages = sorted(str(w.message) for w in record)
    assert messages[0].startswith(
        f"Download of image {tmp_path / 'a.png'} failed with error cannot identify image file"
    )
    assert messages[1].startswith(
        f"Download of image {tmp_path / 'c.png'} failed with error GET https://blobs.test/2 failed with HTTP 404"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["b.png"]  # no partial file of a or c


def test_download_dataset_that_gets_no_image_at_all_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_dataset(mocked, ["a.png", "b.png", "c.png"])
    for i in (0, 2):
        mocked.get(f"{SERVER}{D}/samples/{IDS[i]}/readurl", json=f"{BLOBS}/{i}")
        mocked.get(f"{BLOBS}/{i}", status=403, body="AccessDenied")
    with pytest.raises(RuntimeError) as info:
        client.download_dataset(str(tmp_path), tag_name="picked")
    assert str(info.value).startswith(
        f"None of the 2 images could be downloaded; e.g. {tmp_path / 'a.png'}: GET "
    )


def test_download_dataset_into_a_file_raises_before_any_request(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    (tmp_path / "out").write_text("a file")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        client.download_dataset(str(tmp_path / "out"))
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(("verbose", "expected_bars"), [(True, 1), (False, 0)])
def test_download_dataset_progress_follows_verbose(
    mocked: responses.RequestsMock, tmp_path: Path, verbose: bool, expected_bars: int
) -> None:
    bars = RecordingBars()
    client = ApiWorkflowClient(
        token="t", dataset_id=DATASET_ID, server_location=SERVER, progress=bars
    )
    add_dataset(mocked, ["a.png", "skip.png", "c.png"])
    for i, sample in enumerate(IDS):
        mocked.get(f"{SERVER}{D}/samples/{sample}/readurl", json=f"{BLOBS}/{i}?sig=x")
        mocked.get(f"{BLOBS}/{i}", body=png((i * 100, 0, 0)))

    client.download_dataset(str(tmp_path), tag_name="picked", max_workers=1, verbose=verbose)

    expected = {"total": 2, "desc": "download", "unit": "img", "n": 2, "closed": True}
    assert bars.bars == [expected] * expected_bars
