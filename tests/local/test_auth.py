"""Auth and signed URLs: no token, wrong token, another user's dataset, forged URLs."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from runner.local.blobs import BlobStore
from tests.local.conftest import Api


def test_no_token_is_401_and_a_wrong_token_403(client: object, user_a: str) -> None:
    bare = Api(client, None)  # type: ignore[arg-type]
    response = bare.get("/v1/datasets")
    assert response.status_code == 401 and response.get_json()["code"] == "UNAUTHORIZED"
    wrong = Api(client, "not-a-token")  # type: ignore[arg-type]
    assert wrong.get("/v1/datasets").status_code == 403
    assert wrong.post("/v1/datasets", json={"name": "sneaky"}).status_code == 403
    header = bare.get("/v1/datasets", headers={"Authorization": f"Bearer {user_a}"})
    assert header.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"name": "hijacked"}),
        ("DELETE", "", None),
        ("GET", "/mappings?field=fileName", None),
        ("POST", "/samples", {"fileName": "intruder.jpg"}),
        ("GET", "/tags", None),
        ("POST", "/tags/initial", {"imgType": "full"}),
        ("PUT", "/datasource", {"type": "LOCAL", "fullPath": "/", "purpose": "INPUT_OUTPUT"}),
        ("GET", "/embeddings/writeCSVUrl?name=x", None),
        ("PUT", "/datasource/processedUntilTimestamp", {"processedUntilTimestamp": 5}),
    ],
)
def test_another_users_dataset_is_unknown_and_unchanged(
    api: Api,
    api_b: Api,
    make_dataset: Callable[..., str],
    stored: Callable[[], str],
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    dataset_id = make_dataset("private", 2)
    before = stored()
    response = api_b.call(method, f"/v1/datasets/{dataset_id}{path}", json=body)
    assert response.status_code == 404
    assert response.get_json()["code"] == "DATASET_UNKNOWN"
    assert dataset_id in response.get_json()["error"]
    assert stored() == before
    assert api_b.get("/v1/datasets").get_json() == []
    assert api_b.get("/v1/datasets/query/name/private", query={"exact": "True"}).get_json() == []


def _blob_url(api: Api, make_dataset: Callable[..., str]) -> str:
    dataset_id = make_dataset("signed", 1)
    d = f"/v1/datasets/{dataset_id}"
    sample_id = api.get(f"{d}/mappings", query={"field": "_id"}).get_json()[0]
    url: str = api.get(
        f"{d}/samples/{sample_id}/writeurl", query={"isThumbnail": "False"}
    ).get_json()
    return url.removeprefix("http://localhost")


def _tamper(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts.path + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_forged_signed_urls_are_refused_and_store_nothing(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str], app: Flask
) -> None:
    url = _blob_url(api, make_dataset)
    before = stored()
    forged = [
        _tamper(url, sig="0" * 64),
        _tamper(url, expires="9999999999"),
        _tamper(url, method="GET"),
        url.replace("/full.jpg", "/other.jpg"),
        url.split("?")[0],
    ]
    for bad in forged:
        response = api.client.put(bad, data=b"evil")
        assert response.status_code == 403, bad
        assert response.get_json()["code"] == "FORBIDDEN"
    assert stored() == before
    assert api.client.get(url).status_code == 403  # a PUT URL does not read
    blobs: BlobStore = app.extensions["lightly_blobs"]
    key = url.split("?")[0].removeprefix("/blobs/")
    expired = blobs.signed_url("http://localhost", key, method="PUT", expires_in=-5)
    response = api.client.put(expired.removeprefix("http://localhost"), data=b"late")
    assert response.status_code == 403 and "expired" in response.get_json()["error"]
    assert stored() == before
    assert api.client.put(url, data=b"fine").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "expires=%C2%B2&sig=abc",  # "²".isdigit() is True, int("²") fails
        "expires=123&sig=%C3%A9",  # compare_digest refuses non-ASCII str
        f"expires={'9' * 5000}&sig=abc",  # int() refuses > 4300 digits
        "expires=-5&sig=abc",
        "expires=123&sig=",
    ],
)
def test_malformed_signatures_are_a_403(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str], query: str
) -> None:
    path = _blob_url(api, make_dataset).split("?")[0]
    before = stored()
    for response in (
        api.client.get(f"{path}?{query}"),
        api.client.put(f"{path}?{query}", data=b"x"),
    ):
        assert response.status_code == 403
        assert response.get_json()["code"] == "FORBIDDEN"
    assert stored() == before
