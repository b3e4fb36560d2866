"""Active-learning scores of tags, and the deprecated server-side selection (jobs API).

The selection runs synchronously inside the request and is recorded as a
FINISHED (or FAILED) job, which is what the client polls for. It is the worker's
``select`` (CONTRACT §8.10) over the query tag's samples, with the preselected ones
marked ``preselected``, for ``nSamples`` minus the preselected count:

* RANDOM: WEIGHTS on a RANDOM input with a fresh seed (uniform, new each time);
* CORESET: DIVERSITY on the uploaded embeddings, stopping at ``minDistance``;
* ACTIVE_LEARNING: WEIGHTS on the query tag's uploaded scores (highest first);
* CORAL: both, as one joint score.

The new tag is the preselected samples plus the picked ones; when the preselected
ones already make ``nSamples``, it is just them.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    n_samples, min_distance = _stopping_condition(body)
    score_type = field(body, "scoreType", "string", min_len=1, pattern=SCORETYPE)
    field(body, "rowCount", "number")
    ids = {k: field(body, k, "string", pattern=ID) for k in ("queryTagId", "preselectedTagId")}
    tags = referenced_tags(dataset_id, {k: v for k, v in ids.items() if v is not None})
    request = _Request(name, method, n_samples, min_distance, score_type)
    job = {
        "id": new_id(),
        "datasetId": dataset_id,
        "status": "FINISHED",
        "waitTimeTillNextPoll": 1,
        "createdAt": now_ms(),
    }
    try:
        tag_id = _run_selection(dataset_id, embedding_id, request, tags)
        job["result"] = {"type": "SAMPLING", "data": tag_id}
    except (SelectionError, EmbeddingsCsvError, ApiError) as error:
        job.update({"status": "FAILED", "error": str(getattr(error, "message", error))})
    job["finishedAt"] = now_ms()
    get_store().put_doc("job", job, dataset_id=dataset_id, owner=current_user().user_id)
    return jsonify({"jobId": job["id"]})


@dataclass(frozen=True)
class _Request:
    """The checked SamplingCreateRequest."""

    name: str
    method: str
    n_samples: float
    min_distance: float | None
    score_type: str | None


def _stopping_condition(body: dict[str, Any]) -> tuple[float, float | None]:
    """``config.stoppingCondition``: ``nSamples`` (a count, or a fraction of the dataset;
    default 32) and ``minDistance`` (None: not sent)."""
    config = field(body, "config", "object", required=True)
    stopping = field(config, "stoppingCondition", "object") or {}
    min_distance: float | None = field(stopping, "minDistance", "number")
    n_samples: float | None = field(stopping, "nSamples", "number")
    return (32 if n_samples is None else n_samples), min_distance


def _run_selection(
    dataset_id: str, embedding_id: str, request: _Request, tags: dict[str, dict[str, Any]]
) -> str:
    store = get_store()
    names = file_names(store.db, dataset_id)
    initial = next((t for t in tags_of(dataset_id) if t["name"] == "initial-tag"), None)
    query_tag = tags.get("queryTagId") or initial
    if query_tag is None:
        raise ApiError(400, "TAG_NO_TAG_IN_DATASET", "the dataset has no initial tag")
    preselected_tag = tags.get("preselectedTagId")
    preselected = set() if preselected_tag is None else set(_positions(preselected_tag))
    n = request.n_samples
    n_total = min(len(names), round(n * len(names)) if 0 < n < 1 else int(n))
    # nSamples counts the preselected samples (§8.10): when they already make it, the new
    # tag is the preselected set (select refuses to pick 0 samples). An nSamples that
    # makes no sample at all (0, negative, a fraction rounding to 0) still fails in select.
    chosen: list[int] = []
    if n_total < 1 or n_total > len(preselected):
        selection = _Selection(names, query_tag, _positions(query_tag), preselected)
        chosen = _choose(dataset_id, embedding_id, request, selection, n_total - len(preselected))
    with store.transaction() as db:
        extra = {key: tag["id"] for key, tag in tags.items()}
        tag = insert_tag(
            db,
            dataset_id,
            name=request.name,
            prev_tag_id=(preselected_tag or initial or {}).get("id"),
            mask=bitmask.from_positions(sorted(preselected | set(chosen))),
            extra=extra,
        )
    return str(tag["id"])


def _positions(tag: dict[str, Any]) -> list[int]:
    return [int(i) for i in bitmask.positions(bitmask.parse(tag["bitMaskData"]))]


@dataclass(frozen=True)
class _Selection:
    """The samples a selection looks at: the query tag's and the preselected ones."""

    names: list[str]
    query_tag: dict[str, Any]
    pool: list[int]
    preselected: set[int]

    @property
    def universe(self) -> list[int]:
        return sorted(set(self.pool) | self.preselected)


