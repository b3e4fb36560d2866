"""Lightly Worker endpoints the client uses (CONTRACT §8.8, §8.9, §9): registry, configs, runs.

The worker registry, v3 configs (validated by ``_docker_config``), scheduling (which
refuses a selection config the local worker cannot run, unless
``disableConfigValidation``) and cancelling runs, run listings, a run's tags and its artifacts' read URLs. The
worker-side endpoints are in ``docker_worker``; the store logic both share is
``runner.local.runs``.

Workers, configs and scheduled runs belong to the user who made them; a run is
visible to its owner and to the users who may use its dataset. Anything else
answers 404, like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, make_response

from runner.local import runs
from runner.local.access import dataset_owner, require_dataset, shared_with
from runner.local.app import current_user, get_blobs, get_store
from runner.local.errors import ApiError, bad_request
from runner.local.routes._docker_config import CONFIG, INVALID_CONFIG, check_config
from runner.local.routes._input import (
    DSNAME,
    base_url,
    field,
    json_body,
    no_content,
    paginate,
    query_bool,
    query_str,
    require_id,
)
from runner.local.store import new_id, now_ms
from runner.local.worker.selection import SelectionError, check_selection_config

bp = Blueprint("docker", __name__)

PRIORITIES = tuple(runs.PRIORITY_ORDER)
WORKER_STATES = ("OFFLINE", "CRASHED", "IDLE", "BUSY")
CREATORS = ("UNKNOWN", "USER_WEBAPP", "USER_PIP", "USER_PIP_LIGHTLY_MAGIC", "USER_WORKER")
SCHEDULE = "/v1/datasets/<dataset_id>/docker/worker/schedule"


# -- lookups ----------------------------------------------------------------------------------------


def owned(kind: str, doc_id: str, code: str, what: str) -> dict[str, Any]:
    """The caller's document ``doc_id`` of ``kind``; 404 ``code`` otherwise."""
    require_id(doc_id, what, code)
    row = get_store().doc_row(kind, doc_id)
    if row is None or row["owner"] != current_user().user_id:
        raise ApiError(404, code, f"{what} {doc_id} not found")
    return get_store().get_doc(kind, doc_id) or {}


def run_visible(run_id: str) -> dict[str, Any]:
    """A run the caller made, or one of a dataset they may use; 404 otherwise."""
    require_id(run_id, "run", "DOCKER_RUN_UNKNOWN")
    store, user = get_store(), current_user()
    row = store.doc_row("run", run_id)
    dataset_id = row["dataset_id"] if row is not None else None
    visible = row is not None and (
        row["owner"] == user.user_id
        or (
            dataset_id is not None
            and (dataset_owner(dataset_id) == user.user_id or shared_with(dataset_id, user))
        )
    )
    if not visible:
        raise ApiError(404, "DOCKER_RUN_UNKNOWN", f"run {run_id} not found")
    return store.get_doc("run", run_id) or {}


def scheduled_of(dataset_id: str, scheduled_id: str) -> dict[str, Any]:
    require_dataset(dataset_id)
    require_id(scheduled_id, "scheduled run", "DOCKER_WORKER_SCHEDULE_UNKNOWN")
    row = get_store().doc_row("scheduled_run", scheduled_id)
    if row is None or row["dataset_id"] != dataset_id:
        raise ApiError(
            404, "DOCKER_WORKER_SCHEDULE_UNKNOWN", f"scheduled run {scheduled_id} not found"
        )
    return get_store().get_doc("scheduled_run", scheduled_id) or {}


def strings(body: dict[str, Any], name: str) -> list[str]:
    values = field(body, name, "array") or []
    if not all(isinstance(v, str) for v in values):
        raise bad_request(f"{name!r} must be a list of strings")
    return list(values)


# -- worker registry -------------------------------------------------------------------------------


@bp.post("/v1/docker/worker")
def register_worker() -> tuple[Response, int]:
    """Same name for the same user → that worker's id (documented platform behaviour)."""
    body = json_body()
    name = field(body, "name", "string", required=True, pattern=DSNAME, min_len=3)
    field(body, "workerType", "string", required=True, choices=("FULL",))
    labels = strings(body, "labels")
    field(body, "creator", "string", choices=CREATORS)
    field(body, "dockerVersion", "string")
    worker_id = runs.register_worker(get_store(), current_user().user_id, name, labels)
    return jsonify({"id": worker_id}), 201


