"""Scheduled runs and runs of the local Lightly Worker, shared by the routes and the worker.

Documents: ``worker`` (DockerWorkerRegistryEntryData), ``worker_config``
(DockerWorkerConfigV3Data), ``scheduled_run`` (DockerRunScheduledData) and
``run`` (DockerRunData, artifacts included). A scheduled run is taken by a
worker with one atomic OPEN → LOCKED update, so no run is taken twice.
"""

from __future__ import annotations

from typing import Any

from runner.local.store import Store, new_id, now_ms

PRIORITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MID": 2, "LOW": 3}
DOCKER_VERSION = "lightly-run-local"


def claim_next_run(store: Store, worker_id: str, labels: list[str]) -> dict[str, Any] | None:
    """Take the most urgent OPEN scheduled run this worker may run (runsOn ⊆ labels), or None."""
    candidates = [
        run
        for run in store.list_docs("scheduled_run")
        if run["state"] == "OPEN" and set(run.get("runsOn", [])) <= set(labels)
    ]
    candidates.sort(key=lambda r: (PRIORITY_ORDER.get(r["priority"], 9), r["createdAt"]))
    for scheduled in candidates:
        changes = {"state": "LOCKED", "lastModifiedAt": now_ms()}
        if store.update_doc_if(
            "scheduled_run", scheduled["id"], where={"state": "OPEN"}, changes=changes
        ):
            return {**scheduled, **changes}
    return None


def start_run(store: Store, scheduled: dict[str, Any]) -> dict[str, Any]:
    """Create the DockerRunData of a claimed scheduled run."""
    now = now_ms()
    run = {
        "id": new_id(),
        "userId": scheduled.get("userId", ""),
        "dockerVersion": DOCKER_VERSION,
        "state": "STARTED",
        "datasetId": scheduled["datasetId"],
        "configId": scheduled["configId"],
        "scheduledId": scheduled["id"],
        "createdAt": now,
        "lastModifiedAt": now,
        "message": "Run picked up by a local worker.",
    }
    row = store.doc_row("scheduled_run", scheduled["id"])
    store.put_doc(
        "run",
        run,
        dataset_id=scheduled["datasetId"],
        owner=row["owner"] if row else None,
        created_at=now,
    )
    return run


def set_run_state(store: Store, run_id: str, state: str, message: str | None = None) -> None:
    changes: dict[str, Any] = {"state": state, "lastModifiedAt": now_ms()}
    if message is not None:
        changes["message"] = message
    store.update_doc_if("run", run_id, where={}, changes=changes)


def add_artifact(store: Store, run_id: str, artifact_type: str, file_name: str) -> str:
    """Register an uploaded artifact on the run; returns its id."""
    artifact = {
        "id": new_id(),
        "type": artifact_type,
        "fileName": file_name,
        "storageLocation": "LIGHTLY",
        "createdAt": now_ms(),
    }
    with store.transaction():
        run = store.get_doc("run", run_id)
        if run is None:
            raise KeyError(run_id)
        store.update_doc_if(
            "run", run_id, where={}, changes={"artifacts": [*run.get("artifacts", []), artifact]}
        )
    return str(artifact["id"])


def finish_scheduled(store: Store, scheduled_id: str) -> None:
    store.update_doc_if(
        "scheduled_run",
        scheduled_id,
        where={},
        changes={"state": "DONE", "lastModifiedAt": now_ms()},
    )


def run_of_scheduled(store: Store, scheduled_id: str) -> dict[str, Any] | None:
    for run in store.list_docs("run"):
        if run.get("scheduledId") == scheduled_id:
            return run
    return None
