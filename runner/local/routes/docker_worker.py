"""Worker-side Lightly Worker endpoints (CONTRACT §9 "worker side"): what a worker process calls.

A worker reads the schedule it may take (OPEN and ``runsOn`` ⊆ its labels, most urgent
first), locks a scheduled run (OPEN → LOCKED, atomically: a second worker gets 400),
creates its run, moves it through the run states with messages (they become the run's
logs), uploads artifacts (created → PUT to the signed URL → confirmed, only then listed
in ``DockerRunData.artifacts``) and acknowledges the start-up calls. The built-in local
worker (``runner.local.worker.loop``) does the same through ``runner.local.runs``
directly.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from runner.local import runs
from runner.local.access import require_dataset
from runner.local.app import current_user, get_blobs, get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import (
    base_url,
    field,
    json_body,
    no_content,
    query_int,
    query_str,
    require_id,
)
from runner.local.routes.docker import (
    CREATORS,
    PRIORITIES,
    owned,
    run_visible,
    scheduled_of,
    state_filter,
    strings,
)
from runner.local.store import now_ms

bp = Blueprint("docker_worker", __name__)

ARTIFACT_TYPES = (
    "LOG",
    "MEMLOG",
    "CHECKPOINT",
    "REPORT_PDF",
    "REPORT_JSON",
    "CORRUPTNESS_CHECK_INFORMATION",
    "SEQUENCE_INFORMATION",
    "RELEVANT_FILENAMES",
)


@bp.get("/v1/docker/worker/<worker_id>/schedule")
def worker_schedule(worker_id: str) -> Response:
    """The caller's scheduled runs this worker may take (default state OPEN), most urgent first."""
    worker = owned("worker", worker_id, "DOCKER_WORKER_UNKNOWN", "worker")
    state = state_filter() or "OPEN"
    owner = current_user().user_id
    return jsonify(
        runs.scheduled_runs(get_store(), state=state, labels=worker["labels"], owner=owner)
    )


@bp.get("/v1/docker/worker/schedule")
def labels_schedule() -> Response:
    """As above, for a worker given by its ``labels`` (repeated query parameter)."""
    state = state_filter() or "OPEN"
    labels = request.args.getlist("labels")
    query_str("version")
    owner = current_user().user_id
    return jsonify(runs.scheduled_runs(get_store(), state=state, labels=labels, owner=owner))


#: scheduled-run transitions a worker may make
_TRANSITIONS = {"OPEN": ("OPEN", "LOCKED", "CANCELED"), "LOCKED": ("DONE",)}


@bp.put("/v1/datasets/<dataset_id>/docker/worker/<worker_id>/schedule/<scheduled_id>")
def worker_update_scheduled(dataset_id: str, worker_id: str, scheduled_id: str) -> Response:
    """A worker locks (OPEN → LOCKED, atomically), releases or finishes a scheduled run."""
    body = json_body()
    state = field(body, "state", "string", required=True, choices=runs.SCHEDULED_STATES)
    changes: dict[str, Any] = {"state": state, "lastModifiedAt": now_ms()}
    priority = field(body, "priority", "string", choices=PRIORITIES)
    if priority is not None:
        changes["priority"] = priority
    if "runsOn" in body:
        changes["runsOn"] = strings(body, "runsOn")
    store = get_store()
    with store.transaction():
        owned("worker", worker_id, "DOCKER_WORKER_UNKNOWN", "worker")
        current = scheduled_of(dataset_id, scheduled_id)["state"]
        allowed = state in _TRANSITIONS.get(current, ())
        if not allowed or not store.update_doc_if(
            "scheduled_run", scheduled_id, where={"state": current}, changes=changes
        ):
            raise bad_request(
                f"scheduled run {scheduled_id} is {current}: it cannot become {state}",
                "DOCKER_WORKER_SCHEDULE_UPDATE_FAILED",
            )
    return no_content()