@bp.get("/v1/docker/worker")
def list_workers() -> Response:
    if query_bool("getAssetsOfTeam", False):
        return jsonify([])  # a single-user emulator has no team (CONTRACT §10.16)
    query_bool("getAssetsOfTeamInclusiveSelf")
    return jsonify(get_store().list_docs("worker", owner=current_user().user_id))


@bp.get("/v1/docker/worker/<worker_id>")
def get_worker(worker_id: str) -> Response:
    return jsonify(owned("worker", worker_id, "DOCKER_WORKER_UNKNOWN", "worker"))


@bp.put("/v1/docker/worker/<worker_id>")
def update_worker(worker_id: str) -> Response:
    body = json_body()
    state = field(body, "state", "string", required=True, choices=WORKER_STATES)
    version = field(body, "dockerVersion", "string")
    store = get_store()
    with store.transaction():
        owned("worker", worker_id, "DOCKER_WORKER_UNKNOWN", "worker")
        changes: dict[str, Any] = {"state": state, "lastModifiedAt": now_ms()}
        if version is not None:
            changes["dockerVersion"] = version
        store.update_doc_if("worker", worker_id, where={}, changes=changes)
    return no_content()


@bp.delete("/v1/docker/worker/<worker_id>")
def delete_worker(worker_id: str) -> Response:
    store = get_store()
    with store.transaction():
        owned("worker", worker_id, "DOCKER_WORKER_UNKNOWN", "worker")
        store.delete_doc("worker", worker_id)
    return no_content()


# -- configs ---------------------------------------------------------------------------------------


@bp.post("/v1/docker/worker/config/v3")
def create_config() -> tuple[Response, int]:
    body = json_body()
    if "config" not in body:
        raise bad_request("'config' is required", INVALID_CONFIG)
    config = check_config(body["config"], CONFIG, "config")
    field(body, "creator", "string", choices=CREATORS)
    now = now_ms()
    doc = {"id": new_id(), "version": "v3", "config": config, "createdAt": now}
    get_store().put_doc("worker_config", doc, owner=current_user().user_id, created_at=now)
    return jsonify({"id": doc["id"]}), 201


@bp.get("/v1/docker/worker/config/v3/<config_id>")
def get_worker_config(config_id: str) -> Response:
    return jsonify(owned("worker_config", config_id, "DOCKER_WORKER_CONFIG_UNKNOWN", "config"))


# -- scheduled runs ----------------------------------------------------------------------------------


@bp.post(SCHEDULE)
def schedule(dataset_id: str) -> tuple[Response, int]:
    body = json_body()
    config_id = field(body, "configId", "string", required=True)
    priority = field(body, "priority", "string", required=True, choices=PRIORITIES)
    runs_on = strings(body, "runsOn")
    field(body, "creator", "string", choices=CREATORS)
    validate = not query_bool("disableConfigValidation")
    store = get_store()
    with store.transaction():
        require_dataset(dataset_id)
        config = owned("worker_config", config_id, "DOCKER_WORKER_CONFIG_UNKNOWN", "config")
        selection = (config.get("config") or {}).get("selection")
        if validate and selection:  # a run would fail on it, after changing the dataset
            try:
                check_selection_config(selection)
            except SelectionError as error:
                raise bad_request(f"config.selection: {error}", INVALID_CONFIG) from None
        scheduled = runs.create_scheduled_run(
            store,
            dataset_id=dataset_id,
            owner=current_user().user_id,
            config_id=config_id,
            priority=priority,
            runs_on=runs_on,
        )
    return jsonify({"id": scheduled["id"]}), 201


def state_filter() -> str | None:
    state = query_str("state")
    if state is not None and state not in runs.SCHEDULED_STATES:
        raise bad_request(f"state must be one of {', '.join(runs.SCHEDULED_STATES)}, not {state!r}")
    return state


@bp.get(SCHEDULE)
def list_scheduled(dataset_id: str) -> Response:
    """Without ``state``: every scheduled run that is neither DONE nor CANCELED."""
    require_dataset(dataset_id)
    state = state_filter()
    scheduled = get_store().list_docs("scheduled_run", dataset_id=dataset_id)
    if state is None:
        return jsonify([s for s in scheduled if s["state"] not in ("DONE", "CANCELED")])
    return jsonify([s for s in scheduled if s["state"] == state])


