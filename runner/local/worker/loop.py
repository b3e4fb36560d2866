"""The local Lightly Worker: takes scheduled runs and really performs them.

Each worker is a thread inside the server process, registered in the worker
registry. It claims a run atomically (``runs.claim_next_run``), walks the run
states of the contract, reads the dataset's LOCAL datasource, checks images for
corruption, embeds them (or uses the dataset's uploaded embeddings), selects,
creates the run's tag and uploads the artifacts. Any failure ends the run in
FAILED with a message that says why; the worker thread carries on.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask

from runner.local import bitmask
from runner.local.app import get_blobs, get_store
from runner.local.routes.datasets import dataset_data, update_dataset
from runner.local.routes.datasources import active_datasource, local_root
from runner.local.routes.docker import artifact_key
from runner.local.routes.embeddings import csv_key
from runner.local.routes.samples import file_names, insert_sample
from runner.local.routes.tags import insert_tag, tags_of
from runner.local.runs import (
    add_artifact,
    claim_next_run,
    finish_scheduled,
    set_run_state,
    start_run,
)
from runner.local.store import new_id, now_ms
from runner.local.worker.embeddings import EmbeddingsCsvError, read_embeddings_csv, scan_images
from runner.local.worker.report import MemoryLog, RunLog, RunSummary, build_artifacts
from runner.local.worker.selection import SelectionError, SelectionInputs, select

log = logging.getLogger("runner.local.worker")
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
POLL_SECONDS = 0.2


class RunFailed(Exception):
    """A run cannot go on; the message is the run's message."""


def start_workers(
    app: Flask, base_url: str, token: str, count: int, labels: list[str] | None = None
) -> Callable[[], None]:
    """Start ``count`` worker threads; returns a function that stops them."""
    stop = threading.Event()
    threads = []
    for number in range(1, count + 1):
        worker = LocalWorker(app, f"local-worker-{number}", list(labels or []), token, stop)
        thread = threading.Thread(target=worker.loop, name=worker.name, daemon=True)
        thread.start()
        threads.append(thread)

    def stop_all() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    return stop_all


class LocalWorker:
    """One worker: a registry entry and a claim-and-run loop."""

    def __init__(
        self, app: Flask, name: str, labels: list[str], token: str, stop: threading.Event
    ) -> None:
        self.app, self.name, self.labels, self.stop = app, name, labels, stop
        with app.app_context():
            self.worker_id = self._register(token)

    def _register(self, token: str) -> str:
        store = get_store()
        user = store.user_by_token(token)
        owner = user["user_id"] if user is not None else None
        with store.transaction():
            for worker in store.list_docs("worker", owner=owner):
                if worker["name"] == self.name:
                    store.update_doc_if(
                        "worker",
                        worker["id"],
                        where={},
                        changes={"state": "IDLE", "labels": self.labels},
                    )
                    return str(worker["id"])
            now = now_ms()
            worker = {
                "id": new_id(),
                "userId": owner or "",
                "name": self.name,
                "workerType": "FULL",
                "state": "IDLE",
                "createdAt": now,
                "lastModifiedAt": now,
                "labels": self.labels,
            }
            return store.put_doc("worker", worker, owner=owner, created_at=now)

    def loop(self) -> None:
        while not self.stop.is_set():
            with self.app.app_context():
                scheduled = claim_next_run(get_store(), self.worker_id, self.labels)
                if scheduled is not None:
                    self._set_worker_state("BUSY")
                    try:
                        execute(scheduled)
                    finally:
                        self._set_worker_state("IDLE")
                    continue
            self.stop.wait(POLL_SECONDS)

    def _set_worker_state(self, state: str) -> None:
        get_store().update_doc_if(
            "worker", self.worker_id, where={}, changes={"state": state, "lastModifiedAt": now_ms()}
        )


