"""Prediction task schemas and per-sample predictions, per ``predictionUUIDTimestamp``.

Documents: ``prediction_task`` (PredictionTaskSchema + timestamp) and ``prediction``
(``{"sampleId", "predictionUUIDTimestamp", "singletons": [...]}``, one per sample
and timestamp), which the local worker reads.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from runner.local.access import require_dataset
from runner.local.app import get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import (
    ID,
    TASKNAME,
    field,
    json_body,
    json_value,
    numbers,
    query_int,
    query_str,
)
from runner.local.routes.samples import load_sample, sample_ids

bp = Blueprint("predictions", __name__)
P = "/v1/datasets/<dataset_id>/predictions"
TASK_TYPES = (
    "CLASSIFICATION",
    "OBJECT_DETECTION",
    "SEMANTIC_SEGMENTATION",
    "INSTANCE_SEGMENTATION",
    "KEYPOINT_DETECTION",
)
#: PredictionSingleton: the list fields each type may have (MODELS.md), and which it needs
_LIST_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "CLASSIFICATION": ({"probabilities"}, set()),
    "OBJECT_DETECTION": ({"bbox", "probabilities"}, {"bbox"}),
    "SEMANTIC_SEGMENTATION": ({"segmentation", "probabilities"}, {"segmentation"}),
    "INSTANCE_SEGMENTATION": (
        {"segmentation", "bbox", "probabilities"},
        {"segmentation", "bbox"},
    ),
    "KEYPOINT_DETECTION": ({"keypoints", "probabilities"}, {"keypoints"}),
}
_SINGLETON_KEYS = {"type", "taskName", "cropDatasetId", "cropSampleId", "categoryId", "score"}


def _version(required: bool = True) -> int | None:
    version = query_int("predictionUUIDTimestamp", None, minimum=0)
    if version is None and required:
        raise bad_request("predictionUUIDTimestamp (an integer >= 0) is required")
    return version


def _task_id(dataset_id: str, name: str, version: int) -> str:
    import hashlib

    return hashlib.sha256(f"{dataset_id}/{name}/{version}".encode()).hexdigest()[:24]


@bp.post(f"{P}/tasks")
def create_task(dataset_id: str) -> tuple[Response, int]:
    require_dataset(dataset_id)
    version = _version()
    body = json_body()
    name = field(body, "name", "string", required=True, pattern=TASKNAME)
    kind = field(body, "type", "string", required=True, choices=TASK_TYPES)
    categories = body.get("categories")
    if not isinstance(categories, list):
        raise bad_request("'categories' must be a list of {id, name} objects")
    categories = [_checked_category(index, category) for index, category in enumerate(categories)]
    ids = [c["id"] for c in categories if "id" in c]
    if len(ids) != len(set(ids)):
        raise bad_request(
            "category ids must be unique", "PREDICTION_TASK_SCHEMA_CATEGORIES_NOT_UNIQUE"
        )
    task_id = _task_id(dataset_id, name, version or 0)
    schema = {
        "name": name,
        "type": kind,
        "categories": categories,
        "predictionUUIDTimestamp": version,
    }
    get_store().put_doc("prediction_task", schema, doc_id=task_id, dataset_id=dataset_id)
    return jsonify({"id": task_id}), 201


def _public(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: schema[k] for k in ("name", "type", "categories")}


def _tasks(dataset_id: str, version: int | None) -> list[dict[str, Any]]:
    tasks = get_store().list_docs("prediction_task", dataset_id=dataset_id)
    if version is None and tasks:
        version = max(t["predictionUUIDTimestamp"] for t in tasks)
    return [t for t in tasks if t["predictionUUIDTimestamp"] == version]


@bp.get(f"{P}/tasks")
def list_tasks(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify([_public(t) for t in _tasks(dataset_id, _version(required=False))])


@bp.get(f"{P}/tasks/<task_name>")
def get_task(dataset_id: str, task_name: str) -> Response:
    require_dataset(dataset_id)
    for task in _tasks(dataset_id, _version()):
        if task["name"] == task_name:
            return jsonify(_public(task))
    raise ApiError(404, "PREDICTION_TASK_SCHEMA_UNKNOWN", f"no prediction task {task_name!r}")


def _checked_category(index: int, category: Any) -> dict[str, Any]:
    """A PredictionTaskSchemaCategory: ``id`` and ``name`` (both optional); other keys
    are ignored, as in every request body, and not stored (responses must not hold them)."""
    where = f"categories[{index}]"
    if not isinstance(category, dict):
        raise bad_request(f"{where} must be an object with an id and a name")
    try:
        field(category, "id", "int", minimum=0)
        field(category, "name", "string", min_len=1)
    except ApiError as error:
        raise bad_request(f"{where}: {error.message}") from None
    return {key: category[key] for key in ("id", "name") if category.get(key) is not None}


def _check_singleton(index: int, singleton: Any) -> dict[str, Any]:
    where = f"prediction {index}"
    if not isinstance(singleton, dict):
        raise bad_request(f"{where} must be an object")
    if singleton.get("type") not in TASK_TYPES:
        raise bad_request(f"{where}: 'type' must be one of {', '.join(TASK_TYPES)}")
    allowed, required = _LIST_FIELDS[singleton["type"]]
    try:
        field(singleton, "taskName", "string", required=True, pattern=TASKNAME)
        field(singleton, "cropDatasetId", "string", pattern=ID)
        field(singleton, "cropSampleId", "string", pattern=ID)
        field(singleton, "categoryId", "int", required=True, minimum=0)
        field(singleton, "score", "number", required=True, minimum=0, maximum=1)
        numbers(singleton, "probabilities", minimum=0, maximum=1)
        numbers(singleton, "bbox", required="bbox" in required, minimum=0, length=4)
        numbers(singleton, "segmentation", "int", required="segmentation" in required, minimum=0)
        numbers(singleton, "keypoints", required="keypoints" in required, minimum=0, min_len=3)
    except ApiError as error:
        raise bad_request(f"{where}: {error.message}") from None
    # other keys are ignored, and not stored: responses must hold only the type's fields
    return {key: value for key, value in singleton.items() if key in _SINGLETON_KEYS | allowed}


@bp.post(f"{P}/samples/<sample_id>")
def put_sample_predictions(dataset_id: str, sample_id: str) -> tuple[Response, int]:
    require_dataset(dataset_id)
    version = _version()
    body = json_value()
    if not isinstance(body, list):
        raise bad_request("the body must be a JSON array of predictions")
    singletons = [_check_singleton(i, s) for i, s in enumerate(body)]
    store = get_store()
    load_sample(store.db, dataset_id, sample_id)
    doc_id = _task_id(sample_id, "prediction", version or 0)
    store.put_doc(
        "prediction",
        {"sampleId": sample_id, "predictionUUIDTimestamp": version, "singletons": singletons},
        doc_id=doc_id,
        dataset_id=dataset_id,
    )
    return jsonify({"id": doc_id}), 201


def _singletons(dataset_id: str, sample_id: str, version: int | None) -> list[dict[str, Any]]:
    doc = get_store().get_doc("prediction", _task_id(sample_id, "prediction", version or 0))
    return [] if doc is None else list(doc["singletons"])


@bp.get(f"{P}/samples/<sample_id>")
def get_sample_predictions(dataset_id: str, sample_id: str) -> Response:
    require_dataset(dataset_id)
    version = _version()
    load_sample(get_store().db, dataset_id, sample_id)
    return jsonify(_singletons(dataset_id, sample_id, version))


@bp.get(f"{P}/samples")
def all_predictions(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    version = _version()
    task = query_str("taskName")
    rows = []
    for sample_id in sample_ids(get_store().db, dataset_id):
        singletons = _singletons(dataset_id, sample_id, version)
        rows.append([s for s in singletons if task is None or s["taskName"] == task])
    return jsonify(rows)
