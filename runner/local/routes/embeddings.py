"""Embeddings: CSV uploads through signed URLs, listing (newest first), 2-D views.

``writeCSVUrl?name=`` creates the DatasetEmbeddingData (``isProcessed: false``) and
answers a signed PUT URL for ``datasets/<datasetId>/embeddings/<embeddingId>.csv``;
once the CSV arrives there, the blob hook marks the embedding processed. The 2-D
jobs: PCA is computed here with numpy from the uploaded CSV; TSNE and UMAP are
accepted and do nothing (no such library is part of the local server).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify

from runner.local.access import require_dataset
from runner.local.app import get_blobs, get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import (
    base_url,
    field,
    json_body,
    no_content,
    query_str,
    require_id,
)
from runner.local.routes.blobs import on_put
from runner.local.routes.datasets import touch_dataset
from runner.local.store import now_ms

bp = Blueprint("embeddings", __name__)

E = "/v1/datasets/<dataset_id>/embeddings"
METHODS = ("PCA", "TSNE", "UMAP")


def csv_key(dataset_id: str, embedding_id: str) -> str:
    """Blob key of an embedding's CSV (the worker reads it from here)."""
    return f"datasets/{dataset_id}/embeddings/{embedding_id}.csv"


def find_embedding(dataset_id: str, embedding_id: str) -> dict[str, Any]:
    """The DatasetEmbeddingData of ``embedding_id``; 404 EMBEDDING_UNKNOWN otherwise."""
    require_id(embedding_id, "embedding", "EMBEDDING_UNKNOWN")
    row = get_store().doc_row("embedding", embedding_id)
    if row is None or row["dataset_id"] != dataset_id:
        raise ApiError(404, "EMBEDDING_UNKNOWN", f"embedding {embedding_id} not found")
    data: dict[str, Any] = json.loads(row["data"])
    return data


@on_put(r"^datasets/(?P<dataset>[a-f0-9]{24})/embeddings/(?P<embedding>[a-f0-9]{24})\.csv$")
def _csv_uploaded(match: re.Match[str]) -> None:
    store = get_store()
    with store.transaction() as db:
        if store.update_doc_if(
            "embedding", match["embedding"], where={}, changes={"isProcessed": True}
        ):
            touch_dataset(db, match["dataset"])


