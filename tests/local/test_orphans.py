"""Runs a server process left in progress when it ended: the next start ends them CRASHED.

A dead process is simulated by a claim whose instance has no lock file, or a lock
file nobody holds (what SIGKILL leaves); a live one by an ``orphans.Instance`` this
test holds. The CLI test ``tests/cli/test_kill.py`` kills a real process.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.client import ApiWorkflowClient, RetryPolicy
from runner.local import orphans, runs
from runner.local.server import RunningServer, start_in_thread
from runner.local.store import Store, data_dir_store
from runner.local.worker import loop
from tests.local.conftest import Api
from tests.local.test_worker_loop import dataset, images, schedule, wait_run, workers

__all__ = ["dataset", "images", "workers"]  # fixtures

DEAD = "0123456789abcdef"  # an instance id no process holds
MESSAGE = "The local server stopped during this run (its process ended); schedule it again."
NOBODY = ["no-such-worker"]  # runsOn no worker of these tests has: only the test claims


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def start(data_dir: Path) -> Iterator[Callable[[], RunningServer]]:
    servers: list[RunningServer] = []

    def start() -> RunningServer:
        servers.append(start_in_thread(data_dir=data_dir, token="tok", workers=0))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _client(server: RunningServer) -> ApiWorkflowClient:
    return ApiWorkflowClient(
        token=server.token,
        server_location=server.url,
        retry=RetryPolicy(attempts=1, backoff=0.01, max_backoff=0.01),
    )


def _scheduled(start: Callable[[], RunningServer]) -> str:
    """A run scheduled through a server that then stops (nobody performs it)."""
    server = start()
    client = _client(server)
    client.create_dataset("orphans")
    selection = {"n_samples": 1, "strategies": [{"input": {"type": "RANDOM"}, "strategy": {"type": "WEIGHTS"}}]}  # fmt: skip
    scheduled_id = client.schedule_compute_worker_run(selection_config=selection, runs_on=NOBODY)
    server.stop()
    return scheduled_id


def _claim(data_dir: Path, instance: str, *, state: str | None = "CHECKING_CORRUPTNESS") -> None:
    """What a worker of ``instance`` did before its process ended: claim, start, reach ``state``."""
    with data_dir_store(data_dir) as store:
        scheduled = runs.claim_next_run(store, "w", NOBODY, instance=instance)
        assert scheduled is not None
        if state is not None:
            run = runs.start_run(store, scheduled)
            runs.set_run_state(store, run["id"], state, "Checking 30 images with Pillow.")


def _states(data_dir: Path, scheduled_id: str) -> tuple[str, str | None, dict[str, Any] | None]:
    with data_dir_store(data_dir) as store:
        scheduled = store.get_doc("scheduled_run", scheduled_id)
        run = runs.run_of_scheduled(store, scheduled_id)
        claim = store.get_doc(runs.CLAIM_KIND, scheduled_id)
        assert scheduled is not None
        return scheduled["state"], None if run is None else run["state"], claim


@pytest.mark.parametrize("lock_file_left", [False, True], ids=["no-lock-file", "unlocked-file"])
def test_a_run_whose_process_is_gone_ends_crashed_at_the_next_start(
    data_dir: Path, start: Callable[[], RunningServer], lock_file_left: bool
) -> None:
    scheduled_id = _scheduled(start)
    _claim(data_dir, DEAD)
    lock = data_dir / "workers" / f"{DEAD}.lock"
    if lock_file_left:  # SIGKILL leaves the file; the kernel dropped its lock
        lock.parent.mkdir(exist_ok=True)
        lock.write_text("12345\n")
    assert _states(data_dir, scheduled_id)[:2] == ("LOCKED", "CHECKING_CORRUPTNESS")

    client = _client(start())
    client.set_dataset_id_by_name("orphans")
    info = client.get_compute_worker_run_info(scheduled_id)
    assert (info.state, info.message) == ("CRASHED", MESSAGE)
    assert info.in_end_state() and not info.ended_successfully()
    assert _states(data_dir, scheduled_id) == ("DONE", "CRASHED", None)
    assert not lock.exists()
    run = client.get_compute_worker_run_from_scheduled_run(scheduled_id)
    with data_dir_store(data_dir) as store:
        last = runs.run_logs(store, run["id"])["logs"][-1]
    assert (last["state"], last["level"], last["msg"]) == ("CRASHED", "CRITICAL", MESSAGE)


def test_a_claim_whose_run_was_not_created_yet_gets_a_crashed_run(
    data_dir: Path, start: Callable[[], RunningServer]
) -> None:
    scheduled_id = _scheduled(start)
    _claim(data_dir, DEAD, state=None)  # killed between the claim and the run's creation
    assert _states(data_dir, scheduled_id) == ("LOCKED", None, {"id": scheduled_id, "instance": DEAD, "workerId": "w"})  # fmt: skip

    client = _client(start())
    client.set_dataset_id_by_name("orphans")
    info = client.get_compute_worker_run_info(scheduled_id)  # the wait ends too
    assert (info.state, info.message) == ("CRASHED", MESSAGE)
    assert _states(data_dir, scheduled_id) == ("DONE", "CRASHED", None)


def test_the_runs_of_a_live_server_on_the_same_data_dir_are_left_alone(
    data_dir: Path, start: Callable[[], RunningServer]
) -> None:
    scheduled_id = _scheduled(start)
    live = orphans.Instance(data_dir)  # another process's workers, still running
    try:
        _claim(data_dir, live.id)
        start().stop()
        assert _states(data_dir, scheduled_id)[:2] == ("LOCKED", "CHECKING_CORRUPTNESS")
        assert live.path.exists()
    finally:
        live.release()
    assert not live.path.exists()

    start()  # that process has ended since
    assert _states(data_dir, scheduled_id) == ("DONE", "CRASHED", None)


def test_runs_of_external_workers_record_no_claim_and_are_left_alone(
    data_dir: Path, start: Callable[[], RunningServer]
) -> None:
    scheduled_id = _scheduled(start)
    with data_dir_store(data_dir) as store:  # a Lightly Worker locks it over HTTP
        assert runs.set_scheduled_state(store, scheduled_id, expect="OPEN", state="LOCKED")
        run = runs.start_run(store, store.get_doc("scheduled_run", scheduled_id) or {})
        runs.set_run_state(store, run["id"], "EMBEDDING")
    start()
    assert _states(data_dir, scheduled_id) == ("LOCKED", "EMBEDDING", None)


def test_a_run_ending_normally_drops_its_claim(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite3") as store:
        scheduled = runs.create_scheduled_run(
            store, dataset_id="d", owner="u", config_id="c", priority="MID", runs_on=[]
        )
        claimed = runs.claim_next_run(store, "w", [], instance=DEAD)
        assert claimed is not None and store.get_doc(runs.CLAIM_KIND, scheduled["id"])
        run = runs.start_run(store, claimed)
        runs.set_run_state(store, run["id"], "FAILED", "no images")
        assert store.get_doc(runs.CLAIM_KIND, scheduled["id"]) is None
        assert orphans.end_orphaned_runs(store, tmp_path) == []


def test_stopping_crashes_the_runs_its_workers_gave_up_on(
    api: Api, dataset: str, images: Path, workers: Callable[..., Any], store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(loop, "JOIN_SECONDS", 0.2)
    fifo = images / "zz-blocks.jpg"
    os.mkfifo(fifo)  # reading it waits for a writer: the run hangs in CHECKING_CORRUPTNESS
    stop = workers(1)
    scheduled_id = schedule(api, dataset)
    deadline = time.monotonic() + 30
    while (runs.run_of_scheduled(store, scheduled_id) or {}).get("state") != "CHECKING_CORRUPTNESS":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.2)  # inside the read

    stop()  # the worker does not end in time (as a SIGTERM's 30 s running out)
    run = wait_run(api, scheduled_id, timeout=1)
    assert (run["state"], run["message"]) == ("CRASHED", MESSAGE)
    assert store.get_doc("scheduled_run", scheduled_id)["state"] == "DONE"  # type: ignore[index]
    assert store.get_doc(runs.CLAIM_KIND, scheduled_id) is None

    # the worker, unblocked, finds its run ended and stops
    threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True).start()
    worker = store.list_docs("worker")[0]
    deadline = time.monotonic() + 30
    while (store.get_doc("worker", worker["id"]) or {}).get("state") != "OFFLINE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert runs.run_of_scheduled(store, scheduled_id)["state"] == "CRASHED"  # type: ignore[index]
