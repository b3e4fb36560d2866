"""Wire contract of sample uploads (CONTRACT §4, §8.1, §3.4, §2.9)."""

from __future__ import annotations

import io
import json
import re
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from PIL import Image

from runner.client import ApiError, ApiWorkflowClient
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, TOKEN, assert_call, body_of, covers, query_of
from tests.fakes import RecordingBars

D = f"/v1/datasets/{DATASET_ID}"
BLOBS = "https://blobs.test"
SAMPLE = "5" * 24


def with_write_urls(sample: str = SAMPLE, full: str = "full", thumb: str = "thumb") -> Any:
    urls = {"full": f"{BLOBS}/{full}?sig=2", "thumb": f"{BLOBS}/{thumb}?sig=1"}
    return {"id": sample, "sampleWriteUrls": urls}


def make_images(folder: Path, names: list[str], size: tuple[int, int] = (300, 200)) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (200, 100, 50)).save(path)


def add_preamble(
    mocked: responses.RequestsMock,
    *,
    tags: list[Any],
    on_server: list[str],
    quota: str = "25000",
    datasource: dict[str, Any] | None = None,
) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=tags)
    partial = [{"id": f"{i:024x}", "fileName": n} for i, n in enumerate(on_server)]
    mocked.get(f"{SERVER}{D}/samples/partial", json=partial)
    mocked.get(f"{SERVER}/v1/quota", json=quota)
    if datasource is None:
        mocked.get(
            f"{SERVER}{D}/datasource",
            status=404,
            json={"code": "DATASET_DATASOURCE_UNKNOWN", "error": "none"},
        )
    else:
        mocked.get(f"{SERVER}{D}/datasource", json=datasource)
    mocked.put(f"{SERVER}{D}/registerDatasetUpload", body="")


def requests_to(mocked: responses.RequestsMock, method: str, pattern: str) -> list[Any]:
    return [
        c
        for c in mocked.calls
        if c.request.method == method and re.search(pattern, c.request.url.split("?")[0])
    ]


@covers("upload_dataset")
def test_upload_dataset_thumbnails(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["old.jpg", "sub/new.1.png"])
    add_preamble(mocked, tags=[], on_server=["old.jpg"])
    mocked.post(f"{SERVER}{D}/samples/withWriteUrls", status=201, json=with_write_urls())
    mocked.put(f"{BLOBS}/thumb", body="")
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})

    assert client.upload_dataset(str(tmp_path), max_workers=1) is None

    calls = mocked.calls
    assert_call(calls[0], "GET", f"{D}/tags")
    assert_call(calls[1], "GET", f"{D}/samples/partial", [("mode", "fileNames")])
    assert_call(calls[2], "GET", "/v1/quota")
    assert_call(calls[3], "GET", f"{D}/datasource")
    job = {"total": 2, "processed": 1, "uploadMethod": "USER_PIP", "isRegistered": True}
    assert_call(calls[4], "PUT", f"{D}/registerDatasetUpload", body=job)
    # one request creates the sample and returns its write URLs (1.4.10: two, §8.1 c-d)
    assert_call(calls[5], "POST", f"{D}/samples/withWriteUrls")
    sample = body_of(calls[5])
    assert list(sample) == ["fileName", "thumbName", "exif", "metaData", "customMetaData"]
    assert sample["fileName"] == "sub/new.1.png" and sample["thumbName"] == "sub/new.1_thumb.webp"
    assert sample["customMetaData"] is None and sample["exif"] == {}
    meta = sample["metaData"]
    assert set(meta) == {
        "mean",
        "std",
        "sumOfValues",
        "sumOfSquares",
        "shape",
        "snr",
        "sharpness",
        "sizeInBytes",
    }
    assert (
        meta["shape"] == [200, 300, 3]
        and meta["sizeInBytes"] == (tmp_path / "sub/new.1.png").stat().st_size
    )
    assert (
        meta["mean"] == pytest.approx([200 / 255, 100 / 255, 50 / 255]) and meta["sharpness"] == 0.0
    )
    assert_call(calls[6], "PUT", "/thumb", [("sig", "1")], authenticated=False)
    thumbnail = Image.open(io.BytesIO(calls[6].request.body))
    assert thumbnail.format == "WEBP" and thumbnail.size == (128, 85)
    assert "Content-Type" not in calls[6].request.headers
    assert_call(
        calls[7], "POST", f"{D}/tags/initial", body={"imgType": "thumbnail", "creator": "USER_PIP"}
    )
    assert len(calls) == 8


