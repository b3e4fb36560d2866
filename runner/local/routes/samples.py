"""Samples, the sample order (mappings), and the signed URLs of their images.

A sample's ``idx`` is its position in the dataset's sample order (the bit it owns
in every tag mask); it is ``max + 1`` computed inside the inserting transaction, so
parallel creations never collide. Images live at blob keys
``datasets/<datasetId>/samples/<sampleId>/{full,thumb}<ext>``; when a sample has no
uploaded image, its read URL serves the file from the dataset's LOCAL datasource.
Helpers other modules use: ``file_names``, ``sample_ids``, ``load_sample``,
``insert_sample``, ``read_url``, ``read_redirect_url``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect
from flask.typing import ResponseReturnValue

from runner.local.access import require_dataset
from runner.local.app import current_user, get_blobs, get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import (
    base_url,
    json_body,
    no_content,
    paginate,
    query_bool,
    query_str,
    require_id,
)
from runner.local.routes._sample_fields import sample_fields
from runner.local.routes.datasources import local_file_key
from runner.local.store import new_id, now_ms

bp = Blueprint("samples", __name__)

D = "/v1/datasets/<dataset_id>"
PARTIAL_MODES = ("ids", "fileNames", "full")


# -- helpers for every module ----------------------------------------------------------------


def file_names(db: sqlite3.Connection, dataset_id: str) -> list[str]:
    """File names in sample order (``mappings?field=fileName``)."""
    rows = db.execute(
        "SELECT file_name FROM samples WHERE dataset_id=? ORDER BY idx", (dataset_id,)
    )
    return [r[0] for r in rows]


def sample_ids(db: sqlite3.Connection, dataset_id: str) -> list[str]:
    """Sample ids in sample order (``mappings?field=_id``)."""
    rows = db.execute("SELECT id FROM samples WHERE dataset_id=? ORDER BY idx", (dataset_id,))
    return [r[0] for r in rows]


def load_sample(db: sqlite3.Connection, dataset_id: str, sample_id: str) -> dict[str, Any]:
    """The SampleData of ``sample_id`` in ``dataset_id``; 404 SAMPLE_UNKNOWN otherwise."""
    require_id(sample_id, "sample", "SAMPLE_UNKNOWN")
    row = db.execute(
        "SELECT data FROM samples WHERE dataset_id=? AND id=?", (dataset_id, sample_id)
    ).fetchone()
    if row is None:
        raise ApiError(404, "SAMPLE_UNKNOWN", f"sample {sample_id} not found")
    data: dict[str, Any] = json.loads(row["data"])
    return data


def insert_sample(
    db: sqlite3.Connection, dataset_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Append a sample (validated ``sample_fields``) and update the dataset's counters.

    Must run inside ``Store.transaction()``.
    """
    idx = db.execute(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM samples WHERE dataset_id=?", (dataset_id,)
    ).fetchone()[0]
    now = now_ms()
    sample = {"id": new_id(), "type": _sample_type(fields), "datasetId": dataset_id, **fields}
    sample.update({"index": idx, "createdAt": now, "lastModifiedAt": now})
    try:
        db.execute(
            "INSERT INTO samples(dataset_id, idx, id, file_name, data) VALUES (?, ?, ?, ?, ?)",
            (dataset_id, idx, sample["id"], sample["fileName"], json.dumps(sample)),
        )
    except sqlite3.IntegrityError:
        raise bad_request(
            f"a sample named {sample['fileName']!r} already exists in this dataset"
        ) from None
    _count(db, dataset_id, samples=1, size=_size(sample))
    return sample


def _sample_type(fields: dict[str, Any]) -> str:
    if "cropData" in fields:
        return "CROP"
    return "VIDEO_FRAME" if "videoFrameData" in fields else "IMAGE"


def _size(sample: dict[str, Any]) -> int:
    meta = sample.get("metaData") or {}
    return int(meta.get("sizeInBytes", 0))


def _count(db: sqlite3.Connection, dataset_id: str, *, samples: int, size: int) -> None:
    # an int64 sum that overflows turns into a REAL in SQLite: saturate it instead
    db.execute(
        "UPDATE datasets SET data=json_set(data, "
        "'$.nSamples', json_extract(data, '$.nSamples') + ?, "
        "'$.sizeInBytes', MIN(json_extract(data, '$.sizeInBytes') + ?, 9223372036854775807), "
        "'$.lastModifiedAt', ?) WHERE id=?",
        (samples, size, now_ms(), dataset_id),
    )


