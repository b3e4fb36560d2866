"""Datasets: create, list, query by name, rename, delete; and the DatasetData record.

``datasets.data`` holds the wire-shaped DatasetData (MODELS.md). ``nSamples`` and
``sizeInBytes`` are kept up to date by the sample routes in the same transaction
that inserts the sample; every change to a dataset's samples, tags or datasources
bumps ``lastModifiedAt`` (the official client picks its default dataset by it).
``update_dataset`` / ``touch_dataset`` are the helpers other modules use for that.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from flask import Blueprint, Response, jsonify

from runner.local.access import require_dataset, require_owner, shared_with
from runner.local.app import User, current_user, get_blobs, get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import (
    DSNAME,
    ID,
    field,
    json_body,
    no_content,
    paginate,
    query_bool,
)
from runner.local.store import new_id, now_ms

bp = Blueprint("datasets", __name__)

DATASET_TYPES = ("Crops", "Images", "Videos")
IMAGE_TYPES = ("full", "thumbnail", "meta")
CREATORS = ("UNKNOWN", "USER_WEBAPP", "USER_PIP", "USER_PIP_LIGHTLY_MAGIC", "USER_WORKER")


# -- the record, for every module ---------------------------------------------------


def dataset_data(db: sqlite3.Connection, dataset_id: str) -> dict[str, Any]:
    """The stored DatasetData of ``dataset_id`` (no access check)."""
    row = db.execute("SELECT data FROM datasets WHERE id=?", (dataset_id,)).fetchone()
    if row is None:
        raise ApiError(404, "DATASET_UNKNOWN", f"dataset {dataset_id} not found")
    data: dict[str, Any] = json.loads(row["data"])
    return data


def update_dataset(
    db: sqlite3.Connection, dataset_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply ``changes`` (a value None removes the key) and bump ``lastModifiedAt``."""
    data = dataset_data(db, dataset_id)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    data["lastModifiedAt"] = max(now_ms(), data["lastModifiedAt"])
    db.execute("UPDATE datasets SET data=? WHERE id=?", (json.dumps(data), dataset_id))
    return data


def touch_dataset(db: sqlite3.Connection, dataset_id: str) -> None:
    """Bump ``lastModifiedAt`` (something of the dataset changed)."""
    db.execute(
        "UPDATE datasets SET data=json_set(data, '$.lastModifiedAt', ?) WHERE id=?",
        (now_ms(), dataset_id),
    )


def as_seen_by(data: dict[str, Any], owner: str, user: User) -> dict[str, Any]:
    """DatasetData as ``user`` sees it: ``accessType`` only on datasets shared with them."""
    if owner != user.user_id:
        return {**data, "accessType": "WRITE"}
    return data


# -- listing ------------------------------------------------------------------------------


def _own_rows(user: User) -> list[sqlite3.Row]:
    return list(
        get_store().db.execute(
            "SELECT owner, data FROM datasets WHERE owner=? ORDER BY created_at, rowid",
            (user.user_id,),
        )
    )


def _shared_rows(user: User) -> list[sqlite3.Row]:
    rows = get_store().db.execute(
        "SELECT DISTINCT d.id, d.owner, d.data, d.created_at FROM datasets d JOIN documents s "
        "ON s.kind='share' AND s.dataset_id=d.id WHERE d.owner<>? ORDER BY d.created_at, d.id",
        (user.user_id,),
    )
    return [row for row in rows if shared_with(row["id"], user)]


def _visible(
    *, shared: bool | None, team: bool | None, team_and_self: bool | None
) -> list[dict[str, Any]]:
    """Datasets for the listing flags: own (default), shared with the caller, team ([])."""
    user = current_user()
    if team_and_self:
        rows = _own_rows(user)
    elif team:
        rows = []  # a single-user server has no team
    elif shared:
        rows = _shared_rows(user)
    else:
        rows = _own_rows(user)
    seen: set[str] = set()
    result = []
    for row in rows:
        data = json.loads(row["data"])
        if data["id"] not in seen:
            seen.add(data["id"])
            result.append(as_seen_by(data, row["owner"], user))
    return result


def _listing_flags() -> dict[str, bool | None]:
    return {
        "shared": query_bool("shared"),
        "team": query_bool("getAssetsOfTeam"),
        "team_and_self": query_bool("getAssetsOfTeamInclusiveSelf"),
    }


@bp.get("/v1/datasets")
def list_datasets() -> Response:
    return jsonify(paginate(_visible(**_listing_flags())))