@pytest.mark.parametrize("refusal", [404, 405])
@pytest.mark.parametrize("page", [False, True], ids=["json", "html page"])
def test_upload_dataset_on_a_server_without_with_write_urls_fetches_the_urls_separately(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
    refusal: int,
    page: bool,
) -> None:
    """Flask's and Express's unknown-route answers are HTML pages."""
    make_images(tmp_path, ["a.jpg", "b.jpg"])
    add_preamble(mocked, tags=[], on_server=[])
    if page:
        html = "<!doctype html><html><title>404 Not Found</title><h1>Not Found</h1></html>"
        mocked.post(
            f"{SERVER}{D}/samples/withWriteUrls",
            status=refusal,
            body=html,
            content_type="text/html",
        )
    else:
        mocked.post(
            f"{SERVER}{D}/samples/withWriteUrls",
            status=refusal,
            json={"code": "NOT_FOUND", "error": "no such route"},
        )
    for i, sample in enumerate((SAMPLE, "9" * 24)):
        mocked.post(f"{SERVER}{D}/samples", status=201, json={"id": sample})
        mocked.get(f"{SERVER}{D}/samples/{sample}/writeurl", json=f"{BLOBS}/thumb{i}?sig=1")
        mocked.put(f"{BLOBS}/thumb{i}", body="")
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})

    client.upload_dataset(str(tmp_path), max_workers=1)

    # asked once; then the 1.4.10 sequence (§8.1 c-d) for every image, the first included
    assert len(requests_to(mocked, "POST", "/samples/withWriteUrls$")) == 1
    per_image = [(c.request.method, c.request.url.split("?")[0]) for c in mocked.calls[6:-1]]
    assert per_image == [
        ("POST", f"{SERVER}{D}/samples"),
        ("GET", f"{SERVER}{D}/samples/{SAMPLE}/writeurl"),
        ("PUT", f"{BLOBS}/thumb0"),
        ("POST", f"{SERVER}{D}/samples"),
        ("GET", f"{SERVER}{D}/samples/{'9' * 24}/writeurl"),
        ("PUT", f"{BLOBS}/thumb1"),
    ]
    assert body_of(mocked.calls[6]) == body_of(mocked.calls[5])


def test_upload_dataset_full_mode_on_azure_upsizes(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["a.jpg"])
    add_preamble(
        mocked,
        tags=[{"id": "7" * 24}],
        on_server=[],
        datasource={"type": "AZURE", "fullPath": "c/d"},
    )
    mocked.post(f"{SERVER}{D}/samples/withWriteUrls", status=201, json=with_write_urls())
    mocked.put(f"{BLOBS}/thumb", body="")
    mocked.put(f"{BLOBS}/full", body="")
    mocked.post(f"{SERVER}{D}/tags/upsize", status=201, json={"id": "8" * 24})

    client.upload_dataset(tmp_path, mode="full")

    assert_call(mocked.calls[5], "POST", f"{D}/samples/withWriteUrls")
    assert_call(mocked.calls[6], "PUT", "/thumb", [("sig", "1")], authenticated=False)
    assert_call(mocked.calls[7], "PUT", "/full", [("sig", "2")], authenticated=False)
    full = requests_to(mocked, "PUT", "/full")[0].request
    assert full.body == (tmp_path / "a.jpg").read_bytes()
    size = str(len(full.body))
    assert (
        full.headers["x-ms-blob-type"] == "BlockBlob"
        and full.headers["x-ms-original-content-length"] == size
    )
    assert len(requests_to(mocked, "PUT", "/thumb")) == 1
    upsize = body_of(mocked.calls[-1])
    assert_call(mocked.calls[-1], "POST", f"{D}/tags/upsize")
    assert (
        list(upsize) == ["upsizeTagName", "upsizeTagCreator"]
        and upsize["upsizeTagCreator"] == "USER_PIP"
    )
    assert re.fullmatch(r"\d{8}_\d{2}h\d{2}m\d{2}s", upsize["upsizeTagName"])


