"""Runner-native actions: waiting on a run, assertions, writing files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from runner.actions.native import (
    AssertionFailed,
    assert_action,
    wait_compute_worker_run,
    write_file,
)
from runner.client import ComputeWorkerRunInfo


class FakeRunClient:
    """A run that ends ``ends_after`` seconds after creation; counts status requests."""

    def __init__(self, ends_after: float, state: str = "COMPLETED") -> None:
        self.ends_at = time.monotonic() + ends_after
        self.state = state
        self.requests: list[float] = []

    def get_compute_worker_run_info(self, scheduled_run_id: str) -> ComputeWorkerRunInfo:
        self.requests.append(time.monotonic())
        if time.monotonic() >= self.ends_at:
            return ComputeWorkerRunInfo(self.state, "done")
        return ComputeWorkerRunInfo("EMBEDDING", "working")

    def get_compute_worker_run_from_scheduled_run(self, scheduled_run_id: str) -> dict[str, Any]:
        return {"id": "r" * 24}

    def get_compute_worker_run_tags(self, run_id: str) -> list[dict[str, Any]]:
        return [{"id": "t" * 24, "name": "selected"}]


def test_wait_notices_the_end_within_2_s_at_most_one_request_per_second() -> None:
    client = FakeRunClient(ends_after=3.2)
    outputs = wait_compute_worker_run(client, {"scheduled_run_id": "s" * 24})
    noticed_after = client.requests[-1] - client.ends_at
    assert 0 <= noticed_after < 2.0
    gaps = [b - a for a, b in zip(client.requests, client.requests[1:], strict=False)]
    assert min(gaps) >= 0.95  # never more than one request per second
    assert outputs["succeeded"] is True and outputs["run_id"] == "r" * 24
    assert outputs["tags"][0]["name"] == "selected" and outputs["state"] == "COMPLETED"


def test_wait_reports_a_failed_run() -> None:
    outputs = wait_compute_worker_run(FakeRunClient(0, "FAILED"), {"scheduled_run_id": "s" * 24})
    assert outputs["succeeded"] is False and outputs["state"] == "FAILED"


def test_assert() -> None:
    assert assert_action(None, {"that": True})["result"] is True
    with pytest.raises(AssertionFailed, match="the run failed"):
        assert_action(None, {"that": False, "message": "the run failed"})


def test_write_file(tmp_path: Path) -> None:
    write_file(None, {"path": str(tmp_path / "a/b.json"), "content": {"x": [1, 2]}})
    assert json.loads((tmp_path / "a/b.json").read_text()) == {"x": [1, 2]}
    write_file(None, {"path": str(tmp_path / "c.txt"), "content": "hello"})
    assert (tmp_path / "c.txt").read_text() == "hello"