def blob_key(dataset_id: str, sample: dict[str, Any], kind: str) -> str:
    """Blob key of a sample's ``full`` image or ``thumb``nail."""
    name = sample["fileName"] if kind == "full" else (sample.get("thumbName") or ".webp")
    match = re.search(r"\.[A-Za-z0-9]{1,8}$", name)
    ext = match.group(0).lower() if match else ""
    return f"datasets/{dataset_id}/samples/{sample['id']}/{kind}{ext}"


def read_url(
    dataset_id: str,
    sample: dict[str, Any],
    kind: str = "full",
    *,
    expires_in: int | None = None,
    thumbnail_for_full: bool = True,
) -> str:
    """A signed read URL of the sample's ``full`` image or ``thumbnail``.

    Preference: the uploaded blob of that kind; for ``thumbnail`` then the full image;
    then the file in the dataset's LOCAL datasource; for ``full`` then the thumbnail,
    unless ``thumbnail_for_full`` is False (the URL of the missing image then answers 404).
    """
    blobs = get_blobs()
    full, thumb = blob_key(dataset_id, sample, "full"), blob_key(dataset_id, sample, "thumb")
    key = next(
        (k for k in ([thumb, full] if kind == "thumbnail" else [full]) if blobs.exists(k)), None
    )
    key = key or local_file_key(dataset_id, sample["fileName"])
    if key is None:
        key = thumb if kind == "full" and thumbnail_for_full and blobs.exists(thumb) else full
    if expires_in is None:
        return blobs.signed_url(base_url(), key)
    return blobs.signed_url(base_url(), key, expires_in=expires_in)


def read_redirect_url(dataset_id: str, sample_id: str) -> str:
    """A URL that does not expire and answers a redirect to a fresh read URL of the sample's
    image: ``readurlRedirect`` with a ``publicToken`` of the calling user for that path (as the
    platform's, CONTRACT §8.6), so it stops working once they lose access to the dataset."""
    path = f"/v1/datasets/{dataset_id}/samples/{sample_id}/readurlRedirect"
    token = get_blobs().public_token(current_user().user_id, path)
    return f"{base_url()}{path}?{urlencode({'publicToken': token})}"


def write_url(dataset_id: str, sample: dict[str, Any], kind: str) -> str:
    return get_blobs().signed_url(base_url(), blob_key(dataset_id, sample, kind), method="PUT")


# -- mappings and listing -------------------------------------------------------------------