def execute(scheduled: dict[str, Any]) -> None:
    """Perform one claimed scheduled run (inside an app context)."""
    store = get_store()
    run = start_run(store, scheduled)
    run_log, memory = RunLog(), MemoryLog()
    started = time.time()

    def state(name: str, message: str) -> None:
        run_log.info(f"[{name}] {message}")
        memory.sample(name)
        set_run_state(store, run["id"], name, message)

    try:
        summary = _perform(scheduled, run["id"], state, run_log, started)
        state("GENERATING_REPORT", "Writing report.json and report.pdf.")
        artifacts = build_artifacts(summary, run_log, memory)
        state("UPLOADING_ARTIFACTS", f"Uploading {len(artifacts)} artifacts.")
        for artifact in artifacts:
            get_blobs().write(artifact_key(run["id"], artifact.file_name), artifact.data)
            add_artifact(store, run["id"], artifact.type, artifact.file_name)
        selected = len(summary.result.selected)
        set_run_state(
            store,
            run["id"],
            "COMPLETED",
            f"Selected {selected} of {len(summary.filenames)} samples.",
        )
    except RunFailed as failure:
        run_log.error(str(failure))
        set_run_state(store, run["id"], "FAILED", str(failure))
    except Exception as error:
        log.exception("local worker run %s failed", run["id"])
        set_run_state(
            store, run["id"], "FAILED", f"The local worker failed: {type(error).__name__}: {error}"
        )
    finally:
        finish_scheduled(store, scheduled["id"])


def _perform(
    scheduled: dict[str, Any],
    run_id: str,
    state: Callable[[str, str], None],
    run_log: RunLog,
    started: float,
) -> RunSummary:
    store = get_store()
    dataset_id = scheduled["datasetId"]
    state("INITIALIZING", "Reading the run's configuration.")
    config_doc = store.get_doc("worker_config", scheduled["configId"]) or {}
    selection_config = (config_doc.get("config") or {}).get("selection")
    if not selection_config:
        raise RunFailed(
            "The run's config has no selection: pass selection_config to schedule_compute_worker_run."
        )
    state("LOADING_DATASET", "Listing the files of the datasource.")
    root = _datasource_root(dataset_id)
    names = _image_files(root)
    if not names:
        raise RunFailed(f"The datasource folder {root} holds no images.")
    state("CHECKING_CORRUPTNESS", f"Checking {len(names)} images.")
    scan = scan_images((name, root / name) for name in names)
    for name, reason in scan.corrupt.items():
        run_log.warning(f"corrupt image {name}: {reason}")
    state("EMBEDDING", f"Embedding {len(scan.filenames)} images.")
    dataset_names = _register_samples(dataset_id, root, names)
    inputs, source, computed = _selection_inputs(dataset_id, dataset_names, scan)
    state("SAMPLING", f"Selecting from {len(inputs.filenames)} samples.")
    try:
        result = select(selection_config, inputs)
    except SelectionError as error:
        raise RunFailed(f"Invalid selection: {error}") from None
    state("SAVING_RESULTS", f"Creating the tag of the {len(result.selected)} selected samples.")
    _create_tag(
        dataset_id, run_id, dataset_names, [inputs.filenames[i] for i in result.selected.tolist()]
    )
    return RunSummary(
        run_id=run_id,
        dataset_name=dataset_data(store.db, dataset_id)["name"],
        filenames=inputs.filenames,
        embeddings=inputs.embeddings,
        embedding_source=source,
        computed_embeddings=computed,
        config=selection_config,
        result=result,
        corrupt=scan.corrupt,
        timings={"total_s": time.time() - started},
        started_at=started,
        finished_at=time.time(),
    )


def _datasource_root(dataset_id: str) -> Path:
    config = active_datasource(dataset_id, "INPUT") or active_datasource(dataset_id)
    if config is None:
        raise RunFailed(
            "The dataset has no datasource: set one with set_local_config (or a cloud datasource for the real Lightly Worker)."
        )
    root = local_root(config)
    if root is None:
        raise RunFailed(
            f"The local worker cannot read {config['fullPath']} ({config['type']} datasource): use a LOCAL "
            "datasource (set_local_config) or run the real Lightly Worker."
        )
    if not root.is_dir():
        raise RunFailed(f"The LOCAL datasource folder {root} does not exist.")
    return root


