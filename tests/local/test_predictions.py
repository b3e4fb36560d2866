"""Prediction task schemas and per-sample prediction singletons, checked against MODELS.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.local.conftest import Api, strict_json

VERSION = {"predictionUUIDTimestamp": 7}
TASK = {"name": "det", "type": "OBJECT_DETECTION", "categories": [{"id": 0, "name": "dog"}]}
BOX = {"type": "OBJECT_DETECTION", "taskName": "det", "categoryId": 0, "score": 0.9, "bbox": [1, 2, 30, 40]}  # fmt: skip


@pytest.fixture
def dataset(make_dataset: Callable[..., str]) -> str:
    return f"/v1/datasets/{make_dataset('predicted', 2)}"


def _sample(api: Api, d: str) -> str:
    sample_id: str = api.get(f"{d}/mappings", query={"field": "_id"}).get_json()[0]
    return sample_id


def test_tasks_and_singletons_round_trip(api: Api, dataset: str) -> None:
    assert api.post(f"{dataset}/predictions/tasks", query=VERSION, json=TASK).status_code == 201
    assert strict_json(api.get(f"{dataset}/predictions/tasks", query=VERSION)) == [TASK]
    sample = _sample(api, dataset)
    keypoints = {"type": "KEYPOINT_DETECTION", "taskName": "kp", "categoryId": 1, "score": 0.5, "keypoints": [1, 2, 2], "probabilities": [0.5, 0.5]}  # fmt: skip
    made = api.post(f"{dataset}/predictions/samples/{sample}", query=VERSION, json=[BOX, keypoints])
    assert made.status_code == 201
    read = strict_json(api.get(f"{dataset}/predictions/samples/{sample}", query=VERSION))
    assert read == [BOX, keypoints]


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        ([{"id": [0], "name": "a"}], "categories[0]: 'id' must be of type int, got list"),
        ([{"id": 0, "name": 5}], "categories[0]: 'name' must be of type string, got int"),
        ([{"id": -1, "name": "a"}], "categories[0]: 'id' must be >= 0"),
        ([{"id": 0, "name": ""}], "categories[0]: 'name' must have at least 1 characters"),
        ([{"id": 0, "name": "a"}, "b"], "categories[1] must be an object"),
        ("dog", "'categories' must be a list"),
        ([{"id": 0, "name": "a"}, {"id": 0, "name": "b"}], "category ids must be unique"),
    ],
)
def test_bad_task_schemas_are_a_400(
    api: Api, dataset: str, stored: Callable[[], str], categories: Any, message: str
) -> None:
    before = stored()
    body = {**TASK, "categories": categories}
    response = api.post(f"{dataset}/predictions/tasks", query=VERSION, json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert stored() == before
    assert strict_json(api.get(f"{dataset}/predictions/tasks", query=VERSION)) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bbox": "garbage"}, "prediction 0: 'bbox' must be of type array, got str"),
        ({"bbox": [1, 2, 3]}, "prediction 0: 'bbox' must have exactly 4 entries, has 3"),
        ({"bbox": [1, 2, -3, 4]}, "prediction 0: 'bbox[2]' must be >= 0"),
        ({"bbox": [1, 2, "3", 4]}, "prediction 0: 'bbox[2]' must be of type number"),
        ({"bbox": None}, "prediction 0: 'bbox' is required"),
        ({"categoryId": -1}, "prediction 0: 'categoryId' must be >= 0"),
        ({"categoryId": 1.5}, "prediction 0: 'categoryId' must be of type int"),
        ({"score": 1.5}, "prediction 0: 'score' must be <= 1"),
        ({"probabilities": [0.5, 2]}, "prediction 0: 'probabilities[1]' must be <= 1"),
        ({"cropSampleId": "x"}, "prediction 0: 'cropSampleId' must match"),
        ({"taskName": "a/b"}, "prediction 0: 'taskName' must match"),
        ({"type": "SEMANTIC_SEGMENTATION", "bbox": None, "segmentation": [1.5]}, "prediction 0: 'segmentation[0]' must be of type int"),
        ({"type": "KEYPOINT_DETECTION", "bbox": None, "keypoints": [1, 2]}, "prediction 0: 'keypoints' must have at least 3 entries"),
    ],
)  # fmt: skip
def test_bad_singletons_are_a_400_naming_the_field(
    api: Api, dataset: str, stored: Callable[[], str], change: dict[str, Any], message: str
) -> None:
    sample = _sample(api, dataset)
    before = stored()
    singleton = {k: v for k, v in {**BOX, **change}.items() if v is not None}  # None: left out
    response = api.post(f"{dataset}/predictions/samples/{sample}", query=VERSION, json=[singleton])
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"].startswith(message)
    assert stored() == before
    assert strict_json(api.get(f"{dataset}/predictions/samples/{sample}", query=VERSION)) == []


def test_unknown_keys_are_ignored_and_optional_category_fields_may_be_left_out(
    api: Api, dataset: str
) -> None:
    """As MODELS.md asks of request bodies; the extra keys are not stored, since a response
    holding them would fail the official client's strict parsing."""
    categories = [{"id": 0, "name": "dog", "color": "red"}, {"id": 1}, {"name": "unnumbered"}]
    body = {**TASK, "categories": categories}
    assert api.post(f"{dataset}/predictions/tasks", query=VERSION, json=body).status_code == 201
    read = strict_json(api.get(f"{dataset}/predictions/tasks", query=VERSION))
    assert read[0]["categories"] == [{"id": 0, "name": "dog"}, {"id": 1}, {"name": "unnumbered"}]
    sample = _sample(api, dataset)
    extra = {**BOX, "segmentation": [1, 2], "note": "from my model"}
    made = api.post(f"{dataset}/predictions/samples/{sample}", query=VERSION, json=[extra])
    assert made.status_code == 201
    assert strict_json(api.get(f"{dataset}/predictions/samples/{sample}", query=VERSION)) == [BOX]


def test_a_category_id_beyond_int64_is_a_400(
    api: Api, dataset: str, stored: Callable[[], str]
) -> None:
    sample = _sample(api, dataset)
    before = stored()
    raw = '[{"type": "CLASSIFICATION", "taskName": "cls", "score": 1, "categoryId": ' + str(10**400) + "}]"  # fmt: skip
    response = api.post(
        f"{dataset}/predictions/samples/{sample}",
        query=VERSION,
        data=raw,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("[0].categoryId: ")
    assert stored() == before