def _choose(
    dataset_id: str, embedding_id: str, request: _Request, selection: _Selection, n_new: int
) -> list[int]:
    """Positions of up to ``n_new`` new samples, picked by the worker's ``select``.

    The preselected samples are inputs too, marked ``preselected``: CORESET's farthest-point
    search starts from them, and they are never picked again.
    """
    universe = selection.universe
    method = request.method
    strategies: list[dict[str, Any]] = []
    embeddings = None
    if method in ("CORESET", "CORAL"):
        embeddings = _embeddings(dataset_id, embedding_id, selection.names)[universe]
        strategies.append(_diversity(request.min_distance))
    scores: dict[str, np.ndarray] = {}
    if method in ("ACTIVE_LEARNING", "CORAL"):
        score_type, values = _uploaded_scores(dataset_id, selection, request.score_type)
        scores[f"scores/{score_type}"] = values
        score_input = {"type": "SCORES", "task": "scores", "score": score_type}
        strategies.append({"input": score_input, "strategy": {"type": "WEIGHTS"}})
    if method == "RANDOM":
        strategies.append({"input": {"type": "RANDOM"}, "strategy": {"type": "WEIGHTS"}})
    inputs = SelectionInputs(
        filenames=[selection.names[i] for i in universe],
        embeddings=embeddings,
        scores=scores,
        predictions={},
        metadata=[None] * len(universe),
        preselected=np.isin(universe, sorted(selection.preselected)),
    )
    # no seed: RANDOM is uniform (§8.10) and so differs from one request to the next
    config = {"nSamples": max(0, n_new), "strategies": strategies}
    return [universe[int(i)] for i in select(config, inputs).selected]


def _diversity(min_distance: float | None) -> dict[str, Any]:
    """CORESET's DIVERSITY term, stopping at ``minDistance``.

    ``stopping_condition_minimum_distance`` means what §8.10 says of minDistance: no
    pick closer (Euclidean) than it to a sample chosen or preselected, and the selection
    stops when none is left; 0 or less is off (the client's default is -1). The distance
    is measured in the vectors given to ``select``: a worker run normalises embeddings to
    unit length first (by default), but here they are the uploaded CSV's raw values, so
    minDistance is in the units of the uploaded embeddings, as the user sees them.
    """
    strategy: dict[str, Any] = {"type": "DIVERSITY"}
    if min_distance is not None and min_distance > 0:
        strategy["stopping_condition_minimum_distance"] = min_distance
    return {"input": {"type": "EMBEDDINGS"}, "strategy": strategy}


def _uploaded_scores(
    dataset_id: str, selection: _Selection, score_type: str | None
) -> tuple[str, np.ndarray]:
    """The query tag's newest upload of ``score_type``, one value per ``selection.universe``
    position (NaN for a preselected sample outside the query tag); WEIGHTS picks the
    highest first, as scores close to 1 mark the important samples (Lightly's scorers).

    §8.10 names the scores by ``scoreType``, which the official client never sends.
    Without it: ``uncertainty_margin``, the default ``active_learning.score_name`` of the
    Lightly Worker, else the only score type uploaded for the query tag.
    """
    tag = selection.query_tag
    uploads: dict[str, list[float]] = {}  # the newest upload of each type wins
    for upload in _scores(dataset_id, tag["id"]):
        # the initial tag grows on upsize; scores sent before no longer align with it
        if len(upload["scores"]) == len(selection.pool):
            uploads[upload["scoreType"]] = upload["scores"]
    if score_type is None:
        score_type = "uncertainty_margin"
        if score_type not in uploads and len(uploads) == 1:
            [score_type] = uploads
    if score_type not in uploads:
        raise SelectionError(
            f"no active-learning scores {score_type!r} for the {len(selection.pool)} samples "
            f"of the query tag {tag['name']!r}; uploaded: {', '.join(sorted(uploads)) or 'none'}"
        )
    by_position = dict(zip(selection.pool, uploads[score_type], strict=True))
    values = [by_position.get(p, np.nan) for p in selection.universe]
    return score_type, np.asarray(values, dtype=np.float64)


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
