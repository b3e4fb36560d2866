"""Samples: creation, sample order, partial listings, updates and signed image URLs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.local.conftest import SAMPLE_DATA, Api, assert_model

LOCALHOST = "http://localhost"


def _path(url: str) -> str:
    assert url.startswith(LOCALHOST + "/blobs/"), url
    return url.removeprefix(LOCALHOST)


def test_samples_keep_creation_order(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("ordered", 0)
    names = ["b.jpg", "a.jpg", "dir/c.png"]
    ids = []
    for name in names:
        response = api.post(f"/v1/datasets/{dataset_id}/samples", json={"fileName": name})
        assert response.status_code == 201
        ids.append(response.get_json()["id"])
    d = f"/v1/datasets/{dataset_id}"
    assert api.get(f"{d}/mappings", query={"field": "fileName"}).get_json() == names
    assert api.get(f"{d}/mappings", query={"field": "_id"}).get_json() == ids
    assert api.get(f"{d}/mappings", query={"field": "other"}).status_code == 400
    sample = api.get(f"{d}/samples/{ids[2]}").get_json()
    assert_model(sample, SAMPLE_DATA)
    assert sample["index"] == 2 and sample["type"] == "IMAGE" and sample["datasetId"] == dataset_id


def test_sample_create_request_fields_are_stored(
    api: Api, make_dataset: Callable[..., str]
) -> None:
    dataset_id = make_dataset("fields", 0)
    body = {
        "fileName": "x.jpg",
        "thumbName": "x_thumb.webp",
        "exif": {"Make": "Canon"},
        "metaData": {"sizeInBytes": 5, "mean": [0.1, 0.2, 0.3], "shape": [4, 4, 3], "snr": 1.5},
        "customMetaData": None,
    }
    sample_id = api.post(f"/v1/datasets/{dataset_id}/samples", json=body).get_json()["id"]
    sample = api.get(f"/v1/datasets/{dataset_id}/samples/{sample_id}").get_json()
    assert_model(sample, SAMPLE_DATA)
    assert {k: sample[k] for k in body} == body


def test_partial_modes_filter_and_pages(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("partial", 3)
    d = f"/v1/datasets/{dataset_id}/samples"
    ids = api.get(f"{d}/partial", query={"mode": "ids"}).get_json()
    assert all(set(s) == {"id"} for s in ids) and len(ids) == 3
    names = api.get(f"{d}/partial", query={"mode": "fileNames"}).get_json()
    assert [s["fileName"] for s in names] == ["img-000.jpg", "img-001.jpg", "img-002.jpg"]
    assert all(set(s) == {"id", "fileName"} for s in names)
    full = api.get(f"{d}/partial", query={"mode": "full"}).get_json()
    assert all("index" in s for s in full)
    assert api.get(f"{d}/partial", query={"mode": "everything"}).status_code == 400
    one = api.get(d, query={"fileName": "img-001.jpg"}).get_json()
    assert [s["fileName"] for s in one] == ["img-001.jpg"]
    pages = [api.get(d, query={"pageSize": 2, "pageOffset": o}).get_json() for o in (0, 2, 4)]
    assert [len(p) for p in pages] == [2, 1, 0]
    by_id = api.get(d, query={"sortBy": "_id"}).get_json()
    assert [s["id"] for s in by_id] == sorted(s["id"] for s in by_id)


def test_duplicate_file_name_is_refused(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str]
) -> None:
    dataset_id = make_dataset("dupes", 1)
    before = stored()
    response = api.post(f"/v1/datasets/{dataset_id}/samples", json={"fileName": "img-000.jpg"})
    assert response.status_code == 400
    assert "already exists" in response.get_json()["error"]
    assert stored() == before


@pytest.mark.parametrize(
    "name",
    [
        "../escape.jpg",
        "/etc/passwd",
        "a\\b.jpg",
        "a\x00b.jpg",
        "a//b.jpg",
        "./a.jpg",
        "C:/x.jpg",
        "",
    ],
)
def test_path_tricks_in_file_names_are_refused(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str], name: str
) -> None:
    dataset_id = make_dataset("tricks", 0)
    before = stored()
    response = api.post(f"/v1/datasets/{dataset_id}/samples", json={"fileName": name})
    assert response.status_code == 400
    assert response.get_json()["code"] == "SAMPLE_CREATE_REQUEST_INVALID_FORMAT" or name == ""
    assert stored() == before


@pytest.mark.parametrize(
    "meta",
    [
        {"bogus": 1},
        {"mean": [0.1, 0.2]},
        {"mean": [2, 0, 0]},
        {"sizeInBytes": -1},
        {"sizeInBytes": 1.5},
    ],
)
def test_invalid_metadata_is_refused(
    api: Api, make_dataset: Callable[..., str], meta: dict[str, object]
) -> None:
    dataset_id = make_dataset("meta", 0)
    response = api.post(
        f"/v1/datasets/{dataset_id}/samples", json={"fileName": "a.jpg", "metaData": meta}
    )
    assert response.status_code == 400
    assert api.get(f"/v1/datasets/{dataset_id}").get_json()["nSamples"] == 0


def test_put_replaces_given_fields_only(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("updates", 1)
    d = f"/v1/datasets/{dataset_id}"
    sample_id = api.get(f"{d}/mappings", query={"field": "_id"}).get_json()[0]
    custom = {"image_id": 0, "weather": {"scenario": "rain"}}
    assert api.put(f"{d}/samples/{sample_id}", json={"customMetaData": custom}).status_code == 200
    sample = api.get(f"{d}/samples/{sample_id}").get_json()
    assert sample["customMetaData"] == custom and sample["metaData"] == {"sizeInBytes": 10}
    api.put(f"{d}/samples/{sample_id}", json={"customMetaData": {"other": 1}})
    assert api.get(f"{d}/samples/{sample_id}").get_json()["customMetaData"] == {"other": 1}
    api.put(f"{d}/samples/{sample_id}", json={"customMetaData": None})
    assert api.get(f"{d}/samples/{sample_id}").get_json()["customMetaData"] is None
    api.put(f"{d}/samples/{sample_id}", json={"metaData": {"sizeInBytes": 25}})
    assert api.get(d).get_json()["sizeInBytes"] == 25
    assert api.put(f"{d}/samples/{sample_id}", json={"fileName": "../x"}).status_code == 400
    assert api.get(f"{d}/samples/{'0' * 24}").get_json()["code"] == "SAMPLE_UNKNOWN"
    assert api.put(f"{d}/samples/{'0' * 24}", json={"customMetaData": {}}).status_code == 404


def test_signed_write_and_read_urls_round_trip(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("images", 1)
    d = f"/v1/datasets/{dataset_id}"
    sample_id = api.get(f"{d}/mappings", query={"field": "_id"}).get_json()[0]
    urls = api.get(f"{d}/samples/{sample_id}/writeurls").get_json()
    assert set(urls) == {"full", "thumb"}
    assert api.client.put(_path(urls["full"]), data=b"\xff\xd8full").status_code == 200
    thumb = api.get(f"{d}/samples/{sample_id}/writeurl", query={"isThumbnail": "True"}).get_json()
    assert api.client.put(_path(thumb), data=b"thumb", content_type="image/webp").status_code == 200
    full_read = api.get(f"{d}/samples/{sample_id}/readurl", query={"type": "full"}).get_json()
    fetched = api.client.get(_path(full_read))
    assert fetched.data == b"\xff\xd8full" and "Content-Encoding" not in fetched.headers
    thumb_read = api.get(f"{d}/samples/{sample_id}/readurl", query={"type": "thumbnail"}).get_json()
    assert api.client.get(_path(thumb_read)).data == b"thumb"
    redirect = api.get(f"{d}/samples/{sample_id}/readurlRedirect", query={"type": "full"})
    assert redirect.status_code == 302
    assert api.client.get(_path(redirect.headers["Location"])).data == b"\xff\xd8full"
    assert api.get(f"{d}/samples/{sample_id}/writeurl").status_code == 400
    assert api.get(f"{d}/samples/{sample_id}/readurl", query={"type": "big"}).status_code == 400


def test_create_with_write_urls(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("with urls", 0)
    response = api.post(
        f"/v1/datasets/{dataset_id}/samples/withWriteUrls", json={"fileName": "a.png"}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "sampleWriteUrls"} and set(body["sampleWriteUrls"]) == {
        "full",
        "thumb",
    }
    assert api.client.put(_path(body["sampleWriteUrls"]["full"]), data=b"png").status_code == 200


def test_read_url_falls_back_to_the_local_datasource(
    api: Api, make_dataset: Callable[..., str], tmp_path: Path
) -> None:
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    (images / "sub" / "a.jpg").write_bytes(b"from disk")
    dataset_id = make_dataset("local images", 0)
    d = f"/v1/datasets/{dataset_id}"
    api.put(
        f"{d}/datasource",
        json={"type": "LOCAL", "fullPath": str(images), "purpose": "INPUT_OUTPUT"},
    )
    sample_id = api.post(f"{d}/samples", json={"fileName": "sub/a.jpg"}).get_json()["id"]
    url = api.get(f"{d}/samples/{sample_id}/readurl", query={"type": "thumbnail"}).get_json()
    assert api.client.get(_path(url)).data == b"from disk"


@pytest.mark.parametrize(("img_type", "full_image"), [("thumbnail", b"small"), ("full", None)])
def test_a_sample_without_its_image_reads_its_thumbnail_unless_images_are_kept(
    api: Api, make_dataset: Callable[..., str], img_type: str, full_image: bytes | None
) -> None:
    """Uploaded as thumbnails only, the thumbnail is all there is to show. In a dataset of
    full images, a missing image (an upload cut short) must not be downloaded as its
    thumbnail under the image's name."""
    dataset_id = make_dataset("thumbs only", 1, initial_tag=False)
    d = f"/v1/datasets/{dataset_id}"
    api.post(f"{d}/tags/initial", json={"imgType": img_type})
    sample_id = api.get(f"{d}/mappings", query={"field": "_id"}).get_json()[0]
    thumb = api.get(f"{d}/samples/{sample_id}/writeurl", query={"isThumbnail": "True"}).get_json()
    api.client.put(_path(thumb), data=b"small")
    url = api.get(f"{d}/samples/{sample_id}/readurl", query={"type": "full"}).get_json()
    answer = api.client.get(_path(url))
    if full_image is None:
        assert answer.status_code == 404
    else:
        assert answer.data == full_image
    redirect = api.get(f"{d}/samples/{sample_id}/readurlRedirect", query={"type": "full"})
    assert redirect.headers["Location"].split("?")[0].endswith(_path(url).split("?")[0])
    tag = api.get(f"{d}/tags").get_json()[0]["id"]
    task = api.get(f"{d}/tags/{tag}/export/LabelStudio/tasks").get_json()[0]
    exported = api.client.get(_path(task["data"]["image"]))  # the same in exports
    assert (exported.status_code, exported.data) == (answer.status_code, answer.data)
