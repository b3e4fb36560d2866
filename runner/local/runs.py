"""Workers, configs, scheduled runs, runs and artifacts: the store helpers routes and workers share.

Documents (``data`` is the wire model, so GET handlers return it unchanged):
``worker`` (DockerWorkerRegistryEntryData), ``worker_config`` (DockerWorkerConfigV3Data),
``scheduled_run`` (DockerRunScheduledData), ``run`` (DockerRunData; ``artifacts`` holds
the confirmed ones), ``run_artifact`` (a DockerRunArtifactData waiting for its
upload to be confirmed) and ``run_log`` (id = run id, ``{"entries": [DockerRunLogEntryData]}``).

A scheduled run is taken with one atomic OPEN → LOCKED update (``Store.update_doc_if``),
so however many workers race, each run is taken exactly once. A run that reached an
end state never changes again: a worker that finds its run ABORTED stops.

A local worker's claim also records, in the same transaction, the server process
(``orphans.Instance``) whose thread performs the run: a ``local_claim`` document (id =
scheduled run id, off the wire), deleted when the run ends. ``orphans`` ends the runs
of claims whose process is gone.
"""

from __future__ import annotations

import json
from typing import Any

from runner.local.store import Store, new_id, now_ms

PRIORITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MID": 2, "LOW": 3}
SCHEDULED_STATES = ("OPEN", "LOCKED", "DONE", "CANCELED")
#: DockerRunState (ENUMS.md), in the order a run normally moves through them
RUN_STATES = (
    "STARTED",
    "INITIALIZING",
    "LOADING_DATASET",
    "LOADING_PREDICTION",
    "CHECKING_CORRUPTNESS",
    "INITIALIZING_OBJECT_CROPS",
    "LOADING_METADATA",
    "COMPUTING_METADATA",
    "TRAINING",
    "EMBEDDING",
    "EMBEDDING_OBJECT_CROPS",
    "PRETAGGING",
    "COMPUTING_ACTIVE_LEARNING_SCORES",
    "SAMPLING",
    "EMBEDDING_FULL_IMAGES",
    "SAVING_RESULTS",
    "UPLOADING_DATASET",
    "GENERATING_REPORT",
    "UPLOADING_REPORT",
    "UPLOADED_REPORT",
    "UPLOADING_ARTIFACTS",
    "UPLOADED_ARTIFACTS",
    "COMPLETED",
    "FAILED",
    "CRASHED",
    "ABORTED",
)
END_STATES = frozenset({"COMPLETED", "FAILED", "CRASHED", "ABORTED"})
_LEVELS = {"FAILED": "ERROR", "CRASHED": "CRITICAL", "ABORTED": "WARN"}
DOCKER_VERSION = "lightly-run-local"
#: document kind of a local worker's claim: ``{"instance": id, "workerId": id}``
CLAIM_KIND = "local_claim"


# -- worker registry --------------------------------------------------------------------------


def register_worker(
    store: Store, owner: str, name: str, labels: list[str], *, state: str | None = None
) -> str:
    """The id of ``owner``'s worker ``name``, created (OFFLINE) if new.

    With ``state`` an existing entry also gets ``labels`` and ``state`` (a worker
    process announcing itself); without, an existing entry is left alone.
    """
    with store.transaction():
        for worker in store.list_docs("worker", owner=owner):
            if worker["name"] == name:
                if state is not None:
                    changes = {"state": state, "labels": labels, "lastModifiedAt": now_ms()}
                    store.update_doc_if("worker", worker["id"], where={}, changes=changes)
                return str(worker["id"])
        now = now_ms()
        worker = {
            "id": new_id(),
            "userId": owner,
            "name": name,
            "workerType": "FULL",
            "state": state or "OFFLINE",
            "createdAt": now,
            "lastModifiedAt": now,
            "labels": labels,
            "dockerVersion": DOCKER_VERSION,
        }
        return store.put_doc("worker", worker, owner=owner, created_at=now)


def set_worker_state(store: Store, worker_id: str, state: str) -> None:
    store.update_doc_if(
        "worker", worker_id, where={}, changes={"state": state, "lastModifiedAt": now_ms()}
    )


# -- scheduled runs ---------------------------------------------------------------------------


