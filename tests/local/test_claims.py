"""Scheduled runs go only to workers whose labels cover ``runsOn``, and each is taken once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.local.runs import claim_next_run
from runner.local.store import Store, new_id, now_ms


def _schedule(store: Store, runs_on: list[str], priority: str = "MID") -> str:
    now = now_ms()
    scheduled = {
        "id": new_id(),
        "datasetId": new_id(),
        "userId": "u",
        "configId": new_id(),
        "priority": priority,
        "runsOn": runs_on,
        "state": "OPEN",
        "createdAt": now,
        "lastModifiedAt": now,
    }
    return store.put_doc(
        "scheduled_run", scheduled, dataset_id=scheduled["datasetId"], owner="u", created_at=now
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "db.sqlite3") as store:
        yield store


def test_workers_take_only_runs_meant_for_them(store: Store) -> None:
    gpu_run = _schedule(store, ["gpu"])
    cpu_run = _schedule(store, ["cpu"])
    assert claim_next_run(store, "w-none", []) is None
    gpu = claim_next_run(store, "w-gpu", ["gpu"])
    assert gpu is not None and gpu["id"] == gpu_run
    assert claim_next_run(store, "w-gpu", ["gpu"]) is None
    cpu = claim_next_run(store, "w-cpu", ["cpu", "big"])
    assert cpu is not None and cpu["id"] == cpu_run


def test_priority_then_age(store: Store) -> None:
    low = _schedule(store, [], "LOW")
    critical = _schedule(store, [], "CRITICAL")
    assert claim_next_run(store, "w", [])["id"] == critical  # type: ignore[index]
    assert claim_next_run(store, "w", [])["id"] == low  # type: ignore[index]


def test_no_run_is_taken_twice_when_four_workers_race(store: Store) -> None:
    setup = store
    runs = {_schedule(setup, []) for _ in range(40)}
    taken: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        with Store(setup.path) as own:  # each worker its own connection, as in the server
            start.wait()
            while (claimed := claim_next_run(own, name, [])) is not None:
                with lock:
                    taken.append(claimed["id"])

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(runs)  # every run exactly once
    assert all(doc["state"] == "LOCKED" for doc in setup.list_docs("scheduled_run"))
