"""Bad input: always a 4xx in the platform's error shape, and nothing stored changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.local.app import ServerConfig, create_app
from tests.local.conftest import TOKEN_A, Api, snapshot

MALFORMED = [b"{", b"[1, 2]", b"null", b'"text"', b"", b'{"name": NaN}', b"\xff\xfe"]

#: (method, path under the dataset, body) of every mutating call with a JSON body
MUTATIONS = [
    ("PUT", "", {"name": "x"}),
    ("POST", "/samples", {"fileName": "a.jpg"}),
    ("POST", "/tags", {"name": "tag", "prevTagId": "0" * 24, "bitMaskData": "0x1", "totSize": 1}),
    ("POST", "/tags/initial", {"imgType": "full"}),
    ("POST", "/tags/upsize", {"upsizeTagName": "up", "upsizeTagCreator": "USER_PIP"}),
    (
        "POST",
        "/tags/arithmetics/bitmask",
        {"tagId1": "0" * 24, "tagId2": "0" * 24, "operation": "UNION"},
    ),
    ("PUT", "/datasource", {"type": "LOCAL", "fullPath": "/tmp", "purpose": "INPUT_OUTPUT"}),
    ("PUT", "/datasource/processedUntilTimestamp", {"processedUntilTimestamp": 1}),
    ("PUT", "/registerDatasetUpload", {"total": 1, "processed": 0}),
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_json_is_a_400(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str], raw: bytes
) -> None:
    dataset_id = make_dataset("malformed", 2)
    before = stored()
    for method, path, _ in [("POST", "/v1/datasets", None)] + [
        (m, f"/v1/datasets/{dataset_id}{p}", None) for m, p, _ in MUTATIONS
    ]:
        response = api.call(method, path, data=raw, content_type="application/json")
        assert response.status_code == 400, (method, path, response.get_json())
        assert set(response.get_json()) == {"code", "error"}
    assert stored() == before


@pytest.mark.parametrize(("method", "path", "body"), MUTATIONS)
def test_wrong_types_are_a_400(
    api: Api,
    make_dataset: Callable[..., str],
    stored: Callable[[], str],
    method: str,
    path: str,
    body: dict[str, object],
) -> None:
    dataset_id = make_dataset("typed", 2, initial_tag=False)
    before = stored()
    for key in body:
        for wrong in (12, True, ["x"], {"a": 1}):
            if (
                isinstance(body[key], int)
                and not isinstance(body[key], bool)
                and isinstance(wrong, int)
                and not isinstance(wrong, bool)
            ):
                continue
            response = api.call(
                method, f"/v1/datasets/{dataset_id}{path}", json={**body, key: wrong}
            )
            assert 400 <= response.status_code < 500, (key, wrong)
            assert response.status_code != 500
    assert stored() == before


@pytest.mark.parametrize(
    "path",
    [
        "/v1/datasets/{z}",
        "/v1/datasets/not-an-id",
        "/v1/datasets/{d}/samples/{z}",
        "/v1/datasets/{d}/samples/x/readurl",
        "/v1/datasets/{d}/tags/{z}",
        "/v1/datasets/{d}/embeddings/{z}/readCSVUrl",
        "/v1/datasets/{d}/tags/{z}/filenames",
        "/v1/datasets/{d}/embeddings/{z}/2d",
    ],
)
def test_unknown_ids_are_a_404(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str], path: str
) -> None:
    dataset_id = make_dataset("ids", 1)
    before = stored()
    response = api.get(path.format(d=dataset_id, z="0" * 24))
    assert response.status_code == 404 and set(response.get_json()) == {"code", "error"}
    assert api.delete(path.format(d=dataset_id, z="0" * 24)).status_code in (404, 405)
    assert stored() == before


def test_oversized_bodies_are_a_413(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    data_dir = tmp_path / "small"
    app = create_app(
        ServerConfig(data_dir=data_dir, public_url="http://localhost", max_body_bytes=2048)
    )
    request.addfinalizer(app.extensions["lightly_store"].close)
    app.extensions["lightly_store"].ensure_user("a@x", TOKEN_A)
    api = Api(app.test_client(), TOKEN_A)
    dataset_id = api.post("/v1/datasets", json={"name": "small"}).get_json()["id"]
    sample_id = api.post(
        f"/v1/datasets/{dataset_id}/samples", json={"fileName": "a.jpg"}
    ).get_json()["id"]
    url = api.get(
        f"/v1/datasets/{dataset_id}/samples/{sample_id}/writeurl", query={"isThumbnail": "False"}
    ).get_json()
    before = snapshot(data_dir)
    big = api.post(
        f"/v1/datasets/{dataset_id}/samples", json={"fileName": "b.jpg", "exif": {"x": "y" * 5000}}
    )
    assert big.status_code == 413 and big.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    blob = api.client.put(url.removeprefix("http://localhost"), data=b"z" * 5000)
    assert blob.status_code == 413
    assert snapshot(data_dir) == before
    assert not list((data_dir / "blobs").rglob(".upload-*"))
    app.extensions["lightly_store"].close()


def test_unknown_routes_and_methods_answer_in_the_error_shape(api: Api) -> None:
    for response in (api.get("/v1/nothing/here"), api.call("PATCH", "/v1/datasets")):
        assert response.status_code in (404, 405)
        assert set(response.get_json()) == {"code", "error"}