@bp.get(E)
def list_embeddings(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify(get_store().list_docs("embedding", dataset_id=dataset_id, newest_first=True))


@bp.get(f"{E}/writeCSVUrl")
def write_csv_url(dataset_id: str) -> Response:
    name = query_str("name", required=True) or ""
    store = get_store()
    with store.transaction() as db:
        require_dataset(dataset_id)
        if any(e["name"] == name for e in store.list_docs("embedding", dataset_id=dataset_id)):
            raise bad_request(
                f"an embedding named {name!r} already exists", "EMBEDDING_NAME_EXISTS"
            )
        now = now_ms()
        data = {"name": name, "isProcessed": False, "createdAt": now}
        embedding_id = store.put_doc("embedding", data, dataset_id=dataset_id, created_at=now)
        touch_dataset(db, dataset_id)
    url = get_blobs().signed_url(base_url(), csv_key(dataset_id, embedding_id), method="PUT")
    return jsonify({"signedWriteUrl": url, "embeddingId": embedding_id})


@bp.get(f"{E}/<embedding_id>/readCSVUrl")
def read_csv_url(dataset_id: str, embedding_id: str) -> Response:
    require_dataset(dataset_id)
    find_embedding(dataset_id, embedding_id)
    return jsonify(get_blobs().signed_url(base_url(), csv_key(dataset_id, embedding_id)))


@bp.delete(f"{E}/<embedding_id>")
def delete_embedding(dataset_id: str, embedding_id: str) -> Response:
    store = get_store()
    with store.transaction() as db:
        require_dataset(dataset_id)
        find_embedding(dataset_id, embedding_id)
        store.delete_doc("embedding", embedding_id)
        for view in store.list_docs("embedding2d", dataset_id=dataset_id):
            if view["embeddingId"] == embedding_id:
                store.delete_doc("embedding2d", view["id"])
        touch_dataset(db, dataset_id)
    get_blobs().path(csv_key(dataset_id, embedding_id)).unlink(missing_ok=True)
    return no_content()


@bp.put(f"{E}/<embedding_id>/isProcessed")
def set_processed(dataset_id: str, embedding_id: str) -> Response:
    field(json_body(), "rowCount", "number", required=True, minimum=0)
    store = get_store()
    with store.transaction():
        require_dataset(dataset_id)
        find_embedding(dataset_id, embedding_id)
        store.update_doc_if("embedding", embedding_id, where={}, changes={"isProcessed": True})
    return no_content()


# -- 2-D views --------------------------------------------------------------------------------


def pca_2d(csv_bytes: bytes) -> tuple[list[float], list[float]]:
    """First two principal-component coordinates of the CSV's ``embedding_*`` columns."""
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8"))))
    if len(rows) < 2:
        raise ValueError("the CSV has no rows")
    columns = [i for i, name in enumerate(rows[0]) if re.fullmatch(r"embedding_\d+", name)]
    if not columns:
        raise ValueError("the CSV has no embedding_<n> columns")
    matrix = np.array([[float(row[i]) for i in columns] for row in rows[1:]], dtype=np.float64)
    centred = matrix - matrix.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = np.zeros((matrix.shape[0], 2))
    projected = centred @ vt[:2].T
    components[:, : projected.shape[1]] = projected
    return components[:, 0].tolist(), components[:, 1].tolist()


def _store_2d(dataset_id: str, embedding_id: str, name: str, method: str, xs: Any, ys: Any) -> str:
    now = now_ms()
    data = {
        "datasetId": dataset_id,
        "embeddingId": embedding_id,
        "name": name,
        "createdAt": now,
        "dimensionalityReductionMethod": method,
    }
    if xs:
        data["coordinatesDimension1"], data["coordinatesDimension2"] = xs, ys
    return get_store().put_doc("embedding2d", data, dataset_id=dataset_id, created_at=now)


@bp.post(f"{E}/<embedding_id>/trigger2dEmbeddingsJob")
def trigger_2d(dataset_id: str, embedding_id: str) -> Response:
    """PCA: computed now from the uploaded CSV; TSNE/UMAP: accepted, not computed."""
    method = field(
        json_body(), "dimensionalityReductionMethod", "string", required=True, choices=METHODS
    )
    with get_store().transaction():
        require_dataset(dataset_id)
        embedding = find_embedding(dataset_id, embedding_id)
        blobs = get_blobs()
        key = csv_key(dataset_id, embedding_id)
        if method == "PCA" and blobs.exists(key):
            try:
                xs, ys = pca_2d(blobs.read(key))
            except (ValueError, IndexError, UnicodeDecodeError) as error:
                raise bad_request(
                    f"cannot read the embeddings CSV: {error}", "EMBEDDING_INVALID"
                ) from None
            _store_2d(dataset_id, embedding_id, f"{embedding['name']}_PCA", method, xs, ys)
    return no_content()


@bp.post(f"{E}/<embedding_id>/2d")
def create_2d(dataset_id: str, embedding_id: str) -> tuple[Response, int]:
    body = json_body()
    name = field(body, "name", "string", required=True, min_len=1)
    method = field(body, "dimensionalityReductionMethod", "string", required=True, choices=METHODS)
    xs = field(body, "coordinatesDimension1", "array") or []
    ys = field(body, "coordinatesDimension2", "array") or []
    if len(xs) != len(ys) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in [*xs, *ys]
    ):
        raise bad_request("coordinatesDimension1/2 must be number lists of equal length")
    with get_store().transaction():
        require_dataset(dataset_id)
        find_embedding(dataset_id, embedding_id)
        view_id = _store_2d(dataset_id, embedding_id, name, method, xs, ys)
    return jsonify({"id": view_id}), 201


@bp.get(f"{E}/<embedding_id>/2d")
def list_2d(dataset_id: str, embedding_id: str) -> Response:
    require_dataset(dataset_id)
    find_embedding(dataset_id, embedding_id)
    views = get_store().list_docs("embedding2d", dataset_id=dataset_id)
    return jsonify([v for v in views if v["embeddingId"] == embedding_id])


@bp.get(f"{E}/<embedding_id>/2d/<view_id>")
def get_2d(dataset_id: str, embedding_id: str, view_id: str) -> Response:
    require_dataset(dataset_id)
    find_embedding(dataset_id, embedding_id)
    require_id(view_id, "2d embedding", "EMBEDDING_2D_UNKNOWN")
    view = get_store().get_doc("embedding2d", view_id)
    if view is None or view["embeddingId"] != embedding_id:
        raise ApiError(404, "EMBEDDING_2D_UNKNOWN", f"2d embedding {view_id} not found")
    return jsonify(view)