def create_scheduled_run(
    store: Store, *, dataset_id: str, owner: str, config_id: str, priority: str, runs_on: list[str]
) -> dict[str, Any]:
    """A new OPEN DockerRunScheduledData."""
    now = now_ms()
    scheduled = {
        "id": new_id(),
        "datasetId": dataset_id,
        "userId": owner,
        "owner": owner,
        "configId": config_id,
        "priority": priority,
        "runsOn": runs_on,
        "state": "OPEN",
        "createdAt": now,
        "lastModifiedAt": now,
    }
    store.put_doc("scheduled_run", scheduled, dataset_id=dataset_id, owner=owner, created_at=now)
    return scheduled


def scheduled_runs(
    store: Store, *, state: str, labels: list[str] | None = None, owner: str | None = None
) -> list[dict[str, Any]]:
    """Scheduled runs in ``state``, most urgent first (priority, then oldest).

    With ``labels`` only those a worker carrying them may take (runsOn ⊆ labels).
    """
    sql = (
        "SELECT data FROM documents WHERE kind='scheduled_run' AND json_extract(data, '$.state')=?"
    )
    args: list[Any] = [state]
    if owner is not None:
        sql += " AND owner=?"
        args.append(owner)
    runs = [json.loads(row["data"]) for row in store.db.execute(sql, args)]
    if labels is not None:
        runs = [r for r in runs if set(r.get("runsOn", [])) <= set(labels)]
    runs.sort(key=lambda r: (PRIORITY_ORDER.get(r["priority"], 9), r["createdAt"], r["id"]))
    return runs


def claim_next_run(
    store: Store,
    worker_id: str,
    labels: list[str],
    *,
    owner: str | None = None,
    instance: str | None = None,
) -> dict[str, Any] | None:
    """Take the most urgent OPEN scheduled run this worker may run (OPEN → LOCKED), or None.

    ``owner`` limits the candidates to one user's runs (None: every user's). ``instance``
    (a local worker's server process) is recorded with the claim, in its transaction.
    """
    for scheduled in scheduled_runs(store, state="OPEN", labels=labels, owner=owner):
        changes = {"state": "LOCKED", "lastModifiedAt": now_ms()}
        with store.transaction():
            if not store.update_doc_if(
                "scheduled_run", scheduled["id"], where={"state": "OPEN"}, changes=changes
            ):
                continue
            if instance is not None:
                claim = {"instance": instance, "workerId": worker_id}
                store.put_doc(CLAIM_KIND, claim, doc_id=scheduled["id"])
        return {**scheduled, **changes}
    return None


def set_scheduled_state(store: Store, scheduled_id: str, *, expect: str, state: str) -> bool:
    """Atomically move a scheduled run from ``expect`` to ``state``; False if it was not ``expect``."""
    changes = {"state": state, "lastModifiedAt": now_ms()}
    return store.update_doc_if(
        "scheduled_run", scheduled_id, where={"state": expect}, changes=changes
    )


def cancel_scheduled(store: Store, scheduled_id: str) -> bool:
    """OPEN → CANCELED; False when it was no longer OPEN."""
    return set_scheduled_state(store, scheduled_id, expect="OPEN", state="CANCELED")


# -- runs ---------------------------------------------------------------------------------------


def create_run(
    store: Store,
    *,
    owner: str,
    dataset_id: str | None,
    scheduled_id: str | None = None,
    config_id: str | None = None,
    docker_version: str = DOCKER_VERSION,
    message: str | None = None,
) -> dict[str, Any]:
    """A new DockerRunData in state STARTED."""
    now = now_ms()
    run: dict[str, Any] = {
        "id": new_id(),
        "userId": owner,
        "dockerVersion": docker_version,
        "state": "STARTED",
        "createdAt": now,
        "lastModifiedAt": now,
    }
    optional = {
        "datasetId": dataset_id,
        "configId": config_id,
        "scheduledId": scheduled_id,
        "message": message,
    }
    run.update({k: v for k, v in optional.items() if v is not None})
    with store.transaction():
        store.put_doc("run", run, dataset_id=dataset_id, owner=owner, created_at=now)
        _append_log(store, run["id"], "STARTED", message or "Run started.", "INFO")
    return run


def start_run(store: Store, scheduled: dict[str, Any]) -> dict[str, Any]:
    """Create the DockerRunData of a claimed scheduled run."""
    row = store.doc_row("scheduled_run", scheduled["id"])
    owner = str(row["owner"]) if row is not None and row["owner"] else scheduled.get("userId", "")
    return create_run(
        store,
        owner=owner,
        dataset_id=scheduled["datasetId"],
        scheduled_id=scheduled["id"],
        config_id=scheduled["configId"],
        message="Picked up by a local worker.",
    )