@bp.put(SCHEDULE + "/<scheduled_id>")
def cancel_scheduled(dataset_id: str, scheduled_id: str) -> Response:
    """Cancel: only while the run is OPEN (not yet picked up)."""
    store = get_store()
    with store.transaction():
        scheduled = scheduled_of(dataset_id, scheduled_id)
        if not runs.cancel_scheduled(store, scheduled_id):
            raise bad_request(
                f"scheduled run {scheduled_id} is {scheduled['state']}: "
                "only OPEN scheduled runs can be canceled",
                "DOCKER_WORKER_SCHEDULE_UPDATE_FAILED",
            )
    return no_content()


# -- runs ---------------------------------------------------------------------------------------------


@bp.get("/v1/docker/runs")
def list_runs() -> Response:
    if query_bool("getAssetsOfTeam", False):
        return jsonify([])
    query_bool("getAssetsOfTeamInclusiveSelf")
    return jsonify(paginate(get_store().list_docs("run", owner=current_user().user_id)))


@bp.get("/v1/docker/runs/query/datasetId/<dataset_id>")
def list_dataset_runs(dataset_id: str) -> Response:
    require_dataset(dataset_id)
    query_bool("getAssetsOfTeam")
    return jsonify(paginate(get_store().list_docs("run", dataset_id=dataset_id)))


@bp.get("/v1/docker/runs/count")
def count_runs() -> Response:
    row = (
        get_store()
        .db.execute(
            "SELECT COUNT(*) FROM documents WHERE kind='run' AND owner=?", (current_user().user_id,)
        )
        .fetchone()
    )
    response = make_response(str(row[0]))
    response.mimetype = "text/plain"
    return response


@bp.get("/v1/docker/runs/<run_id>")
def get_run(run_id: str) -> Response:
    return jsonify(run_visible(run_id))


@bp.get("/v1/docker/runs/schedule/<scheduled_id>")
def run_from_scheduled(scheduled_id: str) -> Response:
    """404 until a worker has picked the scheduled run up (the client relies on it)."""
    require_id(scheduled_id, "scheduled run", "DOCKER_WORKER_SCHEDULE_UNKNOWN")
    run = runs.run_of_scheduled(get_store(), scheduled_id)
    missing = ApiError(
        404, "DOCKER_RUN_UNKNOWN", f"no worker has picked up scheduled run {scheduled_id} yet"
    )
    if run is None:
        raise missing
    try:
        return jsonify(run_visible(run["id"]))
    except ApiError:
        raise missing from None  # the same answer: another user's run id stays unknown


@bp.get("/v1/docker/runs/<run_id>/tags")
def run_tags(run_id: str) -> Response:
    """The tags the run created, newest first."""
    run = run_visible(run_id)
    if "datasetId" not in run:
        return jsonify([])
    tags = get_store().list_docs("tag", dataset_id=run["datasetId"], newest_first=True)
    return jsonify([t for t in tags if t.get("runId") == run_id])


@bp.get("/v1/docker/runs/<run_id>/artifacts/<artifact_id>/readurl")
def artifact_read_url(run_id: str, artifact_id: str) -> Response:
    artifact = runs.find_artifact(run_visible(run_id), artifact_id)
    if artifact is None:
        raise ApiError(
            404, "DOCKER_RUN_ARTIFACT_UNKNOWN", f"run {run_id} has no artifact {artifact_id}"
        )
    key = runs.artifact_key(run_id, artifact_id)
    if not get_blobs().exists(key):
        raise ApiError(
            404, "DOCKER_RUN_ARTIFACT_UNAVAILABLE", f"artifact {artifact_id} has no stored file"
        )
    return jsonify(get_blobs().signed_url(base_url(), key))


@bp.get("/v1/docker/runs/<run_id>/readReportUrl")
def read_report_url(run_id: str) -> Response:
    """The run's REPORT_PDF artifact (the legacy report endpoint)."""
    run = run_visible(run_id)
    report = next((a for a in run.get("artifacts", []) if a["type"] == "REPORT_PDF"), None)
    if report is None:
        raise ApiError(404, "DOCKER_RUN_REPORT_UNAVAILABLE", f"run {run_id} has no report")
    return jsonify(get_blobs().signed_url(base_url(), runs.artifact_key(run_id, report["id"])))
