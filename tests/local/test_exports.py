"""Exports of a tag to labeling tools: rows in sample order, query options checked alike."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from runner.local.blobs import DEFAULT_EXPIRY_S, LONG_LIVED_S, MAX_EXPIRY_S
from tests.local.conftest import SAMPLE_DATA, Api, assert_model, strict_json

ENDPOINTS = [
    "basic/filenames",
    "basic/filenamesAndReadUrls",
    "LabelStudio/tasks",
    "LabelBox/datarows",
    "LabelBoxV4/datarows",
    "Sama/tasks",
]
#: where each JSON export puts a row's read URL
READ_URLS: dict[str, Callable[[dict[str, Any]], str]] = {
    "basic/filenamesAndReadUrls": lambda row: row["readUrl"],
    "LabelStudio/tasks": lambda row: row["data"]["image"],
    "LabelBox/datarows": lambda row: row["imageUrl"],
    "LabelBoxV4/datarows": lambda row: row["row_data"],
    "Sama/tasks": lambda row: row["data"]["image"],
}


def _path(url: str) -> str:
    """The path and query of a URL the server made (its public URL is http://localhost)."""
    assert url.startswith("http://localhost/"), url
    return url.removeprefix("http://localhost")


def _query(url: str) -> dict[str, str]:
    return {key: value for key, [value] in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def export(api: Api, make_dataset: Callable[..., str]) -> str:
    """The export path prefix of the initial tag of a 2-sample dataset."""
    d = f"/v1/datasets/{make_dataset('exported', 2)}"
    return f"{d}/tags/{api.get(f'{d}/tags').get_json()[0]['id']}/export"


def test_sama_tasks_have_the_model_s_shape(api: Api, export: str) -> None:
    rows = strict_json(api.get(f"{export}/Sama/tasks"))
    assert [sorted(r) for r in rows] == [["data"], ["data"]]
    assert [r["data"]["id"] for r in rows] == [0, 1]
    assert all(r["data"]["url"] == r["data"]["image"] for r in rows)
    assert [r["data"]["lightlyFileName"] for r in rows] == ["img-000.jpg", "img-001.jpg"]
    with_meta = strict_json(api.get(f"{export}/Sama/tasks", query={"includeMetaData": "true"}))
    assert json.loads(with_meta[0]["data"]["lightlyMetaInfo"])["fileName"] == "img-000.jpg"


def test_filenames_and_rows(api: Api, export: str) -> None:
    names = api.get(f"{export}/basic/filenames", query={"format": "PLAIN", "expiresIn": 60})
    assert names.status_code == 200 and names.mimetype == "text/plain"
    assert names.get_data(as_text=True) == "img-000.jpg\nimg-001.jpg"
    rows = strict_json(api.get(f"{export}/LabelStudio/tasks", query={"expiresIn": 60}))
    assert [r["data"]["lightlyFileName"] for r in rows] == ["img-000.jpg", "img-001.jpg"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"expiresIn": "-5"}, "expiresIn"),
        ({"expiresIn": "abc"}, "expiresIn"),
        ({"format": "XML"}, "format"),
        ({"includeMetaData": "maybe"}, "includeMetaData"),
        ({"previewExample": "2"}, "previewExample"),
    ],
)
def test_bad_options_are_a_400_on_every_export(
    api: Api, export: str, endpoint: str, query: dict[str, str], name: str
) -> None:
    response = api.get(f"{export}/{endpoint}", query=query)
    assert response.status_code == 400
    assert response.get_json()["code"] == "BAD_REQUEST" and name in response.get_json()["error"]