def test_upload_dataset_full_mode_without_with_write_urls_gets_both_urls_at_once(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["a.jpg"])
    add_preamble(mocked, tags=[], on_server=[])
    mocked.post(f"{SERVER}{D}/samples/withWriteUrls", status=404, body="")
    mocked.post(f"{SERVER}{D}/samples", status=201, json={"id": SAMPLE})
    urls = with_write_urls()["sampleWriteUrls"]
    mocked.get(f"{SERVER}{D}/samples/{SAMPLE}/writeurls", json=urls)
    mocked.put(f"{BLOBS}/thumb", body="")
    mocked.put(f"{BLOBS}/full", body="")
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})

    client.upload_dataset(tmp_path, mode="full")

    assert_call(mocked.calls[7], "GET", f"{D}/samples/{SAMPLE}/writeurls")
    assert requests_to(mocked, "PUT", "/full")[0].request.body == (tmp_path / "a.jpg").read_bytes()
    assert len(requests_to(mocked, "PUT", "/thumb")) == 1


def test_upload_dataset_metadata_mode_with_custom_metadata(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_images(tmp_path, ["a.jpg", "b.jpg"])
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    add_preamble(mocked, tags=[], on_server=[])
    mocked.post(f"{SERVER}{D}/samples", status=201, json={"id": SAMPLE})
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})
    custom = {
        "images": [{"file_name": "a.jpg", "id": 1}],
        "metadata": [{"image_id": 1, "weather": "rain"}],
    }

    with caplog.at_level("WARNING", logger="runner.client"):
        client.upload_dataset(str(tmp_path), mode="metadata", custom_metadata=custom, max_workers=1)
    assert [r.getMessage() for r in caplog.records] == [
        "1 of 3 images cannot be read as images (corrupt or truncated): uploaded with their "
        "file size only, no thumbnail or metadata: broken.jpg"
    ]

    samples = {body_of(c)["fileName"]: body_of(c) for c in requests_to(mocked, "POST", "/samples$")}
    assert samples["a.jpg"]["customMetaData"] == {"image_id": 1, "weather": "rain"}
    assert samples["b.jpg"]["customMetaData"] is None
    assert "thumbName" not in samples["a.jpg"]
    assert samples["broken.jpg"] == {
        "fileName": "broken.jpg",
        "metaData": {"sizeInBytes": 12},
        "customMetaData": None,
    }
    assert not requests_to(mocked, "PUT", BLOBS) and not requests_to(mocked, "GET", "writeurl")
    assert body_of(mocked.calls[-1]) == {"imgType": "meta", "creator": "USER_PIP"}


def test_upload_dataset_skips_everything_already_uploaded(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["a.jpg"])
    add_preamble(mocked, tags=[{"id": "7" * 24, "totSize": 1}], on_server=["a.jpg"])
    client.upload_dataset(str(tmp_path))
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "GET", "GET", "PUT"]


EXISTS = {"code": "BAD_REQUEST", "error": "a sample named 'a.jpg' already exists"}


