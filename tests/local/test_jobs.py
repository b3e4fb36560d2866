"""The deprecated server-side selection (POST D/embeddings/{id}/sampling) and its jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.local.conftest import Api, strict_json

VAST = str(10**400)


@pytest.fixture
def dataset(api: Api, make_dataset: Callable[..., str]) -> str:
    return f"/v1/datasets/{make_dataset('selection', 5)}"


def _sampling(api: Api, d: str, body: dict[str, Any]) -> Any:
    return api.post(f"{d}/embeddings/{'0' * 24}/sampling", json=body)


def test_random_selection_from_a_query_tag(api: Api, dataset: str) -> None:
    initial = api.get(f"{dataset}/tags").get_json()[0]["id"]
    body = {
        "newTagName": "picked",
        "method": "RANDOM",
        "config": {"stoppingCondition": {"nSamples": 2, "minDistance": -1}},
        "queryTagId": initial,
        "rowCount": 5,
    }
    response = _sampling(api, dataset, body)
    assert response.status_code == 200
    job = strict_json(api.get(f"/v1/jobs/{response.get_json()['jobId']}"))
    assert job["status"] == "FINISHED", job
    tag = strict_json(api.get(f"{dataset}/tags/{job['result']['data']}"))
    assert tag["name"] == "picked" and tag["queryTagId"] == initial
    assert bin(int(tag["bitMaskData"], 16)).count("1") == 2


def test_a_null_n_samples_means_the_default(api: Api, dataset: str) -> None:
    body = {
        "newTagName": "all",
        "method": "RANDOM",
        "config": {"stoppingCondition": {"nSamples": None}},
    }
    response = _sampling(api, dataset, body)
    job = strict_json(api.get(f"/v1/jobs/{response.get_json()['jobId']}"))
    assert job["status"] == "FINISHED"
    tag = strict_json(api.get(f"{dataset}/tags/{job['result']['data']}"))
    assert tag["bitMaskData"] == "0x1f"  # 32 by default: all 5 samples


GOOD = {"newTagName": "picked", "method": "RANDOM", "config": {}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"newTagName": "a/b"}, "'newTagName' must match"),
        ({"newTagName": "ab"}, "'newTagName' must have at least 3 characters"),
        ({"method": "BEST"}, "'method' must be one of"),
        ({"config": None}, "'config' is required"),
        ({"config": [1]}, "'config' must be of type object, got list"),
        ({"config": "x"}, "'config' must be of type object, got str"),
        ({"config": {"stoppingCondition": [1]}}, "'stoppingCondition' must be of type object"),
        ({"config": {"stoppingCondition": {"nSamples": "abc"}}}, "'nSamples' must be of type number"),
        ({"config": {"stoppingCondition": {"minDistance": True}}}, "'minDistance' must be of type number"),
        ({"queryTagId": [1]}, "'queryTagId' must be of type string, got list"),
        ({"queryTagId": {"a": 1}}, "'queryTagId' must be of type string, got dict"),
        ({"queryTagId": "initial"}, "'queryTagId' must match"),
        ({"preselectedTagId": [1]}, "'preselectedTagId' must be of type string, got list"),
        ({"scoreType": "a b"}, "'scoreType' must match"),
        ({"rowCount": "5"}, "'rowCount' must be of type number"),
    ],
)  # fmt: skip
def test_bad_requests_are_a_400_naming_the_field(
    api: Api, dataset: str, stored: Callable[[], str], change: dict[str, Any], message: str
) -> None:
    before = stored()
    response = _sampling(api, dataset, {**GOOD, **change})
    assert response.status_code == 400, response.get_json()
    assert message in response.get_json()["error"]
    assert stored() == before
    assert strict_json(api.get("/v1/jobs")) == []


def test_an_n_samples_beyond_int64_is_a_400(
    api: Api, dataset: str, stored: Callable[[], str]
) -> None:
    before = stored()
    raw = '{"newTagName": "big", "method": "RANDOM", "config": {"stoppingCondition": {"nSamples": ' + VAST + "}}}"  # fmt: skip
    response = api.post(
        f"{dataset}/embeddings/{'0' * 24}/sampling", data=raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("config.stoppingCondition.nSamples: ")
    assert stored() == before


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("queryTagId", "TAG_QUERYTAG_NOT_IN_DATASET"),
        ("preselectedTagId", "TAG_PRESELECTEDTAG_NOT_IN_DATASET"),
    ],
)
def test_a_tag_of_no_dataset_is_a_400_as_for_post_tags(
    api: Api, dataset: str, stored: Callable[[], str], key: str, code: str
) -> None:
    before = stored()
    response = _sampling(api, dataset, {**GOOD, key: "0" * 24})
    assert response.status_code == 400
    assert response.get_json()["code"] == code and key in response.get_json()["error"]
    assert stored() == before
