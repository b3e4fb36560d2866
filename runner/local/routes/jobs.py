"""Active-learning scores of tags, and the deprecated server-side selection (jobs API).

The selection runs synchronously inside the request and is recorded as a
FINISHED (or FAILED) job, which is what the client polls for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify

from runner.local import bitmask
from runner.local.access import require_dataset
from runner.local.app import current_user, get_blobs, get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import ID, SCORETYPE, TAGNAME, field, json_body, require_id
from runner.local.routes.embeddings import csv_key
from runner.local.routes.samples import file_names
from runner.local.routes.tags import find_tag, insert_tag, referenced_tags, tags_of
from runner.local.store import new_id, now_ms
from runner.local.worker.embeddings import EmbeddingsCsvError, read_embeddings_csv
from runner.local.worker.selection import SelectionError, SelectionInputs, select

bp = Blueprint("jobs", __name__)
D = "/v1/datasets/<dataset_id>"
METHODS = ("ACTIVE_LEARNING", "CORAL", "CORESET", "RANDOM")


@bp.post(f"{D}/tags/<tag_id>/scores")
def create_scores(dataset_id: str, tag_id: str) -> tuple[Response, int]:
    require_dataset(dataset_id)
    tag = find_tag(dataset_id, tag_id)
    body = json_body()
    score_type = field(body, "scoreType", "string", required=True, min_len=1)
    scores = body.get("scores")
    if not isinstance(scores, list) or not all(
        isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores
    ):
        raise bad_request("'scores' must be a list of numbers")
    expected = bitmask.count(bitmask.parse(tag["bitMaskData"]))
    if len(scores) != expected:
        raise bad_request(
            f"the tag has {expected} samples but {len(scores)} scores were sent",
            "SCORES_CANNOT_BE_SET",
        )
    now = now_ms()
    doc = {
        "id": new_id(),
        "tagId": tag_id,
        "scoreType": score_type,
        "scores": scores,
        "createdAt": now,
    }
    get_store().put_doc("al_score", doc, dataset_id=dataset_id, created_at=now)
    return jsonify({"id": doc["id"]}), 201


def _scores(dataset_id: str, tag_id: str) -> list[dict[str, Any]]:
    return [
        s for s in get_store().list_docs("al_score", dataset_id=dataset_id) if s["tagId"] == tag_id
    ]


@bp.get(f"{D}/tags/<tag_id>/scores")
def list_scores(dataset_id: str, tag_id: str) -> Response:
    require_dataset(dataset_id)
    find_tag(dataset_id, tag_id)
    return jsonify(
        [
            {k: s[k] for k in ("id", "tagId", "scoreType", "createdAt")}
            for s in _scores(dataset_id, tag_id)
        ]
    )


@bp.get(f"{D}/tags/<tag_id>/scores/<score_id>")
def get_score(dataset_id: str, tag_id: str, score_id: str) -> Response:
    require_dataset(dataset_id)
    for score in _scores(dataset_id, tag_id):
        if score["id"] == score_id:
            return jsonify(score)
    raise ApiError(404, "SCORE_UNKNOWN", f"score {score_id} not found")


@bp.post(f"{D}/embeddings/<embedding_id>/sampling")
def sampling(dataset_id: str, embedding_id: str) -> Response:
    """400 for a bad request; a selection that cannot run is recorded as a FAILED job."""
    require_dataset(dataset_id)
    body = json_body()
    name = field(body, "newTagName", "string", required=True, pattern=TAGNAME, min_len=3)
    method = field(body, "method", "string", required=True, choices=METHODS)
    n_samples = _n_samples(body)
    field(body, "scoreType", "string", min_len=1, pattern=SCORETYPE)
    field(body, "rowCount", "number")
    ids = {k: field(body, k, "string", pattern=ID) for k in ("queryTagId", "preselectedTagId")}
    tags = referenced_tags(dataset_id, {k: v for k, v in ids.items() if v is not None})
    job = {
        "id": new_id(),
        "datasetId": dataset_id,
        "status": "FINISHED",
        "waitTimeTillNextPoll": 1,
        "createdAt": now_ms(),
    }
    try:
        tag_id = _run_selection(dataset_id, embedding_id, name, method, n_samples, tags)
        job["result"] = {"type": "SAMPLING", "data": tag_id}
    except (SelectionError, EmbeddingsCsvError, ApiError) as error:
        job.update({"status": "FAILED", "error": str(getattr(error, "message", error))})
    job["finishedAt"] = now_ms()
    get_store().put_doc("job", job, dataset_id=dataset_id, owner=current_user().user_id)
    return jsonify({"jobId": job["id"]})


def _n_samples(body: dict[str, Any]) -> float:
    """``config.stoppingCondition.nSamples`` (a count, or a fraction of the dataset), default 32."""
    config = field(body, "config", "object", required=True)
    stopping = field(config, "stoppingCondition", "object") or {}
    field(stopping, "minDistance", "number")
    n_samples: float | None = field(stopping, "nSamples", "number")
    return 32 if n_samples is None else n_samples


def _run_selection(
    dataset_id: str,
    embedding_id: str,
    name: str,
    method: str,
    n: float,
    tags: dict[str, dict[str, Any]],
) -> str:
    store = get_store()
    names = file_names(store.db, dataset_id)
    initial = next((t for t in tags_of(dataset_id) if t["name"] == "initial-tag"), None)
    query_tag = tags.get("queryTagId") or initial
    if query_tag is None:
        raise ApiError(400, "TAG_NO_TAG_IN_DATASET", "the dataset has no initial tag")
    pool = bitmask.positions(bitmask.parse(query_tag["bitMaskData"]))
    preselected_tag = tags.get("preselectedTagId")
    preselected = (
        set()
        if preselected_tag is None
        else set(bitmask.positions(bitmask.parse(preselected_tag["bitMaskData"])).tolist())
    )
    n_total = min(len(names), round(n * len(names)) if 0 < n < 1 else int(n))
    n_new = max(0, n_total - len(preselected))
    candidates = [int(i) for i in pool if int(i) not in preselected]
    embeddings = _embeddings(dataset_id, embedding_id, names) if method == "CORESET" else None
    subset_names = [names[i] for i in candidates]
    subset = None if embeddings is None else embeddings[candidates]
    strategy: dict[str, Any] = {"type": "DIVERSITY"} if method == "CORESET" else {"type": "WEIGHTS"}
    selection_input = {"type": "EMBEDDINGS"} if method == "CORESET" else {"type": "RANDOM"}
    config = {"nSamples": n_new, "strategies": [{"input": selection_input, "strategy": strategy}]}
    inputs = SelectionInputs(
        filenames=subset_names,
        embeddings=subset,
        scores={},
        predictions={},
        metadata=[None] * len(subset_names),
    )
    chosen = select(config, inputs, seed=0).selected.tolist()
    positions = sorted(preselected | {candidates[i] for i in chosen})
    with store.transaction() as db:
        extra = {key: tag["id"] for key, tag in tags.items()}
        tag = insert_tag(
            db,
            dataset_id,
            name=name,
            prev_tag_id=(preselected_tag or initial or {}).get("id"),
            mask=bitmask.from_positions(positions),
            extra=extra,
        )
    return str(tag["id"])


def _embeddings(dataset_id: str, embedding_id: str, names: list[str]) -> np.ndarray:
    require_id(embedding_id, "embedding", "EMBEDDING_UNKNOWN")
    path = get_blobs().path(csv_key(dataset_id, embedding_id))
    if not path.is_file():
        raise ApiError(400, "EMBEDDING_NOT_READY", f"embedding {embedding_id} has no uploaded CSV")
    _, matrix = read_embeddings_csv(path.read_bytes(), names)
    return matrix


@bp.get("/v1/jobs")
def list_jobs() -> Response:
    jobs = get_store().list_docs("job", owner=current_user().user_id)
    return jsonify(
        [
            {
                "id": j["id"],
                "jobId": j["id"],
                "jobType": "SAMPLING",
                "datasetId": j["datasetId"],
                "status": j["status"],
                "createdAt": j["createdAt"],
            }
            for j in jobs
        ]
    )


@bp.get("/v1/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    require_id(job_id, "job", "JOB_UNKNOWN")
    row = get_store().doc_row("job", job_id)
    if row is None or row["owner"] != current_user().user_id:
        raise ApiError(404, "JOB_UNKNOWN", f"job {job_id} not found")
    return jsonify(get_store().get_doc("job", job_id))