@bp.get(f"{D}/mappings")
def mappings(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    which = query_str("field", required=True)
    db = get_store().db
    if which == "fileName":
        return jsonify(file_names(db, dataset_id))
    if which == "_id":
        return jsonify(sample_ids(db, dataset_id))
    raise bad_request(f"field must be fileName or _id, got {which!r}")


def _rows(dataset_id: str, *, order: str = "idx") -> list[dict[str, Any]]:
    name = query_str("fileName")
    sql = "SELECT data FROM samples WHERE dataset_id=?"
    args: list[Any] = [dataset_id]
    if name is not None:
        sql += " AND file_name=?"
        args.append(name)
    rows = get_store().db.execute(f"{sql} ORDER BY {order}", args)
    return paginate([json.loads(r[0]) for r in rows])


@bp.get(f"{D}/samples")
def list_samples(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    sort_by = query_str("sortBy") or "index"
    if sort_by not in ("_id", "index"):
        raise bad_request(f"sortBy must be _id or index, got {sort_by!r}")
    return jsonify(_rows(dataset_id, order="id" if sort_by == "_id" else "idx"))


@bp.get(f"{D}/samples/partial")
def partial_samples(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    mode = query_str("mode") or "full"
    if mode not in PARTIAL_MODES:
        raise bad_request(f"mode must be one of {', '.join(PARTIAL_MODES)}, got {mode!r}")
    rows = _rows(dataset_id)
    if mode == "ids":
        rows = [{"id": s["id"]} for s in rows]
    elif mode == "fileNames":
        rows = [{"id": s["id"], "fileName": s["fileName"]} for s in rows]
    return jsonify(rows)


# -- create and update ---------------------------------------------------------------------


def _create(dataset_id: str) -> dict[str, Any]:
    fields = sample_fields(json_body(), create=True)
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        return insert_sample(db, dataset_id, fields)


@bp.post(f"{D}/samples")
def create_sample(dataset_id: str) -> tuple[Response, int]:
    return jsonify({"id": _create(dataset_id)["id"]}), 201


@bp.post(f"{D}/samples/withWriteUrls")
def create_sample_with_urls(dataset_id: str) -> tuple[Response, int]:
    sample = _create(dataset_id)
    urls = {
        "full": write_url(dataset_id, sample, "full"),
        "thumb": write_url(dataset_id, sample, "thumb"),
    }
    return jsonify({"id": sample["id"], "sampleWriteUrls": urls}), 201


@bp.get(f"{D}/samples/<sample_id>")
def get_sample(dataset_id: str, sample_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify(load_sample(get_store().db, dataset_id, sample_id))


@bp.put(f"{D}/samples/<sample_id>")
def update_sample(dataset_id: str, sample_id: str) -> Response:
    """Replace the given fields (``customMetaData`` may be set to null)."""
    query_bool("enableDatasetUpdate")
    changes = sample_fields(json_body(), create=False)
    with get_store().transaction() as db:
        require_dataset(dataset_id)
        sample = load_sample(db, dataset_id, sample_id)
        old_size = _size(sample)
        sample.update(changes)
        sample["lastModifiedAt"] = now_ms()
        try:
            db.execute(
                "UPDATE samples SET file_name=?, data=? WHERE dataset_id=? AND id=?",
                (sample["fileName"], json.dumps(sample), dataset_id, sample_id),
            )
        except sqlite3.IntegrityError:
            raise bad_request(f"a sample named {sample['fileName']!r} already exists") from None
        _count(db, dataset_id, samples=0, size=_size(sample) - old_size)
    return no_content()


# -- signed URLs -------------------------------------------------------------------------------


def _sample(dataset_id: str, sample_id: str) -> dict[str, Any]:
    require_dataset(dataset_id)
    return load_sample(get_store().db, dataset_id, sample_id)


def _read_type() -> str:
    kind = query_str("type") or "full"
    if kind not in ("full", "thumbnail"):
        raise bad_request(f"type must be full or thumbnail, got {kind!r}")
    return kind


def _sample_read_url(dataset_id: str, sample_id: str) -> str:
    """The read URL of a sample's image: in a dataset of full images (``imgType: full``)
    never its thumbnail, which a download would store under the image's name."""
    keeps_full_images = require_dataset(dataset_id).get("imgType") == "full"
    sample = _sample(dataset_id, sample_id)
    return read_url(dataset_id, sample, _read_type(), thumbnail_for_full=not keeps_full_images)


@bp.get(f"{D}/samples/<sample_id>/readurl")
def sample_read_url(dataset_id: str, sample_id: str) -> Response:
    return jsonify(_sample_read_url(dataset_id, sample_id))


@bp.get(f"{D}/samples/<sample_id>/readurlRedirect")
def sample_read_redirect(dataset_id: str, sample_id: str) -> ResponseReturnValue:
    return redirect(_sample_read_url(dataset_id, sample_id), code=302)


@bp.get(f"{D}/samples/<sample_id>/writeurl")
def sample_write_url(dataset_id: str, sample_id: str) -> Response:
    sample = _sample(dataset_id, sample_id)
    is_thumbnail = query_bool("isThumbnail")
    if is_thumbnail is None:
        raise bad_request("query parameter 'isThumbnail' is required")
    return jsonify(write_url(dataset_id, sample, "thumb" if is_thumbnail else "full"))


@bp.get(f"{D}/samples/<sample_id>/writeurls")
def sample_write_urls(dataset_id: str, sample_id: str) -> Response:
    sample = _sample(dataset_id, sample_id)
    return jsonify(
        {
            "full": write_url(dataset_id, sample, "full"),
            "thumb": write_url(dataset_id, sample, "thumb"),
        }
    )