@pytest.mark.parametrize(("mode", "route"), [("thumbnails", "withWriteUrls"), ("metadata", "")])
def test_a_sample_whose_answer_was_lost_gets_its_images_all_the_same(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
    mode: str,
    route: str,
) -> None:
    """The server made the sample, the answer was lost, the retry finds it existing:
    the image was reported failed and left without its thumbnail for good."""
    make_images(tmp_path, ["a.jpg"])
    add_preamble(mocked, tags=[], on_server=[])
    create = f"{SERVER}{D}/samples" + (f"/{route}" if route else "")
    mocked.post(create, body=requests.exceptions.ConnectionError("connection reset"))
    mocked.post(create, status=400, json=EXISTS)
    mocked.get(f"{SERVER}{D}/samples/partial", json=[{"id": SAMPLE, "fileName": "a.jpg"}])
    mocked.get(f"{SERVER}{D}/samples/{SAMPLE}/writeurl", json=f"{BLOBS}/thumb?sig=1")
    mocked.put(f"{BLOBS}/thumb", body="")
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no image reported failed
        client.upload_dataset(str(tmp_path), mode=mode)  # type: ignore[arg-type]
    lookup = requests_to(mocked, "GET", "/samples/partial")[-1]
    assert query_of(lookup) == [
        ("mode", "fileNames"),
        ("fileName", "a.jpg"),
        ("token", TOKEN),
    ]
    assert len(requests_to(mocked, "PUT", "thumb")) == (mode == "thumbnails")


def test_a_sample_refused_for_another_reason_is_still_a_failure(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["a.jpg", "b.jpg"])
    add_preamble(mocked, tags=[], on_server=[])
    mocked.post(f"{SERVER}{D}/samples/withWriteUrls", status=400, json=EXISTS)
    with pytest.raises(RuntimeError, match="None of the 2 images could be uploaded"):
        client.upload_dataset(str(tmp_path))
    # refused at the first attempt: another upload's sample, not one this one made
    assert len(requests_to(mocked, "GET", "/samples/partial")) == 1


def test_upload_dataset_makes_the_upsize_an_earlier_upload_did_not(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """Its upsize failed (or it was cut short): the tags span 1 of the 2 samples."""
    make_images(tmp_path, ["a.jpg", "b.jpg"])
    add_preamble(mocked, tags=[{"id": "7" * 24, "totSize": 1}], on_server=["a.jpg", "b.jpg"])
    mocked.post(f"{SERVER}{D}/tags/upsize", status=201, json={"id": "8" * 24})
    client.upload_dataset(str(tmp_path))
    assert [c.request.method for c in mocked.calls][-1] == "POST"
    assert_call(mocked.calls[-1], "POST", f"{D}/tags/upsize")


def test_upload_dataset_over_quota_raises_before_uploading(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["a.jpg", "b.jpg"])
    add_preamble(mocked, tags=[], on_server=["c.jpg"], quota="2")
    with pytest.raises(ValueError, match="3 samples, more than your quota of 2"):
        client.upload_dataset(str(tmp_path))
    assert all(c.request.method == "GET" for c in mocked.calls)


def test_upload_dataset_partial_failure_warns(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["a.jpg", "b.jpg"])
    add_preamble(mocked, tags=[], on_server=[])
    for i, sample in enumerate((SAMPLE, "9" * 24)):
        created = with_write_urls(sample, thumb=f"thumb{i}")
        mocked.post(f"{SERVER}{D}/samples/withWriteUrls", status=201, json=created)
    mocked.put(f"{BLOBS}/thumb0", status=403, body="expired")  # a.jpg: not retried as such
    # … but once with a freshly signed URL, which the storage refuses too
    fresh = f"{BLOBS}/thumb0-fresh?sig=new"
    mocked.get(f"{SERVER}{D}/samples/{SAMPLE}/writeurl", json=fresh)
    mocked.put(f"{BLOBS}/thumb0-fresh", status=403, body="expired")
    mocked.put(f"{BLOBS}/thumb1", body="")
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})

    with pytest.warns(UserWarning) as record:
        client.upload_dataset(str(tmp_path), max_workers=1)

    messages = [str(w.message) for w in record]
    assert messages[0] == (
        "Upload of image a.jpg failed with error PUT https://blobs.test/thumb0-fresh failed with "
        "HTTP 403: expired; the sample a.jpg exists on the server without its thumbnail, and "
        "uploading again skips files already there"
    )
    assert messages[1] == "1 of 2 images failed to upload; the first failed index is 0 (a.jpg)."
    assert "sig=" not in messages[0] and "tok-secret" not in messages[0]
    assert requests_to(mocked, "POST", "/tags/initial")


