"""Custom metadata configurations of a dataset."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from runner.local.access import require_dataset
from runner.local.app import get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import field, json_body, no_content
from runner.local.routes.datasets import update_dataset
from runner.local.store import new_id, now_ms

bp = Blueprint("metadata", __name__)
M = "/v1/datasets/<dataset_id>/configuration/metadata"
VALUE_TYPES = (
    "NUMERIC_INT",
    "NUMERIC_FLOAT",
    "CATEGORICAL_INT",
    "CATEGORICAL_STRING",
    "CATEGORICAL_BOOLEAN",
    "OTHER_STRING",
)


def _configs(body: dict[str, Any]) -> list[dict[str, Any]]:
    configs = body.get("configs")
    if not isinstance(configs, list):
        raise bad_request("'configs' must be a list of configuration entries")
    result = []
    for i, entry in enumerate(configs):
        if not isinstance(entry, dict):
            raise bad_request(f"configs[{i}] must be an object")
        result.append(
            {
                "name": field(entry, "name", "string", required=True, min_len=1),
                "path": field(entry, "path", "string", required=True, min_len=1),
                "defaultValue": entry.get("defaultValue"),
                "valueDataType": field(
                    entry, "valueDataType", "string", required=True, choices=VALUE_TYPES
                ),
            }
        )
    return result


@bp.post(M)
def create(dataset_id: str) -> tuple[Response, int]:
    require_dataset(dataset_id)
    body = json_body()
    name = field(body, "name", "string", required=True, min_len=1)
    now = now_ms()
    config = {
        "id": new_id(),
        "name": name,
        "configs": _configs(body),
        "createdAt": now,
        "lastModifiedAt": now,
    }
    store = get_store()
    with store.transaction() as db:
        store.put_doc("metadata_config", config, dataset_id=dataset_id, created_at=now)
        update_dataset(db, dataset_id, {"metaDataConfigurationId": config["id"]})
    return jsonify({"id": config["id"]}), 201


@bp.get(M)
def list_configs(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify(get_store().list_docs("metadata_config", dataset_id=dataset_id))


def _find(dataset_id: str, config_id: str) -> dict[str, Any]:
    row = get_store().doc_row("metadata_config", config_id)
    if row is None or row["dataset_id"] != dataset_id:
        raise ApiError(
            404, "METADATA_CONFIGURATION_UNKNOWN", f"configuration {config_id} not found"
        )
    return get_store().get_doc("metadata_config", config_id) or {}


@bp.get(M + "/<config_id>")
def get_config(dataset_id: str, config_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify(_find(dataset_id, config_id))


@bp.put(M + "/<config_id>")
def replace(dataset_id: str, config_id: str) -> Response:
    require_dataset(dataset_id)
    config = _find(dataset_id, config_id)
    body = json_body()
    config.update(
        {
            "name": field(body, "name", "string", required=True, min_len=1),
            "configs": _configs(body),
            "lastModifiedAt": now_ms(),
        }
    )
    get_store().put_doc("metadata_config", config, dataset_id=dataset_id)
    return no_content()