@bp.get("/v1/datasets/query/name/<path:name>")
def query_by_name(name: str) -> Response:
    exact = query_bool("exact", False)
    matches = [
        d
        for d in _visible(**_listing_flags())
        if (d["name"] == name if exact else d["name"].startswith(name))
    ]
    return jsonify(paginate(matches))


# -- one dataset -------------------------------------------------------------------------


def _check_unique_name(
    db: sqlite3.Connection, owner: str, name: str, *, except_id: str = ""
) -> None:
    row = db.execute(
        "SELECT id FROM datasets WHERE owner=? AND name=? AND id<>?", (owner, name, except_id)
    ).fetchone()
    if row is not None:
        raise bad_request(f"a dataset named {name!r} already exists", "DATASET_NAME_EXISTS")


@bp.post("/v1/datasets")
def create_dataset() -> tuple[Response, int]:
    body = json_body()
    name = field(body, "name", "string", required=True, pattern=DSNAME, min_len=3)
    dataset_type = field(body, "type", "string", choices=DATASET_TYPES) or "Images"
    img_type = field(body, "imgType", "string", choices=IMAGE_TYPES)
    field(body, "creator", "string", choices=CREATORS)
    parent = field(body, "parentDatasetId", "string", pattern=ID)
    user = current_user()
    with get_store().transaction() as db:
        if parent is not None:
            require_dataset(parent)
        _check_unique_name(db, user.user_id, name)
        dataset_id, now = new_id(), now_ms()
        data: dict[str, Any] = {
            "id": dataset_id,
            "name": name,
            "userId": user.user_id,
            "type": dataset_type,
            "nSamples": 0,
            "sizeInBytes": 0,
            "datasources": [],
            "createdAt": now,
            "lastModifiedAt": now,
        }
        if img_type is not None:
            data["imgType"] = img_type
        if parent is not None:
            data["parentDatasetId"] = parent
        db.execute(
            "INSERT INTO datasets(id, owner, name, created_at, data) VALUES (?, ?, ?, ?, ?)",
            (dataset_id, user.user_id, name, now, json.dumps(data)),
        )
    return jsonify({"id": dataset_id}), 201


@bp.get("/v1/datasets/<dataset_id>")
def get_dataset(dataset_id: str) -> Response:
    data = require_dataset(dataset_id)
    row = get_store().db.execute("SELECT owner FROM datasets WHERE id=?", (dataset_id,)).fetchone()
    return jsonify(as_seen_by(data, row["owner"], current_user()))


@bp.put("/v1/datasets/<dataset_id>")
def rename_dataset(dataset_id: str) -> Response:
    body = json_body()
    name = field(body, "name", "string", required=True, pattern=DSNAME, min_len=3)
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        owner = db.execute("SELECT owner FROM datasets WHERE id=?", (dataset_id,)).fetchone()[0]
        _check_unique_name(db, owner, name, except_id=dataset_id)
        update_dataset(db, dataset_id, {"name": name})
        db.execute("UPDATE datasets SET name=? WHERE id=?", (name, dataset_id))
    return no_content()


@bp.delete("/v1/datasets/<dataset_id>")
def delete_dataset(dataset_id: str) -> Response:
    """Delete the dataset with its samples, documents and (after commit) its blobs."""
    query_bool("force")
    with get_store().transaction() as db:
        require_owner(dataset_id)
        db.execute("DELETE FROM samples WHERE dataset_id=?", (dataset_id,))
        db.execute("DELETE FROM documents WHERE dataset_id=?", (dataset_id,))
        db.execute("DELETE FROM datasets WHERE id=?", (dataset_id,))
    get_blobs().delete_prefix(f"datasets/{dataset_id}")
    return no_content()


@bp.put("/v1/datasets/<dataset_id>/registerDatasetUpload")
def register_upload(dataset_id: str) -> Response:
    """Record an upload job (JobStatusMeta); nothing else depends on it."""
    body = json_body()
    meta = {
        "total": field(body, "total", "int", required=True, minimum=0),
        "processed": field(body, "processed", "int", required=True, minimum=0),
    }
    method = field(body, "uploadMethod", "string", choices=("USER_WEBAPP", "USER_PIP", "INTERNAL"))
    registered = field(body, "isRegistered", "bool")
    if method is not None:
        meta["uploadMethod"] = method
    if registered is not None:
        meta["isRegistered"] = registered
    store = get_store()
    with store.transaction() as db:
        require_dataset(dataset_id)
        store.put_doc("upload", {"meta": meta}, dataset_id=dataset_id, owner=current_user().user_id)
        touch_dataset(db, dataset_id)
    return no_content()


@bp.get("/v1/datasets/<dataset_id>/children")
def children(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify([])