def test_upload_dataset_puts_a_refused_blob_once_more_with_a_freshly_signed_url(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["a.jpg"])
    add_preamble(mocked, tags=[], on_server=[])
    mocked.post(f"{SERVER}{D}/samples/withWriteUrls", status=201, json=with_write_urls(SAMPLE))
    mocked.put(f"{BLOBS}/thumb", status=403, body="Request has expired")
    mocked.get(f"{SERVER}{D}/samples/{SAMPLE}/writeurl", json=f"{BLOBS}/fresh?sig=2")
    mocked.put(f"{BLOBS}/fresh", body="")
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the image is stored
        client.upload_dataset(str(tmp_path), max_workers=1)
    (refetch,) = requests_to(mocked, "GET", "/writeurl")
    assert query_of(refetch) == [("isThumbnail", "True"), ("token", TOKEN)]
    puts = [c.request.url.split("?")[0] for c in mocked.calls if c.request.method == "PUT"]
    assert [url for url in puts if url.startswith(BLOBS)] == [f"{BLOBS}/thumb", f"{BLOBS}/fresh"]


def test_upload_dataset_all_failed_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["a.jpg", "b.jpg"])
    add_preamble(mocked, tags=[], on_server=[])
    mocked.post(
        f"{SERVER}{D}/samples/withWriteUrls",
        status=400,
        json={"code": "BAD_REQUEST", "error": "invalid"},
    )
    with pytest.raises(
        RuntimeError,
        match=r"None of the 2 images could be uploaded; e\.g\. a\.jpg: POST .*BAD_REQUEST",
    ):
        client.upload_dataset(str(tmp_path), max_workers=2)
    assert not requests_to(mocked, "POST", "/tags/")
    assert not requests_to(mocked, "POST", "/samples$")  # only 404/405 mean 'no such route'


def test_upload_dataset_accepts_a_dataset_object(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    make_images(tmp_path, ["x/one.jpg"])

    class Dataset:
        def get_filenames(self) -> list[str]:
            return ["x/one.jpg"]

        def get_filepath_from_filename(self, filename: str, image: object = None) -> str:
            return str(tmp_path / filename)

    add_preamble(mocked, tags=[], on_server=[])
    mocked.post(f"{SERVER}{D}/samples", status=201, json={"id": SAMPLE})
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})
    client.upload_dataset(Dataset(), mode="metadata")
    assert body_of(requests_to(mocked, "POST", "/samples$")[0])["fileName"] == "x/one.jpg"


def test_upload_dataset_gets_each_path_with_the_datasets_image(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """Like a LightlyDataset of video frames: a frame has a file only once it is saved."""

    class Frames:
        names = ["clip-000.png", "clip-001.png"]

        def __len__(self) -> int:
            return len(self.names)

        def __getitem__(self, index: int) -> tuple[Image.Image, int, str]:
            return Image.new("RGB", (8, 8), (index * 200, 0, 0)), 0, self.names[index]

        def get_filenames(self) -> list[str]:
            return self.names

        def get_filepath_from_filename(self, filename: str, image: Any = None) -> str:
            if image is None:  # as LightlyDataset: a frame has no file to return
                raise ValueError("The parameter image must not be None for VideoDatasets")
            image.save(tmp_path / filename)
            return str(tmp_path / filename)

    add_preamble(mocked, tags=[], on_server=[])
    mocked.post(f"{SERVER}{D}/samples", status=201, json={"id": SAMPLE})
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})
    client.upload_dataset(Frames(), mode="metadata", max_workers=1)
    bodies = [body_of(call) for call in requests_to(mocked, "POST", "/samples$")]
    assert [b["fileName"] for b in bodies] == Frames.names
    assert [b["metaData"]["mean"][0] for b in bodies] == [0.0, pytest.approx(200 / 255)]


