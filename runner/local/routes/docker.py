"""Lightly Worker endpoints: worker registry, configs, scheduled runs, runs and artifacts."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, make_response, request

from runner.local.access import require_dataset
from runner.local.app import current_user, get_blobs, get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import (
    base_url,
    field,
    json_body,
    no_content,
    paginate,
    query_str,
    require_id,
)
from runner.local.runs import run_of_scheduled
from runner.local.store import new_id, now_ms

bp = Blueprint("docker", __name__)

DSNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9 _-]+$")
PRIORITIES = ("LOW", "MID", "HIGH", "CRITICAL")
SCHEDULED_STATES = ("OPEN", "LOCKED", "DONE", "CANCELED")
WORKER_STATES = ("OFFLINE", "CRASHED", "IDLE", "BUSY")
CONFIG_SECTIONS = {"workerType", "docker", "lightly", "selection"}


def _own(kind: str, doc_id: str, code: str, what: str) -> dict[str, Any]:
    require_id(doc_id, what, code)
    row = get_store().doc_row(kind, doc_id)
    if row is None or row["owner"] != current_user().user_id:
        raise ApiError(404, code, f"{what} {doc_id} not found")
    return get_store().get_doc(kind, doc_id) or {}


# -- worker registry ------------------------------------------------------------------------


@bp.post("/v1/docker/worker")
def register_worker() -> tuple[Response, int]:
    body = json_body()
    name = field(body, "name", "string", required=True, pattern=DSNAME, min_len=3)
    field(body, "workerType", "string", required=True, choices=("FULL",))
    labels = field(body, "labels", "array") or []
    if not all(isinstance(label, str) for label in labels):
        raise bad_request("'labels' must be a list of strings")
    store = get_store()
    user = current_user()
    with store.transaction():
        for worker in store.list_docs("worker", owner=user.user_id):
            if worker["name"] == name:
                return jsonify({"id": worker["id"]}), 201
        now = now_ms()
        worker = {
            "id": new_id(),
            "userId": user.user_id,
            "name": name,
            "workerType": "FULL",
            "state": "OFFLINE",
            "createdAt": now,
            "lastModifiedAt": now,
            "labels": labels,
        }
        store.put_doc("worker", worker, owner=user.user_id, created_at=now)
    return jsonify({"id": worker["id"]}), 201


@bp.get("/v1/docker/worker")
def list_workers() -> Response:
    if request.args.get("getAssetsOfTeam", "").lower() == "true":
        return jsonify([])
    return jsonify(get_store().list_docs("worker", owner=current_user().user_id))


@bp.get("/v1/docker/worker/<worker_id>")
def get_worker(worker_id: str) -> Response:
    return jsonify(_own("worker", worker_id, "DOCKER_WORKER_UNKNOWN", "worker"))


@bp.put("/v1/docker/worker/<worker_id>")
def update_worker(worker_id: str) -> Response:
    _own("worker", worker_id, "DOCKER_WORKER_UNKNOWN", "worker")
    body = json_body()
    state = field(body, "state", "string", required=True, choices=WORKER_STATES)
    get_store().update_doc_if(
        "worker", worker_id, where={}, changes={"state": state, "lastModifiedAt": now_ms()}
    )
    return no_content()


@bp.delete("/v1/docker/worker/<worker_id>")
def delete_worker(worker_id: str) -> Response:
    _own("worker", worker_id, "DOCKER_WORKER_UNKNOWN", "worker")
    get_store().delete_doc("worker", worker_id)
    return no_content()


# -- configs --------------------------------------------------------------------------------


def _check_config(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise bad_request("'config' must be an object", "DOCKER_WORKER_CONFIG_INVALID")
    unknown = sorted(set(config) - CONFIG_SECTIONS)
    if unknown:
        raise bad_request(
            f"unknown config keys {unknown}; allowed: {sorted(CONFIG_SECTIONS)}",
            "DOCKER_WORKER_CONFIG_INVALID",
        )
    if config.get("workerType") != "FULL":
        raise bad_request("config.workerType must be 'FULL'", "DOCKER_WORKER_CONFIG_INVALID")
    for section in ("docker", "lightly", "selection"):
        if section in config and not isinstance(config[section], dict):
            raise bad_request(f"config.{section} must be an object", "DOCKER_WORKER_CONFIG_INVALID")
    selection = config.get("selection")
    if selection is not None:
        strategies = selection.get("strategies")
        if not isinstance(strategies, list) or not strategies:
            raise bad_request(
                "config.selection.strategies must be a non-empty list",
                "DOCKER_WORKER_CONFIG_INVALID",
            )
        for i, entry in enumerate(strategies):
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("input"), dict)
                or not isinstance(entry.get("strategy"), dict)
            ):
                raise bad_request(
                    f"config.selection.strategies[{i}] needs 'input' and 'strategy' objects",
                    "DOCKER_WORKER_CONFIG_INVALID",
                )
    return config


@bp.post("/v1/docker/worker/config/v3")
def create_config() -> tuple[Response, int]:
    body = json_body()
    config = _check_config(body.get("config"))
    now = now_ms()
    doc = {
        "id": new_id(),
        "version": "v3",
        "config": config,
        "configOrig": config,
        "createdAt": now,
    }
    get_store().put_doc("worker_config", doc, owner=current_user().user_id, created_at=now)
    return jsonify({"id": doc["id"]}), 201


@bp.get("/v1/docker/worker/config/v3/<config_id>")
def get_config(config_id: str) -> Response:
    return jsonify(_own("worker_config", config_id, "DOCKER_WORKER_CONFIG_UNKNOWN", "config"))


# -- scheduled runs -------------------------------------------------------------------------

SCHEDULE = "/v1/datasets/<dataset_id>/docker/worker/schedule"


@bp.post(SCHEDULE)
def schedule(dataset_id: str) -> tuple[Response, int]:
    require_dataset(dataset_id)
    body = json_body()
    config_id = field(body, "configId", "string", required=True)
    _own("worker_config", config_id, "DOCKER_WORKER_CONFIG_UNKNOWN", "config")
    priority = field(body, "priority", "string", required=True, choices=PRIORITIES)
    runs_on = field(body, "runsOn", "array") or []
    if not all(isinstance(label, str) for label in runs_on):
        raise bad_request("'runsOn' must be a list of strings")
    user = current_user()
    now = now_ms()
    scheduled = {
        "id": new_id(),
        "datasetId": dataset_id,
        "userId": user.user_id,
        "configId": config_id,
        "priority": priority,
        "runsOn": runs_on,
        "state": "OPEN",
        "createdAt": now,
        "lastModifiedAt": now,
    }
    get_store().put_doc(
        "scheduled_run", scheduled, dataset_id=dataset_id, owner=user.user_id, created_at=now
    )
    return jsonify({"id": scheduled["id"]}), 201


@bp.get(SCHEDULE)
def list_scheduled(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    state = query_str("state")
    if state is not None and state not in SCHEDULED_STATES:
        raise bad_request(f"state must be one of {', '.join(SCHEDULED_STATES)}")
    runs = get_store().list_docs("scheduled_run", dataset_id=dataset_id)
    if state is None:
        return jsonify([r for r in runs if r["state"] not in ("DONE", "CANCELED")])
    return jsonify([r for r in runs if r["state"] == state])


@bp.put(SCHEDULE + "/<scheduled_id>")
def cancel_scheduled(dataset_id: str, scheduled_id: str) -> Response:
    require_dataset(dataset_id)
    _own("scheduled_run", scheduled_id, "DOCKER_WORKER_SCHEDULE_UNKNOWN", "scheduled run")
    changes = {"state": "CANCELED", "lastModifiedAt": now_ms()}
    if not get_store().update_doc_if(
        "scheduled_run", scheduled_id, where={"state": "OPEN"}, changes=changes
    ):
        raise bad_request(
            "only OPEN scheduled runs can be canceled", "DOCKER_WORKER_SCHEDULE_UPDATE_FAILED"
        )
    return no_content()


# -- runs -------------------------------------------------------------------------------------


def _runs(dataset_id: str | None = None) -> list[dict[str, Any]]:
    return get_store().list_docs("run", dataset_id=dataset_id, owner=current_user().user_id)


@bp.get("/v1/docker/runs")
def list_runs() -> Response:
    return jsonify(paginate(_runs()))


@bp.get("/v1/docker/runs/query/datasetId/<dataset_id>")
def list_dataset_runs(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    return jsonify(paginate(_runs(dataset_id)))


@bp.get("/v1/docker/runs/count")
def count_runs() -> Response:
    response = make_response(str(len(_runs())))
    response.mimetype = "text/plain"
    return response


@bp.get("/v1/docker/runs/<run_id>")
def get_run(run_id: str) -> Response:
    return jsonify(_own("run", run_id, "DOCKER_RUN_UNKNOWN", "run"))


@bp.get("/v1/docker/runs/schedule/<scheduled_id>")
def run_from_scheduled(scheduled_id: str) -> Response:
    scheduled = _own(
        "scheduled_run", scheduled_id, "DOCKER_WORKER_SCHEDULE_UNKNOWN", "scheduled run"
    )
    run = run_of_scheduled(get_store(), scheduled["id"])
    if run is None:
        raise ApiError(
            404, "DOCKER_RUN_UNKNOWN", f"no worker has picked up scheduled run {scheduled_id} yet"
        )
    return jsonify(run)


@bp.get("/v1/docker/runs/<run_id>/tags")
def run_tags(run_id: str) -> Response:
    run = _own("run", run_id, "DOCKER_RUN_UNKNOWN", "run")
    tags = get_store().list_docs("tag", dataset_id=run.get("datasetId"), newest_first=True)
    return jsonify([t for t in tags if t.get("runId") == run_id])


@bp.get("/v1/docker/runs/<run_id>/artifacts/<artifact_id>/readurl")
def artifact_read_url(run_id: str, artifact_id: str) -> Response:
    run = _own("run", run_id, "DOCKER_RUN_UNKNOWN", "run")
    for artifact in run.get("artifacts", []):
        if artifact["id"] == artifact_id:
            key = artifact_key(run_id, artifact["fileName"])
            return jsonify(get_blobs().signed_url(base_url(), key))
    raise ApiError(
        404, "DOCKER_RUN_ARTIFACT_UNKNOWN", f"run {run_id} has no artifact {artifact_id}"
    )


def artifact_key(run_id: str, file_name: str) -> str:
    return f"runs/{run_id}/{file_name}"


# -- calls the official worker and client make on their own -----------------------------------


@bp.post("/v1/docker/authorization")
@bp.post("/v1/docker/workerAuthorization")
@bp.post("/v1/docker")
def docker_acknowledged() -> Response:
    return jsonify({})


@bp.get("/v1/docker/licenseInformation")
def license_information() -> Response:
    return jsonify(
        {
            "licenseType": "local",
            "licenseExpirationDate": now_ms() + 365 * 86400 * 1000,
            "licenseIsValid": True,
        }
    )
