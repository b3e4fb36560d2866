"""Bad input: always a 4xx in the platform's error shape, and nothing stored changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.local.app import ServerConfig, create_app
from tests.local.conftest import TOKEN_A, Api, snapshot, strict_json

MALFORMED = [b"{", b"[1, 2]", b"null", b'"text"', b"", b'{"name": NaN}', b"\xff\xfe"]

#: (method, path under the dataset, body) of every mutating call with a JSON body
MUTATIONS = [
    ("PUT", "", {"name": "x"}),
    ("POST", "/samples", {"fileName": "a.jpg"}),
    ("POST", "/tags", {"name": "tag", "prevTagId": "0" * 24, "bitMaskData": "0x1", "totSize": 1}),
    ("POST", "/tags/initial", {"imgType": "full"}),
    ("POST", "/tags/upsize", {"upsizeTagName": "upsized", "upsizeTagCreator": "USER_PIP"}),
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


def test_a_json_body_of_too_many_objects_is_a_413_before_it_is_parsed(
    api: Api, make_dataset: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsed, 21 million ``{}`` in 63 MB took 2.4 GB: they are counted first."""
    from runner.local.routes import _input

    dataset_id = make_dataset("json-limits", 0)

    monkeypatch.setattr(_input, "MAX_JSON_CONTAINERS", 1000)
    many = api.post(
        f"/v1/datasets/{dataset_id}/samples",
        data="[" + ",".join(["{}"] * 1001) + "]",
        content_type="application/json",
    )
    assert (
        many.status_code == 413 and "at most 1,000 objects and arrays" in many.get_json()["error"]
    )
    monkeypatch.setattr(_input, "MAX_JSON_BYTES", 100)
    big = api.post(f"/v1/datasets/{dataset_id}/samples", json={"fileName": "x" * 200})
    assert big.status_code == 413 and big.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    assert (
        api.post(f"/v1/datasets/{dataset_id}/samples", json={"fileName": "a.jpg"}).status_code
        == 201
    )


def test_unknown_routes_and_methods_answer_in_the_error_shape(api: Api) -> None:
    for response in (api.get("/v1/nothing/here"), api.call("PATCH", "/v1/datasets")):
        assert response.status_code in (404, 405)
        assert set(response.get_json()) == {"code", "error"}


# -- JSON that parses but cannot be stored or served --------------------------------------------

VAST = str(10**400)  # int() of it works; float(), SQLite and math.isfinite() overflow
HUGE = str(10**30)


@pytest.fixture
def targets(api: Api, make_dataset: Callable[..., str]) -> dict[str, str]:
    """Ids to put in paths: d (dataset path), s (sample), t (initial tag), e (embedding)."""
    d = f"/v1/datasets/{make_dataset('targets', 2)}"
    embedding = api.get(f"{d}/embeddings/writeCSVUrl", query={"name": "e"}).get_json()
    return {
        "d": d,
        "s": api.get(f"{d}/mappings", query={"field": "_id"}).get_json()[0],
        "t": api.get(f"{d}/tags").get_json()[0]["id"],
        "e": embedding["embeddingId"],
    }


def _reads_are_json(api: Api, targets: dict[str, str]) -> None:
    for path in ("{d}", "{d}/samples", "{d}/tags/{t}/scores", "{d}/embeddings/{e}/2d"):
        strict_json(api.get(path.format(**targets)))


