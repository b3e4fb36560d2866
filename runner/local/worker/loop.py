"""The local Lightly Worker: threads of the server process that take scheduled runs and do them.

``start_workers`` starts ``count`` threads, each registered in the worker registry
(``local-worker-<n>``, its labels, IDLE/BUSY/OFFLINE). A worker claims the most
urgent run it may take (``runs.claim_next_run``: atomic, runsOn ⊆ labels, every
user's runs: the server's compute is the server's) and walks the run states:

INITIALIZING (config) → LOADING_DATASET (list the LOCAL datasource, register its new
readable images as samples, initial tag or upsize tag) → LOADING_PREDICTION →
CHECKING_CORRUPTNESS (Pillow) → LOADING_METADATA → EMBEDDING (the newest uploaded
embeddings CSV if it covers every sample, else the pixel embedding of
``worker.embeddings``) → COMPUTING_ACTIVE_LEARNING_SCORES → SAMPLING (``selection.select``)
→ SAVING_RESULTS (the run's tag) → GENERATING_REPORT → UPLOADING_ARTIFACTS →
UPLOADED_ARTIFACTS → COMPLETED. It ends FAILED with a message saying why (a cloud
datasource it cannot read, no images, an invalid selection, a selection of no sample
— as the Lightly Worker since 2.8, with no tag —, any error), with its log uploaded
as the LOG artifact to debug it by, and stops when its run was set to ABORTED. A
failing run never ends its worker thread.

The workers of one ``start_workers`` are an ``orphans.Instance``: each claim records
it, so a later server start can tell the runs of a process that is gone (killed, or
stopped while a run went on) from those of a live one. Stopping ends the runs its
workers gave up on (still going after their 30 s) the same way, CRASHED.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from runner.local import orphans, runs
from runner.local.app import get_blobs, get_config, get_store
from runner.local.routes.datasets import dataset_data
from runner.local.worker import inputs as run_inputs
from runner.local.worker.embeddings import scan_images
from runner.local.worker.inputs import RunFailed
from runner.local.worker.report import (
    FILE_NAMES,
    MemoryLog,
    RunLog,
    RunSummary,
    build_artifacts,
)
from runner.local.worker.selection import (
    SelectionError,
    check_selection_config,
    select,
    why_fewer_selected,
    why_nothing_selected,
)

log = logging.getLogger("runner.local.worker")
POLL_SECONDS = 0.2
#: how long stopping waits for each worker's run to end
JOIN_SECONDS = 30.0
WORKER_NAME = "local-worker-{}"


class RunAborted(Exception):
    """Someone set the run to ABORTED; the worker stops working on it."""


def start_workers(
    app: Flask, base_url: str, token: str, count: int, labels: list[str] | None = None
) -> Callable[[], None]:
    """Start ``count`` worker threads for the user of ``token``; returns their stop function."""
    stop = threading.Event()
    with app.app_context():
        instance = orphans.Instance(get_config().data_dir)
    workers = [
        LocalWorker(app, WORKER_NAME.format(n), list(labels or []), token, stop, instance.id)
        for n in range(1, count + 1)
    ]
    threads = [threading.Thread(target=w.loop, name=w.name, daemon=True) for w in workers]
    for thread in threads:
        thread.start()

    def stop_all() -> None:
        if stop.is_set():
            return
        stop.set()
        for thread in threads:
            thread.join(timeout=JOIN_SECONDS)
        with app.app_context():
            try:
                abandoned = orphans.end_runs_of(get_store(), instance)
                if abandoned:
                    log.warning("stopped during runs %s: they are CRASHED", abandoned)
            finally:
                get_store().release()
                instance.release()

    return stop_all


class LocalWorker:
    """One worker: a registry entry and a claim-and-run loop."""

    def __init__(
        self,
        app: Flask,
        name: str,
        labels: list[str],
        token: str,
        stop: threading.Event,
        instance: str | None = None,
    ) -> None:
        self.app, self.name, self.labels, self.stop = app, name, labels, stop
        self.instance = instance  # orphans.Instance id, recorded with each claim
        with app.app_context():
            store = get_store()
            user = store.user_by_token(token)
            owner = str(user["user_id"]) if user is not None else ""
            self.worker_id = runs.register_worker(store, owner, name, labels, state="IDLE")

    def loop(self) -> None:
        with self.app.app_context():
            try:
                while not self.stop.is_set():
                    if not self.step():
                        self.stop.wait(POLL_SECONDS)
                runs.set_worker_state(get_store(), self.worker_id, "OFFLINE")
            finally:
                get_store().release()  # this thread's connection, for others

    def step(self) -> bool:
        """Claim and perform one run; False when there was nothing to do."""
        store = get_store()
        try:
            scheduled = runs.claim_next_run(
                store, self.worker_id, self.labels, instance=self.instance
            )
        except Exception:  # a locked or broken database must not kill the worker
            log.exception("%s could not claim a run", self.name)
            return False
        if scheduled is None:
            return False
        runs.set_worker_state(store, self.worker_id, "BUSY")
        try:
            execute(scheduled)
        finally:
            runs.set_worker_state(store, self.worker_id, "IDLE")
        return True


def execute(scheduled: dict[str, Any]) -> None:
    """Perform one claimed scheduled run (inside an app context); never raises."""
    store = get_store()
    try:
        run = runs.start_run(store, scheduled)
    except Exception:
        log.exception("cannot start a run for scheduled run %s", scheduled["id"])
        runs.set_scheduled_state(store, scheduled["id"], expect="LOCKED", state="DONE")
        return
    job = RunJob(run["id"], scheduled)
    try:
        job.perform()
    except RunAborted:
        job.log.warning("The run was aborted.")
    except RunFailed as failure:
        job.log.error(str(failure))
        job.upload_log()
        runs.set_run_state(store, run["id"], "FAILED", str(failure))
    except Exception as error:
        log.exception("local worker run %s failed", run["id"])
        message = f"The local worker failed: {type(error).__name__}: {error}"
        job.log.error(message)
        job.upload_log()
        runs.set_run_state(store, run["id"], "FAILED", message)


class RunJob:
    """What one run does, phase by phase; each phase first announces its state."""

    def __init__(self, run_id: str, scheduled: dict[str, Any]) -> None:
        self.run_id, self.scheduled = run_id, scheduled
        self.dataset_id: str = scheduled["datasetId"]
        self.log, self.memory = RunLog(), MemoryLog()
        self.started = time.time()
        self.timings: dict[str, float] = {}
        self._phase: tuple[str, float] | None = None

    def state(self, state: str, message: str) -> None:
        """Enter ``state``: log it, record memory and timing; stop if the run was aborted."""
        now = time.time()
        if self._phase is not None:
            self.timings[f"{self._phase[0].lower()}_s"] = now - self._phase[1]
        self._phase = (state, now)
        self.log.info(f"[{state}] {message}")
        self.memory.sample(state)
        if runs.set_run_state(get_store(), self.run_id, state, message) is None:
            raise RunAborted(self.run_id)

    def _stop_if_aborted(self) -> None:
        """Stop here if the run was aborted (or ended) meanwhile."""
        run = get_store().get_doc("run", self.run_id)
        if run is None or run["state"] in runs.END_STATES:
            raise RunAborted(self.run_id)

    def perform(self) -> None:
        store = get_store()
        self.state("INITIALIZING", "Reading the run's configuration.")
        config = self._config()
        self.state("LOADING_DATASET", "Reading the dataset's datasource.")
        source = run_inputs.open_source(self.dataset_id, config.get("docker") or {})
        names = source.image_names()
        self.log.info(f"{len(names)} image files in {source.location}")
        self.state("LOADING_PREDICTION", "Loading predictions of the dataset and its datasource.")
        predictions = run_inputs.load_predictions(self.dataset_id, source, names)
        tasks = ", ".join(sorted(predictions.by_task)) or "none"
        self.log.info(f"prediction tasks: {tasks}")
        self.state("CHECKING_CORRUPTNESS", f"Checking {len(names)} images with Pillow.")
        new = run_inputs.unregistered(self.dataset_id, names)  # they need their metadata
        readers = ((name, functools.partial(source.reader, name)) for name in names)
        scan = scan_images(readers, metadata_of=new)
        for name, reason in sorted(scan.corrupt.items()):
            self.log.warning(f"corrupt: {name}: {reason}")
        if not scan.filenames:
            n = len(scan.corrupt)
            raise RunFailed(f"No readable image in {source.location} ({n} corrupt).")
        self._stop_if_aborted()  # the scan may take long: aborted, the dataset stays as it is
        added = run_inputs.register_samples(
            self.dataset_id, self.run_id, scan.filenames, scan.metadata
        )
        self.log.info(f"registered {added} new samples in the dataset")
        gathered = self._gather(config, scan, source, predictions)
        result = self._select(config, gathered.inputs)
        self.state(
            "SAVING_RESULTS", f"Creating the tag of the {len(result.selected)} selected samples."
        )
        chosen = [gathered.inputs.filenames[i] for i in result.selected.tolist()]
        tag = run_inputs.create_selection_tag(self.dataset_id, self.run_id, chosen)
        self.log.info(f"created tag {tag['name']!r} ({len(chosen)} samples)")
        summary = RunSummary(
            run_id=self.run_id,
            dataset_name=dataset_data(store.db, self.dataset_id)["name"],
            filenames=gathered.inputs.filenames,
            embeddings=gathered.inputs.embeddings,
            embedding_source=gathered.embedding_source,
            computed_embeddings=gathered.computed_embeddings,
            config=config["selection"],
            result=result,
            corrupt=scan.corrupt,
            timings={**self.timings, "total_s": time.time() - self.started},
            started_at=self.started,
            finished_at=time.time(),
        )
        self._upload(summary)
        n = len(gathered.inputs.filenames)
        done = f"Selected {len(chosen)} of {n} samples into tag {tag['name']!r}"
        self.state("COMPLETED", f"{done}{why_fewer_selected(result.stats)}.")

    def _config(self) -> dict[str, Any]:
        doc = get_store().get_doc("worker_config", self.scheduled["configId"])
        config: dict[str, Any] = (doc or {}).get("config") or {}
        if not config.get("selection"):
            raise RunFailed(
                "The run's worker config has no selection config: "
                "pass selection_config to schedule_compute_worker_run."
            )
        try:  # before the dataset is touched (scheduling checks it, unless told not to)
            check_selection_config(config["selection"])
        except SelectionError as error:
            raise RunFailed(f"The selection cannot run: {error}") from None
        return config

    def _gather(
        self,
        config: dict[str, Any],
        scan: Any,
        source: run_inputs.Source,
        predictions: run_inputs.PredictionData,
    ) -> run_inputs.Gathered:
        kinds = {s["input"]["type"] for s in config["selection"]["strategies"]}
        self.state("LOADING_METADATA", "Loading the samples' metadata.")
        self.state("EMBEDDING", "Choosing the embeddings.")
        gathered = run_inputs.gather(
            self.dataset_id, scan, source, config.get("docker") or {}, predictions
        )
        self.log.info(f"embeddings: {gathered.embedding_source}")
        if "SCORES" in kinds:
            self.state("COMPUTING_ACTIVE_LEARNING_SCORES", "Collecting active-learning scores.")
            names = sorted(gathered.inputs.scores)
            self.log.info(f"scores available: {', '.join(names) or 'none uploaded'}")
        return gathered

    def _select(self, config: dict[str, Any], inputs: Any) -> Any:
        self.state("SAMPLING", f"Selecting from {len(inputs.filenames)} samples.")
        seed = (config.get("lightly") or {}).get("seed")
        try:
            result = select(config["selection"], inputs, seed=seed)
        except SelectionError as error:
            raise RunFailed(f"The selection cannot run: {error}") from None
        self.log.info(f"selection stats: {result.stats}")
        if not len(result.selected):
            reason = why_nothing_selected(result.stats)
            raise RunFailed(f"The selection selected no sample, so no tag was created: {reason}.")
        return result

    def _upload(self, summary: RunSummary) -> None:
        self.state("GENERATING_REPORT", "Writing the report and the other artifacts.")
        artifacts = build_artifacts(summary, self.log, self.memory)
        self.state("UPLOADING_ARTIFACTS", f"Uploading {len(artifacts)} artifacts.")
        for artifact in artifacts:
            self._store_artifact(artifact.type, artifact.file_name, artifact.data)
        self.state("UPLOADED_ARTIFACTS", ", ".join(a.file_name for a in artifacts))

    def upload_log(self) -> None:
        """Upload the log of a run that fails: what ``download_compute_worker_run_log``
        debugs it with. Never raises: the run is to end FAILED all the same."""
        try:
            self._store_artifact("LOG", FILE_NAMES["LOG"], self.log.text().encode())
        except Exception:
            log.exception("cannot upload the log of failed run %s", self.run_id)

    def _store_artifact(self, artifact_type: str, file_name: str, data: bytes) -> None:
        store = get_store()
        record = runs.create_artifact(store, self.run_id, artifact_type, file_name)
        get_blobs().write(runs.artifact_key(self.run_id, record["id"]), data)
        runs.confirm_artifact(store, self.run_id, record["id"])