@bp.post("/v1/docker/runs")
def create_run() -> tuple[Response, int]:
    body = json_body()
    version = field(body, "dockerVersion", "string", required=True)
    dataset_id = field(body, "datasetId", "string")
    scheduled_id = field(body, "scheduledId", "string")
    config_id = field(body, "configId", "string")
    message = field(body, "message", "string")
    field(body, "creator", "string", choices=CREATORS)
    store = get_store()
    with store.transaction():
        if scheduled_id is not None:
            scheduled = owned(
                "scheduled_run", scheduled_id, "DOCKER_WORKER_SCHEDULE_UNKNOWN", "scheduled run"
            )
            if runs.run_of_scheduled(store, scheduled_id) is not None:
                raise bad_request(f"scheduled run {scheduled_id} already has a run")
            dataset_id = dataset_id or scheduled["datasetId"]
            config_id = config_id or scheduled["configId"]
        if dataset_id is not None:
            require_dataset(dataset_id)
        if config_id is not None:
            owned("worker_config", config_id, "DOCKER_WORKER_CONFIG_UNKNOWN", "config")
        run = runs.create_run(
            store,
            owner=current_user().user_id,
            dataset_id=dataset_id,
            scheduled_id=scheduled_id,
            config_id=config_id,
            docker_version=version,
            message=message,
        )
    return jsonify({"id": run["id"]}), 201


@bp.put("/v1/docker/runs/<run_id>")
def update_run(run_id: str) -> Response:
    """New state and message; a run that ended (COMPLETED, FAILED, CRASHED, ABORTED) stays ended.

    ABORTED is how a running run is cancelled: its worker stops at its next step.
    """
    body = json_body()
    state = field(body, "state", "string", required=True, choices=runs.RUN_STATES)
    message = field(body, "message", "string")
    store = get_store()
    with store.transaction():
        previous = run_visible(run_id)["state"]
        if runs.set_run_state(store, run_id, state, message) is None:
            raise bad_request(f"run {run_id} already ended in {previous}; it cannot change")
    return no_content()


@bp.get("/v1/docker/runs/<run_id>/logs")
def run_logs(run_id: str) -> Response:
    run_visible(run_id)
    cursor = query_int("cursor", 0, minimum=0) or 0
    return jsonify(runs.run_logs(get_store(), run_id, cursor))


def _artifact_file_name(name: str) -> str:
    """A plain file name: clients save artifacts as ``output_dir/<fileName>``."""
    if not name or name in (".", "..") or re.search(r"[/\\\x00-\x1f]", name):
        raise bad_request(f"'fileName' must be a plain file name, not {name!r}")
    return name


@bp.post("/v1/docker/runs/<run_id>/artifacts")
def create_artifact(run_id: str) -> tuple[Response, int]:
    body = json_body()
    name = _artifact_file_name(field(body, "fileName", "string", required=True))
    kind = field(body, "type", "string", required=True, choices=ARTIFACT_TYPES)
    storage = field(body, "storageLocation", "string", choices=("LIGHTLY", "DATASOURCE"))
    store = get_store()
    with store.transaction():
        run_visible(run_id)
        artifact = runs.create_artifact(store, run_id, kind, name, storage or "LIGHTLY")
    url = get_blobs().signed_url(
        base_url(), runs.artifact_key(run_id, artifact["id"]), method="PUT"
    )
    return jsonify({"signedWriteUrl": url, "artifactId": artifact["id"]}), 201


@bp.put("/v1/docker/runs/<run_id>/artifacts/<artifact_id>/confirmUpload")
def confirm_artifact(run_id: str, artifact_id: str) -> Response:
    """The uploaded artifact becomes part of ``DockerRunData.artifacts``."""
    store = get_store()
    with store.transaction():
        run_visible(run_id)
        require_id(artifact_id, "artifact", "DOCKER_RUN_ARTIFACT_UNKNOWN")
        known = runs.pending_artifact(store, run_id, artifact_id) or runs.find_artifact(
            store.get_doc("run", run_id) or {}, artifact_id
        )
        if known is None:
            raise ApiError(
                404, "DOCKER_RUN_ARTIFACT_UNKNOWN", f"run {run_id} has no artifact {artifact_id}"
            )
        if not get_blobs().exists(runs.artifact_key(run_id, artifact_id)):
            raise bad_request(
                f"artifact {artifact_id} was not uploaded to its signedWriteUrl yet",
                "DOCKER_RUN_ARTIFACT_UNAVAILABLE",
            )
        runs.confirm_artifact(store, run_id, artifact_id)
    return no_content()


# -- what a Lightly Worker sends on start ---------------------------------------------------------------


@bp.post("/v1/docker/authorization")
@bp.post("/v1/docker/workerAuthorization")
@bp.post("/v1/docker")
def acknowledged() -> Response:
    """Accepted and not stored: the local server needs no licence check or usage statistics."""
    return jsonify({})


@bp.get("/v1/docker/licenseInformation")
def license_information() -> Response:
    return jsonify(
        {
            "licenseType": "lightly-run-local",
            "licenseExpirationDate": now_ms() + 365 * 24 * 3600 * 1000,
            "licenseIsValid": True,
        }
    )
