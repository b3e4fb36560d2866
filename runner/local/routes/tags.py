"""Tags: named bitmasks over the dataset's sample order (CONTRACT §3.2, §6, §8.1).

Tags are documents of kind ``tag`` holding the wire-shaped TagData. The initial
tag (``prevTagId: null``) holds every sample present when it was made; upsizing
extends it to the current size and records the newcomers in a new tag. Only leaf,
non-initial tags can be deleted. ``insert_tag`` / ``tags_of`` / ``find_tag`` /
``tag_file_names`` are the helpers the worker and other routes use.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from flask import Blueprint, Response, jsonify

from runner.local import bitmask
from runner.local.access import require_dataset
from runner.local.app import get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import (
    HEXMASK,
    ID,
    TAGNAME,
    field,
    json_body,
    no_content,
    require_id,
)
from runner.local.routes.datasets import touch_dataset, update_dataset
from runner.local.routes.samples import file_names
from runner.local.store import now_ms

bp = Blueprint("tags", __name__)

D = "/v1/datasets/<dataset_id>"
INITIAL_TAG = "initial-tag"
TAG_CREATORS = (
    "UNKNOWN",
    "USER_WEBAPP",
    "USER_PIP",
    "USER_PIP_LIGHTLY_MAGIC",
    "USER_WORKER",
    "SAMPLER_ACTIVE_LEARNING",
    "SAMPLER_CORAL",
    "SAMPLER_CORESET",
    "SAMPLER_RANDOM",
)
IMAGE_TYPES = ("full", "thumbnail", "meta")
_REFERENCE_CODES = {
    "queryTagId": "TAG_QUERYTAG_NOT_IN_DATASET",
    "preselectedTagId": "TAG_PRESELECTEDTAG_NOT_IN_DATASET",
}


# -- helpers for every module -----------------------------------------------------------------


def tags_of(dataset_id: str) -> list[dict[str, Any]]:
    """All TagData of the dataset, oldest first."""
    return get_store().list_docs("tag", dataset_id=dataset_id)


def find_tag(dataset_id: str, tag_id: str) -> dict[str, Any]:
    """The tag ``tag_id`` of ``dataset_id``; 404 TAG_UNKNOWN otherwise."""
    require_id(tag_id, "tag", "TAG_UNKNOWN")
    row = get_store().doc_row("tag", tag_id)
    if row is None or row["dataset_id"] != dataset_id:
        raise ApiError(404, "TAG_UNKNOWN", f"tag {tag_id} not found in dataset {dataset_id}")
    tag: dict[str, Any] = json.loads(row["data"])
    return tag


def referenced_tags(dataset_id: str, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The tags that ``ids`` (checked queryTagId / preselectedTagId) name; 400 if not in the dataset."""
    tags = {t["id"]: t for t in tags_of(dataset_id)}
    found = {}
    for key, code in _REFERENCE_CODES.items():
        tag_id = ids.get(key)
        if tag_id is not None:
            if tag_id not in tags:
                raise bad_request(f"{key} {tag_id} is not a tag of this dataset", code)
            found[key] = tags[tag_id]
    return found


def dataset_size(db: sqlite3.Connection, dataset_id: str) -> int:
    return int(
        db.execute("SELECT COUNT(*) FROM samples WHERE dataset_id=?", (dataset_id,)).fetchone()[0]
    )