def test_redirected_read_urls_do_not_expire_and_redirect_to_a_fresh_signed_url(
    api: Api, export: str
) -> None:
    """CONTRACT §8.6: REDIRECTED_READ_URL = a non-expiring URL that redirects to the file,
    with a publicToken as the platform's readurlRedirect (no API token in an export)."""
    dataset = export.split("/tags/")[0]
    sample_ids = api.get(f"{dataset}/mappings", query={"field": "_id"}).get_json()
    write = api.get(f"{dataset}/samples/{sample_ids[0]}/writeurl", query={"isThumbnail": "False"})
    assert api.client.put(_path(write.get_json()), data=b"\xff\xd8image").status_code == 200
    text = api.get(f"{export}/basic/filenames", query={"fileNameFormat": "REDIRECTED_READ_URL"})
    assert text.status_code == 200 and text.mimetype == "text/plain"
    urls = text.get_data(as_text=True).split("\n")
    assert [urlsplit(u).path for u in urls] == [
        f"{dataset}/samples/{s}/readurlRedirect" for s in sample_ids
    ]
    assert all(set(_query(u)) == {"publicToken"} for u in urls)  # no expiry, no API token

    redirect = api.client.get(_path(urls[0]))
    assert redirect.status_code in (302, 307)
    target = redirect.headers["Location"]
    assert urlsplit(target).path.startswith("/blobs/")
    assert int(_query(target)["expires"]) >= time.time() + DEFAULT_EXPIRY_S - 60
    assert api.client.get(_path(target)).data == b"\xff\xd8image"

    token = _query(urls[0])["publicToken"]
    tampered = token[:-1] + ("1" if token.endswith("0") else "0")
    other_sample = urlsplit(urls[1]).path
    for path, status in [
        (f"{urlsplit(urls[0]).path}?publicToken={tampered}", 403),
        (f"{other_sample}?publicToken={token}", 403),  # issued for another path
        (f"{dataset}/samples?publicToken={token}", 401),  # only readurlRedirect takes one
        (urlsplit(urls[0]).path, 401),
    ]:
        assert api.client.get(path).status_code == status, path


@pytest.mark.parametrize("endpoint", sorted(READ_URLS))
def test_read_urls_in_exports_last_unlimited_unless_expires_in_is_given(
    api: Api, export: str, endpoint: str
) -> None:
    """CONTRACT §8.6: expiresIn, "default unlimited" (a signed URL needs an expiry: ten years)."""
    now = time.time()
    for query, low, high in [
        ({}, now + LONG_LIVED_S - 60, now + LONG_LIVED_S + 60),
        ({"expiresIn": 60}, now, now + 120),
        # a lifetime no URL could carry: the longest one instead, not a URL refused forever
        ({"expiresIn": 10**18 - 1}, now + MAX_EXPIRY_S - 60, now + MAX_EXPIRY_S + 60),
    ]:
        rows = strict_json(api.get(f"{export}/{endpoint}", query=query))
        expiries = [int(_query(READ_URLS[endpoint](row))["expires"]) for row in rows]
        assert len(expiries) == 2 and all(low <= e <= high for e in expiries), (query, expiries)


def test_label_studio_tasks_include_the_sample_data_when_asked(api: Api, export: str) -> None:
    """CONTRACT §8.6 / MODELS.md LabelStudioTaskData: lightlyMetaInfo = SampleData."""
    dataset = export.split("/tags/")[0]
    samples = strict_json(api.get(f"{dataset}/samples"))
    tasks = strict_json(api.get(f"{export}/LabelStudio/tasks", query={"includeMetaData": "True"}))
    assert [t["data"]["lightlyMetaInfo"] for t in tasks] == samples
    for task in tasks:
        assert set(task["data"]) == {"image", "lightlyFileName", "lightlyMetaInfo"}
        assert_model(task["data"]["lightlyMetaInfo"], SAMPLE_DATA)
    for query in ({}, {"includeMetaData": "False"}):
        plain = strict_json(api.get(f"{export}/LabelStudio/tasks", query=query))
        assert all(set(t["data"]) == {"image", "lightlyFileName"} for t in plain)


def test_filenames_stay_text_plain_with_format_json(api: Api, export: str) -> None:
    """The catalogue (§9) answers this endpoint text/plain and §10.14 says to serve it so;
    no JSON shape is specified for format=JSON, so it changes nothing."""
    plain = api.get(f"{export}/basic/filenames", query={"format": "PLAIN"})
    as_json = api.get(f"{export}/basic/filenames", query={"format": "JSON"})
    assert as_json.status_code == 200 and as_json.mimetype == "text/plain"
    assert as_json.get_data(as_text=True) == plain.get_data(as_text=True)
