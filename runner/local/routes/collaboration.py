"""Sharing a dataset: one WRITE access config per dataset, replaced by each POST."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from runner.local.access import require_owner
from runner.local.app import current_user, get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import json_body, no_content
from runner.local.store import new_id, now_ms

bp = Blueprint("collaboration", __name__)
ACCESS = "/v1/datasets/<dataset_id>/collaboration/access"


@bp.post(ACCESS)
def share(dataset_id: str) -> tuple[Response, int]:
    require_owner(dataset_id)
    body = json_body()
    if body.get("accessType", "WRITE") != "WRITE":
        raise bad_request("accessType must be WRITE")
    users = body.get("users", [])
    teams = body.get("teams", [])
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        raise bad_request("'users' must be a list of e-mail addresses")
    if not isinstance(teams, list) or not all(isinstance(t, str) for t in teams):
        raise bad_request("'teams' must be a list of strings")
    store = get_store()
    now = now_ms()
    with store.transaction():
        existing = store.list_docs("share", dataset_id=dataset_id)
        config: dict[str, Any] = existing[0] if existing else {"id": new_id(), "createdAt": now}
        config.update(
            {
                "owner": current_user().user_id,
                "accessType": "WRITE",
                "users": users,
                "teams": teams,
                "lastModifiedAt": now,
            }
        )
        store.put_doc(
            "share",
            config,
            dataset_id=dataset_id,
            owner=current_user().user_id,
            created_at=int(config["createdAt"]),
        )
    return jsonify({"id": config["id"]}), 201


@bp.get(ACCESS)
def list_access(dataset_id: str) -> Response:
    require_owner(dataset_id)
    return jsonify(get_store().list_docs("share", dataset_id=dataset_id))


@bp.delete(ACCESS + "/<config_id>")
def revoke(dataset_id: str, config_id: str) -> Response:
    require_owner(dataset_id)
    row = get_store().doc_row("share", config_id)
    if row is None or row["dataset_id"] != dataset_id:
        raise ApiError(404, "ACCESS_CONTROL_UNKNOWN", f"access config {config_id} not found")
    get_store().delete_doc("share", config_id)
    return no_content()