def insert_tag(
    db: sqlite3.Connection,
    dataset_id: str,
    *,
    name: str,
    prev_tag_id: str | None,
    mask: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a tag (inside a transaction); name unique, mask within the dataset."""
    size = dataset_size(db, dataset_id)
    existing = tags_of(dataset_id)
    if any(t["name"] == name for t in existing):
        raise bad_request(f"a tag named {name!r} already exists", "TAG_NAME_EXISTS")
    if prev_tag_id is not None and all(t["id"] != prev_tag_id for t in existing):
        raise bad_request(
            f"prevTagId {prev_tag_id} is not a tag of this dataset", "TAG_PREVTAG_NOT_IN_DATASET"
        )
    _check_mask(mask, size)
    now = now_ms()
    tag: dict[str, Any] = {
        "datasetId": dataset_id,
        "prevTagId": prev_tag_id,
        "name": name,
        "bitMaskData": bitmask.to_hex(mask),
        "totSize": size,
        "createdAt": now,
        "lastModifiedAt": now,
        **(extra or {}),
    }
    get_store().put_doc("tag", tag, dataset_id=dataset_id, created_at=now)
    touch_dataset(db, dataset_id)
    return tag


def _check_mask(mask: int, size: int) -> None:
    if mask.bit_length() > size:
        raise bad_request(
            f"the bitmask refers to sample {mask.bit_length() - 1}, the dataset has {size} samples",
            "DATASET_TAG_INVALID",
        )


def _save(db: sqlite3.Connection, tag: dict[str, Any]) -> None:
    tag["lastModifiedAt"] = now_ms()
    get_store().put_doc("tag", tag, dataset_id=tag["datasetId"])
    touch_dataset(db, tag["datasetId"])


def tag_file_names(dataset_id: str, tag: dict[str, Any]) -> list[str]:
    """File names of the tag's samples, in sample order."""
    names = file_names(get_store().db, dataset_id)
    return [
        names[i] for i in bitmask.positions(bitmask.parse(tag["bitMaskData"])) if i < len(names)
    ]


def _mask_field(body: dict[str, Any], name: str = "bitMaskData", *, required: bool) -> int | None:
    value = field(body, name, "string", required=required, pattern=HEXMASK)
    return None if value is None else bitmask.parse(value)


def _extras(body: dict[str, Any]) -> dict[str, Any]:
    extra = {}
    for key in ("queryTagId", "preselectedTagId", "runId"):
        value = field(body, key, "string", pattern=ID)
        if value is not None:
            extra[key] = value
    return extra


# -- routes ---------------------------------------------------------------------------------------


@bp.get(f"{D}/tags")
def list_tags(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify(tags_of(dataset_id))


@bp.post(f"{D}/tags")
def create_tag(dataset_id: str) -> tuple[Response, int]:
    body = json_body()
    name = field(body, "name", "string", required=True, pattern=TAGNAME, min_len=3)
    prev = field(body, "prevTagId", "string", required=True, pattern=ID)
    mask = _mask_field(body, required=True)
    field(body, "totSize", "int", required=True, minimum=0)
    field(body, "creator", "string", choices=TAG_CREATORS)
    field(body, "changes", "object")
    extra = _extras(body)
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        referenced_tags(dataset_id, extra)
        tag = insert_tag(db, dataset_id, name=name, prev_tag_id=prev, mask=mask or 0, extra=extra)
    return jsonify({"id": tag["id"]}), 201


@bp.post(f"{D}/tags/initial")
def create_initial_tag(dataset_id: str) -> tuple[Response, int]:
    body = json_body()
    img_type = field(body, "imgType", "string", required=True, choices=IMAGE_TYPES)
    name = field(body, "name", "string", pattern=TAGNAME, min_len=3) or INITIAL_TAG
    field(body, "creator", "string", choices=TAG_CREATORS)
    run_id = field(body, "runId", "string", pattern=ID)
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        if any(t["prevTagId"] is None for t in tags_of(dataset_id)):
            raise bad_request("the dataset already has an initial tag", "TAG_INITIAL_EXISTS")
        mask = bitmask.full(dataset_size(db, dataset_id))
        extra = {"runId": run_id} if run_id else {}
        tag = insert_tag(db, dataset_id, name=name, prev_tag_id=None, mask=mask, extra=extra)
        update_dataset(db, dataset_id, {"imgType": img_type})
    return jsonify({"id": tag["id"]}), 201


@bp.post(f"{D}/tags/upsize")
def upsize_tags(dataset_id: str) -> tuple[Response, int]:
    """Grow every tag to the dataset size; a new tag holds the samples new to the initial tag."""
    body = json_body()
    name = field(body, "upsizeTagName", "string", required=True, pattern=TAGNAME, min_len=3)
    field(body, "upsizeTagCreator", "string", required=True, choices=TAG_CREATORS)
    run_id = field(body, "runId", "string", pattern=ID)
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        tags = tags_of(dataset_id)
        initial = next((t for t in tags if t["prevTagId"] is None), None)
        if initial is None:
            raise bad_request("the dataset has no initial tag to upsize", "TAG_NO_TAG_IN_DATASET")
        size = dataset_size(db, dataset_id)
        added = bitmask.difference(bitmask.full(size), bitmask.parse(initial["bitMaskData"]))
        for tag in tags:
            tag["totSize"] = size
            if tag is initial:
                tag["bitMaskData"] = bitmask.to_hex(bitmask.full(size))
            _save(db, tag)
        extra = {"runId": run_id} if run_id else {}
        new = insert_tag(
            db, dataset_id, name=name, prev_tag_id=initial["id"], mask=added, extra=extra
        )
    return jsonify({"id": new["id"]}), 201


def _arithmetics(dataset_id: str) -> tuple[dict[str, Any], int]:
    body = json_body()
    id1 = field(body, "tagId1", "string", required=True, pattern=ID)
    id2 = field(body, "tagId2", "string", required=True, pattern=ID)
    operation = field(body, "operation", "string", required=True, choices=tuple(bitmask.OPERATIONS))
    require_dataset(dataset_id)
    tag1, tag2 = find_tag(dataset_id, id1), find_tag(dataset_id, id2)
    mask = bitmask.OPERATIONS[operation](
        bitmask.parse(tag1["bitMaskData"]), bitmask.parse(tag2["bitMaskData"])
    )
    return body, mask


@bp.post(f"{D}/tags/arithmetics/bitmask")
def arithmetics_bitmask(dataset_id: str) -> Response:
    _, mask = _arithmetics(dataset_id)
    return jsonify({"bitMaskData": bitmask.to_hex(mask)})


@bp.post(f"{D}/tags/arithmetics")
def arithmetics(dataset_id: str) -> Response:
    """The combined mask, or (with ``newTagName``) a new tag holding it."""
    with get_store().transaction() as db:
        body, mask = _arithmetics(dataset_id)
        name = field(body, "newTagName", "string", pattern=TAGNAME, min_len=3)
        field(body, "creator", "string", choices=TAG_CREATORS)
        if name is None:
            return jsonify({"bitMaskData": bitmask.to_hex(mask)})
        extra = _extras({"runId": body.get("runId")})
        tag = insert_tag(
            db, dataset_id, name=name, prev_tag_id=body["tagId1"], mask=mask, extra=extra
        )
    return jsonify({"id": tag["id"]})


@bp.get(f"{D}/tags/<tag_id>")
def get_tag(dataset_id: str, tag_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify(find_tag(dataset_id, tag_id))


@bp.put(f"{D}/tags/<tag_id>")
def update_tag(dataset_id: str, tag_id: str) -> Response:
    body = json_body()
    name = field(body, "name", "string", required=True, pattern=TAGNAME, min_len=3)
    mask = _mask_field(body, required=False)
    field(body, "updateCreator", "string", choices=TAG_CREATORS)
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        tag = find_tag(dataset_id, tag_id)
        if any(t["name"] == name and t["id"] != tag_id for t in tags_of(dataset_id)):
            raise bad_request(f"a tag named {name!r} already exists", "TAG_NAME_EXISTS")
        tag["name"] = name
        if mask is not None:
            size = dataset_size(db, dataset_id)
            _check_mask(mask, size)
            tag["bitMaskData"], tag["totSize"] = bitmask.to_hex(mask), size
        _save(db, tag)
    return no_content()


@bp.delete(f"{D}/tags/<tag_id>")
def delete_tag(dataset_id: str, tag_id: str) -> Response:
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        tag = find_tag(dataset_id, tag_id)
        if tag["prevTagId"] is None:
            raise bad_request("the initial tag cannot be deleted", "TAG_UNDELETABLE_IS_INITIAL")
        if any(t["prevTagId"] == tag_id for t in tags_of(dataset_id)):
            raise bad_request("only leaf tags can be deleted", "TAG_UNDELETABLE_NOT_A_LEAF")
        get_store().delete_doc("tag", tag_id)
        touch_dataset(db, dataset_id)
    return no_content()


@bp.get(f"{D}/tags/<tag_id>/filenames")
def tag_filenames(dataset_id: str, tag_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify(tag_file_names(dataset_id, find_tag(dataset_id, tag_id)))