def set_run_state(
    store: Store, run_id: str, state: str, message: str | None = None
) -> dict[str, Any] | None:
    """Move a run to ``state`` (and log it); None when it had already ended (e.g. ABORTED).

    Reaching an end state also marks its scheduled run DONE (and drops its local claim).
    """
    with store.transaction():
        run = store.get_doc("run", run_id)
        if run is None or run["state"] in END_STATES:
            return None
        run["state"] = state
        run["lastModifiedAt"] = now_ms()
        if message is not None:
            run["message"] = message
        store.put_doc("run", run)
        _append_log(store, run_id, state, message or f"State {state}.", _LEVELS.get(state, "INFO"))
        if state in END_STATES and run.get("scheduledId"):
            set_scheduled_state(store, run["scheduledId"], expect="LOCKED", state="DONE")
            store.delete_doc(CLAIM_KIND, run["scheduledId"])
    return run


def run_state(store: Store, run_id: str) -> str | None:
    run = store.get_doc("run", run_id)
    return None if run is None else str(run["state"])


def run_of_scheduled(store: Store, scheduled_id: str) -> dict[str, Any] | None:
    """The run created for a scheduled run, once a worker picked it up."""
    row = store.db.execute(
        "SELECT data FROM documents WHERE kind='run' AND json_extract(data, '$.scheduledId')=? "
        "ORDER BY created_at DESC LIMIT 1",
        (scheduled_id,),
    ).fetchone()
    return None if row is None else json.loads(row["data"])


# -- logs -----------------------------------------------------------------------------------------


def _append_log(store: Store, run_id: str, state: str, message: str, level: str) -> None:
    with store.transaction():
        log = store.get_doc("run_log", run_id) or {"entries": []}
        log["entries"].append({"msg": message, "ts": now_ms(), "state": state, "level": level})
        store.put_doc("run_log", log, doc_id=run_id)


def log_run(store: Store, run_id: str, message: str, level: str = "INFO") -> None:
    """Add a log line to a run, in its current state."""
    with store.transaction():
        state = run_state(store, run_id)
        if state is not None:
            _append_log(store, run_id, state, message, level)


def run_logs(store: Store, run_id: str, cursor: int = 0) -> dict[str, Any]:
    """DockerRunLogData: the entries from ``cursor`` on, and the cursor of the next call."""
    entries = (store.get_doc("run_log", run_id) or {"entries": []})["entries"]
    return {"cursor": len(entries), "logs": entries[cursor:]}


# -- artifacts ------------------------------------------------------------------------------------


def artifact_key(run_id: str, artifact_id: str) -> str:
    """Blob key of an artifact's bytes."""
    return f"runs/{run_id}/artifacts/{artifact_id}"


def create_artifact(
    store: Store, run_id: str, artifact_type: str, file_name: str, storage: str = "LIGHTLY"
) -> dict[str, Any]:
    """A DockerRunArtifactData waiting for ``confirm_artifact``."""
    artifact = {
        "id": new_id(),
        "type": artifact_type,
        "fileName": file_name,
        "storageLocation": storage,
        "createdAt": now_ms(),
    }
    row = store.doc_row("run", run_id)
    owner = row["owner"] if row is not None else None
    store.put_doc("run_artifact", {**artifact, "runId": run_id}, owner=owner)
    return artifact


def pending_artifact(store: Store, run_id: str, artifact_id: str) -> dict[str, Any] | None:
    doc = store.get_doc("run_artifact", artifact_id)
    return doc if doc is not None and doc["runId"] == run_id else None


def confirm_artifact(store: Store, run_id: str, artifact_id: str) -> dict[str, Any] | None:
    """Make a created artifact visible in the run's ``artifacts``; None if unknown."""
    with store.transaction():
        run = store.get_doc("run", run_id)
        if run is None:
            return None
        for artifact in run.get("artifacts", []):
            if artifact["id"] == artifact_id:
                return dict(artifact)
        pending = pending_artifact(store, run_id, artifact_id)
        if pending is None:
            return None
        artifact = {k: v for k, v in pending.items() if k != "runId"}
        run["artifacts"] = [*run.get("artifacts", []), artifact]
        run["lastModifiedAt"] = now_ms()
        store.put_doc("run", run)
        store.delete_doc("run_artifact", artifact_id)
        return artifact


def find_artifact(run: dict[str, Any], artifact_id: str) -> dict[str, Any] | None:
    return next((a for a in run.get("artifacts", []) if a["id"] == artifact_id), None)