@pytest.mark.parametrize(
    ("route", "raw", "where"),
    [
        ("POST {d}/samples", '{"fileName": "a.jpg", "customMetaData": {"x": 1e400}}', "customMetaData.x"),
        ("POST {d}/samples", '{"fileName": "a.jpg", "exif": {"f": [1, -1e999]}}', "exif.f[1]"),
        ("POST {d}/samples", '{"fileName": "a.jpg", "metaData": {"sizeInBytes": ' + HUGE + "}}", "metaData.sizeInBytes"),
        ("PUT {d}/samples/{s}", '{"metaData": {"sizeInBytes": ' + HUGE + "}}", "metaData.sizeInBytes"),
        ("POST {d}/samples", '{"fileName": "a.jpg", "videoFrameData": {"sourceVideoFrameIndex": ' + VAST + "}}", "videoFrameData.sourceVideoFrameIndex"),
        ("POST {d}/embeddings/{e}/2d", '{"name": "v", "dimensionalityReductionMethod": "PCA", "coordinatesDimension1": [1e400], "coordinatesDimension2": [0]}', "coordinatesDimension1[0]"),
        ("POST {d}/tags/{t}/scores", '{"scoreType": "s", "scores": [0.5, 1e400]}', "scores[1]"),
        ("POST {d}/predictions/samples/{s}?predictionUUIDTimestamp=1", '[{"type": "CLASSIFICATION", "taskName": "cls", "categoryId": 0, "score": ' + VAST + "}]", "[0].score"),
        ("POST /v1/docker/worker/config/v3", '{"config": {"workerType": "FULL", "docker": {"numThreads": ' + VAST + "}}}", "config.docker.numThreads"),
        ("POST /v1/docker/worker/config/v3", '{"config": {"workerType": "FULL", "selection": {"nSamples": ' + VAST + ', "strategies": []}}}', "config.selection.nSamples"),
    ],
)  # fmt: skip
def test_numbers_beyond_int64_or_float_are_a_400_naming_the_field(
    api: Api,
    targets: dict[str, str],
    stored: Callable[[], str],
    route: str,
    raw: str,
    where: str,
) -> None:
    method, path = route.split(" ")
    before = stored()
    response = api.call(method, path.format(**targets), data=raw, content_type="application/json")
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"].startswith(f"{where}: ")
    assert stored() == before
    _reads_are_json(api, targets)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32-le"])
def test_a_body_in_another_unicode_encoding_is_checked_alike(
    api: Api, targets: dict[str, str], stored: Callable[[], str], encoding: str
) -> None:
    """JSON may come as UTF-16/32 (RFC 8259 readers detect it); the byte checks read UTF-8."""
    before = stored()
    raw = ('{"fileName": "w.jpg", "customMetaData": {"x": ' + VAST + "}}").encode(encoding)
    response = api.post(f"{targets['d']}/samples", data=raw, content_type="application/json")
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"].startswith("customMetaData.x: ")
    assert stored() == before


def test_int64_and_finite_float_limits_are_accepted(api: Api, targets: dict[str, str]) -> None:
    raw = '{"fileName": "edge.jpg", "customMetaData": {"i": [-9223372036854775808, 9223372036854775807], "f": 1.7e308, "tiny": 1e-400}}'
    created = api.post(f"{targets['d']}/samples", data=raw, content_type="application/json")
    assert created.status_code == 201
    sample = strict_json(api.get(f"{targets['d']}/samples/{created.get_json()['id']}"))
    assert sample["customMetaData"] == {"i": [-(2**63), 2**63 - 1], "f": 1.7e308, "tiny": 0.0}


def test_dataset_size_saturates_instead_of_turning_into_a_float(
    api: Api, targets: dict[str, str]
) -> None:
    for name in ("big-1.jpg", "big-2.jpg"):
        body = {"fileName": name, "metaData": {"sizeInBytes": 2**62}}
        assert api.post(f"{targets['d']}/samples", json=body).status_code == 201
    dataset = strict_json(api.get(targets["d"]))
    assert dataset["sizeInBytes"] == 2**63 - 1 and isinstance(dataset["sizeInBytes"], int)


def _nested(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize("levels", [2000, 150])  # 2000: json's recursion; 150: our limit
def test_deep_nesting_is_a_400_on_every_body_route(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str], levels: int
) -> None:
    dataset_id = make_dataset("deep", 2)
    before = stored()
    routes = [("POST", "/v1/datasets"), ("POST", "/v1/docker/worker/config/v3")] + [
        (m, f"/v1/datasets/{dataset_id}{p}") for m, p, _ in MUTATIONS
    ]
    for method, path in routes:
        response = api.call(method, path, data=_nested(levels), content_type="application/json")
        assert response.status_code == 400, (method, path, response.get_json())
        assert response.get_json()["code"] == "MALFORMED_REQUEST"
        assert "nested deeper than 100 levels" in response.get_json()["error"]
    assert stored() == before