def test_upload_dataset_reads_a_datasets_files_without_indexing_it(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """dataset[i] decodes (and transforms) the image: not done for an image with a file."""
    make_images(tmp_path, ["one.jpg"])

    class Files(list[tuple[object, int]]):  # indexable, but not (image, label, filename)
        def get_filenames(self) -> list[str]:
            return ["one.jpg"]

        def get_filepath_from_filename(self, filename: str, image: object = None) -> str:
            return str(tmp_path / filename)

    add_preamble(mocked, tags=[], on_server=[])
    mocked.post(f"{SERVER}{D}/samples", status=201, json={"id": SAMPLE})
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})
    client.upload_dataset(Files([(None, 0)]), mode="metadata")
    assert body_of(requests_to(mocked, "POST", "/samples$")[0])["fileName"] == "one.jpg"


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda p: str(p / "missing"), "is not a folder"),
        (lambda p: str(p), "contains no image files"),
        (lambda p: 42, "got int"),
    ],
)
def test_upload_dataset_bad_input_raises_before_any_request(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
    make_input: Any,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        client.upload_dataset(make_input(tmp_path))
    with pytest.raises(ValueError, match="mode must be one of"):
        client.upload_dataset(str(tmp_path), mode="everything")  # type: ignore[arg-type]
    assert len(mocked.calls) == 0


@covers("upload_file_with_signed_url")
def test_upload_file_with_signed_url(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.put(f"{BLOBS}/x", body="")
    response = client.upload_file_with_signed_url(
        io.BytesIO(b"payload"), f"{BLOBS}/x?sig=9", headers={"x-extra": "1"}
    )
    assert response.status_code == 200
    call = mocked.calls[0]
    assert_call(call, "PUT", "/x", [("sig", "9")], authenticated=False)
    assert (
        call.request.headers["x-extra"] == "1"
        and "x-amz-server-side-encryption" not in call.request.headers
    )


def test_upload_file_with_signed_url_through_a_session_and_s3_encryption(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIGHTLY_S3_SSE_KMS_KEY", "my-key")
    url = "https://bucket.s3.eu-1.amazonaws.com/x?X-Amz-Signature=abc"
    mocked.put("https://bucket.s3.eu-1.amazonaws.com/x", body="")
    client.upload_file_with_signed_url(b"data", url, session=requests.Session())
    headers = mocked.calls[0].request.headers
    assert headers["x-amz-server-side-encryption"] == "aws:kms"
    assert headers["x-amz-server-side-encryption-aws-kms-key-id"] == "my-key"
    monkeypatch.setenv("LIGHTLY_S3_SSE_KMS_KEY", "TRUE")
    client.upload_file_with_signed_url(b"data", url)
    assert mocked.calls[1].request.headers["x-amz-server-side-encryption"] == "AES256"


def test_upload_file_with_signed_url_error_hides_the_signature(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.put(f"{BLOBS}/x", status=403, body="<Error>SignatureDoesNotMatch</Error>")
    with pytest.raises(ApiError) as info:
        client.upload_file_with_signed_url(
            b"data", f"{BLOBS}/x?sig=secret", session=requests.Session()
        )
    assert info.value.status == 403 and "sig=secret" not in str(info.value)
    with pytest.raises(ApiError) as info:
        client.upload_file_with_signed_url(b"data", f"{BLOBS}/x?sig=secret")
    assert "sig=secret" not in str(info.value) and "SignatureDoesNotMatch" in str(info.value)


def test_upload_progress_goes_to_the_clients_progress_factory(
    mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    bars = RecordingBars()
    client = ApiWorkflowClient(
        token="t", dataset_id=DATASET_ID, server_location=SERVER, progress=bars
    )
    make_images(tmp_path, ["a.png", "b.png", "c.png", "old.png"])
    add_preamble(mocked, tags=[{"id": "7" * 24}], on_server=["old.png"])
    mocked.post(f"{SERVER}{D}/samples/withWriteUrls", status=201, json=with_write_urls())
    mocked.put(f"{BLOBS}/thumb", body="")
    mocked.post(f"{SERVER}{D}/tags/upsize", status=201, json={"id": "6" * 24})

    client.upload_dataset(str(tmp_path), max_workers=2)

    # one bar over the files not yet on the server, advanced once per file, closed
    assert bars.bars == [{"total": 3, "desc": "upload", "unit": "img", "n": 3, "closed": True}]


def test_upload_dataset_stops_at_its_next_request_once_its_stop_event_is_set(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    from runner.client.cancel import OperationCancelled, stop_when

    make_images(tmp_path, [f"{i}.jpg" for i in range(10)], size=(8, 8))
    add_preamble(mocked, tags=[], on_server=[])
    stop = threading.Event()
    created = 0

    def create(request: Any) -> tuple[int, dict[str, str], str]:
        nonlocal created
        created += 1
        if created == 3:
            stop.set()  # as the engine does when the step's time is up
        answer = json.dumps(with_write_urls(f"{created:024x}"))
        return 201, {"Content-Type": "application/json"}, answer

    mocked.add_callback("POST", f"{SERVER}{D}/samples/withWriteUrls", callback=create)
    mocked.put(f"{BLOBS}/thumb", body="")

    with stop_when(stop), pytest.raises(OperationCancelled):
        client.upload_dataset(str(tmp_path), max_workers=1)
    # the third sample was created and still gets its thumbnail (a sample without it
    # would be skipped by the next upload); the other seven images were not sent
    assert created == 3
    assert len(requests_to(mocked, "PUT", "/thumb")) == 3
    assert not requests_to(mocked, "POST", "/tags/")


def test_an_upload_stays_on_its_dataset_when_dataset_id_is_changed_meanwhile(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """Another thread setting dataset_id split an upload between two datasets."""
    make_images(tmp_path, [f"{i}.jpg" for i in range(4)], size=(8, 8))
    add_preamble(mocked, tags=[], on_server=[])

    def create(request: Any) -> tuple[int, dict[str, str], str]:
        client.dataset_id = "f" * 24  # as another thread would, mid-upload
        return 201, {"Content-Type": "application/json"}, json.dumps(with_write_urls())

    mocked.add_callback("POST", f"{SERVER}{D}/samples/withWriteUrls", callback=create)
    mocked.get(f"{SERVER}/v1/datasets/{'f' * 24}", json={"id": "f" * 24})  # the setter's check
    mocked.put(f"{BLOBS}/thumb", body="")
    mocked.post(f"{SERVER}{D}/tags/initial", status=201, json={"id": "6" * 24})
    client.upload_dataset(str(tmp_path), max_workers=2)
    on_ours = [c for c in mocked.calls if c.request.url.startswith(f"{SERVER}{D}/")]
    assert len(requests_to(mocked, "POST", "withWriteUrls")) == 4
    assert not [c for c in mocked.calls if f"/v1/datasets/{'f' * 24}/" in c.request.url]
    assert len(on_ours) == 4 + 4 + 1  # tags, partial, datasource, register; samples; tag
    assert client.dataset_id == "f" * 24  # the change itself stands for what comes next


def test_a_sample_left_half_made_by_a_cancel_is_named(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its thumbnail failed once and the cancel ended the wait for the retry."""
    from runner.client.cancel import OperationCancelled, stop_when

    make_images(tmp_path, ["a.jpg"], size=(8, 8))
    add_preamble(mocked, tags=[], on_server=[])
    stop = threading.Event()

    def create(request: Any) -> tuple[int, dict[str, str], str]:
        stop.set()
        return 201, {"Content-Type": "application/json"}, json.dumps(with_write_urls())

    mocked.add_callback("POST", f"{SERVER}{D}/samples/withWriteUrls", callback=create)
    mocked.put(f"{BLOBS}/thumb", status=503, body="")
    with stop_when(stop), pytest.raises(OperationCancelled):
        client.upload_dataset(str(tmp_path), max_workers=1)
    assert "cancelled while a.jpg was stored: the sample may exist without its images" in (
        caplog.text
    )
