"""Exports of a tag's samples to labeling tools (rows in sample order, offset-paginated).

Read URLs in exports last ``expiresIn`` seconds, by default "unlimited" (CONTRACT §8.6:
``blobs.LONG_LIVED_S``); ``fileNameFormat=REDIRECTED_READ_URL`` lines never expire, as
they redirect to a fresh read URL (``samples.read_redirect_url``). ``format`` is checked
but the file names stay text/plain: the contract gives no JSON shape (§8.6, §9, §10.14).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, g, jsonify, make_response

from runner.local import bitmask
from runner.local.access import require_dataset
from runner.local.app import get_store
from runner.local.blobs import LONG_LIVED_S
from runner.local.errors import bad_request
from runner.local.routes._input import paginate, query_bool, query_int, query_str
from runner.local.routes.datasources import active_datasource
from runner.local.routes.samples import read_redirect_url, read_url
from runner.local.routes.tags import find_tag

bp = Blueprint("exports", __name__)
T = "/v1/datasets/<dataset_id>/tags/<tag_id>/export"
FILE_NAME_FORMATS = ("NAME", "REDIRECTED_READ_URL", "DATASOURCE_FULL")
OUTPUT_FORMATS = ("JSON", "PLAIN")


def _check_options() -> None:
    """400 for a bad value of an optional export parameter (CONTRACT §8.6), before any work."""
    query_int("expiresIn", None, minimum=1)
    query_bool("includeMetaData")
    query_bool("previewExample")
    fmt = query_str("format")
    if fmt is not None and fmt not in OUTPUT_FORMATS:
        raise bad_request(f"format must be one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")


def _tag_samples(dataset_id: str, tag_id: str) -> list[dict[str, Any]]:
    """The SampleData of the tag's samples, in sample order (one query, linear in size)."""
    _check_options()
    require_dataset(dataset_id)
    tag = find_tag(dataset_id, tag_id)
    wanted = bitmask.positions(bitmask.parse(tag["bitMaskData"]))
    rows = get_store().db.execute(
        "SELECT idx, data FROM samples WHERE dataset_id=? ORDER BY idx", (dataset_id,)
    )
    selected = set(wanted.tolist())
    return [json.loads(r["data"]) for r in rows if r["idx"] in selected]


def _url(dataset_id: str, sample: dict[str, Any]) -> str:
    """The read URL of the sample's image; its thumbnail only in a dataset of thumbnails
    (as ``readurl``: in a dataset of full images a missing image answers 404)."""
    expires = query_int("expiresIn", LONG_LIVED_S, minimum=1)
    if "keeps_full_images" not in g:  # once per request, not per sample
        g.keeps_full_images = require_dataset(dataset_id).get("imgType") == "full"
    return read_url(
        dataset_id, sample, "full", expires_in=expires, thumbnail_for_full=not g.keeps_full_images
    )


def _label_studio_data(dataset_id: str, sample: dict[str, Any]) -> dict[str, Any]:
    """LabelStudioTaskData; with ``includeMetaData`` its ``lightlyMetaInfo`` is the SampleData."""
    data = {"image": _url(dataset_id, sample), "lightlyFileName": sample["fileName"]}
    if query_bool("includeMetaData"):
        data["lightlyMetaInfo"] = sample
    return data


@bp.get(f"{T}/LabelStudio/tasks")
def label_studio(dataset_id: str, tag_id: str) -> Response:
    page = paginate(list(enumerate(_tag_samples(dataset_id, tag_id))))
    return jsonify([{"id": i, "data": _label_studio_data(dataset_id, s)} for i, s in page])


@bp.get(f"{T}/LabelBox/datarows")
def label_box(dataset_id: str, tag_id: str) -> Response:
    page = paginate(_tag_samples(dataset_id, tag_id))
    return jsonify([{"externalId": s["fileName"], "imageUrl": _url(dataset_id, s)} for s in page])


@bp.get(f"{T}/LabelBoxV4/datarows")
def label_box_v4(dataset_id: str, tag_id: str) -> Response:
    page = paginate(_tag_samples(dataset_id, tag_id))
    return jsonify(
        [
            {"row_data": _url(dataset_id, s), "global_key": s["fileName"], "media_type": "IMAGE"}
            for s in page
        ]
    )


@bp.get(f"{T}/Sama/tasks")
def sama(dataset_id: str, tag_id: str) -> Response:
    """SamaTasks: ``data`` holds the task's ``id`` and ``url`` (MODELS.md), with
    ``lightlyMetaInfo`` the SampleData as JSON text when ``includeMetaData``."""
    page = paginate(list(enumerate(_tag_samples(dataset_id, tag_id))))
    return jsonify([{"data": _sama_data(dataset_id, i, s)} for i, s in page])


def _sama_data(dataset_id: str, task_id: int, sample: dict[str, Any]) -> dict[str, Any]:
    url = _url(dataset_id, sample)
    data = {"id": task_id, "url": url, "image": url, "lightlyFileName": sample["fileName"]}
    if query_bool("includeMetaData"):
        data["lightlyMetaInfo"] = json.dumps(sample)
    return data


def _line(dataset_id: str, sample: dict[str, Any], fmt: str, root: str) -> str:
    if fmt == "REDIRECTED_READ_URL":
        return read_redirect_url(dataset_id, sample["id"])
    if fmt == "DATASOURCE_FULL":
        return f"{root.rstrip('/')}/{sample['fileName']}" if root else sample["fileName"]
    return str(sample["fileName"])


@bp.get(f"{T}/basic/filenames")
def filenames(dataset_id: str, tag_id: str) -> Response:
    fmt = query_str("fileNameFormat") or "NAME"
    if fmt not in FILE_NAME_FORMATS:
        raise bad_request(f"fileNameFormat must be one of {', '.join(FILE_NAME_FORMATS)}")
    samples = paginate(_tag_samples(dataset_id, tag_id))
    datasource = active_datasource(dataset_id) or {}
    root = str(datasource.get("fullPath", ""))
    response = make_response("\n".join(_line(dataset_id, s, fmt, root) for s in samples))
    response.mimetype = "text/plain"
    return response


@bp.get(f"{T}/basic/filenamesAndReadUrls")
def filenames_and_read_urls(dataset_id: str, tag_id: str) -> Response:
    page = paginate(_tag_samples(dataset_id, tag_id))
    return jsonify([{"fileName": s["fileName"], "readUrl": _url(dataset_id, s)} for s in page])