def test_nesting_up_to_the_limit_is_stored_and_served(api: Api, targets: dict[str, str]) -> None:
    raw = '{"fileName": "deep.jpg", "customMetaData": ' + _nested(99) + "}"  # depth 100
    created = api.post(f"{targets['d']}/samples", data=raw, content_type="application/json")
    assert created.status_code == 201
    too_deep = raw.replace("deep.jpg", "deeper.jpg").replace('{"a": 1}', '{"a": {"a": 1}}')
    refused = api.post(f"{targets['d']}/samples", data=too_deep, content_type="application/json")
    assert refused.status_code == 400
    assert "nested deeper than 100 levels (at customMetaData.a.a." in refused.get_json()["error"]
    _reads_are_json(api, targets)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"fileName": "a\\ud800.jpg"}', "fileName: "),
        (b'{"fileName": "a\\uDFFF.jpg"}', "fileName: "),
        (
            b'{"fileName": "a.jpg", "customMetaData": {"k": ["ok", "\\udc00"]}}',
            "customMetaData.k[1]: ",
        ),
        (b'{"fileName": "a.jpg", "customMetaData": {"\\ud83d": 1}}', "a key in customMetaData: "),
        (b'{"fileName": "a\xed\xa0\x80.jpg"}', "malformed JSON body: "),  # the same, as raw bytes
    ],
)
def test_lone_surrogates_are_a_400(
    api: Api, targets: dict[str, str], stored: Callable[[], str], raw: bytes, where: str
) -> None:
    before = stored()
    response = api.post(f"{targets['d']}/samples", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["code"] == "MALFORMED_REQUEST"
    assert response.get_json()["error"].startswith(where)
    assert stored() == before
    _reads_are_json(api, targets)


def test_surrogate_pairs_are_fine(api: Api, targets: dict[str, str]) -> None:
    raw = b'{"fileName": "smile-\\ud83d\\ude00.jpg"}'
    created = api.post(f"{targets['d']}/samples", data=raw, content_type="application/json")
    assert created.status_code == 201
    sample = strict_json(api.get(f"{targets['d']}/samples/{created.get_json()['id']}"))
    assert sample["fileName"] == "smile-\U0001f600.jpg"


# -- patterns must match the whole value ("$" also matches before a final newline) ---------------


@pytest.mark.parametrize(
    ("route", "body", "name"),
    [
        ("POST /v1/datasets", {"name": "abc\n"}, "'name'"),
        ("PUT {d}", {"name": "abc\n"}, "'name'"),
        ("POST {d}/tags", {"name": "tag\n", "prevTagId": "{t}", "bitMaskData": "0x1", "totSize": 2}, "'name'"),
        ("POST {d}/tags", {"name": "tag", "prevTagId": "{t}\n", "bitMaskData": "0x1", "totSize": 2}, "'prevTagId'"),
        ("PUT {d}/tags/{t}", {"name": "renamed", "bitMaskData": "0x1\n"}, "'bitMaskData'"),
        ("POST {d}/tags/upsize", {"upsizeTagName": "upsized", "upsizeTagCreator": "USER_PIP", "runId": "0" * 24 + "\n"}, "'runId'"),
        ("POST {d}/embeddings/{e}/sampling", {"newTagName": "picked\n", "method": "RANDOM"}, "'newTagName'"),
        ("POST {d}/predictions/tasks?predictionUUIDTimestamp=1", {"name": "task\n", "type": "CLASSIFICATION", "categories": []}, "'name'"),
        ("POST {d}/predictions/samples/{s}?predictionUUIDTimestamp=1", [{"type": "CLASSIFICATION", "taskName": "cls\n", "categoryId": 0, "score": 1}], "'taskName'"),
        ("POST /v1/docker/worker/config/v3", {"config": {"workerType": "FULL", "docker": {"training": {"taskName": "t\n"}}}}, "config.docker.training.taskName"),
    ],
)  # fmt: skip
def test_a_trailing_newline_does_not_pass_a_pattern(
    api: Api,
    targets: dict[str, str],
    stored: Callable[[], str],
    route: str,
    body: Any,
    name: str,
) -> None:
    method, path = route.split(" ")
    body = json.loads(json.dumps(body).replace("{t}", targets["t"]))
    before = stored()
    response = api.call(method, path.format(**targets), json=body)
    assert response.status_code == 400, response.get_json()
    assert name in response.get_json()["error"] and "must match" in response.get_json()["error"]
    assert stored() == before