def _image_files(root: Path) -> list[str]:
    names = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        names.extend(
            Path(folder, f).relative_to(root).as_posix()
            for f in files
            if Path(f).suffix.lower() in IMAGE_EXTENSIONS
        )
    return sorted(names)


def _register_samples(dataset_id: str, root: Path, names: list[str]) -> list[str]:
    """Add the datasource's new files as samples; keep the tags covering all of them."""
    store = get_store()
    with store.transaction() as db:
        existing = set(file_names(db, dataset_id))
        new = [n for n in names if n not in existing]
        for name in new:
            insert_sample(
                db,
                dataset_id,
                {"fileName": name, "metaData": {"sizeInBytes": (root / name).stat().st_size}},
            )
        size = len(existing) + len(new)
        everything = (1 << size) - 1
        tags = tags_of(dataset_id)
        if not tags:
            insert_tag(db, dataset_id, name="initial-tag", prev_tag_id=None, mask=everything)
            update_dataset(db, dataset_id, {"imgType": "meta"})
        elif new:
            for tag in tags:
                changes: dict[str, Any] = {"totSize": size}
                if tag["name"] == "initial-tag":
                    changes["bitMaskData"] = bitmask.to_hex(everything)
                store.update_doc_if("tag", tag["id"], where={}, changes=changes)
        return file_names(db, dataset_id)


def _selection_inputs(
    dataset_id: str, dataset_names: list[str], scan: Any
) -> tuple[SelectionInputs, str, bool]:
    """Inputs over the readable images, in dataset order; uploaded embeddings win if they cover them."""
    position = {name: i for i, name in enumerate(scan.filenames)}
    names = [n for n in dataset_names if n in position]
    embeddings = scan.embeddings[[position[n] for n in names]] if names else scan.embeddings
    source, computed = "local image embedding (colour histogram + 4x4 thumbnail)", True
    uploaded = _uploaded_embeddings(dataset_id, names)
    if uploaded is not None:
        embeddings, source, computed = uploaded, "embeddings uploaded to the dataset", False
    samples = _samples_by_name(dataset_id)
    metadata = [
        {**(samples[n].get("customMetaData") or {}), "lightly": samples[n].get("metaData") or {}}
        for n in names
    ]
    inputs = SelectionInputs(
        filenames=names, embeddings=embeddings, scores={}, predictions={}, metadata=metadata
    )
    return inputs, source, computed


def _uploaded_embeddings(dataset_id: str, names: list[str]) -> np.ndarray | None:
    for embedding in get_store().list_docs("embedding", dataset_id=dataset_id, newest_first=True):
        path = get_blobs().path(csv_key(dataset_id, embedding["id"]))
        if not path.is_file():
            continue
        try:
            rows, matrix = read_embeddings_csv(path.read_bytes())
        except EmbeddingsCsvError:
            continue
        index = {name: i for i, name in enumerate(rows)}
        if all(n in index for n in names):
            return matrix[[index[n] for n in names]]
    return None


def _samples_by_name(dataset_id: str) -> dict[str, dict[str, Any]]:
    rows = get_store().db.execute(
        "SELECT file_name, data FROM samples WHERE dataset_id=?", (dataset_id,)
    )
    return {r["file_name"]: json.loads(r["data"]) for r in rows}


def _create_tag(
    dataset_id: str, run_id: str, dataset_names: list[str], selected: list[str]
) -> None:
    position = {name: i for i, name in enumerate(dataset_names)}
    mask = 0
    for name in selected:
        mask |= 1 << position[name]
    store = get_store()
    with store.transaction() as db:
        initial = next((t for t in tags_of(dataset_id) if t["name"] == "initial-tag"), None)
        name = time.strftime("selection-%Y%m%d-%H%M%S-") + run_id[-4:]
        insert_tag(
            db,
            dataset_id,
            name=name,
            prev_tag_id=initial["id"] if initial else None,
            mask=mask,
            extra={"runId": run_id},
        )
