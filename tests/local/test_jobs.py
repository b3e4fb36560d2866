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


# Four tight clusters 14 apart on a line: sample i is in cluster i // 5.
CLUSTERS = [(14.0 * (i // 5) + 0.1 * (i % 5), 0.1 * (i % 5)) for i in range(20)]


def _embedding(api: Api, d: str, rows: list[tuple[float, ...]]) -> str:
    """Upload one embedding row per sample (``img-000.jpg`` …); return the embedding id."""
    header = ",".join(["filenames", *[f"embedding_{j}" for j in range(len(rows[0]))], "labels"])
    lines = [header] + [
        ",".join([f"img-{i:03d}.jpg", *map(str, row), "0"]) for i, row in enumerate(rows)
    ]
    write = api.get(f"{d}/embeddings/writeCSVUrl", query={"name": "default"}).get_json()
    url = write["signedWriteUrl"].removeprefix("http://localhost")
    assert api.client.put(url, data="\n".join(lines).encode()).status_code == 200
    embedding_id: str = write["embeddingId"]
    return embedding_id


def _tag(api: Api, d: str, name: str, positions: list[int]) -> str:
    initial = api.get(f"{d}/tags").get_json()[0]
    mask = hex(sum(1 << p for p in positions))
    body = {"name": name, "prevTagId": initial["id"], "bitMaskData": mask, "totSize": 20}
    response = api.post(f"{d}/tags", json=body)
    assert response.status_code == 201, response.get_json()
    tag_id: str = response.get_json()["id"]
    return tag_id


def _select(api: Api, d: str, body: dict[str, Any], embedding_id: str = "0" * 24) -> list[int]:
    """Run a selection that must finish; the positions of the samples of its new tag."""
    response = api.post(f"{d}/embeddings/{embedding_id}/sampling", json=body)
    assert response.status_code == 200, response.get_json()
    job = strict_json(api.get(f"/v1/jobs/{response.get_json()['jobId']}"))
    assert job["status"] == "FINISHED", job
    mask = int(strict_json(api.get(f"{d}/tags/{job['result']['data']}"))["bitMaskData"], 16)
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def _request(method: str, n_samples: float, **extra: Any) -> dict[str, Any]:
    stopping = {"nSamples": n_samples, "minDistance": extra.pop("min_distance", -1)}
    return {"newTagName": "picked", "method": method, "config": {"stoppingCondition": stopping}, **extra}  # fmt: skip


@pytest.fixture
def clusters(api: Api, make_dataset: Callable[..., str]) -> tuple[str, str]:
    """A dataset of 20 samples with CLUSTERS uploaded as embeddings: (path, embedding id)."""
    d = f"/v1/datasets/{make_dataset('clusters', 20)}"
    return d, _embedding(api, d, CLUSTERS)


def test_coreset_stops_before_picks_get_closer_than_min_distance(
    api: Api, clusters: tuple[str, str]
) -> None:
    d, embedding = clusters
    picked = _select(api, d, _request("CORESET", 10, min_distance=5.0), embedding)
    assert sorted(i // 5 for i in picked) == [0, 1, 2, 3]  # one per cluster, then none is 5 away
    assert len(_select(api, d, _request("CORESET", 10) | {"newTagName": "all"}, embedding)) == 10


def test_coreset_starts_its_farthest_point_search_from_the_preselected_samples(
    api: Api, clusters: tuple[str, str]
) -> None:
    d, embedding = clusters
    preselected = _tag(api, d, "labelled", [0, 5])  # one sample of clusters 0 and 1
    picked = _select(api, d, _request("CORESET", 4, preselectedTagId=preselected), embedding)
    assert {0, 5} <= set(picked) and sorted(i // 5 for i in picked) == [0, 1, 2, 3]


def _scores(api: Api, d: str, **scores: list[float]) -> None:
    initial = api.get(f"{d}/tags").get_json()[0]["id"]
    for score_type, values in scores.items():
        body = {"scoreType": score_type, "scores": values}
        assert api.post(f"{d}/tags/{initial}/scores", json=body).status_code == 201


@pytest.mark.parametrize(
    ("method", "score_type", "expected"),
    [
        ("ACTIVE_LEARNING", None, [2, 3, 17]),  # uncertainty_margin, the Lightly default
        ("ACTIVE_LEARNING", "uncertainty_entropy", [0, 1, 19]),
        # diversity too: 3, scored 0.95 but next to 2, loses to 10 in the empty cluster 2
        ("CORAL", None, [2, 10, 17]),
    ],
)
def test_active_learning_and_coral_pick_the_highest_uploaded_scores(
    api: Api,
    clusters: tuple[str, str],
    method: str,
    score_type: str | None,
    expected: list[int],
) -> None:
    d, embedding = clusters
    margin = [0.0] * 20
    margin[2], margin[3], margin[17] = 1.0, 0.95, 0.5
    entropy = [0.0] * 20
    entropy[0], entropy[1], entropy[19] = 0.7, 0.8, 0.9
    _scores(api, d, uncertainty_entropy=entropy, uncertainty_margin=margin)
    extra = {} if score_type is None else {"scoreType": score_type}
    assert _select(api, d, _request(method, 3, **extra), embedding) == expected


def test_random_picks_anew_each_time(api: Api, make_dataset: Callable[..., str]) -> None:
    d = f"/v1/datasets/{make_dataset('random', 20)}"
    picks = {
        tuple(_select(api, d, _request("RANDOM", 5) | {"newTagName": f"random-{i}"}))
        for i in range(5)
    }
    assert len(picks) > 1 and all(len(p) == 5 for p in picks)


@pytest.mark.parametrize("n_samples", [3, 2])
def test_preselected_samples_that_make_n_samples_are_the_new_tag(
    api: Api, make_dataset: Callable[..., str], n_samples: int
) -> None:
    d = f"/v1/datasets/{make_dataset('preselected', 20)}"
    preselected = _tag(api, d, "labelled", [1, 4, 7])
    body = _request("RANDOM", n_samples, preselectedTagId=preselected)
    assert _select(api, d, body) == [1, 4, 7]
